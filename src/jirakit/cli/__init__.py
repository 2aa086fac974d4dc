"""The `jirakit` command line (Typer)."""

from jirakit.cli.app import app, main

__all__ = ["app", "main"]
