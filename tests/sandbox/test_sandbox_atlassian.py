"""atlassian-python-api (unmodified) against the served sandbox, Cloud and Data Center."""

from __future__ import annotations

import pytest

from jirakit.testing.plugin import SandboxServer
from needs import require_module

atlassian = require_module("atlassian")


@pytest.mark.jira_sandbox(issues=80, seed=6)
def test_cloud_client(jira_sandbox_server: SandboxServer) -> None:
    store = jira_sandbox_server.sandbox.store
    j = atlassian.Jira(
        url=jira_sandbox_server.url,
        username="admin@example.com",
        password="sandbox-token",
        cloud=True,
    )
    assert j.myself()["emailAddress"] == "admin@example.com"
    first = j.enhanced_jql("project = ENG ORDER BY key", limit=5, fields="summary")
    assert [i["key"] for i in first["issues"]] == [f"ENG-{n}" for n in range(1, 6)]
    assert first["isLast"] is False
    second = j.enhanced_jql(
        "project = ENG ORDER BY key",
        limit=5,
        fields="summary",
        nextPageToken=first["nextPageToken"],
    )
    assert [i["key"] for i in second["issues"]] == [f"ENG-{n}" for n in range(6, 11)]
    created = j.issue_create(
        fields={"project": {"key": "ENG"}, "issuetype": {"name": "Task"}, "summary": "APA"}
    )
    key = created["key"]
    j.issue_add_comment(key, "hello")
    assert [c["body"] for c in j.issue_get_comments(key)["comments"]] == ["hello"]
    assert {t["name"] for t in j.get_issue_transitions(key)} == {"In Progress", "Done"}
    j.set_issue_status(key, "Done")
    assert j.get_issue_status(key) == "Done"
    j.update_issue_field(key, {"summary": "APA 2"})
    assert j.issue_field_value(key, "summary") == "APA 2"
    j.delete_issue(key)
    assert store.issue(key) is None
    assert j.approximate_issue_count("project = ENG") == {"count": len(store.by_project[10000])}


@pytest.mark.jira_sandbox(issues=40, seed=6, flavour="datacenter")
def test_datacenter_client_with_pat(jira_sandbox_server: SandboxServer) -> None:
    j = atlassian.Jira(url=jira_sandbox_server.url, token="sandbox-token")
    assert j.myself()["name"] == "admin"
    page = j.jql("project = ENG ORDER BY key", start=5, limit=3)
    assert page["total"] == len(jira_sandbox_server.sandbox.store.by_project[10000])
    assert [i["key"] for i in page["issues"]] == ["ENG-6", "ENG-7", "ENG-8"]
