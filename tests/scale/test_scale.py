"""The issue's scale test with real processes (`benchmarks/scale.py` runs it and the
self-paced baseline): 2 ``jirakit serve`` and 3 ``jirakit worker`` on the local Postgres
sharing one governor, 20 tenants on sandbox sites under one global points pool, half
backfilling through sync jobs, half reading and renaming through the service and receiving
the renames' webhooks (Jira -> serve's receiver -> workers -> a subscriber), a worker killed with
``kill -9`` five times. About 4 minutes on 2 shared cores (docs/development.md).

The pass conditions: every job finished, each warehouse equal to its site's store
(exactly once); every rename delivered to the subscriber once per event; 0 quota 429s; the pool used at >= 90% over the full windows while at
least half the backfills were pending; every interactive tenant's p95 wait under
`INTERACTIVE_P95_BOUND`."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from needs import pg_url, require_postgres

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "scale.py"


def bench() -> ModuleType:
    """benchmarks/scale.py (by path: this package is named scale too)."""
    spec = importlib.util.spec_from_file_location("jirakit_bench_scale", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


# The bound on an interactive tenant's p95 wait, and why. Interactive calls come first in
# the governor: they may take the bucket below empty by half the margin, and the debt a
# backfill's answer leaves when it cost more than guessed is waited out by the backfills
# alone. A person's call waits only when Jira's own figures say the window is (nearly)
# spent, counting the requests still in flight: then nobody may go (that is what keeps
# 429s at 0) until the answers come or the refill covers it.
# Here the pool is small (6,000 points per 30 s, refilled at ~184 points/s, a bucket of
# 180) while one changelog page of a backfill can cost ~1,000 points (seen in the pool's
# trace): such an answer near a window's end holds every call up to 1,000 / 184 = 5.4 s.
# The bound is 6 s; the worst tenant's p95 measured 1.6-4.0 s, and 5.5 s with two other
# benchmarks loading the 2 cores (docs/benchmarks.md). At
# Jira's real tier (65,000 points per hour, a bucket of 3,250) the same page is a third
# of the bucket.
INTERACTIVE_P95_BOUND = 6.0


@pytest.mark.slow
@pytest.mark.postgres
def test_twenty_tenants_five_processes_one_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # The benchmark works on the server the gate checked (JIRAKIT_TEST_PG_DSN), not on its
    # own default: it reads these when it is loaded, below.
    monkeypatch.setenv("JIRAKIT_BENCH_PG", require_postgres())
    monkeypatch.setenv("JIRAKIT_BENCH_PG_URL", pg_url().rsplit("/", 1)[0])
    scale = bench()
    result = scale.run(scale.Options(mode="governed", log_dir=str(tmp_path)))
    log = (tmp_path / "scale-governed.log").read_text(errors="replace")[-3000:]
    summary = {k: v for k, v in result.items() if k != "warehouses"}

    assert len(result["kills"]) >= 5, summary  # a worker killed (and restarted) 5 times
    assert result["jobs"] == {"succeeded": 10}, (summary, log)
    assert result["attempts"] > 10, summary  # killed syncs ran again
    # exactly once: each warehouse holds its site's issues, each once, none missing
    for name, truth in result["warehouses"].items():
        assert truth["duplicates"] == 0 and truth["rows"] == truth["issues"], (name, truth)
        assert truth["equal"], (name, truth)
    # every rename's webhook delivered, each event under one id, all signed
    hooks = result["webhooks"]
    assert hooks["renames"] >= 50, summary
    assert hooks["missing"] == 0 and hooks["delivered"] == hooks["renames"], summary
    assert hooks["same_event_twice"] == 0 and hooks["unverified"] == 0, summary
    # a repeat under the same id happens only when a worker dies between the subscriber's
    # answer and the mark: at most the deliveries in flight in the killed workers
    assert hooks["redeliveries"] <= len(result["kills"]) * 4, summary
    assert result["quota_429"] == 0, summary
    # The governor's books against the pool's (50: rounding). It never counted less than
    # Jira charged; what it counted beyond that is grants whose answers were never
    # reported: requests in flight in a killed worker (granted, then charged or not).
    granted, charged = result["points_granted"], result["points_charged"]
    assert charged <= granted + 50, summary
    assert granted - result["points_unsettled"] <= charged + 50, summary
    assert len(result["use_per_window"]) >= 3, summary  # full windows, backfills pending
    assert result["pool_use_pending"] >= 0.90, summary
    assert result["interactive_errors"] == 0, summary
    assert result["interactive_calls"] >= 200, summary
    assert result["worst_interactive_p95_wait"] < INTERACTIVE_P95_BOUND, summary
