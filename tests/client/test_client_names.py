"""Human names in issues.create/edit, resolved over real HTTP against the sandbox (sync and
async), plus MockTransport checks of the exact payloads and request counts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime

import httpx
import pytest
from client_doubles import BASE, Router, ok

from jirakit import AsyncJira, BasicAuth, Jira
from jirakit.client import Text
from jirakit.errors import BadRequest, ConfigurationError
from jirakit.sandbox import Sandbox

EMAIL, TOKEN = "admin@example.com", "sandbox-token"
AUTH = BasicAuth(EMAIL, TOKEN)

STORY_POINTS = "customfield_10028"
TIER = "customfield_10030"
PLATFORMS = "customfield_10031"
REVIEWER = "customfield_10032"
START = "customfield_10033"
DEPLOYED = "customfield_10034"
ROOT_CAUSE = "customfield_10036"
TAGS = "customfield_10037"


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[Sandbox, str]]:
    sandbox = Sandbox(seed=1, issues=60)
    with sandbox.serve() as url:
        yield sandbox, url


@pytest.fixture
def jira(site: tuple[Sandbox, str]) -> Iterator[Jira]:
    with Jira(site[1], auth=AUTH) as client:
        yield client


def test_create_by_human_names(jira: Jira):
    created = jira.issues.create(
        project="Engineering Platform",  # a name, not the key
        issue_type="Bug",
        summary="Checkout fails",
        priority="High",
        assignee="ann.ito@example.com",
        description="Steps:\n\n1. add to cart\n2. pay",
        fields={
            "Story Points": 3,
            "Customer Tier": "Gold",
            "Affected Platforms": ["iOS", "Web"],
            "Reviewer": "ben.garcia@example.com",
            "Start date": date(2026, 3, 1),
            "Deployed At": datetime(2026, 3, 2, 10, 30, tzinfo=UTC),
            "Tags": "checkout",
            "Root cause (analysis)": "**3DS** timeout",
        },
    )
    assert created.key.startswith("ENG-")
    issue = jira.issues.get(created.key)
    f = issue.fields
    assert issue.issue_type and issue.issue_type.name == "Bug"
    assert issue.priority and issue.priority.name == "High"
    assert issue.assignee and issue.assignee.email == "ann.ito@example.com"
    assert f[STORY_POINTS] == 3
    assert f[TIER]["value"] == "Gold"
    assert [o["value"] for o in f[PLATFORMS]] == ["iOS", "Web"]
    assert f[REVIEWER]["emailAddress"] == "ben.garcia@example.com"
    assert f[START] == "2026-03-01"
    assert f[DEPLOYED].startswith("2026-03-02T10:30:00.000")
    assert f[TAGS] == ["checkout"]
    strong = f[ROOT_CAUSE]["content"][0]["content"][0]
    assert strong == {"type": "text", "text": "3DS", "marks": [{"type": "strong"}]}
    assert [b["type"] for b in issue.description["content"]] == ["paragraph", "orderedList"]


def test_metadata_is_cached_per_client(jira: Jira):
    fields = {"Story Points": 1, "Reviewer": "Ben Garcia"}  # a display name works too
    jira.issues.create(
        project="Engineering Platform", summary="a", issue_type="Task", fields=fields
    )
    first = jira.stats.requests
    assert first == 4  # project search, /field, user search, POST /issue
    jira.issues.create(
        project="Engineering Platform", summary="b", issue_type="Task", fields=fields
    )
    assert jira.stats.requests == first + 1  # only the POST


def test_names_jira_takes_cost_no_lookup(jira: Jira):
    created = jira.issues.create(project="ENG", summary="c", issue_type="task", priority="low")
    assert jira.stats.requests == 1
    issue = jira.issues.get(created.key, fields=["issuetype", "priority"])
    assert issue.issue_type and issue.issue_type.name == "Task"
    assert issue.priority and issue.priority.name == "Low"


def test_option_values_are_matched_case_insensitively(jira: Jira):
    # Jira compares option values exactly: the 400 makes the client read the allowed
    # values (createmeta) and re-send once with the option's id.
    created = jira.issues.create(
        project="ENG", summary="d", issue_type="Story", fields={"Customer Tier": "platinum"}
    )
    assert jira.issues.get(created.key, fields=[TIER]).fields[TIER]["value"] == "Platinum"
    assert jira.stats.by_status[400] == 1
    again = jira.stats.requests
    jira.issues.create(
        project="ENG", summary="e", issue_type="Story", fields={"Customer Tier": "Gold"}
    )
    assert jira.stats.requests == again + 1  # issue types now cached: sent by id


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"issue_type": "Bgu"}, r"no issue type 'Bgu' in project ENG; did you mean 'Bug'\?"),
        ({"priority": "Urgent"}, r"no priority 'Urgent'; choose one of: Highest, High, Medium"),
        ({"project": "Engineering"}, r"did you mean 'Engineering Platform'\?.*\(ENG\)"),
        ({"project": "NOPE"}, r"no project 'NOPE'; choose one of: .*Operations \(OPS\)"),
        ({"assignee": "nobody@example.com"}, r"no single user with email 'nobody@example.com'"),
        (
            {"fields": {"Severity": "S1 - Critical"}},
            r"'Severity' is ambiguous: customfield_10038 \(Severity\) \[option\], "
            r"customfield_10039 \(Severity\) \[string\]",
        ),
        ({"fields": {"Story Pts": 1}}, r"no field named 'Story Pts'; did you mean 'Story Points'"),
        (
            {"fields": {"Customer Tier": "Gld"}},
            r"no option of 'Customer Tier' 'Gld'; did you mean 'Gold'\? "
            r"choose one of: Platinum, Gold, Silver, Bronze",
        ),
        ({"fields": {"Story Points": "many"}}, r"Story Points: expected a number"),
    ],
)
def test_unknown_and_ambiguous_names_name_the_candidates(
    site: tuple[Sandbox, str], kwargs: dict, message: str
):
    sandbox, url = site
    before = len(sandbox.store.issues)
    with Jira(url, auth=AUTH) as jira:
        args = {"project": "ENG", "summary": "nope", "issue_type": "Task", **kwargs}
        with pytest.raises(ConfigurationError, match=message):
            jira.issues.create(**args)
    assert len(sandbox.store.issues) == before


def test_other_rejections_are_jiras_own_error(jira: Jira):
    with pytest.raises(BadRequest, match="summary"):
        jira.issues.create(project="ENG", issue_type="Bug", fields={"Customer Tier": "gold"})
    assert jira.stats.requests == 2  # /field, POST: nothing names could fix, no re-send


def test_edit_by_field_names(jira: Jira):
    created = jira.issues.create(project="ENG", summary="f", issue_type="Task")
    jira.issues.edit(
        created.key,
        assignee="Cara Tanaka",
        fields={"Story Points": 5, "customer tier": "silver", "Affected Platforms": "Linux"},
    )
    f = jira.issues.get(created.key).fields
    assert f[STORY_POINTS] == 5 and f[TIER]["value"] == "Silver"
    assert [o["value"] for o in f[PLATFORMS]] == ["Linux"]
    assert f["assignee"]["displayName"] == "Cara Tanaka"
    jira.issues.edit(created.key, fields={"Story Points": None})
    assert jira.issues.get(created.key, fields=[STORY_POINTS]).fields[STORY_POINTS] is None
    with pytest.raises(ConfigurationError, match="choose one of: Platinum, Gold"):
        jira.issues.edit(created.key, fields={"Customer Tier": "Diamond"})


async def test_async_create_and_edit_by_names(site: tuple[Sandbox, str]):
    async with AsyncJira(site[1], auth=AUTH) as ajira:
        created = await ajira.issues.create(
            project="Operations",
            summary="async",
            issue_type="Task",
            assignee="dev.young@example.com",
            fields={"Story Points": 2, "Affected Platforms": ["android"]},
        )
        assert created.key.startswith("OPS-")
        await ajira.issues.edit(created.key, fields={"Customer Tier": "Bronze"})
        f = (await ajira.issues.get(created.key)).fields
        assert f["assignee"]["emailAddress"] == "dev.young@example.com"
        assert f[STORY_POINTS] == 2 and f[TIER]["value"] == "Bronze"
        assert [o["value"] for o in f[PLATFORMS]] == ["Android"]
        with pytest.raises(ConfigurationError, match="did you mean 'Bug'"):
            await ajira.issues.create(project="ENG", summary="x", issue_type="bgu")


def test_datacenter_uses_usernames_and_wiki():
    sandbox = Sandbox(seed=1, issues=10, flavour="datacenter")
    with sandbox.serve() as url:
        with Jira(url, auth=AUTH, flavour="datacenter") as dc:
            created = dc.issues.create(
                project="Engineering Platform",
                summary="dc",
                issue_type="Bug",
                assignee="ann.ito@example.com",
                description="Hello **world**",
                fields={"Reviewer": "Ben Garcia", "Customer Tier": "Gold"},
            )
            raw = dc.request("GET", f"/issue/{created.key}")
    f = raw["fields"]
    assert f["assignee"]["name"] == "ann.ito" and f[REVIEWER]["name"] == "ben.garcia"
    assert f["description"] == "Hello *world*" and f[TIER]["value"] == "Gold"


# -- exact payloads, over MockTransport --------------------------------------------------

FIELDS = [
    {"id": "summary", "name": "Summary", "schema": {"type": "string", "system": "summary"}},
    {"id": "fixVersions", "name": "Fix versions", "schema": {"type": "array", "items": "version"}},
    {
        "id": "customfield_1",
        "name": "Deployed At",
        "custom": True,
        "schema": {"type": "datetime", "custom": "x:datetime"},
    },
    {
        "id": "customfield_2",
        "name": "Notes",
        "custom": True,
        "schema": {
            "type": "string",
            "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textarea",
        },
    },
    {"id": "customfield_3", "name": "Size", "custom": True, "schema": {"type": "number"}},
    {
        "id": "customfield_4",
        "name": "Area",
        "custom": True,
        "schema": {"type": "option-with-child", "custom": "x:cascadingselect"},
    },
]


def _body(request: httpx.Request) -> dict:
    return json.loads(request.content)


def test_values_are_shaped_by_schema(router: Router):
    router.add("GET", "/rest/api/3/field", ok(FIELDS))
    router.add("POST", "/rest/api/3/issue", ok({"id": "1", "key": "P-1"}, 201))
    with Jira(BASE, auth=AUTH, transport=router.transport()) as jira:
        jira.issues.create(
            project="P",
            summary="s",
            issue_type="10001",
            fields={
                "Fix versions": ["1.0", "10200"],
                "Deployed At": datetime(2026, 1, 2, 3, 4, 5, 678000),
                "notes": Text("a *b*\nc"),
                "customfield_2": None,
                "Size": "3",
                "cf[4]": ["EMEA", "DE"],
                "duedate": date(2026, 5, 1),
                "labels": "one",
                "customfield_9": {"value": "as is"},
            },
        )
    sent = _body(router.requests[-1])["fields"]
    assert sent["issuetype"] == {"id": "10001"}
    assert sent["fixVersions"] == [{"name": "1.0"}, {"id": "10200"}]
    assert sent["customfield_1"] == "2026-01-02T03:04:05.678+0000"
    assert sent["customfield_2"] is None
    assert sent["customfield_3"] == 3
    assert sent["customfield_4"] == {"value": "EMEA", "child": {"value": "DE"}}
    assert sent["duedate"] == "2026-05-01" and sent["labels"] == ["one"]
    assert sent["customfield_9"] == {"value": "as is"}
    assert len(router.requests) == 2


def test_the_same_field_twice_is_refused(router: Router):
    router.add("GET", "/rest/api/3/field", ok(FIELDS))
    with Jira(BASE, auth=AUTH, transport=router.transport()) as jira:
        with pytest.raises(ConfigurationError, match="given twice"):
            jira.issues.create(project="P", fields={"Size": 1, "customfield_3": "2"})


def test_textarea_rich_text_follows_the_flavour(router: Router):
    router.add("GET", "/rest/api/2/field", ok(FIELDS))
    router.add("PUT", "/rest/api/2/issue/P-1", ok(status=204))
    with Jira(BASE, auth=AUTH, flavour="datacenter", transport=router.transport()) as dc:
        dc.issues.edit("P-1", fields={"Notes": "**bold**", "Size": 2.5})
    assert _body(router.requests[-1]) == {
        "fields": {"customfield_2": "*bold*", "customfield_3": 2.5}
    }


def test_rejections_of_ids_are_not_second_guessed(router: Router):
    rejected = ok({"errorMessages": [], "errors": {"priority": "The priority is invalid."}}, 400)
    router.add("POST", "/rest/api/3/issue", rejected)
    with Jira(BASE, auth=AUTH, transport=router.transport()) as jira:
        with pytest.raises(BadRequest, match="priority"):
            jira.issues.create(project="P", summary="s", issue_type="Task", priority="7")
    assert len(router.requests) == 1  # sent by id: nothing to look up, nothing re-sent


def test_transition_fields_by_name_over_http():
    from jirakit import BasicAuth, Jira
    from jirakit.sandbox import Sandbox

    sandbox = Sandbox(seed=12, issues=20)
    with sandbox.serve() as url, Jira(url, auth=BasicAuth(*sandbox.auth)) as jira:
        key = jira.issues.create(project="ENG", summary="to be pointed", issue_type="Story").key
        jira.transitions.do(key, to="In Progress", fields={"Story Points": 5})
        issue = jira.issues.get(key, fields=["status", "customfield_10028"])
        assert issue.status is not None and issue.status.name == "In Progress"
        assert issue.fields["customfield_10028"] == 5
