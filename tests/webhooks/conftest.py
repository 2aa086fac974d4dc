"""Fixtures for the receiver tests: a receiver served on a real port over a SQLite inbox,
and a sandbox with quick webhook retries."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from webhook_helpers import JWT_SECRET, SECRET, Served

from jirakit.sandbox import Sandbox
from jirakit.webhooks import Receiver, Secrets
from jirakit.webhooks.serve import serve_in_thread


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'inbox.db'}"


@pytest.fixture
def served(store_url: str) -> Iterator[Served]:
    """A receiver (HMAC + JWT secrets) served on a free port, its jobs running."""
    receiver = Receiver(
        store_url,
        Secrets(hmac=(SECRET,), jwt=(JWT_SECRET,)),
        max_body=64 * 1024,
        poll_interval=0.05,
    )
    receiver.start()
    try:
        with serve_in_thread(receiver.app) as url, httpx.Client(timeout=10) as http:
            yield Served(receiver, url, http)
    finally:
        receiver.close()


@pytest.fixture
def site() -> Iterator[Sandbox]:
    """A sandbox with quick webhook retries (served by the tests that need it)."""
    with Sandbox(seed=5, issues=40, projects=2, webhook_backoff=0.01) as sb:
        yield sb


@pytest.fixture
def wait() -> Callable[..., None]:
    """``wait(predicate, timeout)``: poll until true, else fail naming what was awaited."""
    import time

    def until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what or predicate}")
            time.sleep(0.02)

    return until
