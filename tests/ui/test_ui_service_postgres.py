"""The service pages with everything on Postgres: the service's database, the job queue
(procrastinate) and a connection's webhook inbox, each in a database of this test's own.
The same pages, numbers and tenant scoping as on SQLite (test_ui_service_http.py)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from psycopg.conninfo import make_conninfo
from sqlalchemy import select

from jirakit.jobs.tasks import SyncTarget
from jirakit.service import create_app, load_settings
from jirakit.service.models import Connection, Delivery, Subscription
from jirakit.service.tenants import create_tenant
from jirakit.testing.asgi import SyncASGITransport
from jirakit.ui.service import mount
from jirakit.webhooks import Receiver, Secrets
from jirakit.webhooks.store import Incoming, now_ms
from needs import PG_DSN, pg_url, require_postgres

pytestmark = pytest.mark.postgres
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def databases() -> Iterator[Any]:
    """A factory of fresh databases (their psycopg URLs), all dropped at the end."""
    import psycopg

    require_postgres()
    admin = psycopg.connect(PG_DSN, autocommit=True)
    made: list[str] = []

    def make(name: str) -> str:
        admin.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return pg_url(make_conninfo(PG_DSN, dbname=name))

    try:
        yield make
    finally:
        for name in made:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def login(http: httpx.Client, key: str) -> str:
    form = http.get("/ui/login")
    csrf = CSRF.search(form.text).group(1)  # type: ignore[union-attr]
    assert http.post("/ui/login", data={"csrf_token": csrf, "token": key}).status_code == 303
    return CSRF.search(http.get("/ui/connections").text).group(1)  # type: ignore[union-attr]


def test_the_service_pages_on_postgres(databases: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    tag = uuid.uuid4().hex[:8]
    service_db = databases(f"t_ui15b_{tag}_svc")
    jobs_db = databases(f"t_ui15b_{tag}_jobs")
    inbox_url = pg_url(make_conninfo(PG_DSN, dbname=f"t_ui15b_{tag}_in_{{connection}}"))
    monkeypatch.setenv("JIRAKIT_JOBS_URL", jobs_db)
    monkeypatch.setenv(
        "JIRAKIT_UI_INBOX", inbox_url.replace("postgresql://", "postgresql+psycopg://")
    )
    app = create_app(
        load_settings(
            database_url=service_db.replace("postgresql://", "postgresql+psycopg://"),
            background=False,
            rate_limit=0,
        )
    )
    mount(app)  # as `jirakit serve` does
    state = app.state.service
    source = state.extra["ui"]
    source.queue.migrate()  # as `jirakit jobs migrate` does before a deployment
    try:
        keys, tenants, conns, dead = {}, {}, {}, {}
        with state.sessions() as session, session.begin():
            for who in ("a", "b"):
                tenant, keys[who] = create_tenant(session, f"pg-{who}-{tag}")
                tenants[who] = tenant.id
                conn = Connection(
                    tenant_id=tenant.id,
                    kind="api_token",
                    site=f"https://{who}-{tag}.atlassian.net",
                    api_base=f"https://{who}-{tag}.atlassian.net",
                    credentials=state.vault.encrypt({"email": "x@example.com", "token": "t"}),
                    scopes=[],
                )
                session.add(conn)
                session.flush()
                conns[who] = conn.id
                sub = Subscription(
                    tenant_id=tenant.id,
                    connection_id=conn.id,
                    object_type="task_task",
                    event="updated",
                    hook_url="https://example.com/hook",
                    secrets=state.vault.encrypt({"current": "whsec_x", "previous": []}),
                )
                session.add(sub)
                session.flush()
                made = datetime.now(UTC) - timedelta(minutes=5)
                dead[who] = f"msg_{who}_{tag}"
                session.add_all(
                    [
                        Delivery(
                            id=dead[who], tenant_id=tenant.id, webhook_id=sub.id,
                            event_type="task.updated", payload="{}", status="failed",
                            attempts=8, last_status=500, last_error="the receiver answered 500",
                            created_at=made, next_attempt_at=made,
                        ),
                        Delivery(
                            tenant_id=tenant.id, webhook_id=sub.id, event_type="task.updated",
                            payload="{}", status="delivered", attempts=1, last_status=200,
                            created_at=made, next_attempt_at=made,
                            delivered_at=made + timedelta(seconds=4),
                        ),
                    ]
                )  # fmt: skip
        source.queue.add_target(
            SyncTarget(name=conns["a"], url="https://a.example", dest="duckdb:///unused.duckdb", email="x@example.com")
        )  # fmt: skip
        # A's inbox: a database of its own, three deliveries stored and applied.
        databases(f"t_ui15b_{tag}_in_{conns['a']}")
        receiver = Receiver(
            inbox_url.replace("{connection}", conns["a"]),
            Secrets(hmac=("x",)),
            process=False,
        )
        try:
            for n, event in enumerate(
                ("jira:issue_updated", "jira:issue_updated", "comment_created")
            ):
                body = json.dumps(
                    {"webhookEvent": event, "issue": {"id": str(10_000 + n)}}
                ).encode()
                receiver.inbox.store(
                    Incoming(f"pg-{n}", body, {}, now_ms(), "hmac", event=event, issue_id=10_000 + n)
                )  # fmt: skip
            receiver.process_pending()
            assert receiver.inbox.counts() == {"applied": 3}
        finally:
            receiver.close()

        with (
            httpx.Client(transport=SyncASGITransport(app), base_url="http://service.test") as a,
            httpx.Client(transport=SyncASGITransport(app), base_url="http://service.test") as b,
        ):
            csrf_a, csrf_b = login(a, keys["a"]), login(b, keys["b"])
            # Syncs: start queues a procrastinate job, stop cancels it.
            started = a.post(f"/ui/syncs/{conns['a']}/start", data={"csrf_token": csrf_a})
            page = a.get(started.headers["location"]).text
            job = re.search(r"Sync queued \(job (\d+)\)", page).group(1)  # type: ignore[union-attr]
            assert re.search(rf'data-job="{job}" data-status="todo"', page)
            stopped = a.post(f"/ui/syncs/{conns['a']}/stop", data={"csrf_token": csrf_a})
            page = a.get(stopped.headers["location"]).text
            assert "Cancelled 1 queued sync" in page
            assert re.search(rf'data-job="{job}" data-status="cancelled"', page)
            assert {j.id: j.status for j in source.queue.jobs()}[int(job)] == "cancelled"
            # Webhooks: the inbox's counts, the outbox's, and a retry.
            hooks = a.get("/ui/webhooks", params={"connection": conns["a"]}).text
            assert re.search(r"<td>jira:issue_updated</td><td class=\"num\">2</td>", hooks)
            assert re.search(r"<td>comment_created</td><td class=\"num\">1</td>", hooks)
            assert re.search(r"<td>task.updated</td>(<td class=\"num\">[^<]*</td>){5}", hooks)
            assert "4.0 s" in hooks  # queued to delivered
            assert dead["b"] not in hooks and conns["b"] not in hooks
            retried = a.post(
                "/ui/webhooks/retry", data={"csrf_token": csrf_a, "message": dead["a"]}
            )
            assert "1 dead letter queued" in a.get(retried.headers["location"]).text
            # B's inbox database does not exist: said on the page, not a server error.
            missing = b.get("/ui/webhooks")
            assert missing.status_code == 200 and "cannot be read now" in missing.text
            assert 'id="outbox_messages"' in missing.text
            # B sees none of it and touches none of it.
            for path in ("/ui/connections", "/ui/syncs", "/ui/webhooks"):
                text = b.get(path).text
                assert conns["a"] not in text and dead["a"] not in text, path
            assert b.get("/ui/webhooks", params={"connection": conns["a"]}).status_code == 404
            foreign = b.post(
                "/ui/webhooks/retry", data={"csrf_token": csrf_b, "message": dead["a"]}
            )
            assert foreign.status_code == 404
            everything = b.post("/ui/webhooks/retry", data={"csrf_token": csrf_b})
            assert "1 dead letter queued" in b.get(everything.headers["location"]).text
        with state.sessions() as session:
            statuses = dict(session.execute(select(Delivery.id, Delivery.status)).all())
        assert statuses[dead["a"]] == "pending" and statuses[dead["b"]] == "pending"
    finally:
        source.queue.close()
        state.engine.dispose()
