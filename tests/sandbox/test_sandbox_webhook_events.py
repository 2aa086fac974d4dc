"""Every mutation's webhook event, delivered over real HTTP, with Jira's payload shape.

Each test makes the change through the REST API of a served sandbox (frozen clock), then
reads what a signed admin webhook received and checks what Jira changes on the issue:
``updated`` and the changelog (attachments write ``Attachment`` items, links ``Link``
items on both ends, remote links ``RemoteIssueLink``; watchers write nothing).
Payload shapes: Atlassian's webhook documentation and the real payloads in
``../shared/jira/fixtures/webhooks-mattermost/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from jirakit.sandbox import FrozenClock, Sandbox
from jirakit.testing.webhooks import WebhookReceiver, verify_jwt, verify_signature

ADMIN = "/rest/webhooks/1.0/webhook"
API = "/rest/api/3"
AGILE = "/rest/agile/1.0"
SECRET = "s3cret"
NEW_ISSUE = {"fields": {"project": {"key": "ENG"}, "issuetype": {"name": "Task"}, "summary": "W"}}
PROJECT_KEYS = {"self", "id", "key", "name", "avatarUrls", "projectLead", "assigneeType"}
VERSION_KEYS = {"self", "id", "description", "name", "archived", "released", "overdue"}
WORKLOG_KEYS = {
    "self",
    "author",
    "updateAuthor",
    "created",
    "updated",
    "started",
    "timeSpent",
    "timeSpentSeconds",
    "id",
    "issueId",
}


class Inbox:
    """A signed admin webhook's deliveries, read a batch at a time."""

    def __init__(self, site: Sandbox, receiver: WebhookReceiver) -> None:
        self.site = site
        self.receiver = receiver
        self.seen = 0

    def take(self, n: int) -> list[dict[str, Any]]:
        """The next ``n`` deliveries, and not one more; each signed and on the Primary flow."""
        got = self.receiver.wait_for(self.seen + n)[self.seen :]
        assert self.site.webhooks.flush(5)
        assert len(self.receiver.deliveries) == self.seen + n, [
            d.json()["webhookEvent"] for d in self.receiver.deliveries[self.seen :]
        ]
        self.seen += n
        for d in got:
            assert d.verified
            assert verify_signature(d.body, d.headers["x-hub-signature"], SECRET)
            assert d.headers["x-atlassian-webhook-flow"] == "Primary"
        return [d.json() for d in got]


@pytest.fixture
def inbox(site: Sandbox) -> Iterator[Inbox]:
    with WebhookReceiver(secret=SECRET) as receiver:
        yield Inbox(site, receiver)


def register(http: httpx.Client, url: str, events: list[str], jql: str = "") -> None:
    body = {
        "name": "events",
        "url": url,
        "events": events,
        "filters": {"issue-related-events-section": jql},
        "secret": SECRET,
    }
    r = http.post(ADMIN, json=body)
    assert r.status_code == 201, r.text


def base(http: httpx.Client) -> str:
    return str(http.base_url).rstrip("/")


def issue_state(http: httpx.Client, key: str) -> tuple[str, list[dict[str, Any]]]:
    """(``updated``, changelog histories) of an issue, read over the API."""
    updated = http.get(f"{API}/issue/{key}", params={"fields": "updated"}).json()["fields"]
    changelog = http.get(f"{API}/issue/{key}/changelog", params={"maxResults": 100}).json()
    return updated["updated"], changelog["values"]


def new_issue(http: httpx.Client, project: str = "ENG") -> str:
    body = {"fields": {**NEW_ISSUE["fields"], "project": {"key": project}}}
    r = http.post(f"{API}/issue", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["key"])


def upload(http: httpx.Client, key: str, name: str, data: bytes) -> dict[str, Any]:
    r = http.post(
        f"{API}/issue/{key}/attachments",
        files={"file": (name, data, "text/plain")},
        headers={"X-Atlassian-Token": "no-check"},
    )
    assert r.status_code == 200, r.text
    [att] = r.json()
    return dict(att)


