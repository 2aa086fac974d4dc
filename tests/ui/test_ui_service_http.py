"""The dashboard inside `jirakit serve` (/ui), over HTTP in process: each service page
with data seeded into a real service database, job queue, webhook inboxes and governor
(tests/ui/service_world.py); the numbers against those stores; login by API key and
Bearer; CSRF on every form; bad input; and that no page, fragment or form of one
tenant shows or touches another tenant's data."""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from service_world import TOKEN_ENV, World, csrf_of, login
from sqlalchemy import delete, select

from jirakit.errors import ConfigurationError
from jirakit.jobs.budget import Priority
from jirakit.jobs.queue import WorkerOptions
from jirakit.service import create_app, load_settings
from jirakit.service.crypto import hash_api_key
from jirakit.service.models import ApiKey, Delivery, OAuthState, Tenant
from jirakit.service.tenants import add_key
from jirakit.ui.service import mount

PAGES = ("/ui/", "/ui/connections", "/ui/syncs", "/ui/drift", "/ui/webhooks", "/ui/budget")
FRAGMENTS = ("/ui/syncs/live", "/ui/budget/live")


def cells(html: str, table_id: str) -> list[list[str]]:
    """The text of each body row's cells of the table with ``table_id``."""
    found = re.search(rf'<table[^>]*id="{table_id}".*?<tbody[^>]*>(.*?)</tbody>', html, re.S)
    assert found, f"no table {table_id}"
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", found.group(1), re.S):
        rows.append(
            [
                " ".join(re.sub(r"<[^>]+>", " ", c).split())
                for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
            ]
        )
    return rows


def chart_table(html: str, key: str) -> list[list[str]]:
    found = re.search(rf'id="{key}".*?<tbody>(.*?)</tbody>', html, re.S)
    assert found, f"no chart {key}"
    return [
        [
            " ".join(re.sub(r"<[^>]+>", " ", c).split())
            for c in re.findall(r"<td[^>]*>(.*?)</td>", r)
        ]
        for r in re.findall(r"<tr>(.*?)</tr>", found.group(1), re.S)
    ]


def warehouse_sql(world: World, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(world.dest_a), read_only=True)
    try:
        return [tuple(r) for r in con.execute(sql).fetchall()]
    finally:
        con.close()


# -- access ---------------------------------------------------------------------------


def test_every_page_needs_a_tenant_and_the_login_takes_its_api_key(world: World) -> None:
    with world.client() as http:
        for path in PAGES:
            answer = http.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/ui/login?next=")
        for path in FRAGMENTS:
            assert http.get(path).status_code == 401
        page = http.get("/ui/login")
        assert "API key" in page.text and "Dashboard token" not in page.text
        wrong = http.post(
            "/ui/login", data={"csrf_token": csrf_of(page.text), "token": "uk_not-a-key"}
        )
        assert wrong.status_code == 401 and "not right" in wrong.text
        forged = http.post("/ui/login", data={"csrf_token": "forged", "token": world.keys["a"]})
        assert forged.status_code == 403
        done = login(http, world.keys["a"])
        cookie = done.headers["set-cookie"]
        # Back where the login was asked for (a path inside /ui, kept with its query).
        asked = http.get("/ui/webhooks", params={"connection": world.conns["a"]})
        assert asked.status_code == 200
        http.cookies.clear()
        sent = http.get("/ui/drift", params={"connection": world.conns["a"]})
        assert sent.headers["location"] == (
            f"/ui/login?next=%2Fdrift%3Fconnection%3D{world.conns['a']}"
        )
        form = http.get(sent.headers["location"])
        back = http.post(
            "/ui/login",
            data={
                "csrf_token": csrf_of(form.text),
                "token": world.keys["a"],
                "next": f"/drift?connection={world.conns['a']}",
            },
        )
        assert back.headers["location"] == f"/ui/drift?connection={world.conns['a']}"
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui/" in cookie
        assert http.get("/ui/connections").status_code == 200
    with world.client() as script:
        bearer = {"Authorization": f"Bearer {world.keys['b']}"}
        assert script.get("/ui/connections", headers=bearer).status_code == 200
        bad = {"Authorization": "Bearer uk_nope"}
        assert script.get("/ui/connections", headers=bad).status_code == 303
    # The API itself still answers as before, beside the dashboard.
    with world.client() as api:
        listed = api.get(
            "/unified/connection", headers={"Authorization": f"Bearer {world.keys['a']}"}
        )
        assert listed.status_code == 200
        assert {c["id"] for c in listed.json()} == {world.conns["a"], world.conns["a_oauth"]}


