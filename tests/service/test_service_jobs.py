"""The service's background work as jobs (issue 14), one setting apart:

- ``JIRAKIT_JOBS_URL=sqlite:///...``: `jirakit serve` defers and runs the jobs itself, no
  Postgres needed;
- ``JIRAKIT_JOBS_URL=postgresql://...``: serve only defers; `jirakit worker` processes
  (real subprocesses here) run them. Deliveries reach the subscriber exactly once, and a
  worker killed with ``kill -9`` mid-delivery costs a retry of that one message under the
  same ``webhook-id``, so the subscriber's effects (deduplicated by ``webhook-id``, as
  Standard Webhooks asks) happen exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from psycopg.conninfo import make_conninfo
from service_support import ENCRYPTION_KEY, Service, SlowReceiver, _pg_admin
from sqlalchemy import select, update

from jirakit.jobs.queue import open_queue
from jirakit.service import publish, verify
from jirakit.service.models import Connection, Delivery, utcnow
from jirakit.testing.webhooks import WebhookReceiver
from needs import PG_DSN
from needs import pg_url as as_url


def wait(until: Any, timeout: float = 30.0, what: Any = "the work") -> None:
    """Until ``until()``; ``what`` (a string, or a function giving one) names it on a timeout."""
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            pytest.fail(f"{what() if callable(what) else what} did not finish in time")
        time.sleep(0.05)


def consent(api: httpx.Client) -> str:
    start = api.get("/unified/integration/auth/ws/jira")
    with httpx.Client() as browser:
        granted = browser.get(start.text)
        done = browser.get(granted.headers["location"])
    assert done.status_code == 200, done.text
    return str(done.json()["id"])


def subscribe(api: httpx.Client, conn_id: str, url: str, **extra: Any) -> dict[str, Any]:
    body = {"connection_id": conn_id, "object_type": "task_task", "event": "updated",
            "hook_url": url, **extra}  # fmt: skip
    response = api.post("/unified/webhook", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def state(service: Service, hook_id: str, app: WebhookReceiver, log: Path) -> str:
    """What a timeout reports: what the subscriber got, the outbox, the workers' log."""
    sent = Counter(d.headers["webhook-id"] for d in app.deliveries)
    outbox = [(r.id, r.status, r.attempts, r.locked_until) for r in rows(service, hook_id)]
    return f"sent {sorted(sent.items())}; outbox {outbox}; log {log.read_text()[-3000:]}"


def queue_state(url: str) -> str:
    """The queue's unfinished jobs, its workers and their events (for a timeout's report)."""
    import psycopg

    with psycopg.connect(url) as db:
        jobs = db.execute(
            "SELECT id, task_name, args, status, attempts, lock, worker_id FROM "
            "procrastinate_jobs WHERE status NOT IN ('succeeded') ORDER BY id"
        ).fetchall()
        workers = db.execute("SELECT id, last_heartbeat FROM procrastinate_workers").fetchall()
    return f"jobs {jobs}; workers {workers}"


