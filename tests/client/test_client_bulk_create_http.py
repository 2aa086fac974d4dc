"""``issues.bulk_create`` with human names, sync and async, over real HTTP against the
sandbox: names resolved once per batch (request counts), 50 issues per request, items
whose names match nothing reported at their input index with the candidates, the rest
created with the right values. A strict router stages what the sandbox cannot."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from client_doubles import BASE, Router, ok

from jirakit import AsyncJira, BasicAuth, Jira
from jirakit.client import Text
from jirakit.sandbox import Sandbox

AUTH = BasicAuth("admin@example.com", "sandbox-token")
STORY_POINTS = "customfield_10028"
TIER = "customfield_10030"
PLATFORMS = "customfield_10031"
ADF = {
    "type": "doc",
    "version": 1,
    "content": [{"type": "paragraph", "content": [{"type": "text", "text": "as ADF"}]}],
}


class Recorder(httpx.HTTPTransport):
    """The network, plus a log of (method, path) and the bodies of bulk creates."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, str]] = []
        self.bulk_bodies: list[dict[str, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, request.url.path))
        if request.url.path.endswith("/issue/bulk"):
            self.bulk_bodies.append(json.loads(request.content))
        return super().handle_request(request)


class AsyncRecorder(httpx.AsyncHTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, request.url.path))
        return await super().handle_async_request(request)


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[Sandbox, str]]:
    sandbox = Sandbox(seed=1, issues=30)
    with sandbox.serve() as url:
        yield sandbox, url


def _people(sandbox: Sandbox) -> list[str]:
    """Emails of two active users other than the admin."""
    emails = [
        str(u["emailAddress"])
        for u in sandbox.store.users.values()
        if u.get("active") and u.get("emailAddress") and u["accountId"] != sandbox.admin_account_id
    ]
    assert len(emails) >= 2
    return emails[:2]


def _type_id(sandbox: Sandbox, name: str) -> str:
    return next(t for t, v in sandbox.store.issuetypes.items() if v["name"] == name)


