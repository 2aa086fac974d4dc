"""`jirakit sync` errors a user can act on: a bad ``--dest`` is one line before any request,
Jira's own status and words, failures that say what was committed, every started run
recorded (and alerted on), and the extra to install when it is missing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pytest
from starlette.middleware import Middleware

from jirakit import BasicAuth, Jira
from jirakit.sandbox import Sandbox
from jirakit.sandbox.faults import FaultMiddleware, FaultSpec
from jirakit.sync.destination import PASSWORD_ENV, DestinationError, check_destination
from jirakit.sync.drift import DriftEvent
from jirakit.sync.pipeline import run_sync, warehouse_for
from jirakit.sync.source import FatalSyncError, SyncOptions
from needs import require_module, require_postgres

EMAIL, TOKEN = "admin@example.com", "sandbox-token"
ROOT = Path(__file__).resolve().parents[2]


class Recorder:
    """ASGI middleware counting every request that reaches the sandbox."""

    def __init__(self, app: Any, seen: Counter[str]) -> None:
        self.app, self.seen = app, seen

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.seen[f"{scope['method']} {scope['path']}"] += 1
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def counted() -> Iterator[tuple[str, Counter[str]]]:
    seen: Counter[str] = Counter()
    sandbox = Sandbox(seed=41, issues=30, middleware=[Middleware(Recorder, seen=seen)])
    with sandbox.serve() as url:
        yield url, seen


def jirakit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jirakit", *args],
        env={**os.environ, "JIRAKIT_EMAIL": EMAIL, "JIRAKIT_API_TOKEN": TOKEN, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def said(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.strip()]


def bad_dests(tmp: Path) -> list[tuple[str, str]]:
    not_duckdb = tmp / "notes.duckdb"
    not_duckdb.write_text("these are not a database\n")
    return [
        (f"duckdb:///{tmp / 'missing' / 'jira.duckdb'}", "does not exist; create it"),
        ("duckdb://relative.duckdb", "write duckdb:///relative.duckdb or duckdb:////absolute"),
        ("mysql://root@localhost/jira", "unknown scheme 'mysql'; accepted forms: duckdb:///"),
        ("nosuchdestination", "is not a dlt destination"),
        (f"duckdb:///{tmp}", "is a folder"),
        (f"duckdb:///{not_duckdb}", "cannot open"),
        ("postgresql://postgres@127.0.0.1:1/test", "cannot reach Postgres as postgres@127.0.0.1:1"),
        ("postgresql:///test", "needs a user, a host and a database"),
    ]


def test_a_bad_dest_is_one_line_before_any_request(counted, tmp_path: Path):
    url, seen = counted
    for dest, words in bad_dests(tmp_path):
        before = sum(seen.values())
        done = jirakit("sync", "--url", url, "--dest", dest, "--pipelines-dir", str(tmp_path / "s"))
        lines = said(done)
        assert done.returncode == 2, (dest, done.stderr)
        assert len(lines) == 1 and words in lines[0], (dest, lines)
        assert lines[0].startswith("error: --dest"), lines
        assert "Traceback" not in done.stderr
        assert sum(seen.values()) == before, f"{dest}: a request was made"


@pytest.mark.postgres
def test_the_docs_postgres_example_works_as_written(counted, tmp_path: Path):
    """docs/sync.md's Postgres command, with the sandbox's URL for the site's and a dataset
    of this run's own (helpers and CI jobs may share the server)."""
    url, _ = counted
    text = (ROOT / "docs" / "sync.md").read_text()
    found = re.search(r"^jirakit sync (.*--dest postgresql://\S+.*)$", text, re.M)
    assert found, "docs/sync.md has no Postgres example"
    args = found.group(1).split()
    args[args.index("--url") + 1] = url
    server = require_postgres(args[args.index("--dest") + 1])  # the server the docs name
    psycopg = require_module("psycopg")
    dataset = args[args.index("--dataset") + 1] + "_" + uuid.uuid4().hex[:8]
    args[args.index("--dataset") + 1] = dataset
    try:
        done = jirakit("sync", *args, "--pipelines-dir", str(tmp_path / "state"))
        assert done.returncode == 0, done.stderr
        with psycopg.connect(server) as conn:
            count = conn.execute(f'SELECT count(*) FROM "{dataset}".issues').fetchone()
        assert count == (30,)
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{dataset}" CASCADE')
            conn.execute(f'DROP SCHEMA IF EXISTS "{dataset}_staging" CASCADE')


