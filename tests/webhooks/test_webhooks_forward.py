"""HTTP forwarding: through the outbox, signed (Standard Webhooks), retried on a schedule,
once per delivery, with the delivery id as the receiving end's idempotency key."""

from __future__ import annotations

import json
import time
from typing import Any

from webhook_helpers import issue_body

from jirakit.testing.webhooks import WebhookReceiver
from jirakit.webhooks import Receiver, Secrets
from jirakit.webhooks.consumers import sign_forward, verify_forward
from jirakit.webhooks.store import Incoming, now_ms

FORWARD_SECRET = "whsec_" + "c2VjcmV0LWZvci1mb3J3YXJkcw=="


def deliver(receiver: Receiver, ident: str, body: bytes) -> None:
    receiver.inbox.store(Incoming(ident, body, {}, now_ms(), "hmac", event="jira:issue_updated"))


def test_forwards_are_signed_retried_and_sent_once(store_url: str, wait: Any):
    with WebhookReceiver(fail_with=[500, 503]) as target:
        receiver = Receiver(store_url, Secrets(hmac=("x",)))
        forwarder = receiver.forward(
            target.url, secret=FORWARD_SECRET, schedule=(0.0, 0.0, 0.0), interval=0.05
        )
        deliver(receiver, "d-1", issue_body(10001))
        deliver(receiver, "d-2", issue_body(10002))
        receiver.process_pending()
        receiver.process_pending()  # nothing left: no second enqueue
        for _ in range(4):
            forwarder.deliver(receiver.inbox)
        got = target.wait_for(4)
        receiver.close()
    statuses = [d.status for d in got]
    assert statuses == [500, 503, 200, 200]
    ok = [d for d in got if d.status == 200]
    assert sorted(d.headers["webhook-id"] for d in ok) == ["d-1", "d-2"]
    for d in ok:
        assert verify_forward(FORWARD_SECRET, dict(d.headers), d.body)
        envelope = d.json()
        assert envelope["type"] == "jira:issue_updated" and envelope["ordering"] == "applied"
        assert envelope["data"]["issue"]["id"] in ("10001", "10002")
    assert not verify_forward("whsec_" + "b3RoZXI=", dict(ok[0].headers), ok[0].body)
    assert not verify_forward(FORWARD_SECRET, dict(ok[0].headers), ok[0].body + b" ")
    rows = {r["delivery_id"]: r for r in Receiver(store_url, Secrets(hmac=("x",))).inbox.forwards()}
    assert {k: (r["status"], r["attempts"]) for k, r in rows.items()} == {
        "d-1": ("sent", 2),  # 500, then 200
        "d-2": ("sent", 2),  # 503, then 200
    }


def test_a_forward_gives_up_after_its_schedule(store_url: str):
    with WebhookReceiver(fail_with=[500] * 10) as target:
        receiver = Receiver(store_url, Secrets(hmac=("x",)))
        forwarder = receiver.forward(target.url, schedule=(0.0,))
        deliver(receiver, "d-1", issue_body())
        receiver.process_pending()
        for _ in range(3):
            forwarder.deliver(receiver.inbox)
        assert len(target.wait_for(2)) == 2
        time.sleep(0.1)
        assert len(target.deliveries) == 2  # one try, one retry, then it gave up
        [row] = receiver.inbox.forwards()
        receiver.close()
    assert (row["status"], row["attempts"], row["last_error"]) == ("failed", 2, "HTTP 500")


def test_forwarding_runs_in_the_background_and_filters_events(store_url: str, wait: Any):
    with WebhookReceiver() as target:
        receiver = Receiver(store_url, Secrets(hmac=("x",)), poll_interval=0.05)
        receiver.forward(target.url, events=["comment_created"], interval=0.05)
        receiver.start()
        deliver(receiver, "i-1", issue_body())
        comment = {
            "timestamp": 1,
            "webhookEvent": "comment_created",
            "comment": {"id": "5", "updated": "2026-02-01T12:00:00.000+0000"},
            "issue": {"id": "10001", "key": "ENG-1", "fields": {}},
        }
        deliver(receiver, "c-1", json.dumps(comment).encode())
        receiver.jobs["process"].wake()
        [only] = target.wait_for(1)
        time.sleep(0.2)
        receiver.close()
    assert only.headers["webhook-id"] == "c-1"
    assert len(target.deliveries) == 1
    assert "webhook-signature" not in only.headers  # no secret, no signature


def test_standard_webhooks_signature_vector():
    """The example from the Standard Webhooks specification."""
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    msg_id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
    body = b'{"test": 2432232314}'
    assert sign_forward(secret, msg_id, 1614265330, body) == (
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )
