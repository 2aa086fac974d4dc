"""pycontribs ``jira`` (unmodified) against the served sandbox, through the pytest plugin's
``jira_sandbox_server`` fixture. pycontribs talks to ``/rest/api/2`` and, on Cloud, pages
``search/jql`` with ``nextPageToken`` (``enhanced_search_issues``)."""

from __future__ import annotations

import httpx
import pytest

from jirakit.testing.plugin import SandboxServer
from needs import require_module

jira = require_module("jira")


@pytest.fixture
def jc(jira_sandbox_server: SandboxServer) -> jira.JIRA:
    return jira.JIRA(server=jira_sandbox_server.url, basic_auth=jira_sandbox_server.auth)


@pytest.mark.jira_sandbox(issues=130, seed=9)
def test_myself_and_server_info(jc: jira.JIRA, jira_sandbox_server: SandboxServer) -> None:
    assert jc._is_cloud
    me = jc.myself()
    assert me["emailAddress"] == "admin@example.com"
    assert me["accountId"] == jira_sandbox_server.sandbox.admin_account_id


@pytest.mark.jira_sandbox(issues=130, seed=9)
def test_create_get_edit_delete(jc: jira.JIRA, jira_sandbox_server: SandboxServer) -> None:
    store = jira_sandbox_server.sandbox.store
    issue = jc.create_issue(
        project="ENG",
        summary="From pycontribs",
        issuetype={"name": "Bug"},
        description="plain text body",
    )
    assert issue.key.startswith("ENG-")
    got = jc.issue(issue.key)
    assert got.fields.summary == "From pycontribs"
    assert got.fields.description == "plain text body"  # v2 renders ADF as text
    assert store.issue(issue.key).fields["description"]["type"] == "doc"  # type: ignore[union-attr]
    got.update(summary="Edited by pycontribs", labels=[{"add": "pyc"}])
    again = jc.issue(issue.key)
    assert again.fields.summary == "Edited by pycontribs" and again.fields.labels == ["pyc"]
    again.delete()
    assert store.issue(issue.key) is None
    with pytest.raises(jira.JIRAError) as err:
        jc.issue(issue.key)
    assert err.value.status_code == 404


@pytest.mark.jira_sandbox(issues=130, seed=9)
def test_search_with_paging(jc: jira.JIRA, jira_sandbox_server: SandboxServer) -> None:
    store = jira_sandbox_server.sandbox.store
    expected = sorted(r.key for r in store.iter_project_issues(10000))
    first = jc.search_issues("project = ENG ORDER BY key", maxResults=10)
    assert len(first) == 10
    everything = jc.enhanced_search_issues(
        "project = ENG", maxResults=0
    )  # all pages, 100 at a time
    assert sorted(i.key for i in everything) == expected
    page1 = jc.enhanced_search_issues("project = ENG ORDER BY key", maxResults=20, fields="summary")
    page2 = jc.enhanced_search_issues(
        "project = ENG ORDER BY key",
        maxResults=20,
        fields="summary",
        nextPageToken=page1.nextPageToken,
    )
    keys = [i.key for i in page1] + [i.key for i in page2]
    assert len(set(keys)) == 40
    assert jc.approximate_issue_count("project = ENG") == len(expected)


@pytest.mark.jira_sandbox(issues=130, seed=9)
def test_comments_and_transitions(jc: jira.JIRA, jira_sandbox_server: SandboxServer) -> None:
    issue = jc.create_issue(project="ENG", summary="Workflow", issuetype={"name": "Task"})
    comment = jc.add_comment(issue.key, "first!")
    assert [c.body for c in jc.comments(issue.key)] == ["first!"]
    comment.update(body="edited")
    assert jc.comment(issue.key, comment.id).body == "edited"
    names = {t["name"] for t in jc.transitions(issue.key)}
    assert names == {"In Progress", "Done"}
    jc.transition_issue(issue.key, "In Progress")
    jc.transition_issue(issue.key, "Done", comment="closing")
    done = jc.issue(issue.key)
    assert done.fields.status.name == "Done" and done.fields.resolution.name == "Done"
    assert [c.body for c in jc.comments(issue.key)] == ["edited", "closing"]
    comment.delete()
    assert [c.body for c in jc.comments(issue.key)] == ["closing"]


