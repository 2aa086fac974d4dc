"""The dashboard over HTTP (in process, no browser): every page from a real sync, the
numbers against SQL over the warehouse, filters and their errors, a warehouse that a
sync holds, access (loopback only, token login, sessions, CSRF), mounting under /ui,
and the same pages from Postgres."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from dashboard_support import HOSTILE, Synced
from starlette.applications import Starlette
from starlette.routing import Mount

from jirakit.sync.destination import warehouse_for
from jirakit.sync.progress import ProgressWriter
from jirakit.testing.asgi import SyncASGITransport
from jirakit.ui import (
    LOOPBACK_HOSTS,
    Providers,
    TokenAccess,
    UiSettings,
    WarehouseSource,
    create_app,
)
from jirakit.ui.app import _duration
from jirakit.ui.health import OLDEST_OPEN, WORKLOG_PEOPLE
from jirakit.ui.providers import HealthFilters, Viewer
from needs import PG_DSN, pg_url, require_module, require_postgres

CHARTS = (
    "created_vs_resolved",
    "cumulative_flow",
    "time_in_status",
    "cycle_time",
    "velocity",
    "worklog",
    "oldest_open",
)
SECRET = "a-dashboard-token-long-enough"


def client_for(app: Any, base: str = "http://127.0.0.1") -> httpx.Client:
    return httpx.Client(transport=SyncASGITransport(app), base_url=base, follow_redirects=False)


def source_for(dest: str, dataset: str | None = None) -> WarehouseSource:
    return WarehouseSource(warehouse_for(dest, dataset))


def app_for(source: WarehouseSource, **kwargs: Any) -> Any:
    return create_app(
        Providers(analytics=source, sync_runs=source, drift=source),
        settings=UiSettings(source=source.describe()),
        **kwargs,
    )


@pytest.fixture(scope="module")
def source(synced: Synced) -> WarehouseSource:
    return source_for(synced.dest)


@pytest.fixture(scope="module")
def client(source: WarehouseSource) -> Iterator[httpx.Client]:
    with client_for(app_for(source, hosts=LOOPBACK_HOSTS)) as c:
        yield c


def chart_table(page: str, key: str) -> tuple[list[str], list[list[str]]]:
    """The header and rows of a chart's table view, as the page shows them."""
    section = re.search(rf'<section class="chart" id="{key}".*?</section>', page, re.S)
    assert section is not None, f"no chart {key}"
    body = section.group(0)
    head = [html.unescape(h) for h in re.findall(r"<th(?:\s[^>]*)?>(.*?)</th>", body, re.S)]
    rows = [
        [html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>", 1)[1], re.S)
    ]
    return head, [r for r in rows if r and "No rows." not in r[0]]


def num(text: str) -> float:
    return float(text.replace(",", ""))


def maybe(text: str) -> float | None:
    """A number, or None where the table says there is none (–)."""
    return None if text == "–" else num(text)


def utc_today() -> date:
    return datetime.now(UTC).date()


# -- pages and numbers ----------------------------------------------------------------


def test_every_page_loads_with_data(client: httpx.Client, synced: Synced):
    health = client.get("/")
    assert health.status_code == 200
    assert health.headers["content-type"].startswith("text/html")
    for key in CHARTS:
        assert f'<section class="chart" id="{key}"' in health.text
        assert f'<script type="application/json" id="{key}-spec">' in health.text
        _, rows = chart_table(health.text, key)
        assert rows, f"{key} has an empty table"
    assert health.text.count("<figcaption>") == 7
    assert 'for="f-project"' in health.text and 'id="f-project"' in health.text

    syncs = client.get("/syncs")
    assert syncs.status_code == 200
    runs = synced.sql("select run_id, status from _sync_runs order by started_at desc")
    found = re.findall(r'<tr data-run="(\w+)" data-status="(\w+)"', syncs.text)
    assert found == [(r, s) for r, s in runs]
    assert "Jira rejected the credentials while reading /myself (401)" in syncs.text

    drift = client.get("/drift")
    assert drift.status_code == 200
    events = synced.sql("select kind, field_id from _drift_events order by kind")
    assert {k for k, _ in events} >= {"field_renamed", "field_type_changed"}
    assert "Customer ticket (renamed)" in drift.text
    for kind, field_id in events:
        assert kind.replace("_", " ") in drift.text and field_id in drift.text


def test_the_runs_table_is_sync_runs(client: httpx.Client, synced: Synced):
    """Each run's status, duration, load, requests, rate-limit waits, rows (in all and
    per table) and error, as `_sync_runs` records them."""
    page = client.get("/syncs").text
    runs = synced.sql(
        "select run_id, status, epoch(finished_at - started_at), full_refresh, cursor_from,"
        " requests, waited_seconds, rate_limited, rows, error from _sync_runs"
        " order by started_at desc"
    )
    assert len(runs) == 3
    for run_id, status, seconds, full, cursor, requests, waited, limited, rows, error in runs:
        row = re.search(rf'<tr data-run="{run_id}" data-status="{status}".*?</tr>', page, re.S)
        assert row is not None, run_id
        cells = {
            label: " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())
            for label, body in re.findall(
                r'<td[^>]*data-label="([^"]+)"[^>]*>(.*?)</td>', row.group(0), re.S
            )
        }
        assert cells["status"] == status
        load = "full refresh" if full else "full load" if cursor is None else "incremental"
        assert cells["load"] == load
        assert cells["duration"] == _duration(seconds)
        assert cells["requests"] == f"{requests:,}"
        waits = _duration(waited) + (f" ({limited:,}× 429)" if limited else "")
        assert cells["rate-limit waits"] == (waits if waited is not None else "–")
        per_table = json.loads(rows) if rows else {}
        assert cells["rows"] == f"{sum(per_table.values()):,}"
        listed = re.findall(
            r'<li><span>([^<]+)</span> <span class="num">([\d,]+)</span></li>', row.group(0)
        )
        assert {t: int(n.replace(",", "")) for t, n in listed} == per_table
        assert cells["error"] == (error or "")
    assert any(r[4] is not None for r in runs)  # an incremental run among them


def test_the_numbers_match_sql(source: WarehouseSource, client: httpx.Client, synced: Synced):
    start, end = date(2025, 3, 1), date(2025, 9, 30)
    query = {"project": "ENG", "from": start.isoformat(), "to": end.isoformat()}
    page = client.get("/", params=query)
    assert page.status_code == 200, page.text
    eng = synced.sql("select id from projects where key = 'ENG'")[0][0]
    day = "CAST({} AT TIME ZONE 'UTC' AS DATE)"

    # Created vs resolved: the running totals end at the counts in the range.
    head, rows = chart_table(page.text, "created_vs_resolved")
    assert head[-2:] == ["created (total)", "resolved (total)"]
    created = synced.sql(
        f"select count(*) from issues where project_id = ? and not is_deleted and "
        f"{day.format('created_at')} between ? and ?",
        [eng, start, end],
    )[0][0]
    resolved = synced.sql(
        f"select count(*) from issue_enhanced where project_id = ? and "
        f"{day.format('resolved_at')} between ? and ?",
        [eng, start, end],
    )[0][0]
    assert (num(rows[-1][-2]), num(rows[-1][-1])) == (created, resolved) and created > 0
    assert sum(num(r[1]) for r in rows) == created  # per period, adding up

    # Time in status: the stays that ended in the range, per status.
    _, rows = chart_table(page.text, "time_in_status")
    stays = synced.sql(
        "select t.from_status, count(*), avg(t.minutes_in_from_status) / 1440"
        " from issue_status_transitions t where not t.is_initial and t.project_id = ?"
        f" and {day.format('t.changed_at')} between ? and ? and t.from_status_category <> 'done'"
        " group by 1",
        [eng, start, end],
    )
    assert {r[0]: (num(r[2]), num(r[3])) for r in rows} == {
        s: (n, round(avg, 1)) for s, n, avg in stays
    }

    # Cycle time: from the first move into an in-progress status to resolution.
    per_issue = synced.sql(
        "with s as (select issue_id, min(changed_at) started from issue_status_transitions"
        " where to_status_category = 'indeterminate' group by 1)"
        " select epoch(e.resolved_at - s.started) / 86400 from issue_enhanced e"
        " join s on s.issue_id = e.issue_id where e.project_id = ? and s.started <= e.resolved_at"
        f" and {day.format('e.resolved_at')} between ? and ?",
        [eng, start, end],
    )
    days = [r[0] for r in per_issue]
    _, rows = chart_table(page.text, "cycle_time")
    overall = rows[-1]
    assert overall[0] == "all" and num(overall[1]) == len(days) > 0
    for cell, q in zip(overall[2:], (50, 85, 95), strict=True):
        assert num(cell) == round(float(np.percentile(days, q)), 1)

    # Velocity: ENG's sprints that started in the range.
    # (The sandbox's sprints start from October 2025: a range of their own, so the
    # comparison is not of two empty lists.)
    sprint_range = {"project": "ENG", "from": "2025-11-01", "to": "2026-01-31"}
    _, rows = chart_table(client.get("/", params=sprint_range).text, "velocity")
    sprints = synced.sql(
        "select sprint_name, committed_story_points, completed_story_points,"
        " committed_issue_count, completed_issue_count from sprint_enhanced"
        f" where project_id = ? and {day.format('start_at')} between ? and ? order by start_at",
        [eng, sprint_range["from"], sprint_range["to"]],
    )
    assert [(r[1], *(maybe(c) for c in r[4:8])) for r in rows] == [
        (n, *(None if v is None else round(float(v), 1) for v in counts)) for n, *counts in sprints
    ]
    assert len(sprints) >= 2 and any(c for _, c, *_ in sprints)  # some carry points
    everything_eng = synced.sql(
        "select count(*) from sprint_enhanced where project_id = ? and start_at is not null",
        [eng],
    )[0][0]
    assert len(sprints) < everything_eng  # the range left some out

    # Worklog: hours per person, from the raw worklogs of ENG's issues.
    _, rows = chart_table(page.text, "worklog")
    hours = synced.sql(
        "select w.author_id, sum(w.time_spent_seconds) / 3600.0 from worklogs w"
        " join issues i on i.id = w.issue_id where i.project_id = ? and not i.is_deleted"
        f" and not w.is_deleted and {day.format('w.started_at')} between ? and ? group by 1",
        [eng, start, end],
    )
    assert abs(sum(num(r[2]) for r in rows) - sum(h for _, h in hours)) < 0.05 * len(rows) + 0.01
    assert len({r[1] for r in rows}) == len(hours) > 0
    # ... and per person and week (Monday weeks), with the number of worklogs.
    weekly = synced.sql(
        f"select cast(date_trunc('week', {day.format('w.started_at')}) as date),"
        " coalesce(u.display_name, w.author_id), sum(w.time_spent_seconds) / 3600.0, count(*)"
        " from worklogs w join issues i on i.id = w.issue_id"
        " left join users u on u.id = w.author_id where i.project_id = ? and not i.is_deleted"
        f" and not w.is_deleted and {day.format('w.started_at')} between ? and ?"
        " group by 1, w.author_id, 2",
        [eng, start, end],
    )
    assert sorted((r[0], r[1], num(r[2]), num(r[3])) for r in rows) == sorted(
        (w.isoformat(), name, round(h, 1), n) for w, name, h, n in weekly
    )
    assert all(date.fromisoformat(r[0]).weekday() == 0 for r in rows)

    # Cumulative flow: at the end of each week, ENG's issues created so far, by the
    # category of the status each was in then (its last status change up to that day,
    # from the raw changelog's transitions model).
    head, rows = chart_table(page.text, "cumulative_flow")
    assert head == ["day", "To Do", "In Progress", "Done"]
    labels = {"new": 1, "indeterminate": 2, "done": 3}
    for row in rows[::4]:  # every fourth week: a few past days
        as_of = synced.sql(
            "with last as (select t.issue_id, t.to_status_category as category,"
            " row_number() over (partition by t.issue_id order by t.changed_at desc) as n"
            " from issue_status_transitions t"
            f" where {day.format('t.changed_at')} <= ?)"
            " select category, count(*) from last join issues i on i.id = last.issue_id"
            f" where n = 1 and i.project_id = ? and not i.is_deleted"
            f" and {day.format('i.created_at')} <= ? group by 1",
            [row[0], eng, row[0]],
        )
        shown = [num(c) for c in row[1:]]
        want = [0.0, 0.0, 0.0]
        for category, n in as_of:
            want[labels[category] - 1] += n
        assert shown == want, (row, as_of)
    assert len(rows) > 4

    # Oldest open: ENG's open issues created in the range, oldest first.
    _, rows = chart_table(page.text, "oldest_open")
    oldest = synced.sql(
        "select issue_key from issue_enhanced where not is_resolved and project_id = ?"
        f" and {day.format('created_at')} between ? and ? order by created_at, issue_key"
        f" limit {OLDEST_OPEN}",
        [eng, start, end],
    )
    assert [r[0] for r in rows] == [k for (k,) in oldest]

    # The provider says the same as the page.
    health = source.project_health(Viewer(), HealthFilters("ENG", None, start, end))
    assert [c.key for c in health.charts] == list(CHARTS)
    assert health.bucket == "week"


def test_cumulative_flow_ends_at_the_current_statuses(client: httpx.Client, synced: Synced):
    page = client.get("/", params={"project": "OPS"})
    head, rows = chart_table(page.text, "cumulative_flow")
    assert head == ["day", "To Do", "In Progress", "Done"]
    assert rows[-1][0] == utc_today().isoformat()
    now = dict(
        synced.sql(
            "select status_category, count(*) from issue_enhanced where project_key = 'OPS'"
            " group by 1"
        )
    )
    assert [num(c) for c in rows[-1][1:]] == [
        now.get("new", 0),
        now.get("indeterminate", 0),
        now.get("done", 0),
    ]


def test_filters_change_the_numbers(client: httpx.Client, synced: Synced):
    def totals(**query: str) -> tuple[float, float]:
        page = client.get("/", params=query)
        assert page.status_code == 200, page.text
        _, rows = chart_table(page.text, "created_vs_resolved")
        return num(rows[-1][-2]), num(rows[-1][-1])

    everything = totals()
    assert everything[0] == synced.sql("select count(*) from issue_enhanced")[0][0]
    by_project = {key: totals(project=key) for key in ("ENG", "OPS", "MKT")}
    assert all(t[0] < everything[0] for t in by_project.values())
    assert sum(t[0] for t in by_project.values()) == everything[0]
    # A board stands for its project's issues (and its own sprints).
    board, project = synced.sql(
        "select b.id, p.key from boards b join projects p on p.id = b.project_id order by b.id"
    )[1]
    assert totals(board=str(board)) == by_project[project]
    # ... and its own sprints: the velocity table lists exactly those started in the range.
    page = client.get("/", params={"board": str(board)})
    _, rows = chart_table(page.text, "velocity")
    sprints = synced.sql(
        "select sprint_name from sprint_enhanced where board_id = ? and start_at is not null"
        " order by start_at, sprint_id",
        [board],
    )
    assert [r[1] for r in rows] == [n for (n,) in sprints] and sprints
    other = synced.sql("select count(*) from sprint_enhanced where board_id <> ?", [board])
    assert other[0][0] > 0  # so the board's filter left some out
    # A range narrows the count to what was created in it.
    assert (
        totals(**{"from": "2025-01-01", "to": "2025-03-31"})[0]
        == (
            synced.sql(
                "select count(*) from issue_enhanced where CAST(created_at AT TIME ZONE 'UTC' AS"
                " DATE) between '2025-01-01' and '2025-03-31'"
            )[0][0]
        )
    )


def test_worklog_series_are_the_people_who_logged_most(client: httpx.Client, synced: Synced):
    page = client.get("/")
    spec = json.loads(
        re.search(r'id="worklog-spec">(.*?)</script>', page.text, re.S).group(1)  # type: ignore[union-attr]
    )
    people = synced.sql(
        "select count(distinct w.author_id) from worklogs w join issues i on i.id = w.issue_id"
        " where not w.is_deleted and not i.is_deleted"
    )[0][0]
    series = spec["encoding"]["color"]["scale"]["domain"]
    assert len(series) == min(people, WORKLOG_PEOPLE) + (1 if people > WORKLOG_PEOPLE else 0)
    assert ("others" in series) == (people > WORKLOG_PEOPLE)
    assert page.text.count('data-series="') == 7


def test_a_hostile_summary_stays_data(client: httpx.Client):
    page = client.get("/")
    # Inside the chart data, "<" is escaped so no value can end the script element; in
    # the tables it is HTML-escaped.
    specs = re.findall(r'type="application/json" id="[\w-]+">(.*?)</script>', page.text, re.S)
    assert len(specs) == 7
    for spec in specs:
        assert "<" not in spec
        json.loads(spec)
    oldest = json.loads(next(s for s in specs if "oldest" in s))
    assert any(HOSTILE[:24] in row["category"] for row in oldest["data"]["values"])
    assert "&lt;/script&gt;&lt;script&gt;alert(" in page.text
    assert '<script>alert("x")' not in page.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"project": "NOPE"}, "There is no project 'NOPE' in this warehouse; choose one of ENG"),
        ({"from": "05/01/2025"}, "'from' must be a date like 2026-03-01"),
        ({"board": "first"}, "'board' must be a board's number"),
        ({"board": "999"}, "There is no board 999"),
        ({"from": "2025-06-01", "to": "2025-01-01"}, "The range starts (2025-06-01) after it ends"),
    ],
)
def test_bad_filters_are_said_beside_the_form(
    client: httpx.Client, query: dict[str, str], message: str
):
    page = client.get("/", params=query)
    assert page.status_code == 400
    assert 'role="alert"' in page.text and message in html.unescape(page.text)
    assert '<form method="get"' in page.text  # the form stays, to fix the filter
    assert '<section class="chart"' not in page.text


