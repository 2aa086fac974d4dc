"""A `jirakit serve` with two tenants and real data behind every service page, for the
dashboard's service tests (over HTTP in process, and in the browser):

- tenant A (acme): an API-token connection to the served sandbox, whose sync target
  writes into a copy of the session's synced warehouse (so it has runs and drift), and
  an OAuth connection that needs the customer to authorise again; a webhook inbox filled
  by a real receiver over HTTP (signed deliveries, one malformed), applied; outbox
  messages delivered, retrying and dead;
- tenant B (globex): one connection with a sync target of its own (an empty warehouse),
  an inbox of one delivery, and outbox messages of its own;
- a job queue (SQLite) and a rate-limit governor both tenants drew points from.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from dashboard_support import EMAIL, TOKEN, Synced

from jirakit.jobs.budget import BudgetPolicy, MemoryGovernor, Priority
from jirakit.jobs.queue import JobQueue
from jirakit.jobs.tasks import SyncTarget
from jirakit.sandbox import webhooks as sandbox_webhooks
from jirakit.service import create_app, load_settings
from jirakit.service.models import Connection, Delivery, Subscription
from jirakit.service.state import ServiceState
from jirakit.service.tenants import create_tenant
from jirakit.testing.asgi import SyncASGITransport
from jirakit.ui.service import ServiceSource, mount
from jirakit.webhooks import Receiver, Secrets
from jirakit.webhooks.serve import serve_in_thread as serve_receiver

HOOK_SECRET = "ui-tests-hmac-secret"
TOKEN_ENV = "JIRAKIT_UI_TEST_JIRA_TOKEN"
OAUTH_CLIENT = "jirakit-ui-tests"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def issue_body(issue_id: int, event: str) -> bytes:
    body: dict[str, Any] = {
        "timestamp": int(time.time() * 1000),
        "webhookEvent": event,
        "issue": {
            "id": str(issue_id),
            "key": f"ENG-{issue_id - 10000}",
            "fields": {"summary": "s", "updated": "2026-02-01T12:00:00.000+0000"},
        },
    }
    if event.startswith("comment_"):
        body["comment"] = {"id": str(issue_id + 500), "body": "hi"}
    return json.dumps(body).encode()


@dataclass
class World:
    app: Any
    state: ServiceState
    source: ServiceSource
    queue: JobQueue
    keys: dict[str, str]
    tenants: dict[str, str]
    conns: dict[str, str]
    dest_a: Path
    inbox_a: str
    receiver_a: Receiver
    sandbox_url: str
    seen: list[str] = field(default_factory=list)  # deliveries A's consumer applied
    messages: dict[str, list[str]] = field(default_factory=dict)  # tenant -> dead ids
    governor: MemoryGovernor | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self) -> httpx.Client:
        return httpx.Client(
            transport=SyncASGITransport(self.app),
            base_url="http://service.test",
            follow_redirects=False,
        )

    @contextmanager
    def logged_in(self, who: str) -> Iterator[httpx.Client]:
        with self.client() as http:
            login(http, self.keys[who])
            yield http

    def inbox_sql(self, sql: str) -> list[tuple[Any, ...]]:
        import sqlite3

        con = sqlite3.connect(self.inbox_a.removeprefix("sqlite:///"))
        try:
            return [tuple(r) for r in con.execute(sql).fetchall()]
        finally:
            con.close()


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def login(http: httpx.Client, key: str) -> httpx.Response:
    page = http.get("/ui/login")
    assert page.status_code == 200, page.text
    answer = http.post(
        "/ui/login", data={"csrf_token": csrf_of(page.text), "token": key, "next": "/"}
    )
    assert answer.status_code == 303, answer.text
    return answer


def _post_deliveries(url: str, bodies: list[tuple[str, bytes]]) -> None:
    with httpx.Client() as http:
        for ident, body in bodies:
            headers = {
                "Content-Type": "application/json",
                "X-Atlassian-Webhook-Identifier": ident,
                "X-Hub-Signature": sandbox_webhooks.sign(body, HOOK_SECRET),
            }
            if ident.endswith("-retried"):  # Jira sent it again after no answer in time
                headers["X-Atlassian-Webhook-Retry"] = "1"
            answer = http.post(f"{url}/webhooks/jira", content=body, headers=headers)
            assert answer.status_code in (200, 202, 400), answer.text


def _message(sub: Subscription, made: datetime, **fields: Any) -> Delivery:
    """An outbox message of ``sub``'s (an empty body) made at ``made``; ``fields`` say how
    its delivery went."""
    return Delivery(
        tenant_id=sub.tenant_id, webhook_id=sub.id, payload="{}", created_at=made, **fields
    )


def build_world(synced: Synced, sandbox_url: str, work: Path) -> World:
    dest_a = work / "acme.duckdb"
    shutil.copyfile(synced.db, dest_a)
    inbox = f"sqlite:///{work}/inbox-{{connection}}.db"
    settings = load_settings(
        database_url=f"sqlite:///{work / 'service.db'}",
        background=False,
        rate_limit=0,
        oauth_client_id=OAUTH_CLIENT,
        oauth_client_secret="ui-tests-oauth-secret",
        oauth_redirect_uri="http://127.0.0.1:9/oauth/callback",
        oauth_auth_url=sandbox_url,
        oauth_api_url=sandbox_url,
    )
    names = ("JIRAKIT_JOBS_URL", "JIRAKIT_UI_INBOX", "JIRAKIT_UI_POLL")
    saved = {k: os.environ.get(k) for k in names}
    os.environ["JIRAKIT_JOBS_URL"] = f"sqlite:///{work / 'jobs.db'}"
    os.environ["JIRAKIT_UI_INBOX"] = inbox
    os.environ["JIRAKIT_UI_POLL"] = "0.3"
    try:
        app = create_app(settings)
        mount(app)  # as `jirakit serve` does
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    state: ServiceState = app.state.service
    source: ServiceSource = state.extra["ui"]
    assert source.queue is not None
    keys, tenants = {}, {}
    with state.sessions() as session, session.begin():
        for who, name in (("a", "acme"), ("b", "globex")):
            tenant, key = create_tenant(session, name)
            keys[who], tenants[who] = key, tenant.id
    conns: dict[str, str] = {}
    with httpx.Client(transport=SyncASGITransport(app), base_url="http://service.test") as api:
        for who in ("a", "b"):
            made = api.post(
                "/unified/connection",
                headers={"Authorization": f"Bearer {keys[who]}"},
                json={
                    "integration_type": "jira",
                    "auth": {"api_url": sandbox_url, "emails": [EMAIL], "token": TOKEN},
                },
            )
            assert made.status_code == 200, made.text
            conns[who] = str(made.json()["id"])
    now = datetime.now(UTC)
    with state.sessions() as session, session.begin():
        oauth = Connection(
            tenant_id=tenants["a"],
            kind="oauth2",
            site="https://acme-cloud.atlassian.net",
            api_base="https://api.atlassian.com/ex/jira/cloud-acme",
            cloud_id="cloud-acme",
            credentials=state.vault.encrypt({"access_token": "x", "refresh_token": "y"}),
            status="needs_reauth",
            scopes=["read:jira-work", "offline_access"],
            token_expires_at=now - timedelta(hours=2),
            last_error="the refresh token was revoked",
        )
        session.add(oauth)
        session.flush()
        conns["a_oauth"] = oauth.id
    queue = source.queue
    queue.add_target(
        SyncTarget(
            name=conns["a"],
            url=sandbox_url,
            dest=f"duckdb:///{dest_a}",
            email=EMAIL,
            token_env=TOKEN_ENV,
            pipelines_dir=str(work / "pipelines-a"),
        )
    )
    queue.add_target(
        SyncTarget(
            name=conns["b"],
            url=sandbox_url,
            dest=f"duckdb:///{work / 'globex.duckdb'}",
            email=EMAIL,
            token_env=TOKEN_ENV,
            pipelines_dir=str(work / "pipelines-b"),
        )
    )
    # Webhook inboxes, filled by real receivers over HTTP.
    inbox_a = inbox.replace("{connection}", conns["a"])
    receiver_a = Receiver(inbox_a, Secrets(hmac=(HOOK_SECRET,)), process=False)
    world = World(
        app=app,
        state=state,
        source=source,
        queue=queue,
        keys=keys,
        tenants=tenants,
        conns=conns,
        dest_a=dest_a,
        inbox_a=inbox_a,
        receiver_a=receiver_a,
        sandbox_url=sandbox_url,
    )

    def record(event: Any) -> None:
        with world.lock:
            world.seen.append(event.delivery_id)

    receiver_a.on("*")(record)
    deliveries = [(f"a-upd-{n}", issue_body(10_001 + n, "jira:issue_updated")) for n in range(3)]
    deliveries += [("a-upd-retried", issue_body(10_004, "jira:issue_updated"))]
    deliveries += [(f"a-com-{n}", issue_body(10_010 + n, "comment_created")) for n in range(2)]
    deliveries += [("a-bad-0", b'{"webhookEvent": "jira:issue_updated", "issue": 7')]
    with serve_receiver(receiver_a.app) as url:
        _post_deliveries(url, deliveries[:3])
        time.sleep(0.05)  # two arrival instants, for a replay range between them
        _post_deliveries(url, deliveries[3:])
        # Sent again with the same id and body: duplicates, answered and not stored again.
        _post_deliveries(url, [deliveries[0], deliveries[0], deliveries[4]])
    receiver_a.process_pending()
    receiver_b = Receiver(
        inbox.replace("{connection}", conns["b"]), Secrets(hmac=(HOOK_SECRET,)), process=False
    )
    with serve_receiver(receiver_b.app) as url:
        _post_deliveries(url, [("b-upd-0", issue_body(10_099, "jira:issue_updated"))])
    receiver_b.process_pending()
    receiver_b.close()
    # The outbox: each tenant's subscription and messages.
    with state.sessions() as session, session.begin():
        for who, delivered, dead, retrying in (("a", 3, 2, 1), ("b", 1, 1, 0)):
            sub = Subscription(
                tenant_id=tenants[who],
                connection_id=conns[who],
                object_type="task_task",
                event="updated",
                hook_url=f"https://{who}.example.com/hooks",
                secrets=state.vault.encrypt({"current": "whsec_test", "previous": []}),
            )
            session.add(sub)
            session.flush()
            made = now - timedelta(minutes=30)
            for n in range(delivered):
                session.add(
                    _message(
                        sub,
                        made,
                        event_type="task.updated",
                        status="delivered",
                        attempts=1,
                        last_status=200,
                        next_attempt_at=made,
                        delivered_at=made + timedelta(seconds=2 + n),
                    )
                )
            ids = []
            for _ in range(dead):
                msg_id = f"msg_{who}_{uuid.uuid4().hex[:12]}"
                ids.append(msg_id)
                session.add(
                    _message(
                        sub,
                        made,
                        id=msg_id,
                        event_type="task.created",
                        status="failed",
                        attempts=8,
                        last_status=500,
                        last_error="the receiver answered 500",
                        next_attempt_at=made,
                    )
                )
            for _ in range(retrying):
                session.add(
                    _message(
                        sub,
                        made,
                        event_type="task.updated",
                        status="pending",
                        attempts=2,
                        last_status=503,
                        last_error="the receiver answered 503",
                        next_attempt_at=now + timedelta(hours=1),
                    )
                )
            world.messages[who] = ids
    governor = MemoryGovernor(BudgetPolicy(points=6000, window=3600.0))
    for _ in range(3):
        assert governor.acquire(tenants["a"], Priority.INTERACTIVE, 10) == 0
    assert governor.acquire(tenants["b"], Priority.BACKFILL, 25) == 0
    state.extra["governor"] = governor
    world.governor = governor
    return world
