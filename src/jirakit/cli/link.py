"""``jirakit link add|types``: link two issues the way the sentence reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import typer

from jirakit.cli._connect import Connection, connected
from jirakit.cli._output import Format, check_format, print_rows
from jirakit.errors import ConfigurationError

link_app = typer.Typer(help="Link issues.", no_args_is_help=True)


def resolve_relation(types: Sequence[Mapping[str, Any]], relation: str) -> tuple[str, bool]:
    """``(link type name, swap)`` for a relation given as a type name (``Blocks``), its
    outward phrase (``blocks``) or its inward phrase (``is blocked by``, which swaps the
    two issues), matched without regard to case."""
    wanted = " ".join(relation.split()).casefold()
    for kind in types:
        if wanted in (
            str(kind.get("name", "")).casefold(),
            str(kind.get("outward", "")).casefold(),
        ):
            return str(kind["name"]), False
    for kind in types:
        if wanted == str(kind.get("inward", "")).casefold():
            return str(kind["name"]), True
    known = "; ".join(f"{k.get('name')} ({k.get('outward')} / {k.get('inward')})" for k in types)
    raise ConfigurationError(f"no link type {relation!r}; choose one of: {known}")


@link_app.command("add")
@connected()
def link_add(
    source: Annotated[str, typer.Argument(help="The first issue, e.g. ENG-1.")],
    relation: Annotated[
        str,
        typer.Argument(help="A link type or its phrase: Blocks, 'blocks', 'is blocked by', ..."),
    ],
    target: Annotated[str, typer.Argument(help="The second issue, e.g. ENG-2.")],
    comment: Annotated[str | None, typer.Option(help="A comment to add with the link.")] = None,
    *,
    conn: Connection,
) -> None:
    """Link two issues: `jirakit link add ENG-1 blocks ENG-2`."""
    with conn.open() as jira:
        name, swap = resolve_relation(jira.links.types(), relation)
        first, second = (target, source) if swap else (source, target)
        jira.links.create(name, first, second, comment=comment)
    typer.echo(f"{source} {relation} {target}")


@link_app.command("types")
@connected()
def link_types(fmt: Format = "table", *, conn: Connection) -> None:
    """List the site's link types and their phrases."""
    check_format(fmt)
    with conn.open() as jira:
        types = jira.links.types()
    rows = [[t.get("id"), t.get("name"), t.get("outward"), t.get("inward")] for t in types]
    print_rows(["id", "name", "outward", "inward"], rows, fmt)
