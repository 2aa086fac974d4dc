"""Webhooks: admin and dynamic registration, JQL subset, and delivery over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from jirakit.sandbox import FrozenClock, Sandbox
from jirakit.sandbox.events import Event
from jirakit.sandbox.webhooks import DYNAMIC_TTL_MS, jwt_decode, jwt_encode, sign
from jirakit.testing.webhooks import WebhookReceiver, verify_jwt, verify_signature
from needs import shared_json

ADMIN = "/rest/webhooks/1.0/webhook"
ADF = {
    "type": "doc",
    "version": 1,
    "content": [{"type": "paragraph", "content": [{"type": "text", "text": "hello"}]}],
}
NEW_ISSUE = {"fields": {"project": {"key": "ENG"}, "issuetype": {"name": "Task"}, "summary": "W"}}


def fixture(name: str) -> Any:
    return shared_json("jira", "fixtures", "webhooks-mattermost", name)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(secret="s3cret") as r:
        yield r


def admin_hook(http: httpx.Client, url: str, **extra: Any) -> dict[str, Any]:
    body = {
        "name": "test hook",
        "url": url,
        "events": ["jira:issue_created", "jira:issue_updated", "comment_created"],
        "filters": {"issue-related-events-section": "project = ENG"},
        "secret": "s3cret",
        **extra,
    }
    r = http.post(ADMIN, json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


# -- registration ---------------------------------------------------------------------------


async def test_admin_webhooks_crud_with_jira_shapes(client: httpx.AsyncClient) -> None:
    real = shared_json("jira", "fixtures", "jira-ruby", "webhook", "2.json")
    body = {"name": "n", "url": "https://example.com/h", "events": ["jira:issue_created"]}
    r = await client.post(ADMIN, json={**body, "secret": "x"})
    assert r.status_code == 201
    made = r.json()
    assert set(made) == set(real)
    assert "secret" not in made
    assert made["filters"] == {"issue-related-events-section": ""}
    assert made["self"].endswith(f"{ADMIN}/{made['self'].rsplit('/', 1)[1]}")
    wid = made["self"].rsplit("/", 1)[1]
    assert (await client.get(f"{ADMIN}/{wid}")).json() == made
    assert [w["name"] for w in (await client.get(ADMIN)).json()] == ["n"]
    r = await client.put(
        f"{ADMIN}/{wid}",
        json={"enabled": False, "filters": {"issue-related-events-section": "project = ENG"}},
    )
    assert r.status_code == 200
    assert r.json()["enabled"] is False
    assert r.json()["filters"]["issue-related-events-section"] == "project = ENG"
    assert (await client.delete(f"{ADMIN}/{wid}")).status_code == 204
    assert (await client.get(f"{ADMIN}/{wid}")).status_code == 404
    bad = await client.post(ADMIN, json={"name": "", "url": "ftp://x"})
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"name", "url"}
    jql = await client.post(
        ADMIN, json={**body, "filters": {"issue-related-events-section": "project = "}}
    )
    assert jql.status_code == 400
    assert "Error in JQL Query" in jql.json()["errorMessages"][0]


async def test_admin_webhooks_need_an_administrator(sb: Sandbox, client_for: Any) -> None:
    admins = set(sb.store.group_members["site-admins"])
    login = next(
        u["emailAddress"]
        for a, u in sb.store.users.items()
        if a not in admins and u.get("emailAddress") in sb.store.tokens
    )
    async with client_for(sb, auth=(login, sb.store.tokens[login])) as c:
        assert (await c.get(ADMIN)).status_code == 403


async def test_dynamic_webhooks_register_list_refresh_delete(
    client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    hooks = [
        {"events": ["jira:issue_created"], "jqlFilter": "project = ENG", "fieldIdsFilter": ["x"]},
        {"events": ["comment_created"], "jqlFilter": "watchCount = 1"},
        {"events": ["jira:issue_deleted"], "jqlFilter": "project IN (ENG, OPS) AND status = Done"},
    ]
    r = await client.post("/rest/api/3/webhook", json={"url": "https://app/h", "webhooks": hooks})
    assert r.status_code == 200
    results = r.json()["webhookRegistrationResult"]
    assert [sorted(x) for x in results] == [["createdWebhookId"], ["errors"], ["createdWebhookId"]]
    assert results[1]["errors"] == ["The clause watchCount is unsupported"]
    ids = [x["createdWebhookId"] for x in results if "createdWebhookId" in x]
    now_ms = int(clock.now().timestamp() * 1000)
    page = (await client.get("/rest/api/3/webhook?maxResults=1")).json()
    assert (page["total"], page["isLast"], page["maxResults"]) == (2, False, 1)
    assert "nextPage" in page
    first = page["values"][0]
    assert first == {
        "id": ids[0],
        "jqlFilter": "project = ENG",
        "events": ["jira:issue_created"],
        "expirationDate": now_ms + DYNAMIC_TTL_MS,
        "url": "https://app/h",
        "fieldIdsFilter": ["x"],
    }
    clock.advance(days=10)
    r = await client.put("/rest/api/3/webhook/refresh", json={"webhookIds": ids})
    assert r.json() == {"expirationDate": now_ms + DYNAMIC_TTL_MS + 10 * 86_400_000}
    other = await client.post(
        "/rest/api/3/webhook",
        json={"url": "https://elsewhere/h", "webhooks": hooks[:1]},
    )
    assert other.status_code == 400  # one URL per app
    assert (await client.request("DELETE", "/rest/api/3/webhook", json={})).status_code == 400
    r = await client.request("DELETE", "/rest/api/3/webhook", json={"webhookIds": ids[:1]})
    assert r.status_code == 202
    assert [w["id"] for w in (await client.get("/rest/api/3/webhook")).json()["values"]] == ids[1:]


@pytest.mark.parametrize(
    ("jql", "problem"),
    [
        ("summary ~ x", "The clause summary is unsupported"),
        ("summary ~ x", "The operator ~ is unsupported"),
        ("status WAS Done", "The operator WAS is unsupported"),
        ("NOT project = ENG", "The operator NOT is unsupported"),
        ("project = ENG ORDER BY key", "The ORDER BY clause is unsupported"),
        ("assignee = currentUser()", "The function currentUser is unsupported"),
        ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
        ("project = ", "Error in JQL Query"),
        ("", "The JQL filter must not be empty."),
    ],
)
async def test_dynamic_jql_outside_the_subset_is_rejected(
    client: httpx.AsyncClient, jql: str, problem: str
) -> None:
    hooks = [{"events": ["jira:issue_updated"], "jqlFilter": jql}]
    r = await client.post("/rest/api/3/webhook", json={"url": "https://app/h", "webhooks": hooks})
    [result] = r.json()["webhookRegistrationResult"]
    assert any(problem in e for e in result["errors"]), result


async def test_dynamic_jql_subset_is_accepted(client: httpx.AsyncClient) -> None:
    jql = (
        "issueKey = ENG-1 OR project IN (ENG, OPS) AND issuetype != Bug AND status NOT IN (Done)"
        " OR issue.property[app].flag = yes OR cf[10014] = x"
    )
    hooks = [{"events": ["jira:issue_updated", "worklog_created"], "jqlFilter": jql}]
    r = await client.post("/rest/api/3/webhook", json={"url": "https://app/h", "webhooks": hooks})
    [result] = r.json()["webhookRegistrationResult"]
    assert result == {"errors": ["The event worklog_created is not supported."]}
    hooks[0]["events"] = ["jira:issue_updated"]
    r = await client.post("/rest/api/3/webhook", json={"url": "https://app/h", "webhooks": hooks})
    assert "createdWebhookId" in r.json()["webhookRegistrationResult"][0]


# -- delivery --------------------------------------------------------------------------------


def _shape(payload: dict[str, Any]) -> set[str]:
    return set(payload)


def test_deliveries_are_signed_and_shaped_like_jira(
    site: Sandbox, http: httpx.Client, receiver: WebhookReceiver
) -> None:
    admin_hook(http, receiver.url)
    key = http.post("/rest/api/3/issue", json=NEW_ISSUE).json()["key"]
    http.post(
        "/rest/api/3/issue",
        json={"fields": {**NEW_ISSUE["fields"], "project": {"key": "OPS"}}},
    )  # outside the JQL filter
    http.put(f"/rest/api/3/issue/{key}", json={"fields": {"summary": "renamed"}})
    http.post(f"/rest/api/3/issue/{key}/comment", json={"body": ADF})
    assert site.webhooks.flush(5)
    got = receiver.wait_for(4)
    assert all(d.verified and d.status == 200 for d in got)
    for d in got:
        assert verify_signature(d.body, d.headers["x-hub-signature"], "s3cret")
        assert d.headers["content-type"] == "application/json"
        assert "x-atlassian-webhook-retry" not in d.headers
    assert len({d.identifier for d in got}) == 4
    bodies = [d.json() for d in got]
    names = [(b["webhookEvent"], b.get("issue_event_type_name")) for b in bodies]
    assert names == [
        ("jira:issue_created", "issue_created"),
        ("jira:issue_updated", "issue_updated"),
        ("comment_created", None),
        ("jira:issue_updated", "issue_commented"),
    ]
    created, updated, comment, commented = bodies
    assert _shape(created) == _shape(fixture("webhook-issue-created.json"))
    assert _shape(updated) == _shape(fixture("webhook-issue-updated-renamed.json"))
    assert _shape(comment) == _shape(fixture("webhook-cloud-comment-created.json"))
    assert _shape(commented) == _shape(fixture("webhook-issue-comment-created-indentation.json"))
    real_item = fixture("webhook-issue-updated-renamed.json")["changelog"]["items"][0]
    assert set(updated["changelog"]) == {"id", "items"}
    [item] = updated["changelog"]["items"]
    assert set(item) == set(real_item)
    assert (item["fieldId"], item["toString"]) == ("summary", "renamed")
    assert {i["fieldId"] for i in created["changelog"]["items"]} >= {"summary", "status"}
    issue = updated["issue"]
    assert set(issue) == {"id", "self", "key", "fields"}
    assert issue["self"].endswith(f"/rest/api/2/issue/{issue['id']}")
    assert issue["self"].startswith(str(http.base_url).rstrip("/"))
    assert issue["fields"]["summary"] == "renamed"
    real_comment = fixture("webhook-cloud-comment-created.json")
    assert set(comment["comment"]) == set(real_comment["comment"])
    assert comment["comment"]["body"] == "hello"  # v2 representation: wiki text
    assert set(comment["issue"]["fields"]) == set(real_comment["issue"]["fields"])
    assert created["user"]["accountId"] == site.admin_account_id


def test_retries_keep_the_identifier_and_count_up(
    site: Sandbox, http: httpx.Client, receiver: WebhookReceiver
) -> None:
    receiver.fail_with = [500, 503, 429]
    admin_hook(http, receiver.url, events=["jira:issue_created"])
    http.post("/rest/api/3/issue", json=NEW_ISSUE)
    got = receiver.wait_for(4)
    assert site.webhooks.flush(5)
    assert [d.status for d in got] == [500, 503, 429, 200]
    assert len({d.identifier for d in got}) == 1
    assert [d.headers.get("x-atlassian-webhook-retry") for d in got] == [None, "1", "2", "3"]
    assert len({d.body for d in got}) == 1
    assert site.webhooks.failed == []


def test_failed_deliveries_are_listed_for_the_app(
    site: Sandbox, http: httpx.Client, clock: FrozenClock
) -> None:
    with WebhookReceiver(fail_with=[500] * 5) as hook:
        hooks = [{"events": ["jira:issue_created"], "jqlFilter": "project = ENG"}]
        http.post("/rest/api/3/webhook", json={"url": hook.url, "webhooks": hooks})
        http.post("/rest/api/3/issue", json=NEW_ISSUE)
        assert site.webhooks.flush(5)
        hook.fail_with = [400]
        http.post("/rest/api/3/issue", json=NEW_ISSUE)
        assert site.webhooks.flush(5)
        statuses = [d.status for d in hook.deliveries]
        assert statuses == [500] * 5 + [400]  # 5 attempts; a 4xx is not retried
    page = http.get("/rest/api/3/webhook/failed", params={"maxResults": 1}).json()
    [first] = page["values"]
    assert first["id"] == hook.deliveries[0].identifier
    assert first["url"] == hook.url
    assert json.loads(first["body"])["webhookEvent"] == "jira:issue_created"
    assert "failedAfter=" in page["next"]
    rest = http.get(page["next"]).json()
    assert [v["id"] for v in rest["values"]] == [hook.deliveries[5].identifier]
    after = http.get(rest["next"]).json()
    assert after == {"values": [], "maxResults": 1}


def test_dynamic_deliveries_carry_a_jwt_and_stop_when_expired(
    site: Sandbox, http: httpx.Client, clock: FrozenClock
) -> None:
    with WebhookReceiver(jwt_secret=site.webhooks.app_secret) as hook:
        hooks = [
            {"events": ["jira:issue_created"], "jqlFilter": "project = ENG"},
            {"events": ["jira:issue_created"], "jqlFilter": "issuetype = Task"},
            {
                "events": ["jira:issue_updated"],
                "jqlFilter": "project = ENG",
                "fieldIdsFilter": ["summary"],
            },
        ]
        r = http.post("/rest/api/3/webhook", json={"url": hook.url, "webhooks": hooks})
        ids = [x["createdWebhookId"] for x in r.json()["webhookRegistrationResult"]]
        key = http.post("/rest/api/3/issue", json=NEW_ISSUE).json()["key"]
        http.put(f"/rest/api/3/issue/{key}", json={"fields": {"labels": ["x"]}})  # filtered
        http.put(f"/rest/api/3/issue/{key}", json={"fields": {"summary": "s2"}})
        [created, renamed] = hook.wait_for(2)
        assert site.webhooks.flush(5)
        assert len(hook.deliveries) == 2
        assert created.verified and renamed.verified
        assert created.json()["matchedWebhookIds"] == ids[:2]
        assert renamed.json()["matchedWebhookIds"] == ids[2:]
        claims = verify_jwt(
            created.headers["authorization"], "sandbox-secret", url=hook.url, now=clock.now()
        )
        assert claims["aud"] == site.webhooks.app_key
        assert claims["sub"] == site.admin_account_id
        assert claims["exp"] - claims["iat"] == 180
        with pytest.raises(ValueError, match="qsh"):
            verify_jwt(
                created.headers["authorization"],
                "sandbox-secret",
                url=hook.url + "x",
                now=clock.now(),
            )
        later = clock.now() + timedelta(hours=1)
        with pytest.raises(ValueError, match="expired"):
            verify_jwt(created.headers["authorization"], "sandbox-secret", url=hook.url, now=later)

        clock.advance(days=31)
        http.post("/rest/api/3/issue", json=NEW_ISSUE)
        assert site.webhooks.flush(5)
        assert len(hook.deliveries) == 2  # expired: nothing sent
        http.put("/rest/api/3/webhook/refresh", json={"webhookIds": ids})
        http.post("/rest/api/3/issue", json=NEW_ISSUE)
        assert len(hook.wait_for(3)) == 3


def _run_with_faults(seed: int) -> list[tuple[str, str, bool]]:
    clock = FrozenClock(datetime(2026, 2, 1, tzinfo=UTC))
    with (
        Sandbox(
            seed=1,
            issues=20,
            clock=clock,
            webhook_duplicates=0.3,
            webhook_reorder=0.3,
            webhook_seed=seed,
        ) as sb,
        WebhookReceiver() as hook,
        sb.serve() as url,
        httpx.Client(base_url=url, auth=sb.auth) as http,
    ):
        admin_hook(http, hook.url, events=["jira:issue_updated"], secret=None)
        for i in range(12):
            http.put("/rest/api/3/issue/ENG-1", json={"fields": {"summary": f"s{i}"}})
        assert sb.webhooks.flush(5)
        out = []
        seen: set[str] = set()
        for d in hook.deliveries:
            ident = d.identifier or ""
            out.append((ident, d.json()["issue"]["fields"]["summary"], ident in seen))
            seen.add(ident)
        return out


def test_duplicates_and_reordering_are_seeded_and_reproducible() -> None:
    first, again, other = _run_with_faults(5), _run_with_faults(5), _run_with_faults(6)
    assert first == again
    assert first != other
    summaries = [s for _, s, dup in first if not dup]
    assert sorted(summaries, key=lambda s: int(s[1:])) == [f"s{i}" for i in range(12)]
    assert summaries != [f"s{i}" for i in range(12)]  # some overtaken
    assert any(dup for *_, dup in first)  # some sent twice, same identifier


def test_close_stops_the_worker(site: Sandbox, http: httpx.Client) -> None:
    with WebhookReceiver() as hook:
        admin_hook(http, hook.url, secret=None)
        http.post("/rest/api/3/issue", json=NEW_ISSUE)
        hook.wait_for(1)
    thread = site.webhooks._thread
    site.close()
    assert thread is None or not thread.is_alive()
    http.post("/rest/api/3/issue", json=NEW_ISSUE)  # no subscriber any more: no delivery
    assert site.webhooks.pending() == 0


# -- the test kit's helpers --------------------------------------------------------------


def test_receiver_rejects_bad_signatures(receiver: WebhookReceiver) -> None:
    body = b'{"webhookEvent":"jira:issue_created"}'
    with httpx.Client() as c:
        good = c.post(receiver.url, content=body, headers={"X-Hub-Signature": sign(body, "s3cret")})
        bad = c.post(receiver.url, content=body, headers={"X-Hub-Signature": sign(body, "nope")})
        missing = c.post(receiver.url, content=body)
    assert (good.status_code, bad.status_code, missing.status_code) == (200, 401, 401)
    assert [d.verified for d in receiver.deliveries] == [True, False, False]
    assert [d.body for d in receiver.accepted] == [body]
    with pytest.raises(TimeoutError, match="got 1"):
        receiver.wait_for(2, timeout=0.05, accepted=True)


def test_jwt_round_trip() -> None:
    token = jwt_encode({"iss": "a", "n": 1}, "k")
    assert jwt_decode(token, "k") == {"iss": "a", "n": 1}
    with pytest.raises(ValueError, match="signature"):
        jwt_decode(token, "other")
    with pytest.raises(ValueError, match="malformed"):
        jwt_decode("x.y", "k")


def test_sprint_events_are_delivered_with_the_sprint(
    site: Sandbox, http: httpx.Client, receiver: WebhookReceiver
) -> None:
    admin_hook(http, receiver.url, events=["sprint_started"])
    sprint = {"id": 7, "self": "@@BASE@@/rest/agile/1.0/sprint/7", "state": "active"}
    site.store.events.publish(
        Event("sprint_started", 1, None, None, site.admin_account_id, {"sprint": sprint})
    )
    [d] = receiver.wait_for(1)
    body = d.json()
    assert body == {
        "timestamp": 1,
        "webhookEvent": "sprint_started",
        "sprint": {**sprint, "self": f"{str(http.base_url).rstrip('/')}/rest/agile/1.0/sprint/7"},
    }


def test_deleted_issues_are_filtered_and_sent_whole(
    site: Sandbox, http: httpx.Client, receiver: WebhookReceiver
) -> None:
    admin_hook(http, receiver.url, events=["jira:issue_deleted"])
    other = http.post(
        "/rest/api/3/issue", json={"fields": {**NEW_ISSUE["fields"], "project": {"key": "OPS"}}}
    ).json()["key"]
    key = http.post("/rest/api/3/issue", json=NEW_ISSUE).json()["key"]
    http.delete(f"/rest/api/3/issue/{other}")  # outside the JQL filter
    http.delete(f"/rest/api/3/issue/{key}")
    assert site.webhooks.flush(5)
    [d] = receiver.wait_for(1)
    body = d.json()
    assert _shape(body) == _shape(fixture("webhook-issue-deleted.json"))
    assert (body["issue"]["key"], body["issue"]["fields"]["summary"]) == (key, "W")