def test_revoking_the_api_key_ends_its_sessions(world: World) -> None:
    with world.state.sessions() as session, session.begin():
        tenant = session.get(Tenant, world.tenants["b"])
        assert tenant is not None
        spare = add_key(session, tenant)
    with world.client() as http:
        login(http, spare)
        assert http.get("/ui/connections").status_code == 200
        with world.state.sessions() as session, session.begin():
            session.execute(delete(ApiKey).where(ApiKey.key_hash == hash_api_key(spare)))
        gone = http.get("/ui/connections")
        assert gone.status_code == 303 and "/ui/login" in gone.headers["location"]
        assert http.get("/ui/syncs/live").status_code == 401
    # The tenant's other key still works.
    with world.logged_in("b") as b:
        assert b.get("/ui/connections").status_code == 200


def test_no_page_or_fragment_of_one_tenant_shows_the_others_data(world: World) -> None:
    a_only = [
        world.conns["a"],
        world.conns["a_oauth"],
        *world.messages["a"],
        "a-upd-0",
        "acme-cloud.atlassian.net",
    ]
    b_only = [world.conns["b"], *world.messages["b"], "b-upd-0"]
    with world.logged_in("a") as a, world.logged_in("b") as b:
        for path in (*PAGES, *FRAGMENTS):
            seen_a = a.get(path).text
            seen_b = b.get(path).text
            for value in b_only:
                assert value not in seen_a, (path, value)
            for value in a_only:
                assert value not in seen_b, (path, value)
        # B's warehouse pages read B's (empty) warehouse, never A's runs or drift.
        runs_a = [r[0] for r in warehouse_sql(world, "select run_id from _sync_runs")]
        for path in ("/ui/syncs", "/ui/drift", "/ui/"):
            text = b.get(path).text
            assert not any(run in text for run in runs_a), path
        # Asking for A's ids by name: as if they did not exist.
        for path in ("/ui/syncs", "/ui/syncs/live", "/ui/drift", "/ui/", "/ui/webhooks"):
            assert b.get(path, params={"connection": world.conns["a"]}).status_code == 404
        csrf = csrf_of(b.get("/ui/connections").text)
        posts = [
            (f"/ui/syncs/{world.conns['a']}/start", {}),
            (f"/ui/syncs/{world.conns['a']}/full", {}),
            (f"/ui/syncs/{world.conns['a']}/stop", {}),
            (f"/ui/connections/{world.conns['a_oauth']}/reauthorize", {}),
            ("/ui/webhooks/replay", {"connection": world.conns["a"], "from": "2020-01-01", "to": "2030-01-01"}),
            ("/ui/webhooks/retry", {"message": world.messages["a"][0]}),
        ]  # fmt: skip
        jobs_before = len(world.queue.jobs())
        for path, form in posts:
            answer = b.post(path, data={"csrf_token": csrf, **form})
            assert answer.status_code == 404, (path, answer.status_code)
        assert len(world.queue.jobs()) == jobs_before
    with world.state.sessions() as session:
        dead = session.scalar(select(Delivery.status).where(Delivery.id == world.messages["a"][0]))
    assert dead == "failed"


def test_every_form_needs_the_sessions_csrf_token(world: World) -> None:
    jobs_before = len(world.queue.jobs())
    with world.logged_in("a") as a:
        for path, form in (
            (f"/ui/syncs/{world.conns['a']}/start", {}),
            (f"/ui/syncs/{world.conns['a']}/full", {}),
            (f"/ui/syncs/{world.conns['a']}/stop", {}),
            (f"/ui/connections/{world.conns['a_oauth']}/reauthorize", {}),
            ("/ui/webhooks/replay", {"connection": world.conns["a"], "from": "2020-01-01", "to": "2030-01-01"}),
            ("/ui/webhooks/retry", {}),
        ):  # fmt: skip
            assert a.post(path, data=form).status_code == 403, path
            assert a.post(path, data={**form, "csrf_token": "forged"}).status_code == 403, path
            # an empty Bearer credential is no script's key: the cookie still needs its token
            empty = a.post(path, data=form, headers={"Authorization": "Bearer "})
            assert empty.status_code == 403, path
    with world.client() as anonymous:
        answer = anonymous.post(f"/ui/syncs/{world.conns['a']}/start", data={})
        assert answer.status_code == 401
    assert len(world.queue.jobs()) == jobs_before
    with world.state.sessions() as session:
        assert session.scalar(select(OAuthState.state)) is None


