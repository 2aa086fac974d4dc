"""The bulk-fetch window does not wait for the consumer: while dlt (here: a consumer that
stops taking items) is busy, fetcher threads keep requesting issue details, up to a
bounded number of converted answers; every issue still arrives exactly once."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from sync_truth import client

from jirakit.sandbox import FrozenClock, Sandbox
from jirakit.sync.source import Extractor, RunContext, SyncOptions


class BulkFetchCounter:
    """ASGI middleware counting issue/bulkfetch requests answered."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.answered = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)
        if scope["type"] == "http" and scope["path"].endswith("/issue/bulkfetch"):
            self.answered += 1


def test_fetches_go_on_while_the_consumer_is_busy() -> None:
    clock = FrozenClock(datetime(2026, 1, 5, 9, tzinfo=UTC))
    sandbox = Sandbox(seed=41, issues=1500, clock=clock)
    counter = BulkFetchCounter(sandbox.app)
    sandbox.app = counter  # type: ignore[assignment]
    concurrency = 2
    with client(sandbox) as jira:
        run = RunContext(started_at=clock.now())
        extractor = Extractor(
            jira, SyncOptions(concurrency=concurrency, streams=("issues",)), run, {}
        )
        extractor.prepare()
        items = extractor.issues()
        next(items)  # the first answer's issues
        deadline = time.monotonic() + 10
        wanted = 1 + 2 * concurrency + concurrency  # taken, waiting, and being handed over
        while counter.answered < wanted and time.monotonic() < deadline:
            time.sleep(0.05)
        # With fetches started only as the consumer takes an answer, this stays at
        # `concurrency` + 1 (it was so before).
        assert counter.answered >= wanted
        time.sleep(0.3)
        assert counter.answered <= wanted + 1  # bounded: the fetchers wait for the consumer
        for _ in items:
            pass
    assert counter.answered == 15
    assert run.rows["issues"] == 1500
