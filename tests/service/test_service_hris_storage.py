"""HRIS (Jira users and groups) and Storage (attachments) routes, and the SDK on them."""

from __future__ import annotations

import base64

import httpx
from service_support import Service
from unified_python_sdk import UnifiedTo
from unified_python_sdk.models import shared


def test_employees(service: Service, api: httpx.Client, conn_id: str):
    people = api.get(f"/hris/{conn_id}/employee", params={"limit": 100}).json()
    humans = [
        u
        for u in service.sandbox.store.users.values()
        if u.get("accountType", "atlassian") == "atlassian"
    ]
    assert {p["id"] for p in people} == {u["accountId"] for u in humans}
    admin = api.get(f"/hris/{conn_id}/employee/{service.sandbox.admin_account_id}").json()
    assert admin["emails"][0]["email"] == service.sandbox.admin_email
    assert admin["employment_status"] == "ACTIVE"
    page = api.get(f"/hris/{conn_id}/employee", params={"limit": 2})
    assert len(page.json()) == 2 and page.headers["x-next-cursor"]
    rest = api.get(
        f"/hris/{conn_id}/employee", params={"limit": 2, "cursor": page.headers["x-next-cursor"]}
    )
    assert {p["id"] for p in rest.json()}.isdisjoint({p["id"] for p in page.json()})


def test_groups(api: httpx.Client, conn_id: str):
    made = api.post(f"/hris/{conn_id}/group", json={"name": "service-testers"})
    assert made.status_code == 200, made.text
    group = made.json()
    assert group["name"] == "service-testers" and group["type"] == "GROUP"
    listed = api.get(f"/hris/{conn_id}/group", params={"query": "service-"}).json()
    assert [g["id"] for g in listed] == [group["id"]]
    got = api.get(f"/hris/{conn_id}/group/{group['id']}").json()
    assert got["user_ids"] == []
    assert api.delete(f"/hris/{conn_id}/group/{group['id']}").status_code == 200
    assert api.get(f"/hris/{conn_id}/group/{group['id']}").status_code == 404


def test_files_on_a_task(service: Service, api: httpx.Client, conn_id: str):
    task = api.get(f"/task/{conn_id}/task", params={"limit": 1}).json()[0]
    content = b"hello attachment"
    made = api.post(
        f"/storage/{conn_id}/file",
        json={
            "name": "note.txt",
            "parent_id": task["id"],
            "data": base64.b64encode(content).decode(),
        },
    )
    assert made.status_code == 200, made.text
    file = made.json()
    assert (
        file["name"] == "note.txt"
        and file["size"] == len(content)
        and file["parent_id"] == task["id"]
    )
    listed = api.get(f"/storage/{conn_id}/file", params={"parent_id": task["id"]}).json()
    assert file["id"] in {f["id"] for f in listed}
    downloaded = api.get(file["download_url"])
    assert downloaded.status_code == 200 and downloaded.content == content
    assert api.get(f"/task/{conn_id}/task/{task['id']}").json()["attachment_ids"][-1] == file["id"]
    assert api.delete(f"/storage/{conn_id}/file/{file['id']}").status_code == 200
    assert api.get(f"/storage/{conn_id}/file/{file['id']}").status_code == 404
    assert api.get(f"/storage/{conn_id}/file").status_code == 422
    bad = api.post(
        f"/storage/{conn_id}/file", json={"name": "x", "parent_id": task["id"], "data": "@@"}
    )
    assert bad.status_code == 422


def test_sdk_reads_hris_and_storage(service: Service, conn_id: str, api: httpx.Client):
    key = api.headers["authorization"].split(" ", 1)[1]
    with UnifiedTo(security=shared.Security(jwt=key), server_url=service.url) as sdk:
        people = sdk.hris.list_hris_employees(request={"connection_id": conn_id, "limit": 5})
        assert people.hris_employees and all(p.id for p in people.hris_employees)
        groups = sdk.hris.list_hris_groups(request={"connection_id": conn_id})
        assert groups.hris_groups is not None
        task = api.get(f"/task/{conn_id}/task", params={"limit": 1}).json()[0]
        files = sdk.storage.list_storage_files(
            request={"connection_id": conn_id, "parent_id": task["id"]}
        )
        assert files.storage_files is not None
        me = sdk.passthrough.list_passthroughs(
            request={"connection_id": conn_id, "path": "rest/api/3/myself"}
        )
        assert me.status_code == 200
