"""`jirakit sql` over a synced DuckDB file and the local Postgres, and the demo's closing
hint run exactly as printed."""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from jirakit import BasicAuth, Jira
from jirakit.cli import app
from jirakit.sandbox import Sandbox
from jirakit.sync.pipeline import run_sync, warehouse_for
from jirakit.testing.asgi import SyncASGITransport
from needs import pg_url, require_module, require_postgres

QUERY = (
    "select issue_key, summary, story_points, created_at, is_resolved "
    "from issue_enhanced order by issue_key"
)


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DuckDB file written by a real sync of a 40-issue sandbox (models included)."""
    work = tmp_path_factory.mktemp("sql")
    sandbox = Sandbox(seed=5, issues=40)
    transport = SyncASGITransport(sandbox.app)
    auth = BasicAuth("admin@example.com", "sandbox-token")
    with Jira("http://sandbox.local", auth=auth, transport=transport) as jira:
        result = run_sync(
            jira,
            warehouse=warehouse_for(f"duckdb:///{work / 'jira.duckdb'}"),
            pipelines_dir=str(work / "state"),
        )
    assert result.status == "succeeded"
    return work / "jira.duckdb"


def direct(db: Path, query: str) -> list[tuple[Any, ...]]:
    conn = duckdb.connect(str(db), read_only=True)
    try:
        return [tuple(r) for r in conn.execute(query).fetchall()]
    finally:
        conn.close()


def run(*args: str) -> Any:
    return CliRunner().invoke(app, ["sql", *args], catch_exceptions=False)


def one_error_line(result: Any) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert result.stdout == ""
    return lines[0]


def test_table_of_a_query(synced: Path):
    query = (
        "select status, count(*) as issues from issue_enhanced group by status "
        "order by issues desc, status"
    )
    result = run(query, "--dest", f"duckdb:///{synced}")
    assert result.exit_code == 0, result.output
    expected = direct(synced, query)
    lines = result.stdout.splitlines()
    assert re.match(r"\s*status\s+\S\s+issues\s*$", lines[0])
    body = [line for line in lines if "│" in line]
    assert len(body) == len(expected) > 1
    for line, (status, n) in zip(body, expected, strict=True):
        name, count = (cell.strip() for cell in line.split("│"))
        assert (name, int(count)) == (status, n)
        assert line.index(status) < 3  # text on the left
        assert line.rstrip().endswith(str(n))  # numbers on the right
    assert f"{len(expected)} rows" in result.stdout


def test_csv_and_json_match_the_database(synced: Path):
    expected = direct(synced, QUERY)
    assert len(expected) == 40

    as_csv = run(QUERY, "--dest", f"duckdb:///{synced}", "--format", "csv")
    assert as_csv.exit_code == 0, as_csv.output
    rows = list(csv.reader(io.StringIO(as_csv.stdout)))
    assert rows[0] == ["issue_key", "summary", "story_points", "created_at", "is_resolved"]
    for got, (key, summary, points, created, resolved) in zip(rows[1:], expected, strict=True):
        assert got[:2] == [key, summary]
        assert got[2] == ("" if points is None else str(points))
        assert datetime.fromisoformat(got[3]) == created
        assert got[4] == ("true" if resolved else "false")

    as_json = run(QUERY, "--dest", f"duckdb:///{synced}", "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    items = json.loads(as_json.stdout)
    assert [list(item) for item in items] == [[*rows[0]]] * 40
    for item, (key, summary, points, created, resolved) in zip(items, expected, strict=True):
        assert (item["issue_key"], item["summary"], item["story_points"]) == (key, summary, points)
        assert datetime.fromisoformat(item["created_at"]) == created
        assert item["is_resolved"] is resolved


def test_values_are_printed_as_they_are(synced: Path):
    dest = ["--dest", f"duckdb:///{synced}"]
    result = run("select '[bold]not markup[/bold]' as v, null as n, 1 as n", *dest)
    assert result.exit_code == 0, result.output
    assert "[bold]not markup[/bold]" in result.stdout and "NULL" in result.stdout
    as_json = run("select 1 as n, 2 as n, null as x, [1, 2] as l", *dest, "--format", "json")
    assert json.loads(as_json.stdout) == [{"n": 1, "n_2": 2, "x": None, "l": [1, 2]}]
    empty = run("select 1 as n where false", *dest, "--format", "json")
    assert json.loads(empty.stdout) == []
    many = run("select range, range * 2 as twice from range(50)", *dest, "--max-rows", "5")
    assert len([line for line in many.stdout.splitlines() if "│" in line]) == 5
    assert "first 5 rows" in many.stdout


def test_errors_are_one_line(synced: Path, tmp_path: Path):
    dest = ["--dest", f"duckdb:///{synced}"]
    unknown = one_error_line(run("select * from no_such_table", *dest))
    assert "no_such_table does not exist" in unknown and "LINE" not in unknown
    syntax = one_error_line(run("selec 1", *dest))
    assert "syntax error" in syntax
    missing = one_error_line(run("select 1", "--dest", f"duckdb:///{tmp_path / 'nope.duckdb'}"))
    assert "nope.duckdb does not exist: run `jirakit sync` first" in missing
    assert not (tmp_path / "nope.duckdb").exists()  # not created by looking
    other = one_error_line(run("select 1", "--dest", "bigquery"))
    assert "reads DuckDB or Postgres warehouses" in other
    no_schema = one_error_line(run("select 1", *dest, "--dataset", "nope"))
    assert "dataset 'nope'" in no_schema


def test_the_warehouse_is_opened_read_only(synced: Path):
    dest = ["--dest", f"duckdb:///{synced}"]
    write = one_error_line(run("create table scratch as select 1 as a", *dest))
    assert "read-only" in write
    tables = direct(synced, "select table_name from information_schema.tables")
    assert ("scratch",) not in tables and ("issues",) in tables
    # A process that holds the file for writing (a running sync) locks it: said in a line.
    writer = duckdb.connect(str(synced))
    try:
        locked = one_error_line(run("select 1", *dest))
        report = CliRunner().invoke(app, ["report", *dest, "--out", str(synced.parent / "r")])
    finally:
        writer.close()
    assert f"cannot open {synced}" in locked
    assert one_error_line(report) == locked  # `jirakit report` opens it the same way


def test_dataset_names_the_schema(tmp_path: Path):
    # `jirakit sync --dataset jira` into jira.duckdb: the schema is named like the catalog.
    db = tmp_path / "jira.duckdb"
    conn = duckdb.connect(str(db))
    conn.execute('CREATE SCHEMA "jira"."jira"')
    conn.execute('CREATE TABLE "jira"."jira".issues AS SELECT 7 AS n')
    conn.close()
    result = run("select n from issues", "--dest", f"duckdb:///{db}", "--dataset", "jira")
    assert result.exit_code == 0, result.output
    assert "7" in result.stdout
    one_error_line(run("select n from issues", "--dest", f"duckdb:///{db}"))  # not in main


def test_a_broken_pipe_ends_quietly(synced: Path):
    command = [sys.executable, "-m", "jirakit", "sql", "select * from range(500000)"]
    command += ["--dest", f"duckdb:///{synced}", "--format", "csv"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline() == b"range\n"
    proc.stdout.close()  # `| head -1`
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 0
    assert err == ""


def test_an_unreachable_postgres_is_one_line():
    line = one_error_line(run("select 1", "--dest", "postgresql://u:s3cret@127.0.0.1:9/x"))
    assert line.startswith("error: cannot connect to Postgres:") and "s3cret" not in line


# -- Postgres -------------------------------------------------------------------------------


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A schema of this test's own on the local Postgres, with a small `issues` table."""
    psycopg = require_module("psycopg")
    conn = psycopg.connect(require_postgres(), autocommit=True)
    schema = f"jk_sql_{uuid.uuid4().hex[:12]}"
    conn.execute(f'CREATE SCHEMA "{schema}"')
    conn.execute(
        f'CREATE TABLE "{schema}".issues (key text, points double precision,'
        " created timestamptz, raw jsonb, done boolean)"
    )
    conn.execute(
        f'INSERT INTO "{schema}".issues VALUES'
        " ('P-1', 3, '2026-03-01 10:00+00', '{\"a\": [1, 2]}', true),"
        " ('P-2', NULL, '2026-03-02 11:30+00', NULL, false)"
    )
    try:
        yield schema
    finally:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        conn.close()


