"""Test doubles for the client: a strict router behind httpx.MockTransport.

A request nobody expected fails the test loudly (it raises inside the transport, and the
client never swallows non-httpx exceptions).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "jira"
FIXTURES = SHARED / "fixtures"
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
    path = FIXTURES.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared Jira fixtures not found at {path}")
    return json.loads(path.read_text())


class FakeSleep:
    """Records sleeps instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.calls.append(seconds)