def rows(service: Service, hook_id: str) -> list[Delivery]:
    with service.state.sessions() as session:
        return list(session.scalars(select(Delivery).where(Delivery.webhook_id == hook_id)))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sqlite_mode_runs_every_kind_in_process(make_service: Any, tmp_path: Path):
    """No Postgres anywhere: the service on SQLite, its jobs on a SQLite queue it runs."""
    jobs_url = f"sqlite:///{tmp_path / 'jobs.db'}"
    service = make_service(
        jobs_url=jobs_url, public_url="self", background=True, background_interval=0.05
    )
    api = service.client(service.tenant())
    with WebhookReceiver() as app:
        # Virtual: polled by webhooks.poll_virtual, delivered by service.deliver.
        polled = service.connect(api)
        virtual = subscribe(api, polled, app.url, interval=0)
        task = api.get(f"/task/{polled}/task", params={"limit": 1}).json()[0]
        time.sleep(0.2)
        api.patch(f"/task/{polled}/task/{task['id']}", json={"name": "Polled by a job"})
        wait(lambda: len(app.accepted) >= 1)
        event = verify(virtual["secret"], app.accepted[0].headers, app.accepted[0].body)
        assert event["data"]["name"] == "Polled by a job"
        # Native: received here, applied by webhooks.process_inbox.
        pushed = consent(api)
        native = subscribe(api, pushed, app.url)
        assert native["webhook_type"] == "native"
        task = api.get(f"/task/{pushed}/task", params={"limit": 1}).json()[0]
        api.patch(f"/task/{pushed}/task/{task['id']}", json={"name": "Pushed to a job"})
        # (Both connections are one site: the virtual subscription polls this change too.)
        wait(
            lambda: any(
                d.json()["webhook"]["id"] == native["id"]
                and d.json()["data"]["name"] == "Pushed to a job"
                for d in app.accepted
            )
        )
        # An expiring token: refreshed by service.refresh_token.
        with service.state.sessions() as session, session.begin():
            session.execute(
                update(Connection).where(Connection.id == pushed).values(token_expires_at=utcnow())
            )

        def refreshed() -> bool:
            with service.state.sessions() as session:
                row = session.get(Connection, pushed)
                return bool(row and row.token_expires_at and row.token_expires_at > utcnow())

        wait(refreshed, what="the token refresh")
        # Native registrations near their 30 days: extended by webhooks.refresh_dynamic.
        from jirakit.service.native import _remember

        registered = service.sandbox.webhooks.of_kind("dynamic", service.sandbox.webhooks.app_key)
        _remember(service.state, pushed, [r.id for r in registered], utcnow() + timedelta(days=1))

        def extended() -> bool:
            with service.state.sessions() as session:
                row = session.get(Connection, pushed)
                expires = (row.extra or {})["native_webhooks"]["expires"] if row else ""
            return str(expires) > (utcnow() + timedelta(days=20)).isoformat()

        wait(extended, what="the dynamic webhook refresh")
        time.sleep(0.3)
    ids = [d.headers["webhook-id"] for d in app.accepted]
    assert len(ids) == len(set(ids))  # nothing sent twice
    with open_queue(jobs_url) as queue:
        jobs = queue.jobs()
    done = Counter(j.task for j in jobs if j.status == "succeeded")
    for kind in (
        "service.deliver",
        "webhooks.poll_virtual",
        "webhooks.process_inbox",
        "service.refresh_token",
        "webhooks.refresh_dynamic",
    ):
        others = [(j.task, j.status, j.error) for j in jobs if j.task != "webhooks.poll_virtual"]
        assert done[kind] >= 1, f"{kind}: {others}"
    assert not [j for j in jobs if j.status == "failed"]
    # Each message was delivered by one job.
    delivered = [j.args["delivery_id"] for j in jobs if j.task == "service.deliver"]
    assert set(ids) <= set(delivered)


# -- Postgres: serve defers, `jirakit worker` processes run ---------------------------------


