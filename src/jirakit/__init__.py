"""jirakit: the complete, self-hostable Jira integration toolkit.

>>> from jirakit import Jira, BasicAuth
>>> jira = Jira("https://acme.atlassian.net", auth=BasicAuth("me@acme.com", "token"))
"""

__version__ = "0.1.0"

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
