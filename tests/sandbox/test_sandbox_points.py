"""The hourly points quota of OAuth apps: costs, pools, headers and 429s, over HTTP."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from jirakit.sandbox import FrozenClock, PointsQuota, Sandbox
from jirakit.sandbox.points import count_objects, points_cost
from jirakit.testing.asgi import SyncASGITransport
from jirakit.testing.oauth import SandboxGrant, sandbox_grant

START = datetime(2026, 6, 5, 5, 59, 30, tzinfo=UTC)  # 30 s before a 60 s window ends
BASE = "http://sandbox.test"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


class Site:
    """A sandbox with an OAuth grant and a blocking client over its app."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.transport = SyncASGITransport(sandbox.app)
        self.grant: SandboxGrant = sandbox_grant(BASE, transport=self.transport)
        self.oauth = httpx.Client(
            transport=self.transport,
            base_url=self.grant.api_url,
            headers={"Authorization": f"Bearer {self.grant.access_token}"},
        )
        self.basic = httpx.Client(transport=self.transport, base_url=BASE, auth=sandbox.auth)

    def close(self) -> None:
        self.oauth.close()
        self.basic.close()
        self.transport.close()
        self.sandbox.close()


@pytest.fixture
def make_site(clock: FrozenClock) -> Iterator[object]:
    sites: list[Site] = []

    def make(**kwargs: object) -> Site:
        options: dict[str, object] = {"seed": 3, "issues": 40, "projects": 2, "clock": clock}
        options.update(kwargs)
        site = Site(Sandbox(**options))  # type: ignore[arg-type]
        sites.append(site)
        return site

    yield make
    for site in sites:
        site.close()


def cost(response: httpx.Response) -> int:
    return int(response.headers["x-jirakit-points-cost"])


def test_each_answer_says_its_cost_and_the_pool_adds_them_up(make_site):
    site = make_site(points_per_hour=1000, points_window=60)
    search = site.oauth.post(
        "/rest/api/3/search/jql", json={"jql": "project = ENG ORDER BY key", "maxResults": 7}
    )
    assert search.status_code == 200
    issues = search.json()["issues"]
    assert len(issues) == 7
    assert cost(search) == 1 + 7  # a base point and one per issue returned
    one = site.oauth.get(f"/rest/api/3/issue/{issues[0]['id']}")
    assert cost(one) == 2
    fields = site.oauth.get("/rest/api/3/field")
    assert cost(fields) == 1 + len(fields.json())  # a top-level array: one per item
    edit = site.oauth.put(
        f"/rest/api/3/issue/{issues[0]['id']}", json={"fields": {"summary": "renamed"}}
    )
    assert edit.status_code == 204 and cost(edit) == 1  # writes: the base point only
    missing = site.oauth.get("/rest/api/3/issue/NOPE-999")
    assert missing.status_code == 404 and cost(missing) == 1
    spent = sum(cost(r) for r in (search, one, fields, edit, missing))
    assert spent == 8 + 2 + 1 + len(fields.json()) + 1 + 1

    assert missing.headers["beta-ratelimit-policy"] == '"global-app-quota";q=1000;w=60'
    assert missing.headers["beta-ratelimit"] == f'"global-app-quota";r={1000 - spent};t=30'
    assert "x-beta-ratelimit-nearlimit" not in missing.headers
    report = site.basic.get("/_jirakit/points").json()
    assert report["charged"] == spent
    [pool] = report["pools"]
    assert pool["pool"] == "app:sandbox-client"
    assert pool["used"] == spent and pool["requests"] == 5 and pool["rejected"] == 0


def test_changelog_pages_cost_one_point_per_history_entry(make_site):
    site = make_site(points_per_hour=5000, points_window=60)
    ids = [
        i["id"]
        for i in site.oauth.post(
            "/rest/api/3/search/jql", json={"jql": "project = ENG ORDER BY key", "maxResults": 5}
        ).json()["issues"]
    ]
    page = site.oauth.post("/rest/api/3/changelog/bulkfetch", json={"issueIdsOrKeys": ids})
    assert page.status_code == 200
    entries = sum(len(log["changeHistories"]) for log in page.json()["issueChangeLogs"])
    assert entries > 0
    assert cost(page) == 1 + entries


def test_api_token_traffic_keeps_only_the_burst_limits(make_site):
    site = make_site(points_per_hour=10, points_window=60)
    for _ in range(30):
        answer = site.basic.get("/rest/api/3/myself")
        assert answer.status_code == 200
        assert "beta-ratelimit" not in answer.headers
        assert "x-jirakit-points-cost" not in answer.headers
    assert site.sandbox.points is not None and site.sandbox.points.charged == 0