def pg_url_without_password() -> str:
    from psycopg.conninfo import conninfo_to_dict

    parts = conninfo_to_dict(require_postgres())
    host, port = parts.get("host", "127.0.0.1"), parts.get("port", "5432")
    return (
        f"postgresql://{parts.get('user', 'postgres')}@{host}:{port}/{parts.get('dbname', 'test')}"
    )


@pytest.mark.postgres
@pytest.mark.parametrize("name", PASSWORD_ENV)
def test_a_postgres_password_from_the_environment_is_the_one_used(name: str, monkeypatch):
    """The local server trusts every login, so what is checked is the password the real
    connection carried (libpq's own record of it), and that no message or name shows it."""
    url = pg_url_without_password()
    for other in PASSWORD_ENV:
        monkeypatch.delenv(other, raising=False)
    monkeypatch.setenv(name, "s3cret-from-env")
    warehouse = warehouse_for(url)
    check_destination(warehouse)
    with warehouse.connect() as conn:
        assert conn.info.password == "s3cret-from-env"
    # and dlt, which loads, is handed it too
    assert warehouse.destination.config_params["credentials"].password == "s3cret-from-env"
    assert "s3cret" not in repr(warehouse) + warehouse.identity + str(warehouse.location)
    # the URL's own password comes first
    with warehouse_for(url.replace("@", ":from-url@", 1)).connect() as conn:
        assert conn.info.password == "from-url"
    # an unreachable server's message names where the password may come from, never it
    down = warehouse_for(url.rsplit("@", 1)[0] + "@127.0.0.1:1/test")
    with pytest.raises(DestinationError) as raised:
        check_destination(down, timeout=2)
    assert "JIRAKIT_DEST_PASSWORD or PGPASSWORD" in str(raised.value)
    assert "s3cret" not in str(raised.value)


@pytest.mark.postgres
def test_jirakit_dest_password_comes_before_pgpassword(monkeypatch):
    url = pg_url_without_password()
    monkeypatch.setenv("JIRAKIT_DEST_PASSWORD", "the-jirakit-one")
    monkeypatch.setenv("PGPASSWORD", "the-libpq-one")
    with warehouse_for(url).connect() as conn:
        assert conn.info.password == "the-jirakit-one"


def test_an_unknown_project_is_jiras_400_with_the_keys_that_exist(counted, tmp_path: Path):
    url, _ = counted
    db = tmp_path / "j.duckdb"
    done = jirakit("sync", "--url", url, "--dest", f"duckdb:///{db}", "--projects", "NOPE")
    lines = said(done)
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    assert "Jira answered 400 while reading issue ids" in lines[0]
    assert "'NOPE'" in lines[0]  # Jira's own words name the value
    assert re.search(r"projects you can see: [A-Z]+(, [A-Z]+)+\)", lines[0]), lines[0]
    assert "404" not in lines[0]


def test_a_failure_under_faults_is_one_line_naming_endpoint_status_and_commit(tmp_path: Path):
    failing = Middleware(
        FaultMiddleware,
        spec=FaultSpec.parse("502=1.0"),
        seed=1,
        paths=("/rest/api/3/issue/bulkfetch",),
    )
    sandbox = Sandbox(seed=42, issues=30, middleware=[failing])
    db = tmp_path / "j.duckdb"
    with sandbox.serve() as url:
        done = jirakit("sync", "--url", url, "--dest", f"duckdb:///{db}")
    lines = said(done)
    assert done.returncode == 1, done.stderr
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith("sync failed: POST /rest/api/3/issue/bulkfetch answered 502"), lines
    assert "Nothing from this run was committed" in lines[0]
    assert "next run is a full load" in lines[0]
    con = duckdb.connect(str(db), read_only=True)
    try:
        runs = con.sql("select status, error from _sync_runs").fetchall()
    finally:
        con.close()
    assert len(runs) == 1 and runs[0][0] == "failed" and "502" in runs[0][1]