# -- issue-related events ------------------------------------------------------------------


def test_attachment_events_carry_the_attachment_and_change_the_issue(
    site: Sandbox, http: httpx.Client, inbox: Inbox, clock: FrozenClock
) -> None:
    events = ["attachment_created", "attachment_deleted", "jira:issue_updated"]
    register(http, inbox.receiver.url, events, jql="project = ENG")
    key = new_issue(http)
    outside = new_issue(http, "OPS")
    before, histories = issue_state(http, key)
    clock.advance(60)
    att = upload(http, key, "notes.txt", b"hello")
    upload(http, outside, "elsewhere.txt", b"x")  # outside the JQL filter: nothing sent
    updated, created_issue = inbox.take(2)
    assert updated["webhookEvent"] == "jira:issue_updated"
    assert updated["issue_event_type_name"] == "issue_updated"
    [item] = updated["changelog"]["items"]
    assert (item["field"], item["fieldtype"]) == ("Attachment", "jira")
    assert (item["from"], item["to"], item["toString"]) == (None, att["id"], "notes.txt")
    assert set(created_issue) == {"timestamp", "webhookEvent", "attachment"}
    assert created_issue["webhookEvent"] == "attachment_created"
    sent = created_issue["attachment"]
    assert (sent["id"], sent["filename"], sent["size"]) == (att["id"], "notes.txt", 5)
    assert sent["mimeType"] == "text/plain"
    assert sent["author"]["accountId"] == site.admin_account_id
    assert sent["self"] == f"{base(http)}/rest/api/2/attachment/{att['id']}"
    assert sent["content"] == f"{base(http)}/rest/api/2/attachment/content/{att['id']}"
    assert created_issue["timestamp"] == int(clock.now().timestamp() * 1000)
    after, histories_after = issue_state(http, key)
    assert after != before and after.startswith("2026-02-01T12:01")
    assert len(histories_after) == len(histories) + 1
    clock.advance(60)
    assert http.delete(f"{API}/attachment/{att['id']}").status_code == 204
    removed_issue, deleted = inbox.take(2)
    [item] = removed_issue["changelog"]["items"]
    assert (item["field"], item["from"], item["fromString"], item["to"]) == (
        "Attachment",
        att["id"],
        "notes.txt",
        None,
    )
    assert deleted["webhookEvent"] == "attachment_deleted"
    assert deleted["attachment"]["id"] == att["id"]
    assert deleted["attachment"]["filename"] == "notes.txt"
    assert issue_state(http, key)[0].startswith("2026-02-01T12:02")


def test_issuelink_events_and_link_changelog_on_both_ends(
    site: Sandbox, http: httpx.Client, inbox: Inbox, clock: FrozenClock
) -> None:
    register(http, inbox.receiver.url, ["issuelink_created", "issuelink_deleted"])
    source, target = new_issue(http), new_issue(http)
    before = {k: issue_state(http, k) for k in (source, target)}
    clock.advance(60)
    body = {
        "type": {"name": "Blocks"},
        "inwardIssue": {"key": source},
        "outwardIssue": {"key": target},
    }
    assert http.post(f"{API}/issueLink", json=body).status_code == 201
    [created] = inbox.take(1)
    link = created["issueLink"]
    src = site.store.issue(source)
    dst = site.store.issue(target)
    assert src is not None and dst is not None
    blocks = next(t for t in site.store.link_types.values() if t["name"] == "Blocks")
    assert set(created) == {"timestamp", "webhookEvent", "issueLink"}
    assert (link["sourceIssueId"], link["destinationIssueId"]) == (src.id, dst.id)
    assert link["issueLinkType"] == {
        "id": int(blocks["id"]),
        "name": "Blocks",
        "outwardName": blocks["outward"],
        "inwardName": blocks["inward"],
        "isSubTaskLinkType": False,
        "isSystemLinkType": False,
    }
    assert link["systemLink"] is False
    wording = {source: f"This issue blocks {target}", target: f"This issue is blocked by {source}"}
    for key, other in ((source, target), (target, source)):
        updated, histories = issue_state(http, key)
        assert updated != before[key][0]
        assert len(histories) == len(before[key][1]) + 1
        [item] = histories[-1]["items"]
        assert (item["field"], item["to"], item["toString"]) == ("Link", other, wording[key])
    clock.advance(60)
    assert http.delete(f"{API}/issueLink/{link['id']}").status_code == 204
    [deleted] = inbox.take(1)
    assert deleted["webhookEvent"] == "issuelink_deleted"
    assert deleted["issueLink"] == link  # the whole link, though it is gone
    for key, other in ((source, target), (target, source)):
        updated, histories = issue_state(http, key)
        assert updated.startswith("2026-02-01T12:02")
        [item] = histories[-1]["items"]
        assert (item["field"], item["from"], item["fromString"], item["to"]) == (
            "Link",
            other,
            wording[key],
            None,
        )


