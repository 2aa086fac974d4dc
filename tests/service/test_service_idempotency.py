"""Idempotency-Key on writes: replay, mismatch, concurrent duplicates, expiry."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import httpx
from service_support import Service
from sqlalchemy import select, update

from jirakit.service.models import IdempotencyRecord, utcnow


def project_id(service: Service) -> str:
    return str(next(iter(service.sandbox.store.projects.values()))["id"])


def test_same_key_same_body_replays_the_first_response(
    service: Service, api: httpx.Client, conn_id: str
):
    body = {"project_id": project_id(service), "name": "Exactly once"}
    headers = {"Idempotency-Key": "create-1"}
    first = api.post(f"/task/{conn_id}/task", json=body, headers=headers)
    second = api.post(f"/task/{conn_id}/task", json=body, headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    made = [
        r for r in service.sandbox.store.issues.values() if r.fields["summary"] == "Exactly once"
    ]
    assert len(made) == 1
    # Kept 24 hours (the default JIRAKIT_IDEMPOTENCY_TTL).
    with service.state.sessions() as session:
        record = session.scalar(
            select(IdempotencyRecord).where(IdempotencyRecord.key == "create-1")
        )
    assert record is not None and record.status == "done"
    assert record.expires_at - record.created_at == timedelta(hours=24)


def test_same_key_other_body_is_422(service: Service, api: httpx.Client, conn_id: str):
    headers = {"Idempotency-Key": "k-2"}
    api.post(
        f"/task/{conn_id}/task",
        json={"project_id": project_id(service), "name": "A"},
        headers=headers,
    )
    other = api.post(
        f"/task/{conn_id}/task",
        json={"project_id": project_id(service), "name": "B"},
        headers=headers,
    )
    assert other.status_code == 422
    assert "different request" in other.json()["detail"]
    assert not [r for r in service.sandbox.store.issues.values() if r.fields["summary"] == "B"]


def test_keys_belong_to_one_tenant(service: Service, api: httpx.Client, conn_id: str):
    other = service.client(service.tenant())
    other_conn = service.connect(other)
    headers = {"Idempotency-Key": "shared-name"}
    a = api.post(
        f"/task/{conn_id}/task",
        json={"project_id": project_id(service), "name": "T1"},
        headers=headers,
    )
    b = other.post(
        f"/task/{other_conn}/task",
        json={"project_id": project_id(service), "name": "T1"},
        headers=headers,
    )
    assert a.status_code == b.status_code == 200
    assert a.json()["id"] != b.json()["id"]
    assert "idempotent-replayed" not in b.headers


def test_concurrent_duplicates_create_once(service: Service, api: httpx.Client, conn_id: str):
    body = {"project_id": project_id(service), "name": "Raced"}
    answers: list[httpx.Response] = []

    def send() -> None:
        with httpx.Client(base_url=service.url, headers=dict(api.headers), timeout=30) as http:
            answers.append(
                http.post(f"/task/{conn_id}/task", json=body, headers={"Idempotency-Key": "race"})
            )

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a.status_code for a in answers] == [200] * 6
    assert len({a.json()["id"] for a in answers}) == 1
    assert sum(1 for a in answers if a.headers.get("idempotent-replayed")) == 5
    made = [r for r in service.sandbox.store.issues.values() if r.fields["summary"] == "Raced"]
    assert len(made) == 1


def test_errors_are_kept_but_expired_keys_are_not(
    service: Service, api: httpx.Client, conn_id: str
):
    headers = {"Idempotency-Key": "bad-then-good"}
    bad = api.post(f"/task/{conn_id}/task", json={"name": "no project"}, headers=headers)
    assert bad.status_code == 422
    again = api.post(f"/task/{conn_id}/task", json={"name": "no project"}, headers=headers)
    assert again.status_code == 422 and again.headers["idempotent-replayed"] == "true"
    with service.state.sessions() as session, session.begin():
        session.execute(
            update(IdempotencyRecord).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    fresh = api.post(f"/task/{conn_id}/task", json={"name": "no project"}, headers=headers)
    assert fresh.status_code == 422 and "idempotent-replayed" not in fresh.headers


def test_delete_and_webhook_create_replay(service: Service, api: httpx.Client, conn_id: str):
    hook = {
        "connection_id": conn_id,
        "object_type": "task_task",
        "event": "created",
        "hook_url": "https://example.com/h",
    }
    one = api.post("/unified/webhook", json=hook, headers={"Idempotency-Key": "hook"})
    two = api.post("/unified/webhook", json=hook, headers={"Idempotency-Key": "hook"})
    assert one.json()["id"] == two.json()["id"] and len(api.get("/unified/webhook").json()) == 1
    # The stored response (it holds the secret) is encrypted at rest.
    with service.state.sessions() as session:
        stored = session.scalars(
            select(IdempotencyRecord).where(IdempotencyRecord.key == "hook")
        ).all()
    secret = one.json()["secret"].encode()
    assert stored and all(secret not in (r.response_body or b"") for r in stored)
    gone = api.delete(f"/unified/webhook/{one.json()['id']}", headers={"Idempotency-Key": "del"})
    again = api.delete(f"/unified/webhook/{one.json()['id']}", headers={"Idempotency-Key": "del"})
    assert gone.status_code == again.status_code == 200


def test_a_key_too_long_is_refused(api: httpx.Client, conn_id: str):
    response = api.post(f"/task/{conn_id}/task", json={}, headers={"Idempotency-Key": "x" * 300})
    assert response.status_code == 400 and "Idempotency-Key" in response.json()["detail"]


def test_a_duplicate_that_waits_too_long_conflicts(tmp_path):
    """Jira takes 600 ms; a duplicate allowed to wait 50 ms answers 409 with Retry-After."""
    from service_support import JIRA_TOKEN, serve_app, settings_for

    from jirakit.sandbox import Sandbox
    from jirakit.service import create_app

    with Sandbox(seed=0, issues=5, api_token=JIRA_TOKEN, latency="600-600") as slow:
        with slow.serve() as jira_url:
            app = create_app(
                settings_for(f"sqlite:///{tmp_path / 's.db'}", jira_url, idempotency_wait=0.05)
            )
            with serve_app(app) as url:
                service = Service(url, app.state.service, slow, jira_url)
                api = service.client(service.tenant())
                conn_id = service.connect(api)
                project = str(next(iter(slow.store.projects.values()))["id"])
                answers: list[httpx.Response] = []

                def send() -> None:
                    with httpx.Client(base_url=url, headers=dict(api.headers), timeout=30) as http:
                        answers.append(
                            http.post(
                                f"/task/{conn_id}/task",
                                json={"project_id": project, "name": "Slow"},
                                headers={"Idempotency-Key": "slow"},
                            )
                        )

                first = threading.Thread(target=send)
                first.start()
                time.sleep(0.3)  # the first is now waiting on Jira
                send()
                first.join()
                for http in service.clients:
                    http.close()
            app.state.service.engine.dispose()
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 409]
    conflict = next(a for a in answers if a.status_code == 409)
    assert (
        conflict.headers["retry-after"] == "1"
        and "still being processed" in conflict.json()["detail"]
    )
