"""Third-party clients, unmodified, each in its own environment, against a served sandbox
(slow: they are installed from PyPI and npm the first time; see ``peer_clients.py``).

- Airbyte ``source-jira`` 4.0.0 with every stream selected, over https, with the legacy
  ``/rest/api/3/search`` it still calls (``--tls --legacy-search``);
- Singer ``tap-jira`` with every stream, over https;
- jira.js 6: board, backlog and sprint issues through ``/rest/software/1.0``.

Each run must complete every stream, emit exactly as many records per stream as the
sandbox holds (counted from the store, not from the sandbox's answers), and never be
answered 4xx/5xx except where Jira answers so too.
"""

from __future__ import annotations

import shutil
import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest
from peer_clients import (
    EMAIL,
    TOKEN,
    Served,
    airbyte_read,
    run_node,
    served_tls,
    tap_jira_sync,
)

from jirakit.sandbox import Sandbox, schemes
from jirakit.sandbox.mutations import available_transitions
from jirakit.sandbox.routes.agile import sprint_field
from jirakit.sandbox.store import Store
from jirakit.testing.asgi import SyncASGITransport
from needs import missing

pytestmark = pytest.mark.slow


def enrich(sandbox: Sandbox) -> None:
    """What the seeded org lacks and the streams read: saved filters (one shared),
    issue properties, remote links, through the REST API like a user would add them."""
    with httpx.Client(
        transport=SyncASGITransport(sandbox.app), base_url="http://jira.test", auth=sandbox.auth
    ) as c:
        shared = {"type": "project", "project": {"id": "10000"}}
        for n, jql in enumerate(("project = ENG", "assignee = currentUser()", "labels is EMPTY")):
            body: dict[str, Any] = {"name": f"Peer filter {n}", "jql": jql}
            if n == 0:
                body["sharePermissions"] = [
                    shared,
                    {"type": "group", "group": {"name": "developers"}},
                ]
            c.post("/rest/api/3/filter", json=body).raise_for_status()
        for key in ("ENG-1", "ENG-2", "OPS-1"):
            url = f"/rest/api/3/issue/{key}/properties/peer.score"
            c.put(url, json={"score": len(key)}).raise_for_status()
            link = {"object": {"url": f"https://example.com/{key}", "title": key}}
            c.post(f"/rest/api/3/issue/{key}/remotelink", json=link).raise_for_status()


def _board_issue_counts(sandbox: Sandbox) -> int:
    with httpx.Client(
        transport=SyncASGITransport(sandbox.app), base_url="http://jira.test", auth=sandbox.auth
    ) as c:
        total = 0
        for bid in sandbox.store.boards:
            page = c.get(f"/rest/agile/1.0/board/{bid}/issue", params={"fields": "key"})
            total += page.json()["total"]
        return total


def sprint_issue_count(store: Store) -> int:
    sf = sprint_field(store)
    return sum(
        1
        for rec in store.issues.values()
        for sprint in rec.fields.get(sf) or ()
        if sprint.get("id") in store.sprints
    )


