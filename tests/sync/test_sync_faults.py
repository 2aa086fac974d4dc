"""The sync under a hostile Jira: 429 storms, 5xx, dropped connections and truncated
bodies (seeded). It completes, the warehouse equals the ground truth, and the retries show
in the client's counters and in ``_sync_runs.requests``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.middleware import Middleware
from sync_truth import assert_matches_truth, clean_client, client, keys, query, sync

from jirakit.client._retry import RetryPolicy
from jirakit.errors import ResponseDecodeError
from jirakit.sandbox import FrozenClock, Sandbox
from jirakit.sandbox.faults import FaultMiddleware, FaultSpec
from jirakit.sync.source import UNREADABLE_ATTEMPTS, read_again

PATIENT = RetryPolicy(max_attempts=15, max_total_wait=10_000.0)
BULK_PATHS = ("/rest/api/3/issue/bulkfetch", "/rest/api/3/changelog/bulkfetch")


class Recorder:
    """ASGI middleware counting requests by (method, path), innermost (after faults)."""

    def __init__(self, app: Any, seen: Counter[tuple[str, str]]) -> None:
        self.app = app
        self.seen = seen

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.seen[(scope["method"], scope["path"])] += 1
        await self.app(scope, receive, send)


def advancing(clock: FrozenClock) -> Callable[[float], None]:
    """The client's sleep: move the sandbox's clock instead of waiting."""
    return lambda seconds: clock.advance(seconds=seconds)


def test_sync_through_429_storm_5xx_resets_and_truncation_equals_truth(tmp_path: Path) -> None:
    clock = FrozenClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    sandbox = Sandbox(
        seed=4,
        issues=90,
        clock=clock,
        rate_limit=0.5,  # a 429 storm from the limiter ...
        faults="429=0.35,500=0.05,502=0.05,503=0.05,reset=0.03,truncate=0.03",  # ... and more
        fault_seed=3,
    )
    with client(sandbox, sleep=advancing(clock), retry=PATIENT) as jira:
        first = sync(jira, tmp_path)
        assert first.status == "succeeded"
        assert_matches_truth(sandbox, tmp_path)
        statuses = jira.stats.by_status
        assert statuses.get(429, 0) >= 10, statuses
        assert sum(statuses.get(s, 0) for s in (500, 502, 503)) > 0
        assert jira.stats.retries > statuses.get(429, 0)  # resets/truncations retried too
        # Every attempt is a request, and the run's record says so.
        assert first.requests == jira.stats.requests - 0
        assert query(tmp_path, "select requests from _sync_runs") == [(first.requests,)]

        # Change things, then sync again through the same storm.
        with clean_client(sandbox) as admin:
            edited, commented, logged, victim = keys(sandbox, leaf=True)[:4]
            admin.issues.edit(edited, summary="Edited in the storm")
            admin.comments.add(commented, "A comment in the storm")
            admin.worklogs.add(logged, 1800, started=clock.now())
            admin.issues.delete(victim)
        clock.advance(seconds=120)  # worklog/updated leaves out the last minute
        requests_before, retries_before = jira.stats.requests, jira.stats.retries
        second = sync(jira, tmp_path)
        assert second.status == "succeeded"
        assert second.requests == jira.stats.requests - requests_before
        assert jira.stats.retries > retries_before
    assert_matches_truth(sandbox, tmp_path)
    assert query(tmp_path, f"select is_deleted from issues where key = '{victim}'") == [(True,)]
    runs = query(tmp_path, "select status, requests from _sync_runs order by started_at")
    assert runs == [("succeeded", first.requests), ("succeeded", second.requests)]


@pytest.mark.parametrize("fault", ["truncate", "reset"])
def test_bulk_fetches_cut_short_are_read_again(tmp_path: Path, fault: str) -> None:
    """POST issue/bulkfetch and changelog/bulkfetch are reads (the client marks them
    idempotent): a dropped connection is retried by the client, a body cut in half is read
    again by the sync."""
    seen: Counter[tuple[str, str]] = Counter()
    faulty = Middleware(
        FaultMiddleware, spec=FaultSpec.parse(f"{fault}=0.4"), seed=7, paths=BULK_PATHS
    )
    sandbox = Sandbox(seed=6, issues=150, middleware=[Middleware(Recorder, seen=seen), faulty])
    with client(sandbox, sleep=lambda s: None, retry=PATIENT) as jira:
        result = sync(jira, tmp_path, streams=("metadata", "issues"))
        assert result.status == "succeeded"
        retries = jira.stats.retries
    assert_matches_truth(sandbox, tmp_path, worklogs=False)
    bulk = seen[("POST", "/rest/api/3/issue/bulkfetch")]
    changelog = seen[("POST", "/rest/api/3/changelog/bulkfetch")]
    # 150 issues: 2 bulk fetches and one changelog call without faults.
    assert bulk + changelog > 2 + 1
    assert retries == bulk + changelog - (2 + 1)


def test_an_unreadable_body_is_read_again_a_bounded_number_of_times() -> None:
    class Stats:
        retries = 0

    class FakeJira:
        stats = Stats()

    calls: list[int] = []

    def always_cut() -> None:
        calls.append(1)
        raise ResponseDecodeError("could not read the response", unreadable=True)

    with pytest.raises(ResponseDecodeError):
        read_again(FakeJira(), always_cut)  # type: ignore[arg-type]
    assert len(calls) == UNREADABLE_ATTEMPTS
    assert FakeJira.stats.retries == UNREADABLE_ATTEMPTS - 1

    answers = iter([ResponseDecodeError("cut", unreadable=True), "ok"])

    def once_cut() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert read_again(FakeJira(), once_cut) == "ok"  # type: ignore[arg-type]

    shape_calls: list[int] = []

    def wrong_shape() -> None:
        shape_calls.append(1)
        raise ResponseDecodeError("Issue: missing id")  # readable JSON, unexpected shape

    with pytest.raises(ResponseDecodeError):
        read_again(FakeJira(), wrong_shape)  # type: ignore[arg-type]
    assert len(shape_calls) == 1  # not worth reading again
