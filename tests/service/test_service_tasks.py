"""The Task API over the served sandbox: tasks, projects, comments, changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from service_support import Service

from jirakit.adf import validate


def first_project(api: httpx.Client, conn_id: str) -> dict:
    projects = api.get(f"/task/{conn_id}/project").json()
    assert projects
    return projects[0]


def test_list_and_get_tasks_match_jira(service: Service, api: httpx.Client, conn_id: str):
    store = service.sandbox.store
    response = api.get(f"/task/{conn_id}/task", params={"limit": 10})
    assert response.status_code == 200
    tasks = response.json()
    assert len(tasks) == 10
    # Newest updated first by default.
    stamps = [t["updated_at"] for t in tasks]
    assert stamps == sorted(stamps, reverse=True)
    task = api.get(f"/task/{conn_id}/task/{tasks[0]['id']}").json()
    record = store.issue(task["id"])
    assert record is not None
    assert task["name"] == record.fields["summary"]
    assert task["url"] == f"{service.sandbox_url}/browse/{record.key}"
    assert task["project_id"] == str(record.project_id)
    assert task["status"] in ("OPENED", "IN_PROGRESS", "COMPLETED")
    assert task["created_at"].endswith("Z")
    assert "raw" not in task
    assert api.get(f"/unified/connection/{conn_id}").json()["last_activity_at"]
    # The key works wherever an id is taken.
    assert api.get(f"/task/{conn_id}/task/{record.key}").json()["id"] == task["id"]


def test_fields_and_raw(api: httpx.Client, conn_id: str):
    tasks = api.get(
        f"/task/{conn_id}/task", params=[("limit", "3"), ("fields", "name"), ("fields", "status")]
    ).json()
    assert all(set(t) <= {"id", "name", "status"} for t in tasks)
    one = api.get(f"/task/{conn_id}/task/{tasks[0]['id']}", params={"fields": "name,raw"}).json()
    assert set(one) == {"id", "name", "raw"} and one["raw"]["id"] == one["id"]


def test_custom_fields_arrive_as_metadata_by_friendly_name(api: httpx.Client, conn_id: str):
    tasks = api.get(f"/task/{conn_id}/task", params={"limit": 40}).json()
    slugs = {m["slug"] for t in tasks for m in t.get("metadata", [])}
    assert "customer_tier" in slugs or "severity" in slugs, slugs
    assert all(m["id"].startswith("customfield_") for t in tasks for m in t.get("metadata", []))


def test_paging_with_cursor_covers_every_task_once(
    service: Service, api: httpx.Client, conn_id: str
):
    seen: list[str] = []
    params: dict[str, str] = {"limit": "7"}
    for _ in range(20):
        response = api.get(f"/task/{conn_id}/task", params=params)
        assert response.status_code == 200
        seen += [t["id"] for t in response.json()]
        cursor = response.headers.get("x-next-cursor")
        if not cursor:
            break
        params = {"limit": "7", "cursor": cursor}
    assert len(seen) == len(set(seen)) == len(service.sandbox.store.issues)


def test_offset_paging_and_a_bad_cursor(api: httpx.Client, conn_id: str):
    everything = [t["id"] for t in api.get(f"/task/{conn_id}/task", params={"limit": 20}).json()]
    page = api.get(f"/task/{conn_id}/task", params={"limit": 5, "offset": 5})
    assert page.status_code == 200
    assert [t["id"] for t in page.json()] == everything[5:10]
    bad = api.get(f"/task/{conn_id}/task", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == "query.cursor"
    assert api.get(f"/task/{conn_id}/task", params={"limit": 0}).status_code == 422


def test_filters(service: Service, api: httpx.Client, conn_id: str):
    project = first_project(api, conn_id)
    in_project = api.get(
        f"/task/{conn_id}/task", params={"project_id": project["id"], "limit": 100}
    ).json()
    expected = [
        r for r in service.sandbox.store.issues.values() if str(r.project_id) == project["id"]
    ]
    assert len(in_project) == len(expected)
    done = api.get(f"/task/{conn_id}/task", params={"status": "COMPLETED", "limit": 100}).json()
    assert done and all(t["status"] == "COMPLETED" for t in done)
    some = in_project[0]
    found = api.get(f"/task/{conn_id}/task", params={"query": some["name"].split()[0]}).json()
    assert some["id"] in {t["id"] for t in found}
    assert api.get(f"/task/{conn_id}/task", params={"status": "BOGUS"}).status_code == 422
    assert api.get(f"/task/{conn_id}/task", params={"sort": "bogus"}).status_code == 422


def test_updated_gte_keeps_only_recent_changes(api: httpx.Client, conn_id: str):
    project = first_project(api, conn_id)
    before = datetime.now(UTC) - timedelta(seconds=1)
    made = api.post(
        f"/task/{conn_id}/task", json={"project_id": project["id"], "name": "Fresh one"}
    ).json()
    recent = api.get(
        f"/task/{conn_id}/task", params={"updated_gte": before.isoformat().replace("+00:00", "Z")}
    ).json()
    assert [t["id"] for t in recent] == [made["id"]]
    bad = api.get(f"/task/{conn_id}/task", params={"updated_gte": "yesterday"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == "query.updated_gte"


def test_create_with_markdown_notes_writes_valid_adf(
    service: Service, api: httpx.Client, conn_id: str
):
    project = first_project(api, conn_id)
    response = api.post(
        f"/task/{conn_id}/task",
        json={
            "project_id": project["id"],
            "name": "Ship the **service**",
            "notes": "Hello **world**\n\n- one\n- two\n\n`code`",
            "tags": ["api", "unified"],
            "priority": "High",
        },
    )
    assert response.status_code == 200, response.text
    task = response.json()
    record = service.sandbox.store.issue(task["id"])
    assert record is not None
    description = record.fields["description"]
    validate(description)
    assert description["content"][0]["content"][1]["marks"] == [{"type": "strong"}]
    assert task["notes"].startswith("Hello **world**")
    assert task["tags"] == ["api", "unified"] and task["priority"] == "High"
    assert task["status"] == "OPENED"


def test_status_change_moves_through_the_workflow(
    service: Service, api: httpx.Client, conn_id: str
):
    project = first_project(api, conn_id)
    task = api.post(
        f"/task/{conn_id}/task", json={"project_id": project["id"], "name": "Move me"}
    ).json()
    for status in ("IN_PROGRESS", "COMPLETED", "OPENED"):
        response = api.patch(f"/task/{conn_id}/task/{task['id']}", json={"status": status})
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status
        record = service.sandbox.store.issue(task["id"])
        assert record is not None
        category = record.fields["status"]["statusCategory"]["key"]
        assert (
            category
            == {"IN_PROGRESS": "indeterminate", "COMPLETED": "done", "OPENED": "new"}[status]
        )
    completed = api.put(f"/task/{conn_id}/task/{task['id']}", json={"status": "COMPLETED"}).json()
    assert completed["completed_at"] is not None


def test_update_edits_only_what_is_sent(api: httpx.Client, conn_id: str):
    project = first_project(api, conn_id)
    task = api.post(
        f"/task/{conn_id}/task",
        json={"project_id": project["id"], "name": "Keep notes", "notes": "original"},
    ).json()
    updated = api.patch(f"/task/{conn_id}/task/{task['id']}", json={"name": "Renamed"}).json()
    assert updated["name"] == "Renamed" and updated["notes"] == "original"
    due = api.patch(
        f"/task/{conn_id}/task/{task['id']}", json={"due_at": "2027-03-01T00:00:00Z"}
    ).json()
    assert due["due_at"] == "2027-03-01T00:00:00Z"


def test_story_points_and_metadata_write(service: Service, api: httpx.Client, conn_id: str):
    project = first_project(api, conn_id)
    task = api.post(
        f"/task/{conn_id}/task", json={"project_id": project["id"], "name": "Pointed"}
    ).json()
    response = api.patch(f"/task/{conn_id}/task/{task['id']}", json={"story_points": 5})
    assert response.status_code == 200, response.text
    assert response.json()["story_points"] == 5
    bad = api.patch(
        f"/task/{conn_id}/task/{task['id']}",
        json={"metadata": [{"slug": "no_such_field", "value": 1}]},
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == "body.metadata.0"


def test_jira_errors_pass_through(api: httpx.Client, conn_id: str):
    missing = api.get(f"/task/{conn_id}/task/NOPE-999")
    assert missing.status_code == 404
    body = missing.json()
    assert body["errorMessages"] == [
        "Issue does not exist or you do not have permission to see it."
    ]
    assert body["title"] == "Jira: Not Found"
    bad = api.post(f"/task/{conn_id}/task", json={"name": "no project"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == "body.project_id"
    unknown = api.post(f"/task/{conn_id}/task", json={"project_id": "1", "name": "x", "bogus": 1})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["loc"] == "body.bogus"


def test_delete_task(service: Service, api: httpx.Client, conn_id: str):
    project = first_project(api, conn_id)
    task = api.post(
        f"/task/{conn_id}/task", json={"project_id": project["id"], "name": "Bye"}
    ).json()
    assert api.delete(f"/task/{conn_id}/task/{task['id']}").status_code == 200
    assert service.sandbox.store.issue(task["id"]) is None
    assert api.get(f"/task/{conn_id}/task/{task['id']}").status_code == 404


def test_projects(service: Service, api: httpx.Client, conn_id: str):
    projects = api.get(f"/task/{conn_id}/project").json()
    assert {p["id"] for p in projects} == set(service.sandbox.store.projects)
    one = api.get(f"/task/{conn_id}/project/{projects[0]['id']}").json()
    assert one["name"] == projects[0]["name"]
    page = api.get(f"/task/{conn_id}/project", params={"limit": 1})
    assert len(page.json()) == 1 and page.headers.get("x-next-cursor")
    nxt = api.get(
        f"/task/{conn_id}/project", params={"limit": 1, "cursor": page.headers["x-next-cursor"]}
    )
    assert nxt.json()[0]["id"] == projects[1]["id"]


def test_comments_round_trip(service: Service, api: httpx.Client, conn_id: str):
    project = first_project(api, conn_id)
    task = api.post(
        f"/task/{conn_id}/task", json={"project_id": project["id"], "name": "Talk"}
    ).json()
    made = api.post(
        f"/task/{conn_id}/comment", json={"task_id": task["id"], "text": "Looks *good*"}
    )
    assert made.status_code == 200, made.text
    comment = made.json()
    assert comment["id"].startswith(f"{task['id']}:") and comment["text"] == "Looks *good*"
    record = service.sandbox.store.issue(task["id"])
    assert record is not None
    validate(record.comments[0]["body"])
    listed = api.get(f"/task/{conn_id}/comment", params={"task_id": task["id"]}).json()
    assert [c["id"] for c in listed] == [comment["id"]]
    changed = api.put(f"/task/{conn_id}/comment/{comment['id']}", json={"text": "Changed"}).json()
    assert changed["text"] == "Changed"
    assert api.get(f"/task/{conn_id}/comment/{comment['id']}").json()["text"] == "Changed"
    assert api.delete(f"/task/{conn_id}/comment/{comment['id']}").status_code == 200
    assert api.get(f"/task/{conn_id}/comment", params={"task_id": task["id"]}).json() == []
    assert api.get(f"/task/{conn_id}/comment").status_code == 422
    assert api.get(f"/task/{conn_id}/comment/bogus").status_code == 404


def test_changes_follow_the_changelog(api: httpx.Client, conn_id: str):
    project = first_project(api, conn_id)
    task = api.post(
        f"/task/{conn_id}/task", json={"project_id": project["id"], "name": "Log"}
    ).json()
    api.patch(f"/task/{conn_id}/task/{task['id']}", json={"name": "Log 2", "status": "IN_PROGRESS"})
    changes = api.get(f"/task/{conn_id}/change", params={"task_id": task["id"], "order": "asc"})
    assert changes.status_code == 200
    items = [item for change in changes.json() for item in change["items"]]
    assert {"field": "summary", "from": "Log", "to": "Log 2"} in items
    assert any(i["field"] == "status" for i in items)
    first = changes.json()[0]
    assert api.get(f"/task/{conn_id}/change/{first['id']}").json() == first
    assert int(changes.headers["x-total-count"]) == len(changes.json())
    # a page at a time, on the cursor, gives the same changes in the same order
    query = {"task_id": task["id"], "order": "asc", "limit": 1}
    paged, cursor = [], None
    for _ in range(len(changes.json()) + 1):
        page = api.get(
            f"/task/{conn_id}/change", params={**query, **({"cursor": cursor} if cursor else {})}
        )
        paged += page.json()
        cursor = page.headers.get("x-next-cursor")
        if cursor is None:
            break
    assert paged == changes.json() and len(paged) >= 2


@pytest.mark.parametrize("path", ["/task/{c}/task", "/task/{c}/project", "/task/{c}/task/1"])
def test_unknown_connection_is_404(api: httpx.Client, path: str):
    response = api.get(path.format(c="000000000000000000000000"))
    assert response.status_code == 404 and response.json()["status"] == 404


@pytest.mark.parametrize("offset", ["x", -5, 1.5, True, None, 10**12])
def test_a_forged_cursor_is_refused_with_a_422(api: httpx.Client, conn_id: str, offset: object):
    import base64
    import json

    forged = base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")
    response = api.get(f"/task/{conn_id}/project", params={"cursor": forged})
    assert response.status_code == 422, response.text
    assert "X-Next-Cursor" in response.text


def test_parent_user_sort_order_and_raw_jql(service: Service, api: httpx.Client, conn_id: str):
    """The list filters Unified names beyond project_id, each against the sandbox's data."""
    issues = list(service.sandbox.store.issues.values())
    child = next(r for r in issues if r.fields.get("parent"))
    parent_id = str(child.fields["parent"]["id"])
    children = {str(r.id) for r in issues if (r.fields.get("parent") or {}).get("id") == parent_id}
    got = api.get(f"/task/{conn_id}/task", params={"parent_id": parent_id, "limit": 100}).json()
    assert {t["id"] for t in got} == children and all(t["parent_id"] == parent_id for t in got)

    assignee = next(r for r in issues if r.fields.get("assignee")).fields["assignee"]["accountId"]
    theirs = {
        str(r.id) for r in issues if (r.fields.get("assignee") or {}).get("accountId") == assignee
    }
    got = api.get(f"/task/{conn_id}/task", params={"user_id": assignee, "limit": 100}).json()
    assert {t["id"] for t in got} == theirs and 0 < len(theirs) < len(issues)
    assert all(t["assigned_user_ids"] == [assignee] for t in got)

    asc = api.get(
        f"/task/{conn_id}/task", params={"sort": "created_at", "order": "asc", "limit": 100}
    ).json()
    desc = api.get(
        f"/task/{conn_id}/task", params={"sort": "created_at", "order": "desc", "limit": 100}
    ).json()
    stamps = [t["created_at"] for t in asc]
    assert len(asc) == len(issues) and stamps == sorted(stamps) and stamps[0] < stamps[-1]
    assert [t["created_at"] for t in desc] == sorted(stamps, reverse=True)
    assert api.get(f"/task/{conn_id}/task", params={"order": "sideways"}).status_code == 422

    # raw: extra Jira parameters, URL-encoded (Unified's `raw`); jql= is ANDed to the search.
    one = api.get(f"/task/{conn_id}/task", params={"raw": f"jql=key = {child.key}"})
    assert one.status_code == 200 and [t["id"] for t in one.json()] == [str(child.id)]
    unknown = api.get(f"/task/{conn_id}/task", params={"raw": "maxResults=5"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["loc"] == "query.raw"
