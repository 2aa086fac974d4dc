"""Test doubles for the client: a strict router behind httpx.MockTransport.

A request nobody expected fails the test loudly (it raises inside the transport, and the
client never swallows non-httpx exceptions).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from needs import shared_json, shared_path

FIXTURES = shared_path("jira", "fixtures")
BASE = "https://acme.atlassian.net"

Responder = Callable[[httpx.Request], httpx.Response]


class UnexpectedRequest(AssertionError):
    pass


@dataclass
class Router:
    """Routes (method, path) to queued responses; records every request."""

    routes: dict[tuple[str, str], list[Responder | httpx.Response]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    sticky: dict[tuple[str, str], Responder | httpx.Response] = field(default_factory=dict)

    def add(self, method: str, path: str, *responses: Responder | httpx.Response) -> Router:
        self.routes.setdefault((method.upper(), path), []).extend(responses)
        return self

    def always(self, method: str, path: str, response: Responder | httpx.Response) -> Router:
        self.sticky[(method.upper(), path)] = response
        return self

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        key = (request.method, request.url.path)
        queue = self.routes.get(key)
        if queue:
            item = queue.pop(0)
        elif key in self.sticky:
            item = self.sticky[key]
        else:
            raise UnexpectedRequest(f"unexpected request: {request.method} {request.url}")
        return item(request) if callable(item) else item

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def async_transport(self) -> httpx.MockTransport:
        async def handler(request: httpx.Request) -> httpx.Response:
            await request.aread()
            return self(request)

        return httpx.MockTransport(handler)

    def pending(self) -> list[tuple[str, str]]:
        return [k for k, v in self.routes.items() if v]


def ok(body: Any = None, status: int = 200, **headers: str) -> httpx.Response:
    if body is None:
        return httpx.Response(status, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


def fixture_json(*parts: str) -> Any:
    """A real Jira body from ``../shared/jira/fixtures`` (CI: fails when missing)."""
    return shared_json("jira", "fixtures", *parts)


class FakeSleep:
    """Records sleeps instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.calls.append(seconds)