def airbyte_expected(sandbox: Sandbox) -> dict[str, int]:
    s = sandbox.store
    admin = sandbox.admin_account_id
    option_fields = [
        f["id"]
        for f in s.fields
        if f["custom"]
        and (f["schema"].get("type") == "option" or f["schema"].get("items") == "option")
    ]
    return {
        "application_roles": len(schemes.application_roles(s)),
        "avatars": 3 * len(schemes.SYSTEM_AVATARS),  # issuetype, project, user
        "boards": len(s.boards),
        "dashboards": len(schemes.dashboards(s)),
        "filters": len(s.filters),
        "filter_sharing": sum(len(f.get("shares", [])) for f in s.filters.values()),
        "groups": len(s.groups),
        "issue_fields": len(s.fields),
        "issue_field_configurations": len(schemes.field_configurations()),
        "issue_link_types": len(s.link_types),
        "issue_navigator_settings": len(schemes.COLUMNS),
        "issue_notification_schemes": 1,
        "issue_priorities": len(s.priorities),
        "issue_resolutions": len(s.resolutions),
        "issue_security_schemes": 1,
        "issue_types": len(s.issuetypes),
        "issue_type_schemes": len(schemes.issue_type_schemes(s)),
        "issue_type_screen_schemes": len(schemes.issue_type_screen_schemes()),
        "jira_settings": len(schemes.application_properties(s)),
        "labels": len(schemes.labels(s)),
        "permissions": len(schemes.PERMISSIONS),
        "permission_schemes": 1,
        "projects": len(s.projects),
        "project_categories": len(schemes.project_categories()),
        "project_roles": len(schemes.ROLES),
        "project_types": len(schemes.PROJECT_TYPES),
        "screens": len(schemes.screens()),
        "screen_schemes": len(schemes.screen_schemes()),
        "time_tracking": 1,
        "users": len(s.users),
        "workflows": len(s.workflows),
        "workflow_schemes": len(schemes.workflow_schemes(s)),
        "workflow_statuses": len(s.statuses),
        "workflow_status_categories": len(s.status_categories),
        "issue_custom_field_contexts": sum(1 for f in s.fields if f["custom"]),
        "issue_custom_field_options": sum(len(s.field_options.get(f, [])) for f in option_fields),
        "issue_properties": sum(len(p) for p in s.issue_properties.values()),
        "issue_remote_links": sum(len(v) for v in s.remote_links.values()),
        "issue_transitions": sum(len(available_transitions(s, r)) for r in s.issues.values()),
        "issue_votes": len(s.issues),
        "issue_watchers": len(s.issues),
        "project_avatars": len(s.projects) * len(schemes.SYSTEM_AVATARS),
        "project_components": sum(len(p["components"]) for p in s.projects.values()),
        "project_email": len(s.projects),
        "project_permission_schemes": sum(
            len(schemes.security_levels_for(s, admin, p)) for p in s.projects.values()
        ),
        "project_versions": sum(len(p["versions"]) for p in s.projects.values()),
        "screen_tabs": len(schemes.screens()),
        "screen_tab_fields": sum(len(schemes.screen_fields(s, x[0])) for x in schemes.SCREENS),
        "sprints": len(s.sprints),
        "users_groups_detailed": len(s.users),
        "board_issues": _board_issue_counts(sandbox),
        "issues": len(s.issues),
        "sprint_issues": sprint_issue_count(s),
        "issue_comments": sum(len(r.comments) for r in s.issues.values()),
        "issue_worklogs": sum(len(r.worklogs) for r in s.issues.values()),
    }


def tap_expected(sandbox: Sandbox) -> dict[str, int]:
    s = sandbox.store
    return {
        "projects": len(s.projects),
        "versions": sum(len(p["versions"]) for p in s.projects.values()),
        "components": sum(len(p["components"]) for p in s.projects.values()),
        "project_types": len(schemes.PROJECT_TYPES),
        "project_categories": len(schemes.project_categories()),
        "resolutions": len(s.resolutions),
        "roles": len(schemes.ROLES),
        # tap-jira reads the members of a fixed list of groups; jira-users is the only one
        # that exists here, and it holds everyone (inactive users included, as it asks)
        "users": len(s.group_members["jira-users"]),
        "issues": len(s.issues),
        "issue_comments": sum(len(r.comments) for r in s.issues.values()),
        "changelogs": sum(len(r.histories) for r in s.issues.values()),
        "issue_transitions": sum(len(available_transitions(s, r)) for r in s.issues.values()),
        "worklogs": sum(len(r.worklogs) for r in s.issues.values()),
    }


def assert_counts(names: list[str], got: dict[str, int], expected: dict[str, int]) -> None:
    assert set(names) == set(expected), f"streams changed: {sorted(set(names) ^ set(expected))}"
    wrong = {n: (got.get(n, 0), expected[n]) for n in names if got.get(n, 0) != expected[n]}
    assert not wrong, f"(records, expected) per stream: {wrong}"
    empty = [n for n in names if expected[n] == 0]
    assert not empty, f"streams the site gives nothing to read, proving nothing: {empty}"


