"""Real recorded Jira responses parse into the client's models."""

from __future__ import annotations

from datetime import datetime

import pytest
from client_doubles import BASE, Router, fixture_json, ok

from jirakit import BasicAuth, Jira
from jirakit.client.models import Comment, Field, Issue, Project, Transition, User

AUTH = BasicAuth("me@acme.com", "tok")
CUSTOM_GO, CUSTOM_RUBY, CUSTOM_DEMISTO = 0, 0, 2  # custom fields in each recorded /field


def test_cloud_issue_with_every_expand():
    raw = fixture_json("cloud-v3-demisto", "get_issue_test", "raw_response.json")
    issue = Issue.parse(raw)
    assert issue.key == raw["key"] and issue.id == raw["id"]
    assert issue.summary == raw["fields"]["summary"]
    assert issue.status is not None and issue.status.name == raw["fields"]["status"]["name"]
    assert issue.status.category in {"new", "indeterminate", "done"}
    assert isinstance(issue.created, datetime) and issue.created.tzinfo is not None
    assert isinstance(issue.description, dict) and issue.description["type"] == "doc"
    assert issue.names  # expand=names


def test_extended_issues_with_parents():
    for raw in fixture_json(
        "cloud-v3-demisto", "get_issue_test", "raw_response_extended_issues.json"
    ):
        issue = Issue.parse(raw)
        assert issue.key and issue.project is not None


def test_server_issue_from_jira_ruby():
    raw = fixture_json("jira-ruby", "issue", "10002.json")
    issue = Issue.parse(raw)
    assert issue.key == "SAMPLEPROJECT-1"
    assert issue.project is not None and issue.project.key == "SAMPLEPROJECT"


def test_search_results_parse_into_a_page(router: Router):
    raw = fixture_json("cloud-v3-demisto", "issue_query_test", "raw_response.json")
    router.add("GET", "/rest/api/3/search/jql", ok(raw))
    with Jira(BASE, auth=AUTH, transport=router.transport()) as jira:
        page = jira.search.page("project = DEM", fields=["*all"])
    assert len(page.issues) == len(raw["issues"])
    assert all(isinstance(i, Issue) and i.key for i in page.issues)


def test_comments_parse():
    raw = fixture_json("cloud-v3-demisto", "get_comments_test", "raw_response.json")
    comments = [Comment.parse(c) for c in raw["comments"]]
    assert comments and all(c.author is not None and c.created for c in comments)
    created = Comment.parse(
        fixture_json("cloud-v3-demisto", "create_comment_test", "raw_response.json")
    )
    assert created.body["type"] == "doc"
    server = fixture_json("jira-ruby", "issue", "10002", "comment.json")
    assert all(Comment.parse(c).id for c in server["comments"])


@pytest.mark.parametrize(
    "path",
    [
        ("cloud-v3-demisto", "get_transitions_test", "raw_response.json"),
        ("jira-ruby", "issue", "10002", "transitions.json"),
        ("go-jira", "transitions.json"),
    ],
)
def test_transitions_parse(path):
    raw = fixture_json(*path)
    transitions = [Transition.parse(t) for t in raw["transitions"]]
    assert transitions and all(t.id and t.name for t in transitions)
    assert all(t.to is not None and t.to.name for t in transitions)


def test_projects_parse():
    projects = [Project.parse(p) for p in fixture_json("go-jira", "all_projects.json")]
    assert len(projects) > 100 and all(p.key for p in projects)
    assert Project.parse(fixture_json("go-jira", "project.json")).key
    assert (
        Project.parse(fixture_json("jira-ruby", "project", "SAMPLEPROJECT.json")).key
        == "SAMPLEPROJECT"
    )


@pytest.mark.parametrize(
    ("path", "customs"),
    [
        (("go-jira", "all_fields.json"), CUSTOM_GO),
        (("jira-ruby", "field.json"), CUSTOM_RUBY),
        (("cloud-v3-demisto", "get_issue_fields_test", "raw_response.json"), CUSTOM_DEMISTO),
    ],
)
def test_fields_parse(path, customs):
    fields = [Field.parse(f) for f in fixture_json(*path)]
    assert fields and all(f.id and f.name for f in fields)
    assert sum(f.custom for f in fields) == customs


def test_users_parse():
    raw = fixture_json("cloud-v3-demisto", "get_user_info_test", "cloud_raw_response.json")
    cloud = User.parse(raw)
    assert cloud.account_id == raw["accountId"] and cloud.id == raw["accountId"]
    onprem = User.parse(
        fixture_json("cloud-v3-demisto", "get_user_info_test", "onprem_raw_response.json")
    )
    assert onprem.name and onprem.id == onprem.name
    ruby = User.parse(fixture_json("jira-ruby", "user_accountId=1234567890abcdef01234567.json"))
    assert ruby.display_name
