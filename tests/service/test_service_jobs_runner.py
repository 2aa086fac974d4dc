"""`jirakit serve` on the SQLite queue runs its jobs in-process (issue 14): syncs never
take the slots of the service's own work, and stopping the service stops a running sync at
a safe point (its run recorded ``interrupted``, to resume next time). Real syncs against a
served sandbox whose every answer is slow, a real subscriber over HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from sqlalchemy import select

from jirakit.jobs.queue import open_queue
from jirakit.jobs.tasks import SyncTarget
from jirakit.sandbox import Sandbox
from jirakit.service import publish
from jirakit.service.jobs import JobRunner
from jirakit.service.models import Connection, Delivery
from jirakit.sync.pipeline import warehouse_for
from jirakit.sync.progress import read_progress
from jirakit.testing.webhooks import WebhookReceiver

EMAIL, TOKEN = "admin@example.com", "sandbox-token"
TOKEN_ENV = "JIRAKIT_RUNNER_TEST_TOKEN"


@pytest.fixture
def slow_site(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    monkeypatch.setenv("JIRAKIT_STATE_DIR", str(tmp_path / "state"))
    # Every answer takes 150 ms: a sync lasts seconds.
    with Sandbox(seed=5, issues=40, latency="150").serve() as url:
        yield url


def target(name: str, url: str, tmp_path: Path) -> SyncTarget:
    return SyncTarget(
        name=name,
        url=url,
        dest=f"duckdb:///{tmp_path / f'{name}.duckdb'}",
        token_env=TOKEN_ENV,
        email=EMAIL,
        pipelines_dir=str(tmp_path / f"pipelines-{name}"),
    )


def wait(until: Any, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, f"{what} did not happen in time"
        time.sleep(0.02)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_deliveries_do_not_wait_behind_syncs_and_stop_interrupts_a_sync(
    make_service: Any, slow_site: str, tmp_path: Path
):
    service = make_service()  # its background off: the runner below is the one under test
    api = service.client(service.tenant())
    conn_id = service.connect(api)
    jobs_url = f"sqlite:///{tmp_path / 'jobs.db'}"
    runner = JobRunner(service.state, jobs_url)
    runner.start()
    stopped = False
    try:
        with WebhookReceiver() as app, open_queue(jobs_url) as queue:
            body = {"connection_id": conn_id, "object_type": "task_task", "event": "updated",
                    "hook_url": app.url, "interval": 1440}  # fmt: skip
            assert api.post("/unified/webhook", json=body).status_code == 200
            specs = [target(name, slow_site, tmp_path) for name in ("alpha", "beta")]
            syncs = [queue.defer("sync_connection", target=s.as_json()) for s in specs]

            def status() -> dict[int | None, str]:
                return {j.id: j.status for j in queue.jobs()}

            def syncing() -> bool:
                lives = [read_progress(warehouse_for(s.dest)) for s in specs]
                return all(status()[j] == "doing" for j in syncs) and all(
                    live is not None and live.requests > 0 for live in lives
                )

            wait(syncing, "both syncs running")
            # A message published while two syncs fill their slots.
            with service.state.sessions() as session:
                tenant = session.scalar(
                    select(Connection.tenant_id).where(Connection.id == conn_id)
                )
            published = time.monotonic()
            (msg_id,) = publish(service.state, str(tenant), conn_id, "task_task", "updated", {})
            wait(lambda: len(app.deliveries) == 1, "the delivery", timeout=30)
            latency = time.monotonic() - published
            # It went out while both syncs still ran.
            assert [status()[j] for j in syncs] == ["doing", "doing"], latency

            def delivery_status() -> str | None:
                with service.state.sessions() as session:  # a fresh read each time
                    row = session.get(Delivery, msg_id)
                    assert row is not None
                    return row.status

            wait(lambda: delivery_status() == "delivered", "recorded")
            print(f"delivery latency while two syncs ran: {latency:.3f}s")

            # Stopping the runner mid-sync: both syncs stop at a safe point.
            runner.stop(timeout=60)
            stopped = True
            assert [status()[j] for j in syncs] == ["aborted", "aborted"]
            for spec in specs:
                live = read_progress(warehouse_for(spec.dest))
                assert live is not None and live.status == "interrupted", live
                con = duckdb.connect(spec.dest.removeprefix("duckdb:///"), read_only=True)
                try:
                    runs = con.execute("select status from _sync_runs").fetchall()
                finally:
                    con.close()
                assert [r[0] for r in runs] == ["interrupted"]
    finally:
        if not stopped:
            runner.stop(timeout=60)