# -- connections ------------------------------------------------------------------------


def test_connections_show_health_auth_scopes_expiry_and_errors(world: World) -> None:
    with world.logged_in("a") as a:
        page = a.get("/ui/connections")
    assert page.status_code == 200
    rows = {r[0].split()[-1]: r for r in cells(page.text, "connections")}
    assert set(rows) == {world.conns["a"], world.conns["a_oauth"]}
    token_row, oauth_row = rows[world.conns["a"]], rows[world.conns["a_oauth"]]
    assert token_row[1] == "healthy" and token_row[2] == "API token"
    assert token_row[4] == "does not expire"
    assert oauth_row[1] == "needs reauth" and oauth_row[2] == "OAuth 2.0"
    assert oauth_row[3] == "read:jira-work offline_access"
    assert "expired" in oauth_row[4]
    assert oauth_row[6] == "the refresh token was revoked"
    assert "Re-authorise" in oauth_row[7] and "Re-authorise" not in token_row[7]


def test_reauthorise_starts_the_services_oauth_flow_for_this_tenant(world: World) -> None:
    with world.logged_in("a") as a:
        csrf = csrf_of(a.get("/ui/connections").text)
        answer = a.post(
            f"/ui/connections/{world.conns['a_oauth']}/reauthorize", data={"csrf_token": csrf}
        )
        assert answer.status_code == 303
        consent = answer.headers["location"]
        assert consent.startswith(world.sandbox_url + "/authorize?")
        state = re.search(r"[?&]state=([^&]+)", consent)
        assert state is not None
        with world.state.sessions() as session:
            row = session.get(OAuthState, state.group(1))
            assert row is not None and row.tenant_id == world.tenants["a"]
            assert row.site == "https://acme-cloud.atlassian.net"
        # An API-token connection cannot be: the page says what to do instead.
        refused = a.post(
            f"/ui/connections/{world.conns['a']}/reauthorize", data={"csrf_token": csrf}
        )
        assert refused.status_code == 303
        assert "API token" in a.get(refused.headers["location"]).text


# -- syncs -----------------------------------------------------------------------------


def test_syncs_show_the_connections_warehouse_runs_and_drift(world: World) -> None:
    with world.logged_in("a") as a:
        page = a.get("/ui/syncs", params={"connection": world.conns["a"]})
        drift = a.get("/ui/drift", params={"connection": world.conns["a"]})
        health = a.get("/ui/", params={"connection": world.conns["a"], "project": "ENG"})
    runs = warehouse_sql(world, "select run_id, status from _sync_runs order by started_at desc")
    shown = re.findall(r'data-run="([^"]+)" data-status="([^"]+)"', page.text)
    assert shown == [(str(r), s) for r, s in runs]
    assert "Start sync" in page.text and str(world.dest_a) in page.text
    drift_rows = cells(drift.text, "drift-table")
    assert len(drift_rows) == warehouse_sql(world, "select count(*) from _drift_events")[0][0]
    assert health.status_code == 200 and health.text.count('class="chart"') == 7
    with world.logged_in("b") as b:
        empty = b.get("/ui/syncs")
    assert "No run recorded yet" in empty.text and "No sync job yet" in empty.text


