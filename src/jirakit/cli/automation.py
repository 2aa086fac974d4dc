"""Scripting commands: `jirakit whoami`, `jirakit search`, `jirakit issue ...`."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from jirakit.cli._connect import Connection, connected
from jirakit.client import Jira, Text
from jirakit.client.models import Issue

issue_app = typer.Typer(help="Read and change issues.", no_args_is_help=True)

FORMATS = ("table", "json", "jsonl", "csv")
DEFAULT_FIELDS = ["summary", "status", "assignee", "priority", "updated"]

Format = Annotated[str, typer.Option("--format", "-o", help="table, json, jsonl or csv.")]
FieldsOpt = Annotated[
    str | None, typer.Option("--fields", "-f", help="Comma-separated field ids or names.")
]


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise typer.BadParameter(f"must be one of {', '.join(FORMATS)}", param_hint="--format")
    return fmt


def plain(value: Any) -> str:
    """A field value as one line of text: names for objects, text for ADF."""
    if value is None:
        return ""
    if isinstance(value, Mapping):
        if value.get("type") == "doc":
            from jirakit.adf import to_text

            return " ".join(to_text(dict(value)).split())
        for key in ("displayName", "name", "value", "key", "id"):
            if key in value:
                return str(value[key])
        return json.dumps(value, sort_keys=True)
    if isinstance(value, list):
        return ", ".join(plain(v) for v in value)
    return str(value)


def _wanted(jira: Jira, fields: str | None, default: Sequence[str]) -> list[str]:
    """The `--fields` given (or `default`) as field ids."""
    return _resolve_fields(jira, fields.split(",") if fields else default)


def _resolve_fields(jira: Jira, names: Sequence[str]) -> list[str]:
    simple = {
        "summary",
        "status",
        "assignee",
        "reporter",
        "priority",
        "updated",
        "created",
        "labels",
        "issuetype",
        "project",
        "resolution",
        "duedate",
        "description",
    }
    return [n if n in simple or n.startswith("*") else jira.fields.id_of(n) for n in names]


def emit(issues: Iterable[Issue], fields: Sequence[str], fmt: str, console: Console) -> int:
    count = 0
    if fmt == "jsonl":
        for issue in issues:
            sys.stdout.write(json.dumps(dict(issue.raw), sort_keys=True) + "\n")
            count += 1
        return count
    if fmt == "json":
        rows = [dict(issue.raw) for issue in issues]
        sys.stdout.write(json.dumps(rows, indent=2, sort_keys=True) + "\n")
        return len(rows)
    header = ["key", *fields]
    rows_text = []
    for issue in issues:
        rows_text.append([issue.key or issue.id, *(plain(issue.field(f)) for f in fields)])
    if fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(header)
        writer.writerows(rows_text)
        return len(rows_text)
    table = Table(show_lines=False)
    for name in header:
        table.add_column(name, overflow="fold")
    for row in rows_text:
        table.add_row(*row)
    console.print(table)
    return len(rows_text)


@connected()
def whoami(*, conn: Connection) -> None:
    """Show who the credentials act as."""
    with conn.open() as jira:
        me = jira.myself()
    typer.echo(f"{me.display_name} <{me.email or '-'}> ({me.id})")


@connected()
def search(
    jql: Annotated[str, typer.Argument(help="The JQL query.")],
    fields: FieldsOpt = None,
    fmt: Format = "table",
    limit: Annotated[int | None, typer.Option(help="Stop after this many issues.")] = None,
    *,
    conn: Connection,
) -> None:
    """Search issues with JQL and print them."""
    _check_format(fmt)
    console = Console()
    with conn.open() as jira:
        wanted = _wanted(jira, fields, DEFAULT_FIELDS)
        issues = jira.search.iter(jql, fields=wanted, limit=limit)
        count = emit(issues, wanted, fmt, console)
    if fmt == "table":
        console.print(f"{count} issue(s)", style="dim")


@issue_app.command("get")
@connected()
def issue_get(
    key: str,
    fields: FieldsOpt = None,
    fmt: Format = "table",
    *,
    conn: Connection,
) -> None:
    """Print one issue."""
    _check_format(fmt)
    with conn.open() as jira:
        wanted = _wanted(jira, fields, [*DEFAULT_FIELDS, "description"])
        issue = jira.issues.get(key, fields=wanted)
        emit([issue], wanted, fmt, Console())


def _field_values(pairs: Sequence[str]) -> dict[str, Any]:
    """``NAME=VALUE`` pairs -> ``fields=`` by name; the client resolves names and shapes
    values by each field's schema (``Customer Tier=Gold`` -> ``{"value": "Gold"}``)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint="--field")
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        out[name.strip()] = value
    return out


def _rich(value: str | None, plain: bool) -> Any:
    """Markdown by default; ``--plain`` keeps the text exactly (line breaks included)."""
    if value is None:
        return None
    return Text(value) if plain else value


