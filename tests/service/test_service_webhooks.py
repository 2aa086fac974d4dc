"""Outgoing webhooks: Standard Webhooks signatures, virtual (polling) events, the durable
outbox with retries, 410, dead letters and replay, secret rotation, no double delivery."""

from __future__ import annotations

import json
import threading
import time
from itertools import pairwise
from typing import Any

import httpx
import pytest
from service_support import Service

from jirakit.service import publish, sign, verify
from jirakit.service.models import Delivery
from jirakit.service.outbox import deliver_due
from jirakit.service.signing import WebhookVerificationError
from jirakit.service.state import ServiceState
from jirakit.testing.webhooks import WebhookReceiver


def test_signature_matches_the_standard_webhooks_test_vector():
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    headers = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", body, timestamp=1614265330)
    assert headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert verify(secret, headers, body, now=1614265330) == {"test": 2432232314}
    with pytest.raises(WebhookVerificationError, match="no signature"):
        verify(secret, headers, body + b" ", now=1614265330)
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify(secret, headers, body, now=1614265330 + 600)
    with pytest.raises(WebhookVerificationError, match="missing"):
        verify(secret, {}, body)


def subscribe(api: httpx.Client, conn_id: str, url: str, **extra: Any) -> dict[str, Any]:
    body = {
        "connection_id": conn_id,
        "object_type": "task_task",
        "event": "updated",
        "hook_url": url,
    }
    body.update(extra)
    response = api.post("/unified/webhook", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def settle(service: Service, until: Any, timeout: float = 10.0) -> None:
    """Run the background jobs until ``until()`` holds (as `jirakit serve` does)."""
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, "background work did not settle"
        service.tick()
        time.sleep(0.06)


def deliveries(service: Service, hook_id: str) -> list[Delivery]:
    with service.state.sessions() as session:
        return list(
            session.query(Delivery).filter_by(webhook_id=hook_id).order_by(Delivery.created_at)
        )


def test_virtual_webhook_delivers_a_signed_task_updated(
    service: Service, api: httpx.Client, conn_id: str, webhook_receiver: WebhookReceiver
):
    hook = subscribe(api, conn_id, webhook_receiver.url, interval=0)
    assert hook["secret"].startswith("whsec_") and hook["webhook_type"] == "virtual"
    assert "secret" not in api.get(f"/unified/webhook/{hook['id']}").json()
    task = api.get(f"/task/{conn_id}/task", params={"limit": 1}).json()[0]
    service.tick()  # a first poll sees nothing; interval 0 polls again at once
    time.sleep(0.01)
    api.patch(f"/task/{conn_id}/task/{task['id']}", json={"name": "Renamed for the hook"})
    settle(service, lambda: webhook_receiver.accepted)
    [delivery] = webhook_receiver.accepted
    event = verify(hook["secret"], delivery.headers, delivery.body)
    assert event["type"] == "task.updated"
    assert event["data"]["id"] == task["id"] and event["data"]["name"] == "Renamed for the hook"
    assert event["webhook"] == {
        "id": hook["id"], "connection_id": conn_id, "object_type": "task_task",
        "event": "updated", "webhook_type": "virtual",
    }  # fmt: skip
    assert delivery.headers["webhook-id"] == deliveries(service, hook["id"])[0].id
    # Nothing new changed: the next polls publish nothing more.
    for _ in range(3):
        service.tick()
    assert len(webhook_receiver.deliveries) == 1


def test_a_poll_run_again_from_the_same_cursor_publishes_nothing_twice(
    service: Service, api: httpx.Client, conn_id: str, webhook_receiver: WebhookReceiver
):
    """A poll killed after publishing but before saving its cursor runs again from the old
    cursor (a retried job): each event is keyed by the issue's version, so the outbox
    holds it once and the subscriber sees one webhook-id."""
    from jirakit.service.models import Subscription
    from jirakit.service.polling import poll_subscription

    hook = subscribe(api, conn_id, webhook_receiver.url, interval=0)
    task = api.get(f"/task/{conn_id}/task", params={"limit": 1}).json()[0]
    service.tick()  # a first poll sees nothing
    with service.state.sessions() as session:
        cursor = session.get(Subscription, hook["id"]).cursor
    time.sleep(0.01)
    api.patch(f"/task/{conn_id}/task/{task['id']}", json={"name": "Renamed once"})
    assert poll_subscription(service.state, hook["id"]) == 1
    with service.state.sessions() as session, session.begin():
        session.get(Subscription, hook["id"]).cursor = cursor  # as if never saved
    assert poll_subscription(service.state, hook["id"]) == 1  # the same change seen again
    assert len(deliveries(service, hook["id"])) == 1
    settle(service, lambda: webhook_receiver.accepted)
    for _ in range(3):
        service.tick()
    assert len({d.headers["webhook-id"] for d in webhook_receiver.deliveries}) == 1


def test_created_events_are_told_apart(
    service: Service, api: httpx.Client, conn_id: str, webhook_receiver: WebhookReceiver
):
    created = subscribe(api, conn_id, webhook_receiver.url, event="created", interval=0)
    project = next(iter(service.sandbox.store.projects.values()))["id"]
    time.sleep(0.01)
    made = api.post(
        f"/task/{conn_id}/task", json={"project_id": project, "name": "Brand new"}
    ).json()
    settle(service, lambda: webhook_receiver.accepted)
    event = verify(
        created["secret"], webhook_receiver.accepted[0].headers, webhook_receiver.accepted[0].body
    )
    assert event["type"] == "task.created" and event["data"]["id"] == made["id"]


def test_retries_then_delivers_with_a_stable_id(service: Service, api: httpx.Client, conn_id: str):
    with WebhookReceiver(fail_with=[500, 503, 502]) as receiver:
        hook = subscribe(api, conn_id, receiver.url)
        publish(service.state, _tenant(service, hook), conn_id, "task_task", "updated", {"id": "1"})
        settle(service, lambda: receiver.accepted)
        ids = {d.headers["webhook-id"] for d in receiver.deliveries}
        assert [d.status for d in receiver.deliveries] == [500, 503, 502, 200]
        assert len(ids) == 1
    [msg] = deliveries(service, hook["id"])
    assert msg.status == "delivered" and msg.attempts == 4


def test_410_disables_the_subscription(service: Service, api: httpx.Client, conn_id: str):
    with WebhookReceiver(fail_with=[410]) as receiver:
        hook = subscribe(api, conn_id, receiver.url)
        tenant = _tenant(service, hook)
        publish(service.state, tenant, conn_id, "task_task", "updated", {"id": "1"})
        settle(service, lambda: receiver.deliveries)
        record = api.get(f"/unified/webhook/{hook['id']}").json()
        assert record["is_healthy"] is False
        assert publish(service.state, tenant, conn_id, "task_task", "updated", {"id": "2"}) == []
        resumed = api.put(f"/unified/webhook/{hook['id']}/resume").json()
        assert resumed["is_healthy"] is True


def test_exhausted_deliveries_become_dead_letters_and_replay(
    service: Service, api: httpx.Client, conn_id: str
):
    with WebhookReceiver(fail_with=[500] * 4) as receiver:
        hook = subscribe(api, conn_id, receiver.url)
        publish(service.state, _tenant(service, hook), conn_id, "task_task", "updated", {"id": "9"})

        def dead() -> list[dict[str, Any]]:
            path = f"/unified/webhook/{hook['id']}/deliveries"
            return list(api.get(path, params={"status": "failed"}).json())

        settle(service, lambda: dead())
        [letter] = dead()
        assert letter["attempts"] == 4 and letter["last_status"] == 500
        assert letter["payload"]["data"] == {"id": "9"}
        other = service.client(service.tenant())
        assert other.post(f"/unified/webhook/{hook['id']}/deliveries/replay").status_code == 404
        replayed = api.post(f"/unified/webhook/{hook['id']}/deliveries/{letter['id']}/replay")
        assert replayed.json() == {"replayed": 1}
        settle(service, lambda: receiver.accepted)
        assert receiver.accepted[0].headers["webhook-id"] == letter["id"]
        assert dead() == []


def test_rotation_sends_two_signatures(
    service: Service, api: httpx.Client, conn_id: str, webhook_receiver: WebhookReceiver
):
    hook = subscribe(api, conn_id, webhook_receiver.url)
    rotated = api.post(f"/unified/webhook/{hook['id']}/secret/rotate").json()
    assert rotated["secret"] != hook["secret"]
    publish(service.state, _tenant(service, hook), conn_id, "task_task", "updated", {"id": "3"})
    settle(service, lambda: webhook_receiver.accepted)
    delivery = webhook_receiver.accepted[0]
    assert len(delivery.headers["webhook-signature"].split(" ")) == 2
    assert verify(hook["secret"], delivery.headers, delivery.body)["data"] == {"id": "3"}
    assert verify(rotated["secret"], delivery.headers, delivery.body)["data"] == {"id": "3"}


def test_two_processes_never_send_a_message_twice(
    make_service: Any, service: Service, api: httpx.Client, conn_id: str,
    webhook_receiver: WebhookReceiver,
):  # fmt: skip
    second = make_service()  # another process's view of the same database
    hook = subscribe(api, conn_id, webhook_receiver.url)
    tenant = _tenant(service, hook)
    for n in range(30):
        publish(service.state, tenant, conn_id, "task_task", "updated", {"id": str(n)})

    def drain(state: ServiceState) -> None:
        for _ in range(40):
            deliver_due(state, limit=5)

    workers = [
        threading.Thread(target=drain, args=(s.state,)) for s in (service, second, service, second)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    ids = [d.headers["webhook-id"] for d in webhook_receiver.deliveries]
    assert len(ids) == 30 and len(set(ids)) == 30
    assert sorted(json.loads(d.body)["data"]["id"] for d in webhook_receiver.deliveries) == sorted(
        str(n) for n in range(30)
    )


def test_virtual_webhooks_refuse_what_polling_cannot_see(api: httpx.Client, conn_id: str):
    deleted = api.post(
        "/unified/webhook",
        json={
            "connection_id": conn_id,
            "object_type": "task_task",
            "event": "deleted",
            "hook_url": "https://e.com",
        },
    )
    assert deleted.status_code == 422 and "native" in deleted.json()["detail"]
    unknown = api.post(
        "/unified/webhook",
        json={
            "connection_id": conn_id,
            "object_type": "crm_deal",
            "event": "created",
            "hook_url": "https://e.com",
        },
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["loc"] == "body.object_type"
    native = api.post(
        "/unified/webhook",
        json={"connection_id": conn_id, "object_type": "task_comment", "event": "deleted",
              "hook_url": "https://e.com", "webhook_type": "native"},
    )  # fmt: skip
    # Jira lets only OAuth apps register webhooks: an API-token connection polls.
    assert native.status_code == 422 and "OAuth" in native.json()["detail"]


def _tenant(service: Service, hook: dict[str, Any]) -> str:
    from jirakit.service.models import Subscription

    with service.state.sessions() as session:
        sub = session.get(Subscription, hook["id"])
        assert sub is not None
        return sub.tenant_id


def test_production_refuses_private_hook_urls(make_service: Any, db_url: str):
    from cryptography.fernet import Fernet

    service = make_service(env="production", encryption_keys=Fernet.generate_key().decode())
    api = service.client(service.tenant())
    conn_id = service.connect(api)
    for url in (
        "http://127.0.0.1:9/h",
        "http://localhost/h",
        "http://10.0.0.1/h",
        "http://[::1]/h",
    ):
        response = api.post(
            "/unified/webhook",
            json={
                "connection_id": conn_id,
                "object_type": "task_task",
                "event": "updated",
                "hook_url": url,
            },
        )
        assert response.status_code == 422, url
        assert response.json()["errors"][0]["loc"] == "body.hook_url"


def test_fails_n_times_on_the_schedule_then_410_disables(make_service: Any):
    """A receiver that fails twice, then answers 410: the attempts are spaced by the retry
    schedule (here 0.3 s, then 0.6 s), keep one webhook-id, and the 410 ends them and
    disables the subscription (no further attempt, no further message)."""
    from jirakit.service.config import DEFAULT_RETRY_SCHEDULE

    # Standard Webhooks' schedule after the first attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
    assert DEFAULT_RETRY_SCHEDULE == (5, 300, 1800, 7200, 18000, 36000, 36000)
    service = make_service(webhook_retry_schedule="0.3,0.6,0.05,0.05")
    api = service.client(service.tenant())
    conn_id = service.connect(api)
    with WebhookReceiver(fail_with=[500, 503, 410]) as receiver:
        hook = subscribe(api, conn_id, receiver.url)
        tenant = _tenant(service, hook)
        publish(service.state, tenant, conn_id, "task_task", "updated", {"id": "1"})
        settle(service, lambda: len(receiver.deliveries) >= 3)
        for _ in range(10):  # time for a (wrong) fourth attempt
            service.tick()
            time.sleep(0.03)
        got = receiver.deliveries
    assert [d.status for d in got] == [500, 503, 410]
    assert len({d.headers["webhook-id"] for d in got}) == 1
    gaps = [b.received_at - a.received_at for a, b in pairwise(got)]
    assert gaps[0] >= 0.3 and gaps[1] >= 0.6, gaps
    [msg] = deliveries(service, hook["id"])
    assert msg.status == "failed" and msg.attempts == 3 and "410" in (msg.last_error or "")
    assert api.get(f"/unified/webhook/{hook['id']}").json()["is_healthy"] is False
    assert publish(service.state, tenant, conn_id, "task_task", "updated", {"id": "2"}) == []
