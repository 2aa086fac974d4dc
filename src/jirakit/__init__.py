"""jirakit: the complete, self-hostable Jira integration toolkit.

>>> from jirakit import Jira, BasicAuth
>>> jira = Jira("https://acme.atlassian.net", auth=BasicAuth("me@acme.com", "token"))
"""

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# The client is imported when first used (PEP 562): ``import jirakit`` alone, as the
# command's entry point does (`jirakit._entry`), stays cheap.
if TYPE_CHECKING:
    from jirakit.client import (
        UNSET,
        AsyncJira,
        BasicAuth,
        BearerAuth,
        ClientConfig,
        Jira,
        OAuth2Auth,
        RateLimitConfig,
        RetryPolicy,
        authorization_url,
    )

__all__ = [
    "UNSET",
    "AsyncJira",
    "BasicAuth",
    "BearerAuth",
    "ClientConfig",
    "Jira",
    "OAuth2Auth",
    "RateLimitConfig",
    "RetryPolicy",
    "__version__",
    "authorization_url",
]


def __getattr__(name: str) -> Any:
    if name in __all__ and name != "__version__":
        import jirakit.client

        return getattr(jirakit.client, name)
    # ``import jirakit`` then ``jirakit.errors.NotFound``: the submodules the eager import
    # of the client used to bring along (and any other) load on first use.
    if not name.startswith("_"):
        try:
            return importlib.import_module(f"jirakit.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"jirakit.{name}":
                raise
    raise AttributeError(f"module 'jirakit' has no attribute {name!r}")
