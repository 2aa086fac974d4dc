"""The points budget in `jirakit serve`: the service's Jira clients spend through the
governor as INTERACTIVE, a sync job run by a worker as BACKFILL, one budget in Postgres
for both; ``GET /budget`` shows a tenant its own use and the pool's totals only.

Everything runs over real HTTP against a served sandbox that meters OAuth requests in
one global points pool (`jirakit.sandbox.PointsQuota`), so a request the governor let
through too early would come back as a quota 429 (``quota.rejected``).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from service_support import JIRA_TOKEN, OAUTH_CLIENT, OAUTH_SECRET, Service

from jirakit.jobs.budget import open_governor, tenant_budget
from jirakit.sandbox import PointsQuota, Sandbox
from jirakit.sandbox.oauth import OAuthClient
from needs import PG_DSN, pg_url, require_postgres

POINTS, WINDOW = 1500, 20.0


@pytest.fixture
def quota() -> PointsQuota:
    return PointsQuota(POINTS, window=WINDOW, pool="global")


@pytest.fixture
def sandbox(quota: PointsQuota) -> Iterator[Sandbox]:
    """The service tests' sandbox, its OAuth requests metered in one global pool."""
    with Sandbox(seed=3, issues=300, projects=2, api_token=JIRA_TOKEN, points_quota=quota) as sb:
        assert sb.oauth is not None
        sb.oauth.clients[OAUTH_CLIENT] = OAuthClient(OAUTH_CLIENT, OAUTH_SECRET)
        yield sb


def oauth_connection(api: httpx.Client) -> str:
    """An OAuth 2.0 connection through consent (the sandbox consents at once)."""
    start = api.get("/unified/integration/auth/ws/jira")
    assert start.status_code == 200, start.text
    with httpx.Client() as browser:
        granted = browser.get(start.text)
        assert granted.status_code == 302
        made = browser.get(granted.headers["location"])
    assert made.status_code == 200, made.text
    assert made.json()["kind"] == "oauth2"
    return str(made.json()["id"])


