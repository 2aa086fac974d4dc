"""Tenants, keys, connections, problem details, scoping."""

from __future__ import annotations

import httpx
from service_support import JIRA_TOKEN, Service
from sqlalchemy import select

from jirakit.service.crypto import hash_api_key
from jirakit.service.models import ApiKey, Connection


def test_api_key_is_stored_only_as_a_hash(service: Service):
    key = service.tenant("acme-prod")
    with service.state.sessions() as session:
        # This tenant's rows only: the session's Postgres database is shared with other
        # tests (the CLI's tenants among them).
        mine = session.scalars(select(ApiKey).where(ApiKey.tenant_id == service.tenants[-1]))
        rows = mine.all()
        everything = session.scalars(select(ApiKey)).all()
    assert [r.key_hash for r in rows] == [hash_api_key(key)]
    assert key not in repr([(r.key_hash, r.prefix) for r in everything])


def test_requests_need_a_known_key(service: Service):
    with httpx.Client(base_url=service.url) as http:
        missing = http.get("/unified/connection")
        wrong = http.get("/unified/connection", headers={"Authorization": "Bearer jk_nope"})
    assert missing.status_code == 401 and wrong.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"
    body = wrong.json()
    assert body["status"] == 401 and body["title"] == "Unauthorized"
    assert body["request_id"] == wrong.headers["x-request-id"]


def test_bare_key_is_accepted_as_unified_sdk_sends_it(service: Service):
    key = service.tenant()
    with httpx.Client(base_url=service.url, headers={"Authorization": key}) as http:
        assert http.get("/unified/connection").status_code == 200


def test_connection_credentials_are_encrypted_and_never_returned(
    service: Service, api: httpx.Client, conn_id: str
):
    with service.state.sessions() as session:
        row = session.get(Connection, conn_id)
    assert row is not None and JIRA_TOKEN not in row.credentials
    assert service.state.vault.decrypt(row.credentials)["token"] == JIRA_TOKEN
    record = api.get(f"/unified/connection/{conn_id}")
    assert record.status_code == 200
    assert JIRA_TOKEN not in record.text
    health = record.json()
    assert health["status"] == "healthy" and health["kind"] == "api_token"
    assert health["site"] == service.sandbox_url
    assert health["integration_type"] == "jira"


def test_bad_credentials_are_refused_and_nothing_is_stored(service: Service, api: httpx.Client):
    response = api.post(
        "/unified/connection",
        json={
            "integration_type": "jira",
            "auth": {
                "api_url": service.sandbox_url,
                "emails": ["admin@example.com"],
                "token": "wrong",
            },
        },
    )
    assert response.status_code == 401
    assert response.json()["title"].startswith("Jira")
    assert api.get("/unified/connection").json() == []


def test_validation_errors_name_the_field(service: Service, api: httpx.Client):
    response = api.post("/unified/connection", json={"auth": {}})
    assert response.status_code == 422
    body = response.json()
    assert body["errors"][0]["loc"] == "body.integration_type"
    assert "body.integration_type" in body["detail"]
    other = api.post("/unified/connection", json={"integration_type": "asana", "auth": {}})
    assert other.status_code == 422 and "jira" in other.json()["detail"]


def test_another_tenants_connection_is_404(service: Service, api: httpx.Client, conn_id: str):
    other = service.client(service.tenant())
    for path in (f"/unified/connection/{conn_id}", f"/task/{conn_id}/task"):
        response = other.get(path)
        assert response.status_code == 404, path
        assert conn_id in response.json()["detail"]
    assert other.delete(f"/unified/connection/{conn_id}").status_code == 404
    assert api.get(f"/unified/connection/{conn_id}").status_code == 200


def test_delete_removes_the_credentials(service: Service, api: httpx.Client, conn_id: str):
    assert api.delete(f"/unified/connection/{conn_id}").status_code == 200
    with service.state.sessions() as session:
        assert session.get(Connection, conn_id) is None
    assert api.get(f"/unified/connection/{conn_id}").status_code == 404
    assert api.get(f"/task/{conn_id}/task").status_code == 404
