"""Top-level Typer app; each part adds its own sub-app."""

from __future__ import annotations

import typer

from jirakit import __version__

app = typer.Typer(
    name="jirakit",
    help="The complete Jira integration toolkit.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.command()
def version() -> None:
    """Print the jirakit version."""
    typer.echo(__version__)


def main() -> None:
    app()