def test_worklog_events(
    site: Sandbox, http: httpx.Client, inbox: Inbox, clock: FrozenClock
) -> None:
    events = ["worklog_created", "worklog_updated", "worklog_deleted"]
    register(http, inbox.receiver.url, events, jql="project = ENG")
    key = new_issue(http)
    before, histories = issue_state(http, key)
    clock.advance(60)
    w = http.post(f"{API}/issue/{key}/worklog", json={"timeSpent": "1h"}).json()
    http.put(f"{API}/issue/{key}/worklog/{w['id']}", json={"timeSpentSeconds": 1800})
    http.delete(f"{API}/issue/{key}/worklog/{w['id']}")
    created, updated, deleted = inbox.take(3)
    assert [b["webhookEvent"] for b in (created, updated, deleted)] == events
    for body in (created, updated, deleted):
        assert set(body) == {"timestamp", "webhookEvent", "worklog"}
        assert set(body["worklog"]) == WORKLOG_KEYS
        assert body["worklog"]["id"] == w["id"]
    rec = site.store.issue(key)
    assert rec is not None
    assert created["worklog"]["issueId"] == rec.sid
    assert (created["worklog"]["timeSpent"], updated["worklog"]["timeSpentSeconds"]) == ("1h", 1800)
    after, histories_after = issue_state(http, key)
    assert after != before
    fields = [{i["field"] for i in h["items"]} for h in histories_after[len(histories) :]]
    assert fields == [{"WorklogId", "timespent"}] * 3


def test_remote_links_write_history_and_watchers_do_not(
    site: Sandbox, http: httpx.Client, inbox: Inbox, clock: FrozenClock
) -> None:
    register(http, inbox.receiver.url, ["jira:issue_updated"])
    key = new_issue(http)
    before, histories = issue_state(http, key)
    clock.advance(60)
    other = next(a for a in site.store.users if a != site.admin_account_id)
    assert http.post(f"{API}/issue/{key}/watchers", json=other).status_code == 204
    assert issue_state(http, key) == (before, histories)  # no history, same `updated`
    link = {"object": {"url": "https://example.com/doc", "title": "Design doc"}}
    made = http.post(f"{API}/issue/{key}/remotelink", json=link).json()
    http.delete(f"{API}/issue/{key}/remotelink/{made['id']}")
    added, removed = inbox.take(2)  # nothing for the watcher
    text = 'This issue links to "Design doc (Web Link)"'
    assert [(i["field"], i["to"], i["toString"]) for i in added["changelog"]["items"]] == [
        ("RemoteIssueLink", str(made["id"]), text)
    ]
    assert [(i["from"], i["fromString"]) for i in removed["changelog"]["items"]] == [
        (str(made["id"]), text)
    ]
    assert issue_state(http, key)[0] != before


# -- site events: projects, versions, sprints, boards --------------------------------------