def test_start_queues_one_sync_stop_cancels_it(world: World) -> None:
    conn = world.conns["b"]
    with world.logged_in("b") as b:
        csrf = csrf_of(b.get("/ui/syncs").text)
        started = b.post(f"/ui/syncs/{conn}/start", data={"csrf_token": csrf})
        assert started.status_code == 303
        assert started.headers["location"] == f"/ui/syncs?connection={conn}"
        said = b.get(started.headers["location"]).text
        job = int(re.search(r"Sync queued \(job (\d+)\)", said).group(1))  # type: ignore[union-attr]
        queued = {j.id: j for j in world.queue.jobs()}[job]
        assert queued.status == "todo" and queued.args["target"]["name"] == conn
        assert re.search(rf'data-job="{job}" data-status="todo"', said)
        again = b.post(f"/ui/syncs/{conn}/start", data={"csrf_token": csrf})
        assert "queued already" in b.get(again.headers["location"]).text
        assert sum(j.status == "todo" for j in world.queue.jobs()) == 1
        stopped = b.post(f"/ui/syncs/{conn}/stop", data={"csrf_token": csrf})
        after = b.get(stopped.headers["location"]).text
        assert "Cancelled 1 queued sync" in after
        assert {j.id: j for j in world.queue.jobs()}[job].status == "cancelled"
        assert re.search(rf'data-job="{job}" data-status="cancelled"', after)
        assert b.post(f"/ui/syncs/{conn}/nonsense", data={"csrf_token": csrf}).status_code == 404
        # The queue's sync task takes a full refresh: the page offers it.
        assert 'id="sync-full"' in after
        assert "cannot be asked of this job queue" not in after


def test_a_started_sync_runs_and_the_page_follows_it_to_the_end(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, "sandbox-token")
    conn = world.conns["a"]
    runs_before = warehouse_sql(world, "select count(*) from _sync_runs")[0][0]
    with world.logged_in("a") as a:
        csrf = csrf_of(a.get("/ui/syncs").text)
        a.post(f"/ui/syncs/{conn}/start", data={"csrf_token": csrf})
        job = max(j.id for j in world.queue.jobs() if j.args.get("target", {}).get("name") == conn)
        worker = threading.Thread(
            target=world.queue.run_worker,
            args=(WorkerOptions(until_idle=True, schedule_every=0, poll=0.05),),
        )
        worker.start()
        seen = set()
        deadline = time.monotonic() + 120
        while True:
            live = a.get("/ui/syncs/live", params={"connection": conn})
            assert live.status_code == 200
            status = re.search(rf'data-job="{job}" data-status="(\w+)"', live.text)
            assert status is not None
            seen.add(status.group(1))
            if status.group(1) in ("succeeded", "failed"):
                break
            assert time.monotonic() < deadline, "the sync did not end"
            time.sleep(0.1)
        worker.join(timeout=60)
        assert status.group(1) == "succeeded", live.text[:2000]
        assert "doing" in seen
        final = a.get("/ui/syncs", params={"connection": conn}).text
        runs = warehouse_sql(world, "select run_id from _sync_runs order by started_at desc")
        assert len(runs) == runs_before + 1
        assert f'data-run="{runs[0][0]}"' in final
        connections = cells(a.get("/ui/connections").text, "connections")
        mine = next(r for r in connections if r[0].endswith(conn))
        assert "succeeded" in mine[5]


# -- webhooks --------------------------------------------------------------------------


def test_inbox_counts_and_lag_per_event_type_match_the_inbox(world: World) -> None:
    with world.logged_in("a") as a:
        page = a.get("/ui/webhooks", params={"connection": world.conns["a"]})
    assert page.status_code == 200
    table = {r[0]: r for r in chart_table(page.text, "inbox_events")}
    truth = world.inbox_sql(
        "select coalesce(event, '(none)'), count(*), sum(status != 'rejected'),"
        " sum(status = 'rejected'), sum(retry > 0), sum(replay), avg(case when status ="
        " 'applied' and not replay then applied_ms - received_ms end)"
        " from webhook_deliveries group by 1"
    )
    again = dict(world.inbox_sql("select event, count from webhook_duplicates"))
    assert set(table) == {t[0] for t in truth}
    for event, received, verified, rejected, retried, replayed, lag in truth:
        row = table[event]
        counted = (received, verified, rejected, again.get(event, 0), retried, replayed)
        assert row[1:7] == [str(n) for n in counted]
        assert row[7] == (f"{lag / 1000:.1f} s" if lag is not None else "–")
    assert table["jira:issue_updated"][1] == "4" and table["comment_created"][1] == "2"
    # a-upd-0 sent twice more and a-com-0 once more, with the same bodies (service_world)
    assert table["jira:issue_updated"][4] == "2" and table["comment_created"][4] == "1"
    assert table["jira:issue_updated"][5] == "1"  # the one Jira sent again


