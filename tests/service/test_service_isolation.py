"""Tenant isolation over every route of the OpenAPI document: another tenant's ids answer
404 (never 403, never data), and lists never show another tenant's objects. A new route
fails this test until it is classified here."""

from __future__ import annotations

import re
from typing import Any

import httpx
from service_support import Service

from jirakit.service.outbox import publish

# Routes that hold no tenant-owned id (documented why).
NO_TENANT_IDS = {
    ("GET", "/healthz"),  # liveness, no data
    ("GET", "/oauth/callback"),  # the customer's browser; bound by the single-use state
    ("GET", "/unified/integration/auth/{workspace_id}/{integration_type}"),  # makes a state
}
LISTS = {
    ("GET", "/unified/connection"),
    ("GET", "/unified/webhook"),
    ("POST", "/unified/connection"),  # creates under the caller's own tenant
    ("GET", "/budget"),  # the caller's own use of the points budget, and the pool's totals
}
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/task/{connection_id}/task"): {"project_id": "10000", "name": "x"},
    ("PUT", "/task/{connection_id}/task/{id}"): {"name": "x"},
    ("PATCH", "/task/{connection_id}/task/{id}"): {"name": "x"},
    ("POST", "/task/{connection_id}/comment"): {"task_id": "10001", "text": "x"},
    ("PUT", "/task/{connection_id}/comment/{id}"): {"text": "x"},
    ("PATCH", "/task/{connection_id}/comment/{id}"): {"text": "x"},
    ("PUT", "/unified/connection/{id}"): {"integration_type": "jira"},
    ("PATCH", "/unified/connection/{id}"): {"integration_type": "jira"},
    ("POST", "/unified/webhook"): "WEBHOOK",
    ("PUT", "/unified/webhook/{id}"): {"hook_url": "https://evil.example/h"},
    ("PATCH", "/unified/webhook/{id}"): {"hook_url": "https://evil.example/h"},
    ("POST", "/unified/connection/oauth/select"): "SELECT",
    ("POST", "/hris/{connection_id}/group"): {"name": "x"},
    ("POST", "/storage/{connection_id}/file"): {"name": "x", "parent_id": "10001", "data": "eA=="},
}


def operations(service: Service) -> list[tuple[str, str]]:
    with httpx.Client(base_url=service.url) as http:
        spec = http.get("/openapi.json").json()
    return sorted(
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    )


def test_every_route_hides_other_tenants(service: Service, api: httpx.Client, conn_id: str):
    # Tenant A: a connection, a task, a comment, a webhook with a dead letter, a pending grant.
    task = api.get(f"/task/{conn_id}/task", params={"limit": 1}).json()[0]
    comment = api.post(
        f"/task/{conn_id}/comment", json={"task_id": task["id"], "text": "mine"}
    ).json()
    change_id = f"{task['id']}:1"
    hook = api.post(
        "/unified/webhook",
        json={
            "connection_id": conn_id,
            "object_type": "task_task",
            "event": "updated",
            "hook_url": "https://a.example/h",
        },
    ).json()
    tenant_a = _tenant_of(service, conn_id)
    [message] = publish(service.state, tenant_a, conn_id, "task_task", "updated", {"id": "1"})
    start = api.get(
        "/unified/integration/auth/ws/jira", params={"subdomain": "https://nowhere.example"}
    )
    with httpx.Client() as browser:
        pending = browser.get(browser.get(start.text).headers["location"]).json()["pending_id"]
    project = api.get(f"/task/{conn_id}/project").json()[0]
    group = api.post(f"/hris/{conn_id}/group", json={"name": "a-team"}).json()
    ids = {
        "connection_id": conn_id,
        "message_id": message,
        "path": "rest/api/3/myself",
    }
    by_prefix = {
        "/task/{connection_id}/task/": task["id"],
        "/task/{connection_id}/comment/": comment["id"],
        "/task/{connection_id}/change/": change_id,
        "/task/{connection_id}/project/": project["id"],
        "/hris/{connection_id}/employee/": service.sandbox.admin_account_id,
        "/hris/{connection_id}/group/": group["id"],
        "/storage/{connection_id}/file/": "10000",
        "/unified/connection/": conn_id,
        "/unified/webhook/": hook["id"],
    }

    # Tenant B tries everything with A's ids.
    other = service.client(service.tenant())
    other_conn = service.connect(other)
    covered = set()
    for method, path in operations(service):
        if (method, path) in NO_TENANT_IDS:
            continue
        covered.add((method, path))
        if (method, path) in LISTS:
            continue
        url = path
        for prefix, ident in by_prefix.items():
            if path.startswith(prefix) and "{id}" in path:
                url = url.replace("{id}", ident)
        url = re.sub(r"\{(\w+)(:path)?\}", lambda m: ids[m.group(1)], url)
        body = BODIES.get((method, path))
        if body == "WEBHOOK":
            body = {
                "connection_id": conn_id,
                "object_type": "task_task",
                "event": "updated",
                "hook_url": "https://b.example",
            }
        elif body == "SELECT":
            body = {"pending_id": pending, "site": service.sandbox_url}
        response = (
            other.request(method, url, json=body)
            if body is not None
            else other.request(method, url)
        )
        assert response.status_code == 404, (method, url, response.status_code, response.text)
        assert "mine" not in response.text and "a-team" not in response.text

    # Lists show only B's own objects.
    assert [c["id"] for c in other.get("/unified/connection").json()] == [other_conn]
    assert other.get("/unified/webhook").json() == []
    budget = other.get("/budget")
    assert budget.status_code == 200 and budget.json()["tenant"] != tenant_a
    assert tenant_a not in budget.text
    assert covered >= LISTS
    assert len(covered) >= 50, len(covered)  # every route of the document was tried
    # A's objects are untouched.
    assert api.get(f"/unified/webhook/{hook['id']}").json()["hook_url"] == "https://a.example/h"
    assert api.get(f"/unified/connection/{conn_id}").status_code == 200
    assert api.get(f"/task/{conn_id}/comment/{comment['id']}").json()["text"] == "mine"


def _tenant_of(service: Service, conn_id: str) -> str:
    from jirakit.service.models import Connection

    with service.state.sessions() as session:
        row = session.get(Connection, conn_id)
        assert row is not None
        return row.tenant_id