def test_a_board_of_another_project_is_refused(client: httpx.Client, synced: Synced):
    board, name, key = synced.sql(
        "select b.id, b.name, p.key from boards b join projects p on p.id = b.project_id"
        " where p.key <> 'ENG' order by b.id"
    )[0]
    page = client.get("/", params={"project": "ENG", "board": str(board)})
    assert page.status_code == 400
    assert f"Board '{name}' belongs to project {key}, not ENG" in html.unescape(page.text)


def test_unknown_pages_are_404_pages(client: httpx.Client):
    page = client.get("/nowhere")
    assert page.status_code == 404 and "<h1>Not found</h1>" in page.text


# -- the warehouse busy, missing or unfinished ------------------------------------------


@pytest.fixture
def copy(synced: Synced, tmp_path: Path) -> Path:
    target = tmp_path / "copy.duckdb"
    shutil.copy(synced.db, target)
    return target


HOLD = (
    "import duckdb, sys, time\n"
    "con = duckdb.connect(sys.argv[1])\n"
    "print('holding', flush=True)\n"
    "sys.stdin.read()\n"
)


def test_a_file_another_program_writes_is_a_page_not_a_500(copy: Path):
    app = app_for(source_for(f"duckdb:///{copy}"))
    with subprocess.Popen(
        [sys.executable, "-c", HOLD, str(copy)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        with client_for(app) as c:
            for path in ("/", "/drift"):
                page = c.get(path)
                assert page.status_code == 503, page.text
                assert page.headers["retry-after"] == "5"
                assert "is locked by another program writing it" in page.text
            syncs = c.get("/syncs")  # still a page: the notice says why there are no runs
            assert syncs.status_code == 200 and "is locked by another program" in syncs.text
        holder.communicate("")
    with client_for(app) as c:
        assert c.get("/").status_code == 200  # let go: the pages come back


def test_while_a_sync_runs_the_file_is_left_alone(copy: Path):
    source = source_for(f"duckdb:///{copy}")
    app = app_for(source)
    with client_for(app) as c:
        before = c.get("/syncs")
        runs = re.findall(r'<tr data-run="(\w+)"', before.text)
        assert len(runs) == 3
        with ProgressWriter(source.warehouse) as live:
            live.rows("issues", 40, 160)
            live.phase("issues")  # written at once, with the rows so far
            # The file is not even opened: a sync's next open would fail if it were.
            copy.rename(copy.with_suffix(".away"))
            page = c.get("/")
            assert page.status_code == 503
            assert "A sync is writing" in page.text and "(issues)" in page.text
            syncs = c.get("/syncs/live")
            assert syncs.status_code == 200
            assert '<section class="live is-running"' in syncs.text
            assert 'id="live-phase">issues' in syncs.text
            assert '<progress max="160" value="40"' in syncs.text
            assert "the runs below are as last read" in syncs.text
            assert re.findall(r'<tr data-run="(\w+)"', syncs.text) == runs  # kept from before
            copy.with_suffix(".away").rename(copy)
            live.finish("succeeded")
        after = c.get("/syncs/live")
        assert "Last sync succeeded" in after.text and "is-running" not in after.text


def test_a_sync_that_vanished_is_said(copy: Path):
    source = source_for(f"duckdb:///{copy}")
    code = (
        "import sys\n"
        "from jirakit.sync.destination import warehouse_for\n"
        "from jirakit.sync.progress import ProgressWriter\n"
        "ProgressWriter(warehouse_for(sys.argv[1])).__enter__().phase('loading')\n"
        "import os; os._exit(9)\n"
    )
    subprocess.run([sys.executable, "-c", code, f"duckdb:///{copy}"], check=False)
    with client_for(app_for(source)) as c:
        live = c.get("/syncs/live")
        assert "Last sync stopped without finishing" in live.text
        assert "Its process is gone" in live.text
        assert c.get("/").status_code == 200  # nothing runs: the file is read


def test_no_warehouse_yet_and_no_models_yet(tmp_path: Path):
    missing = app_for(source_for(f"duckdb:///{tmp_path / 'later.duckdb'}"))
    with client_for(missing) as c:
        page = c.get("/")
        assert page.status_code == 503 and "does not exist yet: run `jirakit sync" in page.text
        assert c.get("/syncs").status_code == 200
    import duckdb

    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with client_for(app_for(source_for(f"duckdb:///{empty}"))) as c:
        page = c.get("/")
        assert (
            page.status_code == 503 and "has no projects, boards, issue_enhanced yet" in page.text
        )
        assert "No run recorded yet." in c.get("/syncs").text
        assert "No drift yet" in c.get("/drift").text


# -- access ---------------------------------------------------------------------------


def test_security_headers_and_loopback_only(client: httpx.Client):
    page = client.get("/")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe" not in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    for host in ("127.0.0.1:8050", "localhost:8050", "[::1]:8050"):
        assert client.get("/", headers={"host": host}).status_code == 200
    # A name pointed at 127.0.0.1 by someone else's DNS (rebinding) is refused.
    rebound = client.get("/", headers={"host": "attacker.example:8050"})
    assert rebound.status_code == 421 and "loopback" in rebound.text


def test_token_login_sessions_and_csrf(source: WarehouseSource):
    app = app_for(source, access=TokenAccess(SECRET))
    with client_for(app, base="http://dash.example") as c:
        first = c.get("/?project=ENG")
        assert first.status_code == 303
        assert first.headers["location"] == "/login?next=%2F%3Fproject%3DENG"
        assert c.get("/syncs/live").status_code == 401  # data endpoints: no redirect
        form = c.get("/login?next=/drift")
        assert form.status_code == 200
        cookie = form.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        assert 'name="next" value="/drift"' in form.text
        # Before logging in, nothing says what the data is or which pages there are.
        nowhere = c.get("/nowhere")
        for page in (form, nowhere):
            assert source.describe() not in page.text and "Schema drift" not in page.text

        no_csrf = c.post("/login", data={"token": SECRET, "next": "/drift"})
        assert no_csrf.status_code == 403 and "This form has expired" in no_csrf.text
        wrong = c.post("/login", data={"token": "guess", "csrf_token": csrf, "next": "/drift"})
        assert wrong.status_code == 401 and "That token is not right." in wrong.text
        assert SECRET not in wrong.text

        anonymous = c.cookies.get("jirakit_session")
        ok = c.post("/login", data={"token": SECRET, "csrf_token": csrf, "next": "/drift"})
        assert ok.status_code == 303 and ok.headers["location"] == "/drift"
        session = c.cookies.get("jirakit_session")
        assert session and session != anonymous  # a new id on login
        assert c.get("/drift").status_code == 200
        page = c.get("/")
        assert page.status_code == 200 and "Log out" in page.text
        assert source.describe() in page.text and "Schema drift" in page.text

        # Logging out needs the session's CSRF token, and revokes the session.
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        assert c.post("/logout", data={}).status_code == 403
        out = c.post("/logout", data={"csrf_token": csrf})
        assert out.status_code == 303 and out.headers["location"] == "/login"
        c.cookies.set("jirakit_session", session)
        assert c.get("/").status_code == 303  # the old cookie opens nothing now

    # Scripts: the token as a Bearer credential, no session needed.
    with client_for(app) as c:
        assert (
            c.get("/syncs/live", headers={"authorization": f"Bearer {SECRET}"}).status_code == 200
        )
        assert c.get("/syncs/live", headers={"authorization": "Bearer guess"}).status_code == 401


def test_login_goes_back_only_to_this_app(source: WarehouseSource):
    app = app_for(source, access=TokenAccess(SECRET))
    with client_for(app) as c:
        for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
            form = c.get("/login", params={"next": target})
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
            ok = c.post("/login", data={"token": SECRET, "csrf_token": csrf, "next": target})
            assert ok.headers["location"] == "/"
            c.cookies.clear()


def test_a_short_token_is_refused():
    with pytest.raises(ValueError, match="at least 16 characters"):
        TokenAccess("short")


def test_mounted_under_a_prefix_every_link_keeps_it(source: WarehouseSource):
    ui = app_for(source, access=TokenAccess(SECRET))
    parent = Starlette(routes=[Mount("/ui", app=ui)])
    with client_for(parent) as c:
        assert c.get("/ui/").headers["location"] == "/ui/login?next=%2F"
        form = c.get("/ui/login?next=/ui/syncs")
        assert 'action="/ui/login"' in form.text and 'href="/ui/static/app.css"' in form.text
        assert "Path=/ui/" in form.headers["set-cookie"]
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        ok = c.post("/ui/login", data={"token": SECRET, "csrf_token": csrf, "next": "/syncs"})
        assert ok.headers["location"] == "/ui/syncs"
        page = c.get("/ui/")
        assert page.status_code == 200
        links = set(re.findall(r'(?:href|src|action|data-poll)="(/[^"#]*)"', page.text))
        assert links and all(link.startswith("/ui/") for link in links), links
        for asset in ("static/app.js", "static/vendor/vega.min.js"):
            assert c.get(f"/ui/{asset}").status_code == 200
        syncs = c.get("/ui/syncs")
        assert 'data-poll="/ui/syncs/live"' in syncs.text


# -- Postgres: the same pages from the same SQL ------------------------------------------


@pytest.fixture(scope="module")
def pg_schema(synced: Synced, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_postgres()  # the suite's gate: a failure in CI, a skip saying how locally
    psycopg = require_module("psycopg")
    from jirakit import BasicAuth, Jira
    from jirakit.sync.pipeline import run_sync

    schema = f"ui15_{uuid.uuid4().hex[:10]}"
    state = tmp_path_factory.mktemp("pg-state")
    try:
        with Jira(synced.url, auth=BasicAuth("admin@example.com", "sandbox-token")) as jira:
            result = run_sync(
                jira, warehouse=warehouse_for(pg_url(), schema), pipelines_dir=str(state)
            )
        assert result.status == "succeeded"
        yield schema
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as con:
            con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.mark.postgres
def test_postgres_gives_the_same_pages(pg_schema: str, synced: Synced):
    pg = source_for(pg_url(), pg_schema)
    duck = source_for(synced.dest)
    filters = HealthFilters("ENG", None, date(2024, 6, 1), date(2025, 12, 31))
    on_pg = pg.project_health(Viewer(), filters)
    on_duck = duck.project_health(Viewer(), filters)
    for a, b in zip(on_pg.charts, on_duck.charts, strict=True):
        if a.key == "oldest_open":  # ages are measured now, a moment apart
            assert [r[0] for r in a.table.rows] == [r[0] for r in b.table.rows]
            continue
        if a.key == "worklog":  # the same people and hours; ties in name order may differ
            assert sorted(a.table.rows) == sorted(b.table.rows)
            continue
        assert a.table == b.table, a.key
    with client_for(app_for(pg)) as c:
        assert c.get("/").status_code == 200
        syncs = c.get("/syncs")
        assert syncs.status_code == 200 and 'data-status="succeeded"' in syncs.text
        assert c.get("/drift").status_code == 200
    down = source_for("postgresql://postgres@127.0.0.1:9/test")
    with client_for(app_for(down)) as c:
        page = c.get("/")
        assert page.status_code == 503 and "Cannot reach Postgres" in page.text


def test_the_ui_extra_is_enough(synced: Synced):
    """The dashboard reads the warehouse without the sync extra's heavy parts."""
    code = (
        "import sys\n"
        "for name in ('dlt', 'pyarrow', 'matplotlib'):\n"
        "    sys.modules[name] = None\n"
        "import httpx\n"
        "from jirakit.sync.destination import warehouse_for\n"
        "from jirakit.testing.asgi import SyncASGITransport\n"
        "from jirakit.ui import Providers, WarehouseSource, create_app\n"
        "s = WarehouseSource(warehouse_for(sys.argv[1]))\n"
        "app = create_app(Providers(analytics=s, sync_runs=s, drift=s))\n"
        "with httpx.Client(transport=SyncASGITransport(app), base_url='http://127.0.0.1') as c:\n"
        "    print(*(c.get(p).status_code for p in ('/', '/syncs', '/drift')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, synced.dest], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["200", "200", "200"]


def test_jirakit_dashboard_off_loopback_serves_with_the_token(synced: Synced):
    """`jirakit dashboard --host 0.0.0.0 --port 0` with a token: it listens on every
    interface, and answers pages only to the token (a script's Bearer here)."""
    token = "off-loopback-token-0123456789"
    command = [sys.executable, "-m", "jirakit", "dashboard", "--dest", synced.dest]
    proc = subprocess.Popen(
        [*command, "--host", "0.0.0.0", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "JIRAKIT_DASHBOARD_TOKEN": token},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(
            r"at http://<this machine's address>:(\d+)/ \(log in with the token", line
        )
        assert found, line
        base = f"http://127.0.0.1:{found.group(1)}"
        with httpx.Client(base_url=base, headers={"Host": "dashboard.example"}) as http:
            refused = http.get("/syncs")
            assert refused.status_code == 303
            assert refused.headers["location"] == "/login?next=%2Fsyncs"
            page = http.get("/syncs", headers={"Authorization": f"Bearer {token}"})
            assert page.status_code == 200 and 'data-run="' in page.text
            wrong = http.get("/syncs", headers={"Authorization": "Bearer not-the-token"})
            assert wrong.status_code == 303
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert token not in err  # the warning about plain http, never the token
    assert "plain http sends the token" in err