def test_replaying_a_range_sends_those_deliveries_through_the_consumers_again(
    world: World,
) -> None:
    received = world.inbox_sql(
        "select delivery_id, received_ms from webhook_deliveries where status = 'applied' order by seq"
    )
    cut = received[3][1]  # the second batch arrived from here on
    wanted = [d for d, ms in received if ms >= cut]
    assert wanted and len(wanted) < len(received)
    start = datetime.fromtimestamp(cut / 1000, UTC)
    before = list(world.seen)
    with world.logged_in("a") as a:
        csrf = csrf_of(a.get("/ui/webhooks").text)
        answer = a.post(
            "/ui/webhooks/replay",
            data={
                "csrf_token": csrf,
                "connection": world.conns["a"],
                "from": start.strftime("%Y-%m-%dT%H:%M:%S.%f"),
                "to": "2099-01-01T00:00",
            },
        )
        assert answer.status_code == 303
        said = a.get(answer.headers["location"]).text
    assert f"{len(wanted)} deliveries received" in said
    world.receiver_a.process_pending()
    again = world.seen[len(before) :]
    assert sorted(again) == sorted(wanted)
    replayed = world.inbox_sql(
        f"select delivery_id from webhook_deliveries where replay and received_ms >= {cut}"
    )
    assert sorted(r[0] for r in replayed) == sorted(wanted)
    # The lag stays arrival to first applying: a replay's time is not a delivery's lag.
    with world.logged_in("a") as a:
        page = a.get("/ui/webhooks", params={"connection": world.conns["a"]})
    table = {r[0]: r for r in chart_table(page.text, "inbox_events")}
    lags = dict(
        world.inbox_sql(
            "select coalesce(event, '(none)'), avg(case when status = 'applied' and not replay"
            " then applied_ms - received_ms end) from webhook_deliveries group by 1"
        )
    )
    for event, lag in lags.items():
        assert table[event][7] == (f"{lag / 1000:.1f} s" if lag is not None else "–"), event


@pytest.mark.parametrize(
    ("start", "end", "says"),
    [
        ("2026-03-01", "2026-02-01", "must end after it starts"),
        ("yesterday", "2026-02-01", "must be a UTC time like 2026-03-01T10:30"),
        ("", "2026-02-01", "Give both ends"),
    ],
)
def test_a_bad_replay_range_is_said_and_replays_nothing(
    world: World, start: str, end: str, says: str
) -> None:
    before = world.inbox_sql("select count(*) from webhook_deliveries where status = 'accepted'")
    with world.logged_in("a") as a:
        csrf = csrf_of(a.get("/ui/webhooks").text)
        answer = a.post(
            "/ui/webhooks/replay",
            data={"csrf_token": csrf, "connection": world.conns["a"], "from": start, "to": end},
        )
        assert answer.status_code == 303
        assert says in a.get(answer.headers["location"]).text
    assert (
        world.inbox_sql("select count(*) from webhook_deliveries where status = 'accepted'")
        == before
    )


def test_outbox_counts_and_retrying_one_then_all_dead_letters(world: World) -> None:
    def statuses(tenant: str) -> dict[str, str]:
        with world.state.sessions() as session:
            return dict(
                session.execute(
                    select(Delivery.id, Delivery.status).where(Delivery.tenant_id == tenant)
                ).all()
            )

    with world.logged_in("a") as a:
        page = a.get("/ui/webhooks")
        table = {r[0]: r for r in chart_table(page.text, "outbox_messages")}
        assert table["task.updated"][1:5] == ["3", "1", "0", "0"]
        assert table["task.created"][1:5] == ["0", "0", "2", "0"]
        assert table["task.updated"][5] == "3.0 s"  # 2, 3 and 4 seconds to deliver
        dead_rows = re.findall(r'data-message="([^"]+)" data-status="dead"', page.text)
        assert sorted(dead_rows) == sorted(world.messages["a"])
        csrf = csrf_of(page.text)
        first, second = world.messages["a"]
        one = a.post("/ui/webhooks/retry", data={"csrf_token": csrf, "message": first})
        assert "1 dead letter queued" in a.get(one.headers["location"]).text
        now = statuses(world.tenants["a"])
        assert now[first] == "pending" and now[second] == "failed"
        unknown = a.post("/ui/webhooks/retry", data={"csrf_token": csrf, "message": "msg_nope"})
        assert unknown.status_code == 404
        every = a.post("/ui/webhooks/retry", data={"csrf_token": csrf})
        assert "1 dead letter queued" in a.get(every.headers["location"]).text
        assert statuses(world.tenants["a"])[second] == "pending"
    assert set(statuses(world.tenants["b"]).values()) == {"delivered", "failed"}