@pytest.mark.jira_sandbox(issues=130, seed=9, flavour="datacenter")
def test_datacenter_flavour_with_pat(jira_sandbox_server: SandboxServer) -> None:
    store = jira_sandbox_server.sandbox.store
    jc = jira.JIRA(server=jira_sandbox_server.url, token_auth="sandbox-token")
    assert not jc._is_cloud
    assert jc.myself()["name"] == "admin"
    everything = jc.search_issues("project = ENG ORDER BY key", maxResults=False)  # startAt/total
    assert [i.key for i in everything] == sorted(
        (r.key for r in store.iter_project_issues(10000)), key=lambda k: int(k.split("-")[1])
    )
    issue = jc.create_issue(project="ENG", summary="DC", issuetype={"name": "Task"})
    jc.assign_issue(issue, "admin")
    assert jc.issue(issue.key).fields.assignee.name == "admin"


@pytest.mark.jira_sandbox(issues=60, seed=9)
def test_worklogs_links_and_watchers(jc: jira.JIRA, jira_sandbox_server: SandboxServer) -> None:
    sandbox = jira_sandbox_server.sandbox
    a = jc.create_issue(project="ENG", summary="A", issuetype={"name": "Task"})
    b = jc.create_issue(project="ENG", summary="B", issuetype={"name": "Task"})
    w = jc.add_worklog(a.key, timeSpent="2h", comment="did things")
    assert [x.timeSpent for x in jc.worklogs(a.key)] == ["2h"]
    w.update(timeSpent="3h")
    assert jc.worklog(a.key, w.id).timeSpentSeconds == 10800
    assert sandbox.store.issue(a.key).fields["timespent"] == 10800  # type: ignore[union-attr]
    w.delete()
    assert jc.worklogs(a.key) == []
    assert {t.name for t in jc.issue_link_types()} >= {"Blocks", "Relates"}
    jc.create_issue_link("Blocks", a.key, b.key)
    links = jc.issue(a.key).fields.issuelinks
    assert [(link.type.name, link.outwardIssue.key) for link in links] == [("Blocks", b.key)]
    assert jc.issue(b.key).fields.issuelinks[0].inwardIssue.key == a.key
    jc.delete_issue_link(links[0].id)
    assert jc.issue(a.key).fields.issuelinks == []
    assert jc.watchers(a.key).watchCount == 1
    jc.remove_watcher(a.key, sandbox.admin_account_id)
    assert jc.watchers(a.key).watchCount == 0


@pytest.mark.jira_sandbox(issues=20, seed=9)
def test_attachments_remote_links_and_filters(
    jc: jira.JIRA, jira_sandbox_server: SandboxServer
) -> None:
    import io

    att = jc.add_attachment("ENG-1", attachment=io.BytesIO(b"pycontribs bytes"), filename="p.txt")
    assert att.filename == "p.txt" and att.size == 16
    assert jc.attachment(att.id).get() == b"pycontribs bytes"  # follows the 303
    assert "p.txt" in [a.filename for a in jc.issue("ENG-1").fields.attachment]
    jc.delete_attachment(att.id)
    link = jc.add_simple_link("ENG-1", {"url": "https://example.com/x", "title": "X"})
    assert [r.object.title for r in jc.remote_links("ENG-1")] == ["X"]
    assert link.id
    made = jc.create_filter(name="From pycontribs", jql="project = ENG")
    assert jc.filter(made.id).jql == "project = ENG"


@pytest.mark.jira_sandbox(issues=40, seed=9)
def test_createmeta_assignable_users_and_permissions(
    jc: jira.JIRA, jira_sandbox_server: SandboxServer
) -> None:
    store = jira_sandbox_server.sandbox.store
    meta = jc.createmeta(projectKeys="ENG", expand="projects.issuetypes.fields")
    (project,) = meta["projects"]
    bug = next(t for t in project["issuetypes"] if t["name"] == "Bug")
    assert bug["fields"]["summary"]["required"] is True
    assert {"project", "issuetype", "customfield_10016"} <= set(bug["fields"])
    found = jc.search_assignable_users_for_issues(query="admin", issueKey="ENG-1")
    assert [u.accountId for u in found] == [jira_sandbox_server.sandbox.admin_account_id]
    everyone = jc.search_assignable_users_for_projects("", "ENG,OPS", maxResults=False)
    assert {u.accountId for u in everyone} == {a for a, u in store.users.items() if u["active"]}
    perms = jc.my_permissions(projectKey="ENG", permissions="BROWSE_PROJECTS,ADMINISTER")
    assert perms["permissions"]["BROWSE_PROJECTS"]["havePermission"] is True
    assert perms["permissions"]["ADMINISTER"]["havePermission"] is True
    assert {s["name"] for s in jc.permissionschemes()} == {"Default Permission Scheme"}


