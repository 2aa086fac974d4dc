"""Native events end to end over real HTTP: the sandbox pushes its signed dynamic webhooks
to the receiver `jirakit serve` hosts (``/webhooks/jira/{connection_id}``), which turns
them into Standard-Webhooks deliveries to the subscriber; duplicates (the sandbox sending
every delivery twice, a replayed Jira delivery, a re-applied inbox row) and forged
requests publish nothing."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from service_support import OAUTH_CLIENT, OAUTH_SECRET, Service

from jirakit.service import verify
from jirakit.service.inbound import inbox, set_webhook_secret
from jirakit.service.models import Delivery
from jirakit.testing.webhooks import WebhookReceiver
from jirakit.webhooks import sign, sign_jwt


def consent(api: httpx.Client) -> str:
    """An OAuth connection (the sandbox consents at once)."""
    start = api.get("/unified/integration/auth/ws/jira")
    assert start.status_code == 200, start.text
    with httpx.Client() as browser:
        granted = browser.get(start.text)
        done = browser.get(granted.headers["location"])
    assert done.status_code == 200, done.text
    return str(done.json()["id"])


def subscribe(api: httpx.Client, conn_id: str, url: str, object_type: str, event: str) -> Any:
    hook = api.post(
        "/unified/webhook",
        json={"connection_id": conn_id, "object_type": object_type, "event": event,
              "hook_url": url},
    )  # fmt: skip
    assert hook.status_code == 200, hook.text
    assert hook.json()["webhook_type"] == "native"
    return hook.json()


def wait(until: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, "nothing arrived in time"
        time.sleep(0.05)


def outbox(service: Service, hook_id: str) -> list[Delivery]:
    with service.state.sessions() as session:
        return list(session.query(Delivery).filter_by(webhook_id=hook_id))


@pytest.fixture
def native(make_service: Any) -> Any:
    service = make_service(public_url="self", background=True, background_interval=0.05)
    api = service.client(service.tenant())
    return service, api, consent(api)


def test_a_change_in_jira_reaches_the_app_once_signed(native: Any):
    service, api, conn_id = native
    service.sandbox.webhooks.duplicates = 1.0  # Jira sends every delivery twice
    with WebhookReceiver() as app:
        updated = subscribe(api, conn_id, app.url, "task_task", "updated")
        commented = subscribe(api, conn_id, app.url, "task_comment", "created")
        engine = service.sandbox.webhooks
        [registration] = engine.of_kind("dynamic", OAUTH_CLIENT)
        assert registration.url == f"{service.url}/webhooks/jira/{conn_id}"

        task = api.get(f"/task/{conn_id}/task", params={"limit": 1}).json()[0]
        api.patch(f"/task/{conn_id}/task/{task['id']}", json={"name": "Pushed by Jira"})
        wait(lambda: len(app.accepted) >= 1)
        engine.flush()
        time.sleep(0.5)  # time for a wrongly published duplicate to arrive
        [delivery] = app.accepted
        event = verify(updated["secret"], delivery.headers, delivery.body)
        assert event["type"] == "task.updated"
        assert event["data"]["id"] == task["id"] and event["data"]["name"] == "Pushed by Jira"
        assert event["webhook"]["webhook_type"] == "native"
        assert [m.id for m in outbox(service, updated["id"])] == [delivery.headers["webhook-id"]]
        sent = [s for s in engine.log if s.url == registration.url]
        assert any(s.duplicate for s in sent), "the sandbox sent no duplicate"
        box = inbox(service.state)
        stored = [d for d in box.deliveries(limit=100) if d.delivery_id.startswith(conn_id)]
        assert len(stored) == len({s.identifier for s in sent})  # each Jira id stored once

        # A comment: task_comment.created (and the update, Jira's
        # issue_commented, for the task_task subscription).
        made = api.post(
            f"/task/{conn_id}/comment", json={"task_id": task["id"], "text": "From Jira"}
        )
        assert made.status_code == 200, made.text
        wait(lambda: any(verify_quietly(commented, d) for d in app.accepted))
        engine.flush()
        time.sleep(0.5)
        comments = [e for d in app.accepted if (e := verify_quietly(commented, d))]
        assert [e["type"] for e in comments] == ["comment.created"]
        assert comments[0]["data"]["id"] == made.json()["id"]
        assert comments[0]["data"]["task_id"] == task["id"]
        ids = [d.headers["webhook-id"] for d in app.accepted]
        assert len(ids) == len(set(ids))


def verify_quietly(hook: dict[str, Any], delivery: Any) -> dict[str, Any] | None:
    from jirakit.service.signing import WebhookVerificationError

    try:
        return verify(hook["secret"], delivery.headers, delivery.body)
    except WebhookVerificationError:
        return None


def test_replays_and_forgeries_publish_nothing(native: Any):
    service, api, conn_id = native
    with WebhookReceiver() as app:
        hook = subscribe(api, conn_id, app.url, "task_task", "updated")
        task = api.get(f"/task/{conn_id}/task", params={"limit": 1}).json()[0]
        api.patch(f"/task/{conn_id}/task/{task['id']}", json={"name": "Once"})
        wait(lambda: len(app.accepted) >= 1)
        box = inbox(service.state)
        [first] = [d for d in box.deliveries(limit=100) if d.delivery_id.startswith(conn_id)]
        jira_id = first.delivery_id.partition(":")[2]
        url = f"{service.url}/webhooks/jira/{conn_id}"
        path = f"/webhooks/jira/{conn_id}"

        def post(body: bytes, **headers: str) -> httpx.Response:
            return httpx.post(
                url, content=body, headers={"content-type": "application/json", **headers}
            )

        def jwt(secret: str) -> str:
            token = sign_jwt(secret, url=path, issuer="site", audience=OAUTH_CLIENT)
            return f"JWT {token}"

        # Jira retries the same delivery (a new token, the same identifier): acknowledged.
        again = post(
            first.body,
            authorization=jwt(OAUTH_SECRET),
            **{"x-atlassian-webhook-identifier": jira_id, "x-atlassian-webhook-retry": "1"},
        )
        assert again.status_code == 200 and again.json()["status"] == "duplicate"
        # The same identifier over a changed body: refused.
        changed = post(
            first.body.replace(b"Once", b"Twice"),
            authorization=jwt(OAUTH_SECRET),
            **{"x-atlassian-webhook-identifier": jira_id},
        )
        assert changed.status_code == 409
        # Forged: another secret, no signature, another connection's path, an unknown one.
        forged = first.body.replace(b"Once", b"Forged")
        fresh = {"x-atlassian-webhook-identifier": "forged-1"}
        assert post(forged, authorization=jwt("not-the-secret"), **fresh).status_code == 401
        assert post(forged, **fresh).status_code == 401
        assert (
            post(forged, **{**fresh, "x-hub-signature": sign(forged, "guess")}).status_code == 401
        )
        token = sign_jwt(OAUTH_SECRET, url="/webhooks/jira/other", audience=OAUTH_CLIENT)
        assert post(forged, authorization=f"JWT {token}", **fresh).status_code == 401  # qsh
        unknown = httpx.post(
            f"{service.url}/webhooks/jira/conn_nope", content=forged,
            headers={"content-type": "application/json", "authorization": jwt(OAUTH_SECRET)},
        )  # fmt: skip
        assert unknown.status_code == 401
        assert box.get(f"{conn_id}:forged-1") is None
        # Signed by Jira for this app and this URL, but for a webhook this connection never
        # registered (another tenant's, pointed here through its own connection): refused.
        theirs = json.loads(first.body)
        theirs["matchedWebhookIds"] = [987654]
        other = post(
            json.dumps(theirs).encode(),
            authorization=jwt(OAUTH_SECRET),
            **{"x-atlassian-webhook-identifier": "theirs-1"},
        )
        assert other.status_code == 401 and "matchedWebhookIds" in other.text
        assert box.get(f"{conn_id}:theirs-1") is None
        # Applied again (a crash between publishing and marking it applied): nothing new.
        assert box.replay(since_ms=0) >= 1
        wait(lambda: not box.has_pending())
        time.sleep(0.5)
        assert len(app.accepted) == 1
        assert len(outbox(service, hook["id"])) == 1
        assert "Forged" not in app.accepted[0].body.decode()


def test_admin_webhooks_verify_with_the_connections_secret(native: Any):
    service, api, conn_id = native
    with WebhookReceiver() as app:
        hook = subscribe(api, conn_id, app.url, "task_task", "deleted")
        url = f"{service.url}/webhooks/jira/{conn_id}"
        body = b'{"webhookEvent":"jira:issue_deleted","timestamp":1700000000000,' \
               b'"issue":{"id":"10001","key":"P-1","fields":{"summary":"Gone"}}}'  # fmt: skip
        headers = {"content-type": "application/json", "x-atlassian-webhook-identifier": "adm-1"}
        signed = {**headers, "x-hub-signature": sign(body, "admin-hook-secret")}
        assert httpx.post(url, content=body, headers=signed).status_code == 401  # none set yet
        set_webhook_secret(service.state, conn_id, "admin-hook-secret")
        assert httpx.post(url, content=body, headers=signed).status_code == 200
        assert httpx.post(url, content=body, headers=signed).json()["status"] == "duplicate"
        wait(lambda: len(app.accepted) >= 1)
        time.sleep(0.3)
        [delivery] = app.accepted
        event = verify(hook["secret"], delivery.headers, delivery.body)
        assert event["type"] == "task.deleted" and event["data"]["id"] == "10001"
        # A body that is not JSON, once verified, is kept for inspection and answered 400.
        bad = b"not json"
        assert (
            httpx.post(
                url,
                content=bad,
                headers={**headers, "x-atlassian-webhook-identifier": "adm-2",
                         "x-hub-signature": sign(bad, "admin-hook-secret")},
            ).status_code
            == 400
        )  # fmt: skip
        assert (
            httpx.post(url, content=b"{}", headers={"content-type": "text/plain"}).status_code
            == 415
        )
        # Over the size limit: 413, whether declared or streamed without a length.
        big = b'{"pad":"' + b"x" * (11 * 1024 * 1024) + b'"}'
        assert httpx.post(url, content=big, headers=headers).status_code == 413

        def chunks() -> Any:
            for i in range(0, len(big), 1 << 20):
                yield big[i : i + (1 << 20)]

        assert httpx.post(url, content=chunks(), headers=headers).status_code == 413