@pytest.mark.postgres
def test_postgres(pg_schema: str):
    dest = ["--dest", pg_url(), "--dataset", pg_schema]
    query = "select key, points, created, raw, done from issues order by key"
    table = run(query, *dest)
    assert table.exit_code == 0, table.output
    assert "P-1" in table.stdout and "P-2" in table.stdout and "2 rows" in table.stdout
    items = json.loads(run(query, *dest, "--format", "json").stdout)
    assert items == [
        {
            "key": "P-1",
            "points": 3.0,
            "created": "2026-03-01T10:00:00+00:00",
            "raw": {"a": [1, 2]},
            "done": True,
        },
        {
            "key": "P-2",
            "points": None,
            "created": "2026-03-02T11:30:00+00:00",
            "raw": None,
            "done": False,
        },
    ]
    rows = list(csv.reader(io.StringIO(run(query, *dest, "--format", "csv").stdout)))
    assert rows[1][3] == '{"a": [1, 2]}' and rows[2][1:4:2] == ["", ""]
    error = one_error_line(run("select nope from issues", *dest))
    assert 'column "nope" does not exist' in error and "LINE" not in error
    # Writes are refused, also after ending the read-only transaction by hand.
    write = one_error_line(run("delete from issues", *dest))
    assert "read-only transaction" in write
    one_error_line(run("commit; delete from issues", *dest))
    assert json.loads(
        run("select count(*) as n from issues", *dest, "--format", "json").stdout
    ) == [{"n": 2}]


