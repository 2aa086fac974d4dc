"""Top-level Typer app; each part adds its own sub-app."""

from __future__ import annotations

import typer
from rich.console import Console

from jirakit import __version__
from jirakit.cli.automation import issue_app, search, whoami
from jirakit.cli.demo import demo
from jirakit.cli.report import report
from jirakit.cli.sandbox import sandbox_app
from jirakit.cli.serve import connections_app, keys_app, serve, tenants_app
from jirakit.cli.sync import sync
from jirakit.errors import JiraError

app = typer.Typer(
    name="jirakit",
    help="The complete Jira integration toolkit.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(sandbox_app, name="sandbox")
app.command()(demo)
app.command()(whoami)
app.command()(search)
app.command()(sync)
app.command()(report)
app.add_typer(issue_app, name="issue")
app.command()(serve)
app.add_typer(tenants_app, name="tenants")
app.add_typer(connections_app, name="connections")
app.add_typer(keys_app, name="keys")


@app.command()
def version() -> None:
    """Print the jirakit version."""
    typer.echo(__version__)


def main() -> None:
    """Console entry point: Jira errors become one clear line and exit code 1, no traceback."""
    try:
        app(standalone_mode=True)
    except JiraError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc}", highlight=False)
        raise SystemExit(1) from None
