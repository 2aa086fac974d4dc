"""The sync against the sandbox over HTTP semantics: the warehouse equals the ground truth."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from jirakit import BasicAuth, Jira
from jirakit.sandbox import Sandbox
from jirakit.sync.pipeline import run_sync, warehouse_for
from jirakit.sync.source import FatalSyncError, SyncOptions
from jirakit.sync.transform import utc
from jirakit.testing.asgi import SyncASGITransport
from needs import pg_url, require_module, require_postgres

EMAIL, TOKEN = "admin@example.com", "sandbox-token"


@pytest.fixture
def site() -> Iterator[tuple[Sandbox, Jira]]:
    sandbox = Sandbox(seed=11, issues=120)
    transport = SyncASGITransport(sandbox.app)
    with Jira("http://sandbox.local", auth=BasicAuth(EMAIL, TOKEN), transport=transport) as jira:
        yield sandbox, jira
    transport.close()


def sync(jira: Jira, tmp: Path, **options: Any) -> Any:
    return run_sync(
        jira,
        warehouse=warehouse_for(f"duckdb:///{tmp / 'jira.duckdb'}"),
        pipelines_dir=str(tmp / "pipelines"),
        options=SyncOptions(streams=("metadata", "issues"), **options),
    )


def query(tmp: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(tmp / "jira.duckdb"), read_only=True)
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()


def truth(jira: Jira) -> dict[int, dict[str, Any]]:
    """Every issue as the API shows it now, with full history and comments."""
    ids = [int(i.id) for i in jira.search.iter('updated >= "1970-01-01"', page_size=5000)]
    issues = jira.issues.bulk_fetch(ids, fields=["*all"]).issues
    out: dict[int, dict[str, Any]] = {int(i.id): {"issue": i.raw, "history": []} for i in issues}
    for start in range(0, len(ids), 1000):
        for log in jira.changelogs.bulk_fetch(ids[start : start + 1000]):
            out[int(log.issue_id)]["history"].extend(log.histories)
    return out


def digest(*values: Any) -> str:
    return hashlib.sha1(json.dumps(values, default=str, sort_keys=True).encode()).hexdigest()


def test_full_then_incremental_sync_matches_jira(site, tmp_path):
    _, jira = site
    first = sync(jira, tmp_path)
    assert first.status == "succeeded"
    expected = truth(jira)

    # Row counts and per-row content.
    assert query(tmp_path, "select count(*) from issues where not is_deleted") == [(len(expected),)]
    rows = query(tmp_path, "select id, key, summary, status, updated_at from issues")
    got = {r[0]: digest(r[1], r[2], r[3], r[4].isoformat()) for r in rows}
    want = {
        i: digest(
            t["issue"]["key"],
            t["issue"]["fields"]["summary"],
            t["issue"]["fields"]["status"]["name"],
            utc(t["issue"]["fields"]["updated"]).isoformat(),
        )
        for i, t in expected.items()
    }
    assert got == want
    items = sum(len(h.get("items") or []) for t in expected.values() for h in t["history"])
    assert query(tmp_path, "select count(*) from issue_field_history") == [(items,)]
    comments = sum(
        len((t["issue"]["fields"].get("comment") or {}).get("comments") or [])
        for t in expected.values()
    )
    assert query(tmp_path, "select count(*) from comments where not is_deleted") == [(comments,)]

    # Change things, then sync incrementally.
    keys = sorted(
        (t["issue"]["key"] for t in expected.values()), key=lambda k: int(k.split("-")[1])
    )
    jira.issues.edit(keys[0], summary="Edited after the first sync")
    jira.transitions.do(keys[1], to=jira.transitions.list(keys[1])[0].to.name)
    victim = next(t["issue"] for t in expected.values() if not t["issue"]["fields"].get("subtasks"))
    jira.issues.delete(victim["key"])
    with_comment = next(
        t["issue"]
        for t in expected.values()
        if (t["issue"]["fields"].get("comment") or {}).get("comments")
        and t["issue"]["id"] != victim["id"]
    )
    comment_id = with_comment["fields"]["comment"]["comments"][0]["id"]
    jira.comments.delete(with_comment["key"], comment_id)

    second = sync(jira, tmp_path)
    assert second.run.cursor_from is not None
    assert second.run.cursor_from < first.run.started_at  # lookback
    assert second.rows["issues"] < len(expected)  # only what changed was fetched
    assert query(tmp_path, f"select summary from issues where key = '{keys[0]}'") == [
        ("Edited after the first sync",)
    ]
    assert query(
        tmp_path,
        f"select is_deleted, deleted_at is not null from issues where id = {victim['id']}",
    ) == [(True, True)]
    assert query(tmp_path, f"select is_deleted from comments where id = {comment_id}") == [(True,)]
    status_now = jira.issues.get(keys[1], fields=["status"]).status.name
    assert query(tmp_path, f"select status from issues where key = '{keys[1]}'") == [(status_now,)]
    runs = query(tmp_path, "select status, requests > 0 from _sync_runs order by started_at")
    assert runs == [("succeeded", True), ("succeeded", True)]


def test_many_small_batches_give_the_same_warehouse(site, tmp_path, monkeypatch):
    """Batches of 7 issues fetched 3 at a time, the fetch window running across batch
    boundaries: every issue once, every history item of every issue, nothing twice."""
    from jirakit.sync import source

    monkeypatch.setattr(source, "CHANGELOG_BATCH", 7)
    monkeypatch.setattr(source, "BULK", 3)
    _, jira = site
    result = sync(jira, tmp_path)
    assert result.status == "succeeded"
    expected = truth(jira)
    assert query(tmp_path, "select count(*), count(distinct id) from issues") == [
        (len(expected), len(expected))
    ]
    want = sorted(
        (i, int(h["id"]), len(h.get("items") or []))
        for i, t in expected.items()
        for h in t["history"]
    )
    got = query(
        tmp_path,
        "select issue_id, history_id, count(*) from issue_field_history "
        "group by issue_id, history_id order by issue_id, history_id",
    )
    assert got == [w for w in want if w[2]]
    assert result.rows["issues"] == len(expected) == 120  # 18 batches, the last of 1


def test_hostile_field_names_become_friendly_columns(site, tmp_path):
    _, jira = site
    sync(jira, tmp_path)
    mapping = dict(query(tmp_path, "select name, column_name from fields where custom"))
    assert mapping["🔥 Hotness"] == "hotness"
    assert mapping["3rd Party Ref"] == "f_3rd_party_ref"
    assert mapping["Customer / Account #"] == "customer_account"
    severities = sorted(
        c
        for n, c in query(tmp_path, "select name, column_name from fields where custom")
        if n == "Severity"
    )
    assert severities[0] == "severity" and severities[1].startswith("severity_")
    columns = {
        r[0]
        for r in query(
            tmp_path,
            "select column_name from information_schema.columns where table_name = 'issues'",
        )
    }
    assert {"hotness", "f_3rd_party_ref", "customer_account", "story_points"} <= columns


def test_columns_are_typed_from_the_contract_and_files_load_as_extracted(site, tmp_path):
    _, jira = site
    sync(jira, tmp_path)
    kinds = dict(
        query(
            tmp_path,
            "select column_name, data_type from information_schema.columns "
            "where table_name = 'issues'",
        )
    )
    assert kinds["id"] == "BIGINT" and kinds["created_at"] == "TIMESTAMP WITH TIME ZONE"
    assert kinds["due_date"] == "DATE" and kinds["raw"] == "JSON" and kinds["labels"] == "JSON"
    assert kinds["hotness"] == "DOUBLE"  # a number custom field
    assert kinds["epic_link"] == "VARCHAR"  # schema type "any", a key in practice
    assert "_dlt_load_id" in kinds
    # No column is a variant (``x__v_text``): every batch had the declared types.
    assert not [c for c in kinds if "__v_" in c]
    raw, key = query(tmp_path, "select raw, key from issues order by id limit 1")[0]
    assert json.loads(raw)["key"] == key
    # Rows went to dlt as Arrow tables: the load package's data files are Parquet (the
    # ``.sql`` files are dlt's merge statements).
    loaded = list((tmp_path / "pipelines").glob("*/load/loaded/*/completed_jobs/*.*"))
    data = [
        p.name
        for p in loaded
        if p.name.startswith(("issues.", "issue_field_history.", "comments."))
        and not p.name.endswith(".sql")
    ]
    assert data and all(n.endswith(".parquet") for n in data)


def test_boards_and_every_sprint_come_from_the_agile_api(site, tmp_path):
    sandbox, jira = site
    # A future sprint nobody has put an issue in yet: only the Agile API knows it.
    board = next(b for b in sandbox.store.boards.values() if b["type"] == "scrum")
    empty = jira.sprints.create(board["id"], "Sprint nobody planned yet")
    sync(jira, tmp_path)
    boards = query(tmp_path, "select id, name, type, project_id from boards order by id")
    assert boards == [
        (b["id"], b["name"], b["type"], b["location"]["projectId"])
        for b in sorted(sandbox.store.boards.values(), key=lambda b: b["id"])
    ]
    sprints = dict(query(tmp_path, "select id, board_id from sprints"))
    assert sprints == {s["id"]: s["boardId"] for s in sandbox.store.sprints.values()}
    assert sprints[empty.id] == board["id"]
    assert query(tmp_path, f"select state, name from sprints where id = {empty.id}") == [
        ("future", "Sprint nobody planned yet")
    ]


def test_bad_credentials_are_fatal_and_leave_the_cursor(site, tmp_path):
    sandbox, jira = site
    sync(jira, tmp_path)
    cursor_before = query(tmp_path, "select max(cursor_to) from _sync_runs")
    transport = SyncASGITransport(sandbox.app)
    with Jira("http://sandbox.local", auth=BasicAuth(EMAIL, "wrong"), transport=transport) as bad:
        with pytest.raises(FatalSyncError, match="check the email and API token"):
            sync(bad, tmp_path)
    transport.close()
    assert (
        query(tmp_path, "select max(cursor_to) from _sync_runs where status = 'succeeded'")
        == cursor_before
    )


@pytest.mark.parametrize(
    "dialect", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_sync_into_a_named_dataset(site, tmp_path, dialect):
    """The same sync into a dataset of its own on DuckDB and on Postgres: every issue, the
    models, and timestamps typed with their time zone."""
    _, jira = site
    dataset = f"jirakit_test_{uuid.uuid4().hex[:12]}"  # unique: runs may share the server
    if dialect == "postgres":
        psycopg = require_module("psycopg")
        dsn = require_postgres()
        warehouse = warehouse_for(pg_url(), dataset)
        connect: Any = lambda: psycopg.connect(dsn, autocommit=True)  # noqa: E731
        timestamptz = "timestamp with time zone"
    else:
        db = tmp_path / "named.duckdb"
        warehouse = warehouse_for(f"duckdb:///{db}", dataset)
        connect = lambda: duckdb.connect(str(db))  # noqa: E731
        timestamptz = "TIMESTAMP WITH TIME ZONE"
    try:
        result = run_sync(
            jira,
            warehouse=warehouse,
            pipelines_dir=str(tmp_path / "state"),
            options=SyncOptions(streams=("metadata", "issues")),
        )
        assert result.models["issue_enhanced"] == 120
        # Again: the models are maintained incrementally, on both databases.
        again = run_sync(
            jira,
            warehouse=warehouse,
            pipelines_dir=str(tmp_path / "state"),
            options=SyncOptions(streams=("metadata", "issues")),
        )
        assert again.models_mode == "incremental"
        assert again.models["issue_enhanced"] == 120
        conn = connect()
        try:
            total, deleted = conn.execute(
                f"select count(*), count(*) filter (where is_deleted) from {dataset}.issues"
            ).fetchone()
            assert (total, deleted) == (120, 0)
            enhanced = conn.execute(f"select count(*) from {dataset}.issue_enhanced").fetchone()
            assert enhanced == (120,)
            kind = conn.execute(
                "select data_type from information_schema.columns where table_schema = "
                f"'{dataset}' and table_name = 'issues' and column_name = 'created_at'"
            ).fetchone()
            assert kind == (timestamptz,)
        finally:
            conn.close()
    finally:
        if dialect == "postgres":
            with connect() as conn:
                conn.execute(f"drop schema if exists {dataset} cascade")
                conn.execute(f"drop schema if exists {dataset}_staging cascade")


def test_a_failed_full_refresh_keeps_data_and_cursor(site, tmp_path):
    sandbox, jira = site
    first = sync(jira, tmp_path)
    loaded = query(tmp_path, "select count(*) from issues")

    inner = SyncASGITransport(sandbox.app)

    def broken(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/issue/bulkfetch"):
            return httpx.Response(404, json={"errorMessages": ["gateway says no"]})
        return inner.handle_request(request)

    with Jira(
        "http://sandbox.local", auth=BasicAuth(EMAIL, TOKEN), transport=httpx.MockTransport(broken)
    ) as flaky:
        with pytest.raises(FatalSyncError, match="404 while reading issue details"):
            sync(flaky, tmp_path, full_refresh=True)
    inner.close()
    assert query(tmp_path, "select count(*) from issues") == loaded
    statuses = query(tmp_path, "select status from _sync_runs order by started_at")
    assert statuses == [("succeeded",), ("failed",)]
    again = sync(jira, tmp_path)  # incremental: the cursor survived
    assert again.run.cursor_from is not None
    assert again.run.cursor_from < first.run.started_at


def _history(tmp: Path) -> tuple[list[Any], list[Any]]:
    """The run and drift history, JSON columns as documents (their text's spacing is the
    writer's)."""
    runs = [
        (r[0], r[1], r[2], json.loads(r[3]))
        for r in query(tmp, "select run_id, status, started_at, rows from _sync_runs")
    ]
    drift = [
        (r[0], r[1], r[2], json.loads(r[3]) if r[3] else None, json.loads(r[4]) if r[4] else None)
        for r in query(tmp, "select id, kind, field_id, before, after from _drift_events")
    ]
    return sorted(runs), sorted(drift)


def test_a_full_refresh_keeps_the_run_and_drift_history(site, tmp_path):
    sandbox, jira = site
    sync(jira, tmp_path)
    renamed = sandbox.store.field("customfield_10035")
    assert renamed is not None
    renamed["name"] = "Customer ticket (renamed)"
    second = sync(jira, tmp_path)
    assert second.run.drift
    runs_before, drift_before = _history(tmp_path)
    assert len(runs_before) == 2 and drift_before

    refreshed = sync(jira, tmp_path, full_refresh=True)

    assert refreshed.status == "succeeded"
    runs, drift = _history(tmp_path)
    assert [r for r in runs if r[0] != refreshed.run.run_id] == runs_before
    assert len(runs) == 3
    assert drift == drift_before
    mine = f"where run_id = '{refreshed.run.run_id}'"
    assert query(tmp_path, f"select full_refresh from _sync_runs {mine}") == [(True,)]
    # The run's own counts are its own: one run row, no drift, every issue.
    assert refreshed.rows["_sync_runs"] == 1
    assert refreshed.rows.get("_drift_events", 0) == 0
    assert refreshed.rows["issues"] == query(tmp_path, "select count(*) from issues")[0][0]
    recorded = json.loads(query(tmp_path, f"select rows from _sync_runs {mine}")[0][0])
    assert recorded["_sync_runs"] == 1 and recorded["_drift_events"] == 0
    # An incremental run after it still finds its cursor.
    after = sync(jira, tmp_path)
    assert after.status == "succeeded" and after.run.cursor_from is not None


@pytest.mark.postgres
def test_a_full_refresh_keeps_the_history_on_postgres(site, tmp_path):
    """Postgres gives JSON columns back as documents (DuckDB, as text): the kept history
    goes back in unchanged on both."""
    sandbox, jira = site
    psycopg = require_module("psycopg")
    dsn = require_postgres()
    dataset = f"jirakit_test_{uuid.uuid4().hex[:12]}"
    warehouse = warehouse_for(pg_url(), dataset)

    def run(**options: Any) -> Any:
        return run_sync(
            jira,
            warehouse=warehouse,
            pipelines_dir=str(tmp_path / "state"),
            options=SyncOptions(streams=("metadata", "issues"), **options),
        )

    def history(conn: Any) -> tuple[list[Any], list[Any]]:
        runs = conn.execute(f"select run_id, status, rows from {dataset}._sync_runs").fetchall()
        drift = conn.execute(
            f"select id, kind, field_id, before, after from {dataset}._drift_events"
        ).fetchall()
        return sorted(runs), sorted(drift)

    try:
        run()
        renamed = sandbox.store.field("customfield_10035")
        assert renamed is not None
        renamed["name"] = "Customer ticket (renamed)"
        run()
        with psycopg.connect(dsn) as conn:
            runs_before, drift_before = history(conn)
        assert len(runs_before) == 2 and drift_before
        refreshed = run(full_refresh=True)
        assert refreshed.status == "succeeded" and refreshed.rows["_sync_runs"] == 1
        with psycopg.connect(dsn) as conn:
            runs, drift = history(conn)
        assert [r for r in runs if r[0] != refreshed.run.run_id] == runs_before
        assert len(runs) == 3 and drift == drift_before
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"drop schema if exists {dataset} cascade")
            conn.execute(f"drop schema if exists {dataset}_staging cascade")
