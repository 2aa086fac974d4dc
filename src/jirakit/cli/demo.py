"""`jirakit demo`: the whole toolkit on embedded defaults, no outside service.

A seeded local Jira (the sandbox) is started; the client tours it; a full sync loads it
into DuckDB; some issues change through the client; an incremental sync picks up exactly
those; the report prints summary tables and writes charts.
"""

from __future__ import annotations

import asyncio
import shlex
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from jirakit import AsyncJira, BasicAuth, Jira
from jirakit.cli._extras import require_extra

EMAIL, TOKEN = "admin@example.com", "sandbox-token"


def _tour(console: Console, jira: Jira, url: str) -> str:
    me = jira.myself()
    console.print(f"Signed in to [cyan]{url}[/cyan] as [bold]{me.display_name}[/bold]")
    projects = jira.projects.list().all()
    key = projects[0].key
    console.print(f"Projects: {', '.join(p.key for p in projects)}")
    jql = f"project = {key} AND statusCategory != Done ORDER BY updated DESC"
    table = Table(title=f"Open work in {key}, newest first", show_edge=False)
    for column in ("key", "status", "summary"):
        table.add_column(column)
    for issue in jira.search.iter(jql, fields=["summary", "status"], limit=6):
        table.add_row(issue.key, issue.status.name if issue.status else "", issue.summary)
    console.print(table)
    console.print(f"{jira.search.count(jql)} open issues in {key}")

    async def fetch_concurrently() -> int:
        async with AsyncJira(url, auth=BasicAuth(EMAIL, TOKEN)) as ajira:
            ids = [i.id async for i in ajira.search.iter(f"project = {key}", limit=40)]
            got = await asyncio.gather(*(ajira.issues.get(i, fields=["summary"]) for i in ids))
            return len(got)

    console.print(
        f"The async client fetched {asyncio.run(fetch_concurrently())} issues concurrently"
    )
    return key


def _change_things(console: Console, jira: Jira, key: str) -> list[str]:
    created = jira.issues.create(
        project=key,
        summary="Checkout fails for EU cards",
        issue_type="Bug",
        description="Steps:\n1. add to cart\n2. pay with an EU card",
        labels=["payments"],
    )
    jira.comments.add(created.key, "Reproduced on staging.")
    jira.transitions.do(created.key, to="In Progress")
    changed = [created.key]
    for issue in jira.search.iter(
        f"project = {key} AND statusCategory = new ORDER BY key", fields=["status"], limit=3
    ):
        assert issue.key is not None
        jira.transitions.do(issue.key, to="In Progress")
        changed.append(issue.key)
    console.print(f"Changed through the client: {', '.join(changed)}")
    return changed


HINT_QUERY = (
    "select status, count(*) as issues from issue_enhanced group by status order by issues desc"
)


def _program() -> str:
    """How to run jirakit again from here: ``jirakit`` when that is on PATH and is this
    program, else the path this one was started as (``.venv/bin/jirakit`` after
    ``make demo``, whose virtualenv is not activated)."""
    started = Path(sys.argv[0])
    if started.stem != "jirakit":
        return "jirakit"
    on_path = shutil.which("jirakit")
    if on_path and Path(on_path).resolve() == started.resolve():
        return "jirakit"
    return shlex.quote(str(started))


def sql_hint(db: Path) -> str:
    """The `jirakit sql` command the demo suggests (no duckdb command-line tool needed)."""
    return f'{_program()} sql "{HINT_QUERY}" --dest {shlex.quote(f"duckdb:///{db}")}'


def demo(
    issues: Annotated[int, typer.Option(help="Issues the sandbox is seeded with.")] = 400,
    seed: Annotated[int, typer.Option(help="Seed of the generated organisation.")] = 42,
    db: Annotated[Path, typer.Option(help="The DuckDB file to write.")] = Path("demo.duckdb"),
    out: Annotated[Path, typer.Option(help="Where the report goes.")] = Path("demo-report"),
) -> None:
    """Start a seeded local Jira, tour the client, sync it into DuckDB twice, report."""
    require_extra("demo")
    from jirakit.cli.sync import summary
    from jirakit.sandbox import Sandbox
    from jirakit.sync.pipeline import run_sync, warehouse_for
    from jirakit.sync.report import build_report

    console = Console()
    started = time.perf_counter()
    state_dir = Path(".jirakit-demo")
    for stale in (db, Path(f"{db}.wal")):
        stale.unlink(missing_ok=True)
    shutil.rmtree(state_dir, ignore_errors=True)

    # History ends today (not at the generator's fixed anchor), so the charts are current.
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    sandbox = Sandbox(seed=seed, issues=issues, admin_email=EMAIL, api_token=TOKEN, anchor=today)
    warehouse = warehouse_for(f"duckdb:///{db}")
    with sandbox.serve() as url, Jira(url, auth=BasicAuth(EMAIL, TOKEN)) as jira:
        console.rule("[bold]1. The client[/bold]")
        key = _tour(console, jira, url)

        console.rule("[bold]2. Full sync into DuckDB[/bold]")
        first = run_sync(jira, warehouse=warehouse, pipelines_dir=str(state_dir))
        console.print(summary(first))

        console.rule("[bold]3. Change some issues, sync again (incremental)[/bold]")
        changed = _change_things(console, jira, key)
        second = run_sync(jira, warehouse=warehouse, pipelines_dir=str(state_dir))
        console.print(summary(second))
        if second.rows.get("issues", 0) < len(changed):
            console.print("[red]the incremental sync missed changed issues[/red]")
            raise typer.Exit(1)

    console.rule("[bold]4. Report[/bold]")
    conn = warehouse.connect()
    try:
        report = build_report(conn, dialect="duckdb", schema=warehouse.dataset, out_dir=out)
    finally:
        conn.close()
    report.print(console)
    for path in report.charts.values():
        console.print(f"  {path}", highlight=False)
    console.print(f"Warehouse: [cyan]{db}[/cyan]. Query it with SQL:", highlight=False)
    console.print(Text(f"  {sql_hint(db)}", style="cyan"), soft_wrap=True)
    console.print(f"Done in {time.perf_counter() - started:.0f}s")
