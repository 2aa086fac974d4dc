"""``jirakit attach KEY FILE...``: upload files to an issue."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jirakit.cli._connect import Connection, connected


@connected()
def attach(
    key: Annotated[str, typer.Argument(help="Issue key, e.g. ENG-12.")],
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Files to attach (streamed, not read into memory).",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    *,
    conn: Connection,
) -> None:
    """Attach files to an issue."""
    with conn.open() as jira:
        for path in files:
            for made in jira.attachments.add(key, path):
                size = int(made.get("size") or 0)
                typer.echo(
                    f"{key} attached {made.get('filename')} ({size:,} bytes, id {made.get('id')})"
                )