@pytest.fixture
def jobs_db() -> Iterator[str]:
    """A database of its own for the queue (procrastinate's tables)."""
    name = f"jk_svcjobs_{uuid.uuid4().hex[:10]}"
    admin = _pg_admin()
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield as_url(make_conninfo(PG_DSN, dbname=name))
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def start_worker(jobs_url: str, db_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIRAKIT_")}
    env.update(
        JIRAKIT_DB=db_url,
        JIRAKIT_ENCRYPTION_KEYS=ENCRYPTION_KEY,
        JIRAKIT_WEBHOOK_RETRY_SCHEDULE="0.2,0.2,0.2",
        JIRAKIT_WEBHOOK_TIMEOUT="5",
    )
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "jirakit", "worker", "--jobs", jobs_url, "--concurrency", "1",
             "--heartbeat", "0.5", "--stalled-after", "2"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def tenant_of(service: Service, conn_id: str) -> str:
    with service.state.sessions() as session:
        return str(session.scalar(select(Connection.tenant_id).where(Connection.id == conn_id)))


def publish_many(service: Service, conn_id: str, n: int) -> None:
    tenant_id = tenant_of(service, conn_id)
    for i in range(n):
        assert publish(service.state, tenant_id, conn_id, "task_task", "updated", {"id": str(i)})


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_two_serves_defer_and_two_workers_deliver_exactly_once(
    make_service: Any, db_url: str, jobs_db: str, tmp_path: Path
):
    """Two serve processes defer (each piece of work once, by the queueing locks), two
    `jirakit worker` processes run: polls, received Jira deliveries and deliveries."""
    service = make_service(
        jobs_url=jobs_db, public_url="self", background=True, background_interval=0.1
    )
    other = make_service(jobs_url=jobs_db, background=True, background_interval=0.1)
    api = service.client(service.tenant())
    conn_id = service.connect(api)
    log = tmp_path / "workers.log"
    with WebhookReceiver() as app:
        hook = subscribe(api, conn_id, app.url, interval=0)
        pushed = consent(api)
        native = subscribe(api, pushed, app.url)
        assert native["webhook_type"] == "native"
        workers = [start_worker(jobs_db, db_url, log) for _ in range(2)]
        try:
            # Events from a poll the workers run against the served sandbox...
            task = api.get(f"/task/{conn_id}/task", params={"limit": 1}).json()[0]
            time.sleep(0.5)
            api.patch(f"/task/{conn_id}/task/{task['id']}", json={"name": "Via the worker"})
            # ... from Jira pushing to serve, applied by a worker ...
            # (Both connections are one site: another issue, so the poll sees both changes.)
            other_task = api.get(f"/task/{pushed}/task", params={"limit": 2}).json()[1]
            assert other_task["id"] != task["id"]
            api.patch(
                f"/task/{pushed}/task/{other_task['id']}", json={"name": "Pushed to a worker"}
            )
            # ... and published by both serve processes.
            publish_many(service, conn_id, 10)
            publish_many(other, conn_id, 10)

            def settled() -> bool:
                mine = rows(service, hook["id"])
                theirs = rows(service, native["id"])
                return (
                    len(mine) >= 22
                    and len(theirs) >= 2
                    and all(r.status == "delivered" for r in mine + theirs)
                )

            wait(settled, timeout=60, what=lambda: state(service, hook["id"], app, log))
            time.sleep(1.0)  # time for anything sent twice to arrive
        finally:
            for proc in workers:
                stop(proc)
    sent = Counter(d.headers["webhook-id"] for d in app.accepted)
    assert set(sent) == {r.id for r in rows(service, hook["id"]) + rows(service, native["id"])}
    assert max(sent.values()) == 1, [i for i, n in sent.items() if n > 1]
    names: dict[str, list[Any]] = {}
    for h in (hook, native):
        mine = {r.id for r in rows(service, h["id"])}
        names[h["id"]] = [
            verify(h["secret"], d.headers, d.body)["data"].get("name")
            for d in app.accepted
            if d.headers["webhook-id"] in mine
        ]
    assert "Via the worker" in names[hook["id"]]  # polled by a worker
    # Pushed by Jira (every change on the site, so the polled connection's too).
    assert sorted(names[native["id"]]) == ["Pushed to a worker", "Via the worker"]
    with open_queue(jobs_db) as queue:
        jobs = queue.jobs()
    kinds = Counter(j.task for j in jobs if j.status == "succeeded")
    assert kinds["service.deliver"] >= 24 and kinds["webhooks.poll_virtual"] >= 1
    assert kinds["webhooks.process_inbox"] >= 1
    assert not [j for j in jobs if j.status == "failed"]


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_worker_killed_mid_delivery_is_retried_and_effects_happen_once(
    make_service: Any, db_url: str, jobs_db: str, tmp_path: Path
):
    service = make_service(jobs_url=jobs_db, background=True, background_interval=0.1)
    api = service.client(service.tenant())
    conn_id = service.connect(api)
    log = tmp_path / "workers.log"
    n = 15
    with SlowReceiver(delay=0.3) as app:
        hook = subscribe(api, conn_id, app.url, interval=1440)
        first = start_worker(jobs_db, db_url, log)
        second = None
        try:
            publish_many(service, conn_id, n)
            # Killed while the subscriber answers a delivery (the attempt is in flight).
            wait(lambda: len(app.deliveries) >= 3 and app.answering, what="a delivery")
            first.send_signal(signal.SIGKILL)
            first.wait()
            assert len(app.deliveries) < n, "the worker finished before it was killed"
            second = start_worker(jobs_db, db_url, log)
            wait(
                lambda: {d.headers["webhook-id"] for d in app.deliveries} >= {r.id for r in rows(service, hook["id"])}
                and all(r.status == "delivered" for r in rows(service, hook["id"])),
                timeout=60,
                what=lambda: f"delivery after the kill ({state(service, hook['id'], app, log)}) {queue_state(jobs_db)}",
            )  # fmt: skip
            time.sleep(1.0)
        finally:
            stop(first)
            if second is not None:
                stop(second)
    sent = Counter(d.headers["webhook-id"] for d in app.deliveries)
    messages = {r.id for r in rows(service, hook["id"])}
    assert len(messages) == n and set(sent) == messages
    # The subscriber's effects, deduplicated by webhook-id: each message exactly once.
    effects = {verify(hook["secret"], d.headers, d.body)["data"]["id"] for d in app.deliveries}
    assert effects == {str(i) for i in range(n)}
    # Only the attempt the kill interrupted was sent again (one job at a time).
    assert sum(c - 1 for c in sent.values()) <= 1
    with open_queue(jobs_db) as queue:
        deliver_jobs = [j for j in queue.jobs() if j.task == "service.deliver"]
    assert not [j for j in deliver_jobs if j.status in ("todo", "doing")]
    done = {j.args["delivery_id"] for j in deliver_jobs if j.status == "succeeded"}
    assert done == messages
    # The job the kill interrupted was recovered: run again, or closed in favour of a job
    # for the same message that was waiting already.
    assert any(j.attempts >= 2 or j.status == "failed" for j in deliver_jobs)
