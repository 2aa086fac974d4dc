"""Shared fixtures for the sandbox tests: small seeded orgs, a frozen clock, async clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx
import pytest

from jirakit.sandbox import FrozenClock, Sandbox

BASE = "http://sandbox.test"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 2, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def sb(clock: FrozenClock) -> Sandbox:
    return Sandbox(seed=7, issues=120, projects=3, clock=clock)


def make_client(sandbox: Sandbox, *, auth: tuple[str, str] | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app),
        base_url=BASE,
        auth=auth if auth is not None else sandbox.auth,
    )


@pytest.fixture
def client_for() -> object:
    """``client_for(sandbox, auth=...)`` -> an AsyncClient over the sandbox app."""
    return make_client


@pytest.fixture
async def client(sb: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(sb) as c:
        yield c


# A served sandbox with quick webhook retries, and a client on it (the webhook tests).
@pytest.fixture
def site(clock: FrozenClock) -> Iterator[Sandbox]:
    with Sandbox(seed=7, issues=40, projects=3, clock=clock, webhook_backoff=0.01) as sb:
        yield sb


@pytest.fixture
def http(site: Sandbox) -> Iterator[httpx.Client]:
    with (
        site.serve() as url,
        httpx.Client(base_url=url, auth=site.auth, timeout=10) as client,
    ):
        yield client