class Collect:
    def __init__(self) -> None:
        self.sent: list[tuple[str, Sequence[DriftEvent]]] = []

    def send(self, title: str, events: Sequence[DriftEvent]) -> None:
        self.sent.append((title, list(events)))


def test_a_site_down_from_the_first_request_is_recorded_and_alerted(tmp_path: Path):
    sink = Collect()
    warehouse = warehouse_for(f"duckdb:///{tmp_path / 'j.duckdb'}")
    with Jira("http://127.0.0.1:9", auth=BasicAuth(EMAIL, TOKEN), sleep=lambda s: None) as jira:
        for _ in range(3):
            with pytest.raises(FatalSyncError, match=r"127\.0\.0\.1:9") as raised:
                run_sync(
                    jira,
                    warehouse=warehouse,
                    pipelines_dir=str(tmp_path / "state"),
                    sinks=[sink],
                    options=SyncOptions(),
                )
            assert "Nothing from this run was committed" in str(raised.value)
    con = duckdb.connect(str(tmp_path / "j.duckdb"), read_only=True)
    try:
        runs = con.sql("select status, site from _sync_runs order by started_at").fetchall()
    finally:
        con.close()
    assert runs == [("failed", "http://127.0.0.1:9")] * 3
    alerts = [events for title, events in sink.sent if title == "Jira sync failing"]
    assert len(alerts) == 1 and alerts[0][0].describe().startswith("3 ")


def test_the_cli_records_a_run_whose_site_never_answers_and_alerts_on_it(tmp_path: Path):
    """Through `jirakit sync`, whose flavour question (serverInfo) is the first request:
    two failed runs recorded in-process, then the CLI's run on a closed port is recorded
    too and is the third in a row, so the alert goes out. ~6-10 s: the run waits out the
    client's own retries once (the flavour question is asked without retries)."""
    down = "http://127.0.0.1:9"
    db = tmp_path / "j.duckdb"
    warehouse = warehouse_for(f"duckdb:///{db}")
    with Jira(down, auth=BasicAuth(EMAIL, TOKEN), sleep=lambda s: None) as jira:
        for _ in range(2):
            with pytest.raises(FatalSyncError):
                run_sync(jira, warehouse=warehouse, pipelines_dir=str(tmp_path / "state"))
    done = jirakit(
        "sync", "--url", down, "--dest", f"duckdb:///{db}", "--pipelines-dir", str(tmp_path / "s")
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    lines = said(done)
    failed = [line for line in lines if line.startswith("sync failed:")]
    assert len(failed) == 1 and "127.0.0.1:9" in failed[0], lines
    assert "Nothing from this run was committed" in failed[0]
    alerts = [line for line in lines if '"Jira sync failing"' in line]
    assert len(alerts) == 1 and "3 consecutive syncs failed" in alerts[0], lines
    con = duckdb.connect(str(db), read_only=True)
    try:
        runs = con.sql("select status from _sync_runs order by started_at").fetchall()
    finally:
        con.close()
    assert runs == [("failed",)] * 3


BLOCK = "import sys; sys.modules[{module!r}] = None; from jirakit.cli import main; main()"
EXTRAS = [
    ("sync", "dlt", "sync"),
    ("report", "matplotlib", "sync"),
    ("demo", "dlt", "sync"),
    ("serve", "fastapi", "service"),
    ("tenants create acme", "fastapi", "service"),
    ("webhooks serve", "sqlalchemy", "webhooks"),
    ("dashboard", "jinja2", "ui"),
]


@pytest.mark.parametrize(("command", "module", "extra"), EXTRAS, ids=[e[0] for e in EXTRAS])
def test_without_an_extra_the_command_names_it(
    command: str, module: str, extra: str, tmp_path: Path
):
    done = subprocess.run(
        [sys.executable, "-c", BLOCK.format(module=module), *command.split()],
        env={**os.environ, "JIRAKIT_URL": "http://127.0.0.1:9"},
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    lines = said(done)
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    assert f"jirakit {command.split()[0]} needs the {extra} extra (missing: {module})" in lines[0]
    assert f"pip install 'jirakit[{extra}]'" in lines[0]
    assert not list(tmp_path.iterdir())  # nothing written