def test_project_events_and_the_trash(
    site: Sandbox, http: httpx.Client, inbox: Inbox, clock: FrozenClock
) -> None:
    events = [
        "project_created",
        "project_updated",
        "project_soft_deleted",
        "project_restored_deleted",
        "project_archived",
        "project_restored_archived",
        "project_deleted",
    ]
    register(http, inbox.receiver.url, events, jql="project = ENG")  # JQL: issue events only
    body = {"key": "TRASH", "name": "Trash me", "leadAccountId": site.admin_account_id}
    pid = http.post(f"{API}/project", json=body).json()["id"]
    http.put(f"{API}/project/TRASH", json={"name": "Trash me now", "assigneeType": "PROJECT_LEAD"})
    key = new_issue(http, "TRASH")
    [created, updated] = inbox.take(2)
    assert set(created) == {"timestamp", "webhookEvent", "project"}
    project = created["project"]
    assert set(project) == PROJECT_KEYS
    assert (project["id"], project["key"], project["name"]) == (pid, "TRASH", "Trash me")
    assert project["self"] == f"{base(http)}/rest/api/2/project/{pid}"
    assert project["projectLead"]["accountId"] == site.admin_account_id
    assert project["assigneeType"] == "admin.assignee.type.unassigned"
    assert updated["webhookEvent"] == "project_updated"
    assert updated["project"]["name"] == "Trash me now"
    assert updated["project"]["assigneeType"] == "admin.assignee.type.projectlead"

    # to the trash: hidden everywhere, then back
    assert http.delete(f"{API}/project/TRASH").status_code == 204
    assert http.get(f"{API}/project/TRASH").status_code == 404
    assert http.get(f"{API}/issue/{key}").status_code == 404
    assert "TRASH" not in {p["key"] for p in http.get(f"{API}/project").json()}
    assert (
        http.post(
            f"{API}/issue", json={"fields": {**NEW_ISSUE["fields"], "project": {"key": "TRASH"}}}
        ).status_code
        == 400
    )
    assert http.delete(f"{API}/project/TRASH").status_code == 404  # already in the trash
    restored = http.post(f"{API}/project/TRASH/restore")
    assert restored.status_code == 200 and "deleted" not in restored.json()
    assert http.get(f"{API}/issue/{key}").status_code == 200
    # archived: hidden too, cannot be deleted until restored
    assert http.post(f"{API}/project/TRASH/archive").status_code == 204
    assert http.get(f"{API}/issue/{key}").status_code == 404
    refused = http.delete(f"{API}/project/TRASH")
    assert refused.status_code == 400 and "archived" in refused.json()["errorMessages"][0]
    assert http.post(f"{API}/project/TRASH/restore").status_code == 200
    names = [b["webhookEvent"] for b in inbox.take(4)]
    assert names == [
        "project_soft_deleted",
        "project_restored_deleted",
        "project_archived",
        "project_restored_archived",
    ]


def test_deleting_a_project_for_good_cascades_on_the_secondary_flow(
    site: Sandbox, http: httpx.Client, clock: FrozenClock
) -> None:
    body = {"key": "GONE", "name": "Gone", "leadAccountId": site.admin_account_id}
    http.post(f"{API}/project", json=body)
    keys = [new_issue(http, "GONE"), new_issue(http, "GONE")]
    with WebhookReceiver(secret=SECRET) as receiver:
        register(http, receiver.url, ["jira:issue_deleted", "project_deleted"])
        r = http.delete(f"{API}/project/GONE", params={"enableUndo": "false"})
        assert r.status_code == 204
        got = receiver.wait_for(3)
        assert site.webhooks.flush(5)
    assert [d.json()["webhookEvent"] for d in got] == [
        "jira:issue_deleted",
        "jira:issue_deleted",
        "project_deleted",
    ]
    assert [d.headers["x-atlassian-webhook-flow"] for d in got] == [
        "Secondary",
        "Secondary",
        "Primary",
    ]
    assert sorted(d.json()["issue"]["key"] for d in got[:2]) == keys
    assert all(d.verified for d in got)
    assert got[2].json()["project"]["key"] == "GONE"
    assert site.store.project("GONE") is None
    assert all(site.store.issue(k) is None for k in keys)
    assert http.post(f"{API}/project/GONE/restore").status_code == 404  # nothing to restore
    assert http.post(f"{API}/project", json=body).status_code == 201  # the key is free again