# -- the demo's hint --------------------------------------------------------------------------


def test_the_demo_hint_runs_as_printed(tmp_path: Path):
    """`jirakit demo` as `make demo` runs it; then its closing hint, pasted into a shell."""
    program = Path(sys.executable).parent / "jirakit"
    assert program.is_file(), "the jirakit console script is installed with the package"
    demo = subprocess.run(
        [str(program), "demo", "--issues", "40"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    lines = demo.stdout.splitlines()
    # It says where the report is, and the report is there (README: ./demo-report/).
    said = [line for line in lines if line.startswith("Charts and HTML report: ")]
    assert len(said) == 1, demo.stdout
    report = tmp_path / said[0].removeprefix("Charts and HTML report: ").strip()
    assert report.resolve() == (tmp_path / "demo-report" / "index.html").resolve()
    assert report.is_file() and "<html" in report.read_text(encoding="utf-8").lower()
    assert (tmp_path / "demo.duckdb").is_file()
    hint = lines[lines.index("Warehouse: demo.duckdb. Query it with SQL:") + 1].strip()
    assert "duckdb demo.duckdb" not in demo.stdout  # no duckdb command-line tool needed
    words = shlex.split(hint)
    assert Path(words[0]).name == "jirakit" and words[1] == "sql"
    assert words[3:] == ["--dest", "duckdb:///demo.duckdb"]

    ran = subprocess.run(
        hint, shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    counts = {
        name.strip(): int(n)
        for name, n in (line.split("│") for line in ran.stdout.splitlines() if "│" in line)
    }
    expected = direct(tmp_path / "demo.duckdb", words[2])
    assert counts == dict(expected)
    assert sum(counts.values()) == 41  # 40 seeded + the one the demo created