FieldPairs = Annotated[
    list[str] | None,
    typer.Option(
        "--field",
        help="NAME=VALUE: a field by display name or id (e.g. 'Story Points=3', "
        "'Customer Tier=Gold', 'Affected Platforms=[\"iOS\"]'); VALUE is JSON or text. "
        "Repeatable.",
    ),
]
PlainOpt = Annotated[
    bool, typer.Option("--plain", help="Send text as is instead of reading it as Markdown.")
]


@issue_app.command("create")
@connected()
def issue_create(
    project: Annotated[str, typer.Option(help="Project key or name.")],
    summary: Annotated[str, typer.Option(help="Summary.")],
    issue_type: Annotated[str, typer.Option("--type", help="Issue type name, e.g. Bug.")] = "Task",
    description: Annotated[str | None, typer.Option(help="Description (Markdown).")] = None,
    label: Annotated[list[str] | None, typer.Option(help="Label (repeatable).")] = None,
    priority: Annotated[str | None, typer.Option(help="Priority name, e.g. High.")] = None,
    assignee: Annotated[
        str | None,
        typer.Option(help="Email, display name, or accountId (Cloud) / username (DC)."),
    ] = None,
    field: FieldPairs = None,
    plain: PlainOpt = False,
    *,
    conn: Connection,
) -> None:
    """Create an issue and print its key."""
    with conn.open() as jira:
        created = jira.issues.create(
            project=project,
            summary=summary,
            issue_type=issue_type,
            description=_rich(description, plain),
            labels=label,
            priority=priority,
            assignee=assignee,
            fields=_field_values(field or []),
        )
    typer.echo(created.key)


@issue_app.command("edit")
@connected()
def issue_edit(
    key: str,
    summary: Annotated[str | None, typer.Option(help="New summary.")] = None,
    description: Annotated[str | None, typer.Option(help="New description (Markdown).")] = None,
    label: Annotated[list[str] | None, typer.Option(help="Replace labels (repeatable).")] = None,
    priority: Annotated[str | None, typer.Option(help="New priority name.")] = None,
    assignee: Annotated[
        str | None, typer.Option(help="New assignee: email, display name or accountId.")
    ] = None,
    field: FieldPairs = None,
    plain: PlainOpt = False,
    *,
    conn: Connection,
) -> None:
    """Change fields of an issue (only the ones given)."""
    from jirakit import UNSET

    def given(value: Any) -> Any:
        return UNSET if value is None else value

    with conn.open() as jira:
        jira.issues.edit(
            key,
            summary=given(summary),
            description=given(_rich(description, plain)),
            labels=given(label),
            priority=given(priority),
            assignee=given(assignee),
            fields=_field_values(field or []),
        )
    typer.echo(f"{key} updated")


@issue_app.command("delete")
@connected()
def issue_delete(
    key: str,
    subtasks: Annotated[bool, typer.Option("--subtasks", help="Delete sub-tasks too.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    *,
    conn: Connection,
) -> None:
    """Delete an issue."""
    if not yes and not typer.confirm(f"Delete {key}?"):
        raise typer.Exit(1)
    with conn.open() as jira:
        jira.issues.delete(key, delete_subtasks=subtasks)
    typer.echo(f"{key} deleted")


@issue_app.command("transition")
@connected()
def issue_transition(
    key: str,
    to: Annotated[str, typer.Option("--to", help="Target status (or transition name).")],
    comment: Annotated[
        str | None, typer.Option(help="Comment (Markdown) to add with the move.")
    ] = None,
    plain: PlainOpt = False,
    *,
    conn: Connection,
) -> None:
    """Move an issue to another status."""
    with conn.open() as jira:
        jira.transitions.do(key, to=to, comment=_rich(comment, plain))
        status = jira.issues.get(key, fields=["status"]).status
    typer.echo(f"{key} -> {status.name if status else to}")


@issue_app.command("comment")
@connected()
def issue_comment(
    key: str,
    body: Annotated[str, typer.Argument(help="Comment, Markdown ('-' reads standard input).")],
    plain: PlainOpt = False,
    *,
    conn: Connection,
) -> None:
    """Add a comment to an issue."""
    text = sys.stdin.read() if body == "-" else body
    with conn.open() as jira:
        comment = jira.comments.add(key, _rich(text, plain))
    typer.echo(f"{key} comment {comment.id}")


@issue_app.command("assign")
@connected()
def issue_assign(
    key: str,
    user: Annotated[
        str, typer.Argument(help="Email, display name, accountId, or 'none' to unassign.")
    ],
    *,
    conn: Connection,
) -> None:
    """Assign an issue (or unassign with 'none')."""
    with conn.open() as jira:
        account: str | None = None if user.lower() == "none" else user
        jira.issues.edit(key, assignee=account)  # emails and display names are looked up
    typer.echo(f"{key} assigned to {user}" if account else f"{key} unassigned")