def test_version_events(
    site: Sandbox, http: httpx.Client, inbox: Inbox, clock: FrozenClock
) -> None:
    events = [
        "jira:version_created",
        "jira:version_updated",
        "jira:version_released",
        "jira:version_unreleased",
        "jira:version_deleted",
    ]
    register(http, inbox.receiver.url, events, jql="project = OPS")
    v = http.post(
        f"{API}/version",
        json={
            "project": "ENG",
            "name": "3.0",
            "startDate": "2026-01-05",
            "releaseDate": "2026-01-20",
        },
    ).json()
    [created] = inbox.take(1)
    assert set(created) == {"timestamp", "webhookEvent", "version"}
    sent = created["version"]
    assert set(sent) >= VERSION_KEYS
    assert (sent["id"], sent["name"], sent["projectId"]) == (v["id"], "3.0", 10000)
    assert sent["self"] == f"{base(http)}/rest/api/2/version/{v['id']}"
    assert (sent["userStartDate"], sent["userReleaseDate"]) == ("05/Jan/26", "20/Jan/26")
    assert sent["overdue"] is True  # unreleased, due before today (2026-02-01)
    http.put(f"{API}/version/{v['id']}", json={"description": "Big one"})
    http.put(f"{API}/version/{v['id']}", json={"released": True})
    http.put(f"{API}/version/{v['id']}", json={"released": False, "name": "3.0.0"})
    updated, released, renamed, unreleased = inbox.take(4)
    assert updated["webhookEvent"] == "jira:version_updated"
    assert updated["version"]["description"] == "Big one"
    assert (released["webhookEvent"], released["version"]["released"]) == (
        "jira:version_released",
        True,
    )
    assert released["version"]["overdue"] is False
    assert renamed["webhookEvent"] == "jira:version_updated"
    assert unreleased["webhookEvent"] == "jira:version_unreleased"
    assert unreleased["version"]["name"] == "3.0.0"
    # deleting moves the fix version of its issues: history and `updated` on each
    key = new_issue(http)
    http.put(f"{API}/issue/{key}", json={"fields": {"fixVersions": [{"id": v["id"]}]}})
    before, histories = issue_state(http, key)
    clock.advance(60)
    r = http.delete(f"{API}/version/{v['id']}", params={"moveFixIssuesTo": "10004"})
    assert r.status_code == 204
    [deleted] = inbox.take(1)
    assert (deleted["webhookEvent"], deleted["version"]["id"]) == ("jira:version_deleted", v["id"])
    fix = http.get(f"{API}/issue/{key}", params={"fields": "fixVersions"}).json()
    assert [x["id"] for x in fix["fields"]["fixVersions"]] == ["10004"]
    after, histories_after = issue_state(http, key)
    assert after != before and len(histories_after) == len(histories) + 1
    items = {(i["field"], i["from"], i["to"]) for i in histories_after[-1]["items"]}
    assert items == {("Fix Version", v["id"], None), ("Fix Version", None, "10004")}
    assert http.get(f"{API}/version/{v['id']}").status_code == 404
    bad = http.delete(f"{API}/version/10004", params={"moveFixIssuesTo": "10004"})
    assert bad.status_code == 400 and "moveFixIssuesTo" in bad.json()["errors"]