def keys(service: Service, api: httpx.Client, conn: str) -> list[str]:
    listed = api.get(f"/task/{conn}/task", params={"limit": 5, "fields": "id"})
    assert listed.status_code == 200, listed.text
    return [t["id"] for t in listed.json()]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_tenant_sees_its_own_budget_and_the_pool_totals_only(
    make_service: Any, quota: PointsQuota
):
    service = make_service(governor="memory", governor_points=POINTS, governor_window=WINDOW)
    acme_key, globex_key = service.tenant("acme"), service.tenant("globex")
    acme, globex = service.client(acme_key), service.client(globex_key)
    acme_conn = oauth_connection(acme)
    oauth_connection(globex)
    for task_id in keys(service, acme, acme_conn):
        assert acme.get(f"/task/{acme_conn}/task/{task_id}").status_code == 200

    mine = acme.get("/budget")
    assert mine.status_code == 200, mine.text
    body = mine.json()
    acme_id = body["tenant"]
    [interactive] = body["priorities"]
    assert interactive["priority"] == "interactive"
    assert interactive["requests"] >= 6  # the list and five reads went through the governor
    last = body["windows"][-1]  # the last window (and the last minute, when it is longer)
    assert last["window_seconds"] == WINDOW
    assert last["points"] > 0 and last["points"] == last["pool_points"]
    # what the governor granted is what the sandbox charged (Jira's cost header settles it)
    charged = sum(s.used for s in quota.states())
    assert body["pool"]["used"] == pytest.approx(charged, abs=1)
    assert body["pool"]["remaining_source"] == "jira"
    assert 0 < body["pool"]["reset_in_seconds"] <= WINDOW
    assert body["pool"]["points"] == POINTS and body["pool"]["window_seconds"] == WINDOW
    assert sum(p["points"] for p in body["series"]) == pytest.approx(last["points"])

    theirs = globex.get("/budget")
    assert theirs.status_code == 200
    other = theirs.json()
    assert other["tenant"] != acme_id
    assert acme_id not in theirs.text  # never another tenant's id ...
    assert other["priorities"] == []  # ... nor its numbers: globex made no call yet
    assert other["windows"][-1]["points"] == 0
    assert other["windows"][-1]["pool_points"] == last["pool_points"]  # totals are shared
    assert other["pool"]["used"] == body["pool"]["used"]

    # the Python function the dashboard calls gives the same data
    governor = service.state.extra["governor"]
    same = tenant_budget(governor, acme_id)
    assert same["priorities"] == body["priorities"]

    assert service.client("not-a-key").get("/budget").status_code == 401


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_no_governor_no_budget_and_a_bad_setting_is_one_line(make_service: Any):
    from service_support import settings_for

    from jirakit.errors import ConfigurationError
    from jirakit.service import create_app

    service = make_service(governor="off")
    answer = service.client(service.tenant()).get("/budget")
    assert answer.status_code == 404
    assert "JIRAKIT_GOVERNOR" in answer.json()["detail"]
    with pytest.raises(ConfigurationError, match="use memory, off or postgresql://"):
        create_app(settings_for("sqlite://", "http://127.0.0.1:9", governor="redis://x"))


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_interactive_calls_go_first_while_a_worker_backfills(
    make_service: Any,
    sandbox: Sandbox,
    sandbox_url: str,
    quota: PointsQuota,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    """One budget in Postgres for the service and a worker: the worker's first sync of a
    site (a backfill) is throttled and finishes; interactive calls made meanwhile wait
    little; the sandbox never refuses a request for the quota."""
    import psycopg

    from jirakit.jobs.queue import SqliteQueue, WorkerOptions
    from jirakit.jobs.tasks import SyncTarget, default_registry
    from jirakit.testing.oauth import sandbox_grant

    require_postgres()
    schema = f"gov_t_{uuid.uuid4().hex[:10]}"
    url = pg_url()  # the server JIRAKIT_TEST_PG_DSN names, as a URL
    for name, value in {
        "JIRAKIT_GOVERNOR": url,
        "JIRAKIT_GOVERNOR_POINTS": str(POINTS),
        "JIRAKIT_GOVERNOR_WINDOW": str(WINDOW),
        "JIRAKIT_GOVERNOR_SCHEMA": schema,
    }.items():
        monkeypatch.setenv(name, value)
    service = make_service(governor=url, governor_points=POINTS, governor_window=WINDOW)
    api = service.client(service.tenant("acme"))
    conn = oauth_connection(api)
    task_ids = keys(service, api, conn)

    grant = sandbox_grant(sandbox_url, client_id=OAUTH_CLIENT, client_secret=OAUTH_SECRET)
    monkeypatch.setenv("GOV_TEST_TOKEN", grant.access_token)
    queue = SqliteQueue(tmp_path / "jobs.db", default_registry())
    target = SyncTarget(
        "globex-backfill",
        grant.api_url,
        f"duckdb:///{tmp_path / 'globex.duckdb'}",
        token_env="GOV_TEST_TOKEN",
        auth="bearer",
        tenant="globex",
        streams=("metadata", "issues"),
        pipelines_dir=str(tmp_path / "pipelines"),
    )
    assert queue.defer("sync_connection", target=target.as_json()) is not None
    worker = threading.Thread(
        target=queue.run_worker, args=(WorkerOptions(until_idle=True, schedule_every=0),)
    )
    worker.start()
    calls = 0
    waited: list[float] = []
    try:
        governor = open_governor()
        assert governor is not None
        # interactive calls while the backfill runs (until it finishes or 40 calls)
        while worker.is_alive() and calls < 40:
            for task_id in task_ids:
                answer = api.get(f"/task/{conn}/task/{task_id}")
                assert answer.status_code == 200, answer.text
                waited.append(float(answer.headers["x-jirakit-waited"]))
                calls += 1
    finally:
        worker.join(timeout=300)
    assert not worker.is_alive()
    [job] = queue.jobs()
    assert job.status == "succeeded", job.error
    view = {r["priority"]: r for r in tenant_budget(governor, "globex")["priorities"]}
    assert set(view) == {"backfill"}  # a first load is a backfill
    backfill = view["backfill"]
    assert backfill["waits"] > 0 and backfill["waited_seconds"] > 1  # it was slowed down
    mine = api.get("/budget").json()
    [interactive] = mine["priorities"]
    assert interactive["priority"] == "interactive" and interactive["requests"] >= calls
    # The bound: an interactive call never waits behind a backfill (backfills leave the
    # top 60% of the bucket), only for the bucket to refill its own cost when it is empty:
    # 2-6 points at ~67 points/s here. 0.5 s per call on average is 10x that, with room
    # for the Postgres round trips of a loaded machine.
    assert interactive["waited_seconds"] <= 0.5 * interactive["requests"], interactive
    assert sum(waited) <= 0.5 * len(waited)  # as each answer's X-Jirakit-Waited says
    assert quota.rejected == 0  # no quota 429s, backfill and interactive calls together
    governor.close()
    with psycopg.connect(PG_DSN, autocommit=True) as admin:
        admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_registrations_and_polls_spend_through_the_governor_as_webhook_work(
    make_service: Any, quota: PointsQuota
):
    """The service's own Jira calls (registering a dynamic webhook, polling for a virtual
    one) are in the budget too, as WEBHOOK work: every point the pool charged was granted."""
    from jirakit.testing.webhooks import WebhookReceiver

    service = make_service(
        governor="memory", governor_points=POINTS, governor_window=WINDOW, public_url="self"
    )
    api = service.client(service.tenant("acme"))
    conn = oauth_connection(api)
    with WebhookReceiver() as app:
        for kind in ("native", "virtual"):
            hook = api.post(
                "/unified/webhook",
                json={"connection_id": conn, "object_type": "task_task", "event": "updated",
                      "hook_url": app.url, "webhook_type": kind, "interval": 0},
            )  # fmt: skip
            assert hook.status_code == 200, hook.text
        service.tick()  # the virtual subscription's first poll
    body = api.get("/budget").json()
    classes = {p["priority"]: p for p in body["priorities"]}
    assert set(classes) == {"webhook"}, classes  # no call a person waited for was made
    assert classes["webhook"]["requests"] >= 2  # the registration and the poll's search
    charged = sum(s.used for s in quota.states())
    assert body["pool"]["used"] == pytest.approx(charged, abs=1)
    assert quota.rejected == 0
