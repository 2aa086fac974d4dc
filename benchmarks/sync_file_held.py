"""How long a sync holds its DuckDB file, per phase: a backfill, then an incremental run,
from an in-process sandbox with latency. A script, not a test.

    .venv/bin/python benchmarks/sync_file_held.py --issues 2000 --latency 50-150

While the file is held no other process (`jirakit sql`, the webhook receiver's loads) can
open it. The run's own openings are timed by wrapping `Warehouse.session` (jirakit's state
checks; the load through the run's record) and dlt's `Pipeline.sync_destination` (dlt's
state check, on a connection of its own); the phases come from the run's ``on_phase``.
The wrappers only take the time.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dlt

from jirakit import BasicAuth, Jira
from jirakit.sandbox import Sandbox
from jirakit.sync import destination
from jirakit.sync.pipeline import run_sync
from jirakit.sync.source import SyncOptions
from jirakit.testing.asgi import SyncASGITransport

Hold = tuple[str, float, float]


def instrument(holds: list[Hold]) -> None:
    session = destination.Warehouse.session
    sync_destination = dlt.Pipeline.sync_destination

    @contextmanager
    def timed_session(self: destination.Warehouse) -> Iterator[destination.Warehouse]:
        start = time.perf_counter()
        with session(self) as held:
            yield held
        holds.append(("jirakit session", start, time.perf_counter()))

    def timed_sync_destination(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return sync_destination(self, *args, **kwargs)
        finally:
            holds.append(("dlt sync_destination", start, time.perf_counter()))

    destination.Warehouse.session = timed_session  # type: ignore[method-assign,assignment]
    dlt.Pipeline.sync_destination = timed_sync_destination  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=2000)
    parser.add_argument("--latency", default="50-150", help="sandbox latency, MIN-MAX ms")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    holds: list[Hold] = []
    instrument(holds)
    sandbox = Sandbox(seed=args.seed, issues=args.issues, latency=args.latency)
    work = Path(tempfile.mkdtemp(prefix="jirakit-file-held-"))
    transport = SyncASGITransport(sandbox.app)
    jira = Jira(
        "http://sandbox.local",
        auth=BasicAuth(sandbox.admin_email, sandbox.api_token),
        transport=transport,
    )
    phases: list[tuple[str, float]] = []
    with jira:
        for label in ("backfill", "incremental (nothing changed)"):
            holds.clear()
            phases.clear()
            start = time.perf_counter()
            result = run_sync(
                jira,
                warehouse=destination.warehouse_for(f"duckdb:///{work / 'jira.duckdb'}"),
                pipelines_dir=str(work / "pipelines"),
                options=SyncOptions(),
                on_phase=lambda name: phases.append((name, time.perf_counter())),
            )
            end = time.perf_counter()
            held = sum(e - s for _, s, e in holds)
            print(
                f"{label}: {args.issues} issues, latency {args.latency} ms, {result.status}: "
                f"wall {end - start:.2f} s, file held {held:.2f} s ({100 * held / (end - start):.0f}%)"
            )
            for what, s, e in holds:
                print(f"  held {e - s:6.3f} s by {what}, from {s - start:.2f} s")
            marks = [*phases, ("end", end)]
            for (name, s), (_, e) in itertools.pairwise(marks):
                overlap = sum(max(0.0, min(e, he) - max(s, hs)) for _, hs, he in holds)
                print(f"  {name:33s} {e - s:7.3f} s, file held {overlap:6.3f} s")
    transport.close()


if __name__ == "__main__":
    main()