def test_sprint_and_board_events(
    site: Sandbox, http: httpx.Client, inbox: Inbox, clock: FrozenClock
) -> None:
    events = [
        "sprint_created",
        "sprint_updated",
        "sprint_started",
        "sprint_closed",
        "sprint_deleted",
        "board_created",
        "board_deleted",
    ]
    register(http, inbox.receiver.url, events, jql="project = OPS")
    site.store.site["parallel_sprints"] = True
    sprint = http.post(f"{AGILE}/sprint", json={"name": "S1", "originBoardId": 1}).json()
    sid = sprint["id"]
    http.post(f"{AGILE}/sprint/{sid}", json={"goal": "Ship it"})
    dates = {"startDate": "2026-02-01T00:00:00Z", "endDate": "2026-02-14T00:00:00Z"}
    http.post(f"{AGILE}/sprint/{sid}", json={"state": "active", **dates})
    http.post(f"{AGILE}/sprint/{sid}", json={"state": "closed"})
    other = http.post(f"{AGILE}/sprint", json={"name": "S2", "originBoardId": 1}).json()
    assert http.delete(f"{AGILE}/sprint/{other['id']}").status_code == 204
    got = inbox.take(6)
    assert [b["webhookEvent"] for b in got] == [
        "sprint_created",
        "sprint_updated",
        "sprint_started",
        "sprint_closed",
        "sprint_created",
        "sprint_deleted",
    ]
    created, goal, started, closed, _, deleted = got
    assert set(created) == {"timestamp", "webhookEvent", "sprint"}
    assert created["sprint"]["self"] == f"{base(http)}{AGILE}/sprint/{sid}"
    assert (created["sprint"]["state"], created["sprint"]["originBoardId"]) == ("future", 1)
    assert set(goal) == {"timestamp", "webhookEvent", "sprint", "oldValue"}
    assert (goal["oldValue"]["goal"], goal["sprint"]["goal"]) == ("", "Ship it")
    assert started["sprint"]["state"] == "active" and "oldValue" not in started
    assert closed["sprint"]["state"] == "closed" and "completeDate" in closed["sprint"]
    assert deleted["sprint"]["id"] == other["id"]
    fid = http.post(f"{API}/filter", json={"name": "ENG", "jql": "project = ENG"}).json()["id"]
    board_body = {
        "name": "Second ENG board",
        "type": "scrum",
        "filterId": int(fid),
        "location": {"type": "project", "projectKeyOrId": "ENG"},
    }
    board = http.post(f"{AGILE}/board", json=board_body).json()
    assert http.delete(f"{AGILE}/board/{board['id']}").status_code == 204
    made, gone = inbox.take(2)
    assert (made["webhookEvent"], gone["webhookEvent"]) == ("board_created", "board_deleted")
    assert set(made) == {"timestamp", "webhookEvent", "board"}
    assert made["board"]["self"] == f"{base(http)}{AGILE}/board/{board['id']}"
    assert (made["board"]["name"], made["board"]["type"]) == ("Second ENG board", "scrum")
    assert gone["board"]["id"] == board["id"]


# -- dynamic webhooks: only the issue and comment events Jira documents ----------------------


@pytest.mark.parametrize(
    "event",
    ["attachment_created", "issuelink_created", "project_created", "jira:version_released"],
)
def test_dynamic_webhooks_refuse_other_events(http: httpx.Client, event: str) -> None:
    hooks = [{"events": [event], "jqlFilter": "project = ENG"}]
    r = http.post(f"{API}/webhook", json={"url": "https://app.example/h", "webhooks": hooks})
    assert r.json()["webhookRegistrationResult"] == [
        {"errors": [f"The event {event} is not supported."]}
    ]