@pytest.mark.jira_sandbox(issues=40, seed=9)
def test_roles_properties_dashboards_and_categories(
    jc: jira.JIRA, jira_sandbox_server: SandboxServer
) -> None:
    store = jira_sandbox_server.sandbox.store
    roles = jc.project_roles("ENG")
    assert set(roles) == {"Administrators", "Developers", "Users"}
    admins = jc.project_role("ENG", roles["Administrators"]["id"])
    lead = store.project("ENG")["lead"]  # type: ignore[index]
    assert lead["displayName"] in {a.displayName for a in admins.actors}
    jc.add_issue_property("ENG-2", "triage", {"score": 7})
    (prop,) = jc.issue_properties("ENG-2")
    assert (prop.key, prop.value.score) == ("triage", 7)
    assert jc.issue_property("ENG-2", "triage").value.score == 7
    boards = jc.dashboards(maxResults=False)  # all pages, 20 at a time
    assert len(boards) == len(store.projects) + 1
    assert jc.dashboard(boards[1].id).name == boards[1].name
    assert {c["name"] for c in jc.projectcategories()} == {"Software", "Business"}
    types = jc._get_json("project/type")  # no helper in pycontribs: its own GET
    assert {t["key"] for t in types} == {"software", "business"}
    assert len(jc.avatars("project")) >= 10
    assert {s["name"] for s in jc.screens()} >= {"Default Screen"}
    assert [s["name"] for s in jc.issuesecurityschemes()] == ["Default Issue Security Scheme"]
    assert jc.notificationschemes()[0]["name"] == "Default Notification Scheme"


@pytest.mark.jira_sandbox(issues=40, seed=9)
def test_versions_paged_and_whole(jc: jira.JIRA, jira_sandbox_server: SandboxServer) -> None:
    store = jira_sandbox_server.sandbox.store
    expected = [v["name"] for v in store.project("ENG")["versions"]]  # type: ignore[index]
    assert [v.name for v in jc.project_versions("ENG")] == expected
    paged = jc._fetch_pages(jira.resources.Version, "values", "project/ENG/version", 0, False)
    assert [v.name for v in paged] == expected  # one request per version page of 50
    first = jc._fetch_pages(jira.resources.Version, "values", "project/ENG/version", 0, 1)
    assert [v.name for v in first] == expected[:1] and first.total == len(expected)


@pytest.mark.jira_sandbox(issues=20, seed=9)
def test_versions_paged_over_several_pages(
    jc: jira.JIRA, jira_sandbox_server: SandboxServer
) -> None:
    """120 versions added over REST (pycontribs' ``create_version`` sleeps a second after
    each), then read back by pycontribs in pages of 50: the pages join up (no version lost
    or repeated at a page edge) in the project's order."""
    with httpx.Client(base_url=jira_sandbox_server.url, auth=jira_sandbox_server.auth) as c:
        for n in range(120):
            made = c.post("/rest/api/2/version", json={"project": "OPS", "name": f"paged-{n:03d}"})
            assert made.status_code == 201, made.text
    store = jira_sandbox_server.sandbox.store
    expected = [v["name"] for v in store.project("OPS")["versions"]]  # type: ignore[index]
    assert len(expected) > 120  # three pages or more at pycontribs' page size of 50
    paged = jc._fetch_pages(jira.resources.Version, "values", "project/OPS/version", 0, False)
    assert (paged.maxResults, paged.total) == (50, len(expected))
    assert [v.name for v in paged] == expected
    assert [v.name for v in jc.project_versions("OPS")] == expected
    third = jc._fetch_pages(jira.resources.Version, "values", "project/OPS/version", 100, 50)
    assert [v.name for v in third] == expected[100:150]
