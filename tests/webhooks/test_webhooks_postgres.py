"""The inbox on the local PostgreSQL: the same guarantees as on SQLite, and two receivers on
one database apply every delivery once (a database of its own per test, dropped after)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from psycopg.conninfo import make_conninfo
from webhook_helpers import SECRET, hmac_headers, issue_body

from jirakit.webhooks import Receiver, Secrets
from jirakit.webhooks.serve import serve_in_thread
from needs import PG_DSN, require_module, require_postgres
from needs import pg_url as as_url

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url() -> Iterator[str]:
    psycopg = require_module("psycopg")
    require_postgres()
    name = f"jirakit_wh_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_DSN, autocommit=True, connect_timeout=3) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield as_url(make_conninfo(PG_DSN, dbname=name))
    with psycopg.connect(PG_DSN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_receive_dedupe_and_apply_on_postgres(pg_url: str, wait: Any):
    receiver = Receiver(pg_url, Secrets(hmac=(SECRET,)), poll_interval=0.05)
    receiver.start()
    bodies = [issue_body(10_000 + n) for n in range(40)]
    idents = [str(uuid.uuid4()) for _ in bodies]
    try:
        with serve_in_thread(receiver.app) as url:

            def post(offset: int) -> None:
                with httpx.Client() as http:
                    for body, ident in list(zip(bodies, idents, strict=True))[offset::4]:
                        for _ in range(2):  # every delivery twice
                            r = http.post(
                                f"{url}/webhooks/jira",
                                content=body,
                                headers=hmac_headers(body, ident=ident),
                            )
                            assert r.status_code == 200, r.text

            threads = [threading.Thread(target=post, args=(i,)) for i in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        wait(lambda: receiver.inbox.counts() == {"applied": 40}, what="all applied")
        assert sorted(r.delivery_id for r in receiver.inbox.deliveries()) == sorted(idents)
        assert set(receiver.inbox.journal_counts().values()) == {1}
        assert receiver.metrics.get("deliveries_total", "duplicate") == 40
        assert receiver.inbox.duplicates() == {"jira:issue_updated": 40}
    finally:
        receiver.close()


def test_two_receivers_on_one_database_apply_each_delivery_once(pg_url: str):
    from jirakit.webhooks.store import Incoming, now_ms

    a = Receiver(pg_url, Secrets(hmac=("x",)))
    b = Receiver(pg_url, Secrets(hmac=("x",)))
    for n in range(300):
        a.inbox.store(Incoming(f"d-{n}", issue_body(10_000 + n % 7), {}, now_ms(), "hmac"))
    seen: list[str] = []
    lock = threading.Lock()

    def record(event: Any) -> None:
        with lock:
            seen.append(event.delivery_id)

    a.on("*")(record)
    b.on("*")(record)
    workers = [threading.Thread(target=r.process_pending) for r in (a, b)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    a.processor.release()
    b.process_pending()
    a.process_pending()
    assert a.inbox.counts() == {"applied": 300}
    assert sorted(seen) == sorted(f"d-{n}" for n in range(300))
    assert set(a.inbox.journal_counts().values()) == {1}
    a.close()
    b.close()