def test_airbyte_source_jira_reads_every_stream(tmp_path: Path) -> None:
    sandbox = Sandbox(seed=16, issues=80, projects=3, legacy_search=True)
    enrich(sandbox)
    with served_tls(sandbox, tmp_path) as served:
        names, run = airbyte_read(served, tmp_path)
        failures = served.counter.failures()
    assert run.errors == [], run.errors[:5]
    assert {n: run.statuses.get(n) for n in names} == dict.fromkeys(names, "COMPLETE")
    assert_counts(names, run.records, airbyte_expected(sandbox))
    assert failures == {}, failures


def test_tap_jira_syncs_every_stream(tmp_path: Path) -> None:
    sandbox = Sandbox(seed=16, issues=80, projects=3)
    with served_tls(sandbox, tmp_path) as served:
        names, run = tap_jira_sync(served, tmp_path)
        failures = served.counter.failures()
    assert run.errors == [], run.errors[:5]
    assert_counts(names, run.records, tap_expected(sandbox))
    # tap-jira asks for the members of groups this site does not have, and Jira answers
    # those with a 404, which it skips: nothing else may fail
    assert set(failures) <= {("GET", "/rest/api/2/group/member", 404)}, failures
    assert failures.get(("GET", "/rest/api/2/group/member", 404), 0) == 4


def _keys(served: Served, url: str, **params: Any) -> list[str]:
    trust = ssl.create_default_context(cafile=str(served.ca))
    with httpx.Client(base_url=served.url, verify=trust, auth=(EMAIL, TOKEN)) as c:
        r = c.get(url, params={"maxResults": 100, "fields": "key", **params})
        r.raise_for_status()
        page = r.json()
        assert page["total"] <= 100
        return [i["key"] for i in page["issues"]]


def test_jirajs_6_reads_board_backlog_and_sprint_issues(tmp_path: Path) -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        missing("Node.js and npm are not installed: sudo apt-get install nodejs npm")
    sandbox = Sandbox(seed=16, issues=80, projects=3)
    board = next(b for b in sandbox.store.boards.values() if b["type"] == "scrum")
    sprint = max(
        (s for s in sandbox.store.sprints.values() if s.get("boardId") == board["id"]),
        key=lambda s: sprint_issue_count_of(sandbox.store, s["id"]),
    )
    with served_tls(sandbox, tmp_path) as served:
        got = run_node(
            "jirajs_board.mjs",
            served,
            {"BOARD_ID": str(board["id"]), "SPRINT_ID": str(sprint["id"])},
        )
        a = "/rest/agile/1.0"
        expected = {
            "board": _keys(served, f"{a}/board/{board['id']}/issue"),
            "backlog": _keys(served, f"{a}/board/{board['id']}/backlog"),
            "boardSprint": _keys(served, f"{a}/board/{board['id']}/sprint/{sprint['id']}/issue"),
            "sprint": _keys(served, f"{a}/sprint/{sprint['id']}/issue"),
            "bugs": _keys(served, f"{a}/board/{board['id']}/issue", jql="type = Bug"),
        }
        failures = served.counter.failures()
    for name, keys in expected.items():
        assert keys, f"{name}: nothing to read, the test would prove nothing"
        assert got[name] == keys, name
    assert got["boardCount"] == len(expected["board"])
    assert got["backlogCount"] == len(expected["backlog"])
    assert failures == {}, failures
    # jira.js validates every response against its zod schemas and reports drift there
    assert "schema" not in got["_stderr"].lower(), got["_stderr"][-2000:]
    software = served.counter.counts
    pages = sum(
        n
        for (m, path, st), n in software.items()
        if path.startswith("/rest/software/1.0/") and m == "GET"
    )
    assert pages > len(expected), "jira.js paged through /rest/software/1.0"


def sprint_issue_count_of(store: Store, sprint_id: int) -> int:
    sf = sprint_field(store)
    return sum(
        1
        for rec in store.issues.values()
        for s in rec.fields.get(sf) or ()
        if s.get("id") == sprint_id
    )