def test_dynamic_webhooks_see_attachments_as_issue_updates(
    site: Sandbox, http: httpx.Client, clock: FrozenClock
) -> None:
    with WebhookReceiver(jwt_secret=site.webhooks.app_secret) as hook:
        hooks = [
            {
                "events": ["jira:issue_updated"],
                "jqlFilter": "project = ENG",
                "fieldIdsFilter": ["attachment"],
            }
        ]
        http.post(f"{API}/webhook", json={"url": hook.url, "webhooks": hooks})
        key = new_issue(http)
        http.put(f"{API}/issue/{key}", json={"fields": {"summary": "not sent"}})
        upload(http, key, "a.txt", b"a")
        [d] = hook.wait_for(1)
        assert site.webhooks.flush(5)
        assert len(hook.deliveries) == 1
    body = d.json()
    assert d.verified and body["webhookEvent"] == "jira:issue_updated"
    assert [i["field"] for i in body["changelog"]["items"]] == ["Attachment"]
    claims = verify_jwt(
        d.headers["authorization"], site.webhooks.app_secret, url=hook.url, now=clock.now()
    )
    assert claims["sub"] == site.admin_account_id


def test_purging_a_project_deletes_each_issue_as_issue_delete_does(
    site: Sandbox, http: httpx.Client, clock: FrozenClock
) -> None:
    """Sub-tasks go with their parent; an issue elsewhere whose parent was in the project
    loses its parent, as when that parent is deleted alone; all on the Secondary flow."""
    body = {"key": "PURGE", "name": "Purge", "leadAccountId": site.admin_account_id}
    assert http.post(f"{API}/project", json=body).status_code == 201

    def make(kind: str, **extra: Any) -> str:
        fields = {"project": {"key": "PURGE"}, "issuetype": {"name": kind}, "summary": kind}
        r = http.post(f"{API}/issue", json={"fields": {**fields, **extra}})
        assert r.status_code == 201, r.text
        return str(r.json()["key"])

    epic = make("Epic")
    task = make("Task")
    sub = make("Sub-task", parent={"key": task})
    outside = new_issue(http, "ENG")
    r = http.put(f"{API}/issue/{outside}", json={"fields": {"parent": {"key": epic}}})
    assert r.status_code == 204, r.text
    with WebhookReceiver(secret=SECRET) as receiver:
        register(http, receiver.url, ["jira:issue_deleted", "project_deleted"])
        assert (
            http.delete(f"{API}/project/PURGE", params={"enableUndo": "false"}).status_code == 204
        )
        got = receiver.wait_for(4)
        assert site.webhooks.flush(5)
    events = [(d.json()["webhookEvent"], d.headers["x-atlassian-webhook-flow"]) for d in got]
    assert events == [("jira:issue_deleted", "Secondary")] * 3 + [("project_deleted", "Primary")]
    assert sorted(d.json()["issue"]["key"] for d in got[:3]) == sorted([epic, task, sub])
    assert all(site.store.issue(k) is None for k in (epic, task, sub))
    fields = http.get(f"{API}/issue/{outside}", params={"fields": "parent"}).json()["fields"]
    assert fields.get("parent") is None  # not left pointing at a deleted issue


def test_a_hidden_projects_access_list_still_applies(site: Sandbox, http: httpx.Client) -> None:
    body = {"key": "SHUT", "name": "Shut", "leadAccountId": site.admin_account_id}
    assert http.post(f"{API}/project", json=body).status_code == 201
    assert http.post(f"{API}/project/SHUT/archive").status_code == 204
    assert http.post(f"{API}/group", json={"name": "shut-team"}).status_code == 201
    site.restrict_project("SHUT", ["shut-team"])
    for refused in (
        http.post(f"{API}/project/SHUT/restore"),
        http.delete(f"{API}/project/SHUT"),
    ):
        assert refused.status_code == 404
        assert refused.json()["errorMessages"] == ["No project could be found with key 'SHUT'."]
    joined = http.post(
        f"{API}/group/user",
        params={"groupname": "shut-team"},
        json={"accountId": site.admin_account_id},
    )
    assert joined.status_code == 201
    assert http.post(f"{API}/project/SHUT/restore").status_code == 200
    assert site.store.can_browse(site.admin_account_id, site.store.project("SHUT")["id"])
