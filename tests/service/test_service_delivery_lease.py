"""One outgoing message, one attempt in flight (issue 14): an attempt claims a message only
when no live lease holds it, keeps its lease alive while its POST runs, and records its
outcome only while it still owns the message. Real HTTP to a slow receiver, the real
outbox on SQLite."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from service_support import SlowReceiver
from sqlalchemy import select, update

from jirakit.service import outbox, publish
from jirakit.service.models import Connection, Delivery, utcnow


def one_message(service: Any, url: str) -> str:
    api = service.client(service.tenant())
    conn_id = service.connect(api)
    body = {"connection_id": conn_id, "object_type": "task_task", "event": "updated",
            "hook_url": url, "interval": 1440}  # fmt: skip
    assert api.post("/unified/webhook", json=body).status_code == 200
    with service.state.sessions() as session:
        tenant = str(session.scalar(select(Connection.tenant_id).where(Connection.id == conn_id)))
    (msg_id,) = publish(service.state, tenant, conn_id, "task_task", "updated", {"id": "1"})
    return msg_id


def first_attempt_in_flight(
    service: Any, app: SlowReceiver, timeout: float = 10.0
) -> tuple[str, threading.Thread]:
    """A message to ``app``, and its first attempt, in a thread, once its POST is being
    answered."""
    msg_id = one_message(service, app.url)
    first = threading.Thread(target=outbox.deliver_one, args=(service.state, msg_id))
    first.start()
    deadline = time.monotonic() + timeout
    while not app.answering:
        assert time.monotonic() < deadline, "the first attempt never reached the receiver"
        time.sleep(0.01)
    return msg_id, first


def message(service: Any, msg_id: str) -> Delivery:
    with service.state.sessions() as session:
        row = session.get(Delivery, msg_id)
        assert row is not None
        session.expunge(row)
        return row


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_second_attempt_waits_while_the_first_is_in_flight(make_service: Any):
    """The job of a message taken over while its first attempt still runs (a stalled
    heartbeat) makes no second POST: the live lease holds the message."""
    service = make_service()
    with SlowReceiver(delay=1.5) as app:
        msg_id, first = first_attempt_in_flight(service, app)
        assert outbox.deliver_one(service.state, msg_id) is False
        first.join()
        assert app.most_at_once == 1
        assert len(app.deliveries) == 1
    row = message(service, msg_id)
    assert (row.status, row.attempts, row.locked_by) == ("delivered", 1, None)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_lease_is_renewed_while_a_slow_post_runs(
    make_service: Any, monkeypatch: pytest.MonkeyPatch
):
    """A POST that outlasts the lease keeps it: no second attempt starts meanwhile."""
    monkeypatch.setattr(outbox, "LEASE", 1.5)
    service = make_service()
    with SlowReceiver(delay=4.0) as app:
        msg_id, first = first_attempt_in_flight(service, app)
        time.sleep(2.5)  # past the first lease
        assert outbox.deliver_one(service.state, msg_id) is False
        assert outbox.deliver_due(service.state) == 0
        first.join()
        assert app.most_at_once == 1 and len(app.deliveries) == 1
    assert message(service, msg_id).status == "delivered"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_stale_attempt_does_not_overwrite_a_newer_one(make_service: Any):
    """An attempt that lost its message to a newer one records nothing when it ends."""
    service = make_service()
    with SlowReceiver(delay=1.0) as app:
        msg_id, first = first_attempt_in_flight(service, app)
        # A newer attempt owns the message now (as after the lease ran out).
        later = utcnow() + outbox.timedelta(seconds=60)
        with service.state.sessions() as session, session.begin():
            session.execute(
                update(Delivery)
                .where(Delivery.id == msg_id)
                .values(locked_by="newer", locked_until=later)
            )
        first.join()
    row = message(service, msg_id)
    assert (row.status, row.attempts, row.locked_by) == ("pending", 0, "newer")
    assert row.last_status is None
