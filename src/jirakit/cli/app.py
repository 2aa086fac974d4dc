"""Top-level Typer app; each part adds its own sub-app."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from jirakit import __version__
from jirakit._logging import configure
from jirakit.cli._extras import missing_extra
from jirakit.cli._root import JirakitGroup, error_line
from jirakit.cli.attach import attach
from jirakit.cli.automation import issue_app, search, whoami
from jirakit.cli.config import config_app
from jirakit.cli.dashboard import dashboard
from jirakit.cli.demo import demo
from jirakit.cli.issue_list import issue_list
from jirakit.cli.issue_view import issue_view
from jirakit.cli.link import link_app
from jirakit.cli.report import report
from jirakit.cli.sandbox import sandbox_app
from jirakit.cli.serve import connections_app, keys_app, serve, tenants_app
from jirakit.cli.sprint import sprint_app
from jirakit.cli.sql import sql
from jirakit.cli.sync import sync
from jirakit.cli.webhooks import webhooks_app
from jirakit.cli.worker import jobs_app, worker
from jirakit.cli.worklog import worklog_app
from jirakit.errors import JiraError

app = typer.Typer(
    name="jirakit",
    help="The complete Jira integration toolkit.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=JirakitGroup,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"jirakit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            is_eager=True,
            callback=_print_version,
            help="Print the jirakit version and exit.",
        ),
    ] = False,
) -> None:
    """The complete Jira integration toolkit."""


app.add_typer(sandbox_app, name="sandbox")
app.command()(demo)
app.command()(whoami)
app.command()(search)
app.command()(sync)
app.command()(report)
app.command()(sql)
app.command()(dashboard)
issue_app.command("list")(issue_list)
issue_app.command("view")(issue_view)
app.add_typer(issue_app, name="issue")
app.add_typer(worklog_app, name="worklog")
app.add_typer(link_app, name="link")
app.add_typer(sprint_app, name="sprint")
app.command()(attach)
app.add_typer(config_app, name="config")
app.command()(worker)
app.add_typer(jobs_app, name="jobs")
app.add_typer(webhooks_app, name="webhooks")
app.command()(serve)
app.add_typer(tenants_app, name="tenants")
app.add_typer(connections_app, name="connections")
app.add_typer(keys_app, name="keys")


@app.command()
def version() -> None:
    """Print the jirakit version."""
    typer.echo(__version__)


def main() -> None:
    """Console entry point: errors become one clear line (exit 1 for Jira's, 2 for usage).
    ``JIRAKIT_LOG=info`` (or debug) prints jirakit's JSON log lines on stderr."""
    level = os.environ.get("JIRAKIT_LOG", "").strip().upper()
    if level:
        try:
            configure(level)
        except ValueError:
            message = f"JIRAKIT_LOG={level.lower()}: use debug, info, warning or error"
            raise SystemExit(error_line(message, 2).exit_code) from None
    try:
        app(standalone_mode=True)
    except JiraError as exc:  # raised outside a command (the group handles the rest)
        raise SystemExit(error_line(str(exc), 1).exit_code) from None
    except ModuleNotFoundError as exc:  # an optional extra that is not installed
        command = next((a for a in sys.argv[1:] if not a.startswith("-")), "")
        line = missing_extra(command, exc.name)
        if line is None:
            raise
        raise SystemExit(error_line(line, 1).exit_code) from None