def test_a_connection_without_an_inbox_says_so(world: World) -> None:
    with world.logged_in("a") as a:
        page = a.get("/ui/webhooks", params={"connection": world.conns["a_oauth"]})
    assert page.status_code == 200
    assert "nothing has arrived yet" in page.text
    assert 'id="outbox_messages"' in page.text


# -- the budget ------------------------------------------------------------------------


def test_budget_shows_the_tenants_own_use_against_the_pool(world: World) -> None:
    assert world.governor is not None
    with world.logged_in("a") as a:
        first = a.get("/ui/budget")
        assert first.status_code == 200
        time.sleep(1.1)
        for _ in range(2):
            assert world.governor.acquire(world.tenants["a"], Priority.INTERACTIVE, 10) == 0
        fragment = a.get("/ui/budget/live")
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert "6,000 points an hour" in first.text
    mine = cells(fragment.text, "budget-mine")
    snap = world.governor.snapshot()
    truth = [r for r in snap.tenants if r["tenant"] == world.tenants["a"]]
    assert [(r[0], r[1], r[2]) for r in mine] == [
        (t["priority"], f"{t['granted_points']:,.1f}", f"{t['requests']:,}") for t in truth
    ]
    assert "1 (0 waiting)" in fragment.text  # one other tenant, not named
    assert world.tenants["b"] not in fragment.text
    # Over time: the last sample is what the governor granted each side in all; the
    # 20 points just granted to A are the difference from the sample before them.
    table = chart_table(fragment.text, "budget_used")
    assert len(table) >= 2
    granted: dict[str, float] = {}
    for row in snap.tenants:
        granted[row["tenant"]] = granted.get(row["tenant"], 0.0) + row["granted_points"]
    you, others = (float(v.replace(",", "")) for v in table[-1][1:3])
    assert you == pytest.approx(granted[world.tenants["a"]], abs=0.05)
    assert others == pytest.approx(granted[world.tenants["b"]], abs=0.05)
    assert you - float(table[-2][1].replace(",", "")) == pytest.approx(20.0)
    # Per minute, against the pool's 100 points a minute (6,000 an hour): A's 20
    # points in the last interval show; B drew nothing meanwhile.
    rates = chart_table(fragment.text, "budget_rate")
    assert rates and all(row[3] == "100.0" for row in rates)
    assert float(rates[-1][1].replace(",", "")) > 0 and rates[-1][2] == "0.0"


def test_a_throttled_tenant_is_told_why(world: World) -> None:
    assert world.governor is not None
    tenant = world.tenants["a"]
    waited = 0.0
    for _ in range(200):  # backfill may not eat into the 60% kept for higher classes
        waited = world.governor.acquire(tenant, Priority.BACKFILL, 20)
        if waited > 0:
            break
    assert waited > 0
    with world.logged_in("a") as a:
        rows = cells(a.get("/ui/budget/live").text, "budget-mine")
    backfill = next(r for r in rows if r[0] == "backfill")
    assert "throttled" in backfill[4] and "kept for higher priorities" in backfill[4]


def test_no_governor_says_so(world: World) -> None:
    governor = world.state.extra.pop("governor")
    try:
        with world.logged_in("b") as b:
            page = b.get("/ui/budget")
        assert page.status_code == 503 and "No rate-limit governor" in page.text
    finally:
        world.state.extra["governor"] = governor


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("JIRAKIT_UI_POLL", "soon", "JIRAKIT_UI_POLL must be seconds"),
        ("JIRAKIT_UI_POLL", "0", "between 0.1 and 3600"),
        ("JIRAKIT_JOBS_URL", "mysql://db/jobs", "JIRAKIT_JOBS_URL: jobs URL"),
    ],
)
def test_bad_dashboard_settings_stop_the_service_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str, says: str
) -> None:
    monkeypatch.setenv(name, value)
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'service.db'}", background=False)
    app = create_app(settings)
    with pytest.raises(ConfigurationError, match=re.escape(says)):
        mount(app)