def test_a_spent_pool_answers_429_until_the_window_ends(make_site, clock):
    site = make_site(points_per_hour=10, points_window=60)
    answers = [site.oauth.get("/rest/api/3/myself") for _ in range(6)]
    assert [a.status_code for a in answers[:5]] == [200] * 5  # 2 points each: 10 spent
    assert answers[4].headers["beta-ratelimit"] == '"global-app-quota";r=0;t=30'
    refused = answers[5]
    assert refused.status_code == 429
    assert refused.json() == {"errorMessages": ["Rate limit exceeded."], "errors": {}}
    assert refused.headers["retry-after"] == "30"
    assert refused.headers["ratelimit-reason"] == "jira-quota-global-based"
    assert refused.headers["x-beta-ratelimit-reason"] == "jira-quota-global-based"
    assert refused.headers["x-beta-ratelimit-nearlimit"] == "true"
    assert refused.headers["x-beta-ratelimit-reset"] == "2026-06-05T06:00Z"
    assert refused.headers["x-jirakit-points-cost"] == "0"  # a refused request is free
    clock.advance(seconds=29)
    assert site.oauth.get("/rest/api/3/myself").headers["retry-after"] == "1"
    clock.advance(seconds=1)  # the next window: a full pool
    fresh = site.oauth.get("/rest/api/3/myself")
    assert fresh.status_code == 200
    assert fresh.headers["beta-ratelimit"] == '"global-app-quota";r=8;t=60'
    report = site.basic.get("/_jirakit/points").json()
    assert report["rejected"] == 2 and report["charged"] == 12


def test_near_limit_headers_below_a_fifth_of_the_pool(make_site):
    site = make_site(points_per_hour=20, points_window=60)
    seen = [site.oauth.get("/rest/api/3/myself").headers for _ in range(9)]
    # 2 points a request: 18, 16, ... remaining; under 4 (20%) from the 9th on
    assert ["x-beta-ratelimit-nearlimit" in h for h in seen] == [False] * 8 + [True]
    assert seen[-1]["beta-ratelimit"] == '"global-app-quota";r=2;t=30'


def test_one_global_pool_across_the_sites_of_an_app(make_site, clock):
    shared = PointsQuota(12, window=60, pool="global", clock=clock)
    a = make_site(points_quota=shared, cloud_id="site-a")
    b = make_site(points_quota=shared, cloud_id="site-b", seed=4)
    for _ in range(3):
        assert a.oauth.get("/rest/api/3/myself").status_code == 200
    for _ in range(3):
        assert b.oauth.get("/rest/api/3/myself").status_code == 200
    # a's backfill spent the pool b needs too: that is Tier 1
    assert a.oauth.get("/rest/api/3/myself").status_code == 429
    assert b.oauth.get("/rest/api/3/myself").status_code == 429
    assert [s.key for s in shared.states()] == ["app:sandbox-client"]


def test_a_pool_per_site_in_tier_2(make_site, clock):
    shared = PointsQuota(6, window=60, pool="site", clock=clock)
    a = make_site(points_quota=shared, cloud_id="site-a")
    b = make_site(points_quota=shared, cloud_id="site-b", seed=4)
    for _ in range(3):
        assert a.oauth.get("/rest/api/3/myself").status_code == 200
    refused = a.oauth.get("/rest/api/3/myself")
    assert refused.status_code == 429
    assert refused.headers["ratelimit-reason"] == "jira-quota-tenant-based"
    assert refused.headers["beta-ratelimit-policy"] == '"tenant-app-quota";q=6;w=60'
    assert b.oauth.get("/rest/api/3/myself").status_code == 200  # b has its own pool
    assert {s.key: s.used for s in shared.states()} == {
        "app:sandbox-client/site:site-a": 6,
        "app:sandbox-client/site:site-b": 2,
    }


def test_the_object_count_rules():
    assert count_objects({"issues": [1, 2, 3], "nextPageToken": "x"}) == 3
    assert count_objects({"values": [], "isLast": True}) == 0
    assert count_objects([{"id": 1}, {"id": 2}]) == 2
    assert count_objects({"key": "ENG-1"}) == 1
    assert count_objects(None) == 0
    assert points_cost("POST", "/rest/api/3/issue", 201, b'{"id":"1"}') == 1
    assert points_cost("POST", "/rest/api/3/search/jql", 200, b'{"issues":[{},{}]}') == 3
    assert points_cost("GET", "/rest/api/3/myself", 401, b'{"errorMessages":[]}') == 1


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="points_pool must be 'global' or 'site'"):
        Sandbox(issues=5, points_per_hour=10, points_pool="tenant")
    with pytest.raises(ValueError, match="points must be >= 1"):
        Sandbox(issues=5, points_per_hour=0)
    with pytest.raises(ValueError, match="needs oauth=True"):
        Sandbox(issues=5, points_per_hour=10, oauth=False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--points-pool", "tenant"], "must be global or site"),
        (["--points-per-hour", "0"], "must be >= 1 points"),
        (["--points-per-hour", "5", "--flavour", "datacenter"], "only Cloud has"),
    ],
)
def test_cli_flags_are_checked(args, message):
    proc = subprocess.run(
        [sys.executable, "-m", "jirakit", "sandbox", "serve", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_served_over_a_real_port():
    with Sandbox(seed=1, issues=10, points_per_hour=100) as sandbox, sandbox.serve() as url:
        grant = sandbox_grant(url)
        with httpx.Client(
            base_url=grant.api_url, headers={"Authorization": f"Bearer {grant.access_token}"}
        ) as http:
            answer = http.get("/rest/api/3/myself")
        assert answer.status_code == 200
        assert answer.headers["beta-ratelimit-policy"] == '"global-app-quota";q=100;w=3600'
        assert answer.headers["beta-ratelimit"].startswith('"global-app-quota";r=98;t=')
        assert httpx.get(f"{url}/_jirakit/points").json()["charged"] == 2