def _items(people: list[str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for n in range(120):
        item: dict[str, Any] = {
            "project": "Engineering Platform" if n % 2 == 0 else "OPS",  # a name, a key
            "summary": f"Bulk {n}",
            "issue_type": "bug" if n % 3 == 0 else "Task",
            "priority": "high",
            "assignee": people[n % 2],
            "description": ("**Bold** start", Text("line one\nline two"), ADF)[n % 3],
            "Story Points": n % 5,  # a field by display name, at the top level
            "fields": {"Customer Tier": "gold"},  # Jira matches options exactly: sent by id
        }
        items.append(item)
    items[7]["issue_type"] = "Bgu"
    items[55]["assignee"] = "nobody@example.com"
    items[56]["Story Pts"] = 1
    items[57]["fields"] = {"Customer Tier": "Gld"}
    del items[99]["summary"]  # names are fine: Jira itself refuses this one
    items[110]["project"] = "NOPE"
    items[111]["priority"] = "Urgent"
    return items


UNRESOLVED = {
    7: r"no issue type 'Bgu' in project (ENG|OPS); did you mean 'Bug'\?",
    55: r"no single user with email 'nobody@example\.com'",
    56: r"no field named 'Story Pts'; did you mean 'Story Points'",
    57: r"no option of 'Customer Tier' 'Gld'; did you mean 'Gold'\? choose one of: Platinum",
    110: r"no project 'NOPE'; choose one of: .*Engineering Platform \(ENG\)",
    111: r"no priority 'Urgent'; choose one of: Highest, High, Medium",
}


def test_bulk_create_resolves_names_once_for_the_batch(site: tuple[Sandbox, str]):
    import re

    sandbox, url = site
    people = _people(sandbox)
    items = _items(people)
    recorder = Recorder()
    with Jira(url, auth=AUTH, transport=recorder) as jira:
        result = jira.issues.bulk_create(items)

        # per-item errors, at their input index, in order; the batch is not raised
        assert [e.index for e in result.errors] == [7, 55, 56, 57, 99, 110, 111]
        for error in result.errors:
            if error.index == 99:
                assert error.sent and error.status == 400 and "summary" in error.errors
                continue
            assert not error.sent and error.status is None
            assert re.search(UNRESOLVED[error.index], str(error)), str(error)
            assert str(error).startswith(f"item {error.index}: ")
        failed = {e.index for e in result.errors}
        assert [c is None for c in result.created] == [n in failed for n in range(120)]
        assert not result.ok

        # 114 items sent (113 made), 50 per request; every name resolved once for the batch
        counts = Counter(recorder.seen)
        sent = [len(b["issueUpdates"]) for b in recorder.bulk_bodies]
        assert sent == [50, 50, 14]
        bug, task = _type_id(sandbox, "Bug"), _type_id(sandbox, "Task")
        meta = "/rest/api/3/issue/createmeta"
        assert counts == {
            ("GET", "/rest/api/3/project/search"): 3,  # "Engineering Platform"; NOPE twice
            ("GET", f"{meta}/ENG/issuetypes"): 1,
            ("GET", f"{meta}/OPS/issuetypes"): 1,
            ("GET", f"{meta}/NOPE/issuetypes"): 1,
            ("GET", "/rest/api/3/priority"): 1,
            ("GET", "/rest/api/3/field"): 1,
            ("GET", "/rest/api/3/user/search"): 3,  # two people and nobody@
            ("GET", f"{meta}/ENG/issuetypes/{bug}"): 1,  # allowed option values
            ("GET", f"{meta}/ENG/issuetypes/{task}"): 1,
            ("GET", f"{meta}/OPS/issuetypes/{bug}"): 1,
            ("GET", f"{meta}/OPS/issuetypes/{task}"): 1,
            ("POST", "/rest/api/3/issue/bulk"): 3,
        }
        high = next(p["id"] for p in sandbox.store.priorities.values() if p["name"] == "High")
        for update in (u for body in recorder.bulk_bodies for u in body["issueUpdates"]):
            fields = update["fields"]
            assert fields["issuetype"] in ({"id": bug}, {"id": task})
            assert fields["priority"] == {"id": high}
            assert set(fields[TIER]) == {"id"}

        # what was made is what was asked for
        made = {n: c.key for n, c in enumerate(result.created) if c is not None}
        fetched = jira.issues.bulk_fetch(list(made.values()), fields=["*all"])
        by_key = {i.key: i for i in fetched.issues}
        assert len(by_key) == 113
        for n, key in made.items():
            issue = by_key[key]
            assert key.startswith("ENG-" if n % 2 == 0 else "OPS-")
            assert issue.summary == f"Bulk {n}"
            assert issue.issue_type is not None
            assert issue.issue_type.name == ("Bug" if n % 3 == 0 else "Task")
            assert issue.priority is not None and issue.priority.name == "High"
            assert issue.assignee is not None and issue.assignee.email == people[n % 2]
            assert issue.fields[STORY_POINTS] == n % 5
            assert issue.fields[TIER]["value"] == "Gold"
            blocks = issue.description["content"]
            if n % 3 == 0:
                assert blocks[0]["content"][0]["marks"] == [{"type": "strong"}]
            elif n % 3 == 1:
                assert blocks[0]["content"][1] == {"type": "hardBreak"}
            else:
                assert issue.description == ADF

        # a second batch on the same client: everything is cached, only the POST goes out
        before = len(recorder.seen)
        again = jira.issues.bulk_create(
            [
                {"project": "Engineering Platform", "summary": "again", "issue_type": "bug"},
                {"project": "OPS", "summary": "again", "priority": "HIGH", "issue_type": "Task"},
            ]
        )
        assert again.ok and all(again.created)
        assert recorder.seen[before:] == [("POST", "/rest/api/3/issue/bulk")]


def test_jiras_own_shape_still_works_and_extras_pass_through(site: tuple[Sandbox, str]):
    _, url = site
    recorder = Recorder()
    with Jira(url, auth=AUTH, transport=recorder) as jira:
        result = jira.issues.bulk_create(
            [
                {
                    "fields": {
                        "project": {"key": "ENG"},
                        "issuetype": {"name": "Task"},
                        "summary": "raw",
                        "labels": ["raw"],
                    },
                    "update": {"labels": [{"add": "extra"}]},
                    "properties": [{"key": "origin", "value": {"by": "bulk"}}],
                },
                {"project": {"key": "ENG"}, "issuetype": {"id": "99999"}, "summary": "x"},
            ]
        )
        assert [c is not None for c in result.created] == [True, False]
        assert result.errors[0].index == 1 and result.errors[0].sent
        assert "issuetype" in result.errors[0].errors
        created = result.created[0]
        assert created is not None
        issue = jira.issues.get(created.key, fields=["labels"])
        assert sorted(issue.labels) == ["extra", "raw"]
    [update, _] = recorder.bulk_bodies[0]["issueUpdates"]
    assert update["properties"] == [{"key": "origin", "value": {"by": "bulk"}}]
    assert update["fields"]["issuetype"] == {"name": "Task"}  # Jira's own reference, as is
    assert ("GET", "/rest/api/3/field") not in recorder.seen  # nothing needed a lookup


async def test_async_bulk_create_by_names(site: tuple[Sandbox, str]):
    sandbox, url = site
    people = _people(sandbox)
    recorder = AsyncRecorder()
    items: list[dict[str, Any]] = [
        {
            "project": "Operations",
            "summary": f"Async {n}",
            "issue_type": "story",
            "assignee": people[n % 2],
            "description": "Async *bulk*",
            "fields": {"Affected Platforms": ["ios", "web"], "Story Points": 2},
        }
        for n in range(60)
    ]
    items[12]["fields"] = {"Affected Platforms": ["Windows 95"]}
    items[59]["issue_type"] = "Epik"
    async with AsyncJira(url, auth=AUTH, transport=recorder) as ajira:
        result = await ajira.issues.bulk_create(items)
        assert [(e.index, e.sent) for e in result.errors] == [(12, False), (59, False)]
        assert "no option of 'Affected Platforms' 'Windows 95'" in str(result.errors[0])
        assert "did you mean 'Epic'" in str(result.errors[1])
        keys = [c.key for c in result.created if c is not None]
        assert len(keys) == 58 and all(k.startswith("OPS-") for k in keys)
        issue = await ajira.issues.get(keys[0])
        assert [o["value"] for o in issue.fields[PLATFORMS]] == ["iOS", "Web"]
        assert issue.issue_type is not None and issue.issue_type.name == "Story"
        assert issue.assignee is not None and issue.assignee.email == people[0]
        assert issue.description["content"][0]["content"][1]["marks"] == [{"type": "em"}]
    counts = Counter(recorder.seen)
    assert counts[("POST", "/rest/api/3/issue/bulk")] == 2  # 50 + 8
    assert counts[("GET", "/rest/api/3/project/search")] == 1
    assert counts[("GET", "/rest/api/3/user/search")] == 2
    assert counts[("GET", "/rest/api/3/field")] == 1


def test_datacenter_bulk_create_uses_usernames_and_wiki():
    sandbox = Sandbox(seed=1, issues=10, flavour="datacenter")
    people = _people(sandbox)
    with sandbox.serve() as url, Jira(url, auth=AUTH, flavour="datacenter") as dc:
        result = dc.issues.bulk_create(
            [
                {
                    "project": "Engineering Platform",
                    "summary": "dc bulk",
                    "issue_type": "Bug",
                    "assignee": people[0],
                    "description": "Hello **world**",
                },
                {"project": "ENG", "summary": "dc", "issue_type": "Bug", "assignee": "Nobody Here"},
            ]
        )
        assert [e.index for e in result.errors] == [1]
        assert "no single user named 'Nobody Here'" in str(result.errors[0])
        created = result.created[0]
        assert created is not None
        raw = dc.request("GET", f"/issue/{created.key}")
    assert raw["fields"]["assignee"]["emailAddress"] == people[0]
    assert raw["fields"]["description"] == "Hello *world*"


def test_a_refused_request_fails_each_of_its_items(router: Router):
    router.add("GET", "/rest/api/3/priority", ok([{"id": "2", "name": "High"}]))
    router.add(
        "POST",
        "/rest/api/3/issue/bulk",
        ok({"errorMessages": ["The request was refused."], "errors": {}}, 400),
    )
    with Jira(BASE, auth=AUTH, transport=router.transport()) as jira:
        result = jira.issues.bulk_create(
            [
                {"project": "P", "summary": "a", "issue_type": "10001", "priority": "high"},
                {"project": "P", "summary": "b", "issue_type": "10001", "priority": "Hgh"},
                {"project": "P", "summary": "c", "issue_type": "10001"},
            ]
        )
    assert [(e.index, e.status) for e in result.errors] == [(0, 400), (1, None), (2, 400)]
    assert str(result.errors[0]) == "item 0: The request was refused."
    assert result.created == [None, None, None]
    assert router.pending() == []
    sent = json.loads(router.requests[-1].content)["issueUpdates"]
    assert [u["fields"]["summary"] for u in sent] == ["a", "c"]
    assert sent[0]["fields"]["priority"] == {"id": "2"}


# -- a request that fails as a whole stops the batch, keeping what was made -----------------

BULK = "/rest/api/3/issue/bulk"


def _plain(count: int) -> list[dict[str, Any]]:
    """Items with nothing to look up: a project key and an issue type id."""
    return [{"project": "P", "issue_type": "10001", "summary": f"s{n}"} for n in range(count)]


def _made(count: int) -> httpx.Response:
    issues = [{"id": str(10000 + n), "key": f"P-{n}"} for n in range(count)]
    return ok({"issues": issues, "errors": []}, 201)


def _connection_refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


@pytest.mark.parametrize(
    ("failure", "sent", "status", "fate"),
    [
        (ok({"errorMessages": ["Try later"]}, 503), True, 503, "may or may not have been"),
        (ok({"errorMessages": ["Expired"]}, 401), True, 401, "refused its request as a whole"),
        (_connection_refused, False, None, "never reached Jira"),
    ],
    ids=["503", "401", "connect-error"],
)
def test_a_failed_request_stops_the_batch_and_keeps_what_was_made(
    router: Router, fake_sleep: Any, failure: Any, sent: bool, status: int | None, fate: str
):
    router.add("POST", BULK, _made(50))
    router.always("POST", BULK, failure)
    with Jira(BASE, auth=AUTH, transport=router.transport(), sleep=fake_sleep) as jira:
        result = jira.issues.bulk_create(_plain(120))  # 50, 50, 20: the third never goes

    assert [c.key if c else None for c in result.created] == [f"P-{n}" for n in range(50)] + [
        None
    ] * 70
    assert [e.index for e in result.errors] == list(range(50, 120))
    failed, unsent = result.errors[:50], result.errors[50:]
    stop = failed[0].exception
    assert stop is not None
    for error in failed:
        assert (error.sent, error.status, error.exception) == (sent, status, stop)
        assert fate in str(error) and str(stop) in str(error)
    for error in unsent:
        assert (error.sent, error.status, error.exception) == (False, None, stop)
        assert str(error).startswith(f"item {error.index}: not sent: an earlier request")
    posts = [r for r in router.requests if r.url.path == BULK]
    # the failed POST is not blindly re-sent (only a connection never made is retried)
    assert len(posts) == (6 if failure is _connection_refused else 2)
    assert [len(json.loads(r.content)["issueUpdates"]) for r in posts[:2]] == [50, 50]


async def test_async_failed_request_stops_the_batch(router: Router):
    router.add("POST", BULK, _made(50), ok({"errorMessages": ["Try later"]}, 503))
    async with AsyncJira(BASE, auth=AUTH, transport=router.async_transport()) as ajira:
        result = await ajira.issues.bulk_create(_plain(101))
    assert sum(c is not None for c in result.created) == 50
    assert [(e.index, e.sent, e.status) for e in result.errors] == [
        *((n, True, 503) for n in range(50, 100)),
        (100, False, None),
    ]
    assert all(e.exception is result.errors[0].exception for e in result.errors)
    assert "may or may not have been created" in str(result.errors[0])
    assert router.pending() == [] and len(router.requests) == 2


# -- failed lookups are remembered for the batch ---------------------------------------------


def test_each_distinct_bad_name_is_looked_up_once_per_batch(site: tuple[Sandbox, str]):
    sandbox, url = site
    recorder = Recorder()
    items: list[dict[str, Any]] = [
        {"project": "Engineering Platfrom", "issue_type": "Task", "summary": f"p{n}"}
        for n in range(10)
    ]
    items += [
        {"project": "ENG", "issue_type": "Task", "summary": f"u{n}", "assignee": "NoBody@x.io"}
        for n in range(10)
    ]
    items += [  # an issue type id Jira does not know: its allowed values are read once
        {"project": "ENG", "issue_type": "99999", "summary": f"t{n}", "Customer Tier": "Gold"}
        for n in range(3)
    ]
    with Jira(url, auth=AUTH, transport=recorder) as jira:
        result = jira.issues.bulk_create(items)
        assert [e.index for e in result.errors] == list(range(23))
        assert all("did you mean 'Engineering Platform'" in str(e) for e in result.errors[:10])
        assert all("no single user with email" in str(e) for e in result.errors[10:20])
        assert all(e.status == 400 and "issuetype" in e.errors for e in result.errors[20:])
        counts = Counter(recorder.seen)
        meta = "/rest/api/3/issue/createmeta"
        assert counts[("GET", "/rest/api/3/project/search")] == 2  # by query, then all
        assert counts[("GET", "/rest/api/3/user/search")] == 1
        assert counts[("GET", f"{meta}/ENG/issuetypes/99999")] == 1
        assert counts[("POST", "/rest/api/3/issue/bulk")] == 1

        # a failure is not remembered past its batch: the name may exist by the next one
        recorder.seen.clear()
        jira.issues.bulk_create(items[:2] + items[10:12])
        counts = Counter(recorder.seen)
        assert counts[("GET", "/rest/api/3/project/search")] == 2
        assert counts[("GET", "/rest/api/3/user/search")] == 1
    assert sandbox.store.project("ENG") is not None


# -- bad input is a per-item error; a bug is not -------------------------------------------------


def test_values_of_the_wrong_type_are_per_item_errors(router: Router):
    router.add("POST", BULK, _made(1))
    ok_item = {"project": "P", "issue_type": "10001", "summary": "fine"}
    with Jira(BASE, auth=AUTH, transport=router.transport()) as jira:
        result = jira.issues.bulk_create(
            [
                {**ok_item, "issue_type": 10001},
                {**ok_item, "labels": 5},
                {**ok_item, "description": 5},
                {**ok_item, "fields": {3: "x"}},
                {**ok_item, "assignee": ["ann@acme.com"]},
                ok_item,
            ]
        )
    messages = [str(e) for e in result.errors]
    assert [(e.index, e.sent) for e in result.errors] == [(n, False) for n in range(5)]
    assert messages[0].startswith("item 0: issue_type: expected a name or id (str)")
    assert messages[1].startswith("item 1: labels: expected a label (str) or a list")
    assert messages[2].startswith("item 2: description: rich text must be")
    assert messages[3].startswith("item 3: fields: name each field by its id or display name")
    assert messages[4].startswith("item 4: assignee: expected a name or id (str)")
    assert result.created[5] is not None and result.created[5].key == "P-0"


def test_a_bug_while_shaping_is_raised_not_reported_per_item(router: Router):
    """Only bad input (`ConfigurationError`) is an item's error: an unexpected exception
    (here a createmeta answer of a shape the client does not expect) propagates."""
    router.add(
        "GET", "/rest/api/3/field", ok([{"id": TIER, "name": "Tier", "schema": {"type": "option"}}])
    )
    router.add(
        "GET",
        "/rest/api/3/issue/createmeta/P/issuetypes/10001",
        ok({"fields": [{"fieldId": TIER, "allowedValues": 5}], "isLast": True}),
    )
    with Jira(BASE, auth=AUTH, transport=router.transport()) as jira:
        with pytest.raises(TypeError):
            jira.issues.bulk_create(
                [{"project": "P", "issue_type": "10001", "summary": "x", "Tier": "Gold"}]
            )
    assert [r.url.path for r in router.requests][-1].endswith("/issuetypes/10001")
