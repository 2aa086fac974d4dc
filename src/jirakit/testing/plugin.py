"""pytest plugin registered through the ``pytest11`` entry point.

Fixtures:

- ``jira_sandbox``: a fresh in-process `jirakit.sandbox.Sandbox` (seeded, small) per test;
  mount it with ``httpx.ASGITransport(app=jira_sandbox.app)``.
- ``jira_sandbox_server``: the same sandbox served by uvicorn on a free local port
  (``.url``, ``.auth``, ``.sandbox``).
- ``webhook_receiver``: a `jirakit.testing.webhooks.WebhookReceiver` on a free local port
  recording (and, with ``.secret`` set, verifying) webhook deliveries; ``.wait_for(n)``.

Configure per test with the marker ``@pytest.mark.jira_sandbox(issues=50, seed=3, ...)``
(any `Sandbox` keyword argument).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from jirakit.sandbox import Sandbox
    from jirakit.testing.webhooks import WebhookReceiver

DEFAULTS: dict[str, Any] = {"seed": 0, "issues": 60, "projects": 3}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "jira_sandbox(**options): options for the jira_sandbox fixture (Sandbox keyword arguments)",
    )


@dataclass(frozen=True)
class SandboxServer:
    """A sandbox served on a real port."""

    url: str
    sandbox: Sandbox

    @property
    def auth(self) -> tuple[str, str]:
        return self.sandbox.auth


@pytest.fixture
def jira_sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """A fresh seeded in-process sandbox (``@pytest.mark.jira_sandbox(...)`` to configure)."""
    from jirakit.sandbox import Sandbox

    options = dict(DEFAULTS)
    marker = request.node.get_closest_marker("jira_sandbox")
    if marker is not None:
        options.update(marker.kwargs)
    with Sandbox(**options) as sandbox:  # closing stops webhook delivery
        yield sandbox


@pytest.fixture
def jira_sandbox_server(jira_sandbox: Sandbox) -> Iterator[SandboxServer]:
    """``jira_sandbox`` served by uvicorn on a free port on 127.0.0.1."""
    with jira_sandbox.serve() as url:
        yield SandboxServer(url, jira_sandbox)


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """A local HTTP server recording webhook deliveries (set ``.secret`` to verify them)."""
    from jirakit.testing.webhooks import WebhookReceiver

    with WebhookReceiver() as receiver:
        yield receiver
