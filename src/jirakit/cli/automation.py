"""Scripting commands: `jirakit whoami`, `jirakit search`, `jirakit issue ...`."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich.console import Console

from jirakit.cli._connect import Connection, connected
from jirakit.cli._output import DEFAULT_FIELDS, Columns, FieldsOpt, Format, check_format, emit
from jirakit.client import Jira, Text

issue_app = typer.Typer(help="Read and change issues.", no_args_is_help=True)


@connected()
def whoami(*, conn: Connection) -> None:
    """Show who the credentials act as."""
    with conn.open() as jira:
        me = jira.myself()
        site, flavour = jira.base_url, jira.flavour
    typer.echo(f"{me.display_name} <{me.email or '-'}> ({me.id}) at {site} ({flavour})")


@connected()
def search(
    jql: Annotated[str, typer.Argument(help="The JQL query.")],
    fields: FieldsOpt = None,
    fmt: Format = "table",
    limit: Annotated[
        int | None, typer.Option(metavar="N", help="Stop after this many issues.")
    ] = None,
    *,
    conn: Connection,
) -> None:
    """Search issues with JQL and print them."""
    check_format(fmt)
    console = Console()
    with conn.open() as jira:
        columns = Columns(jira, fields, DEFAULT_FIELDS)
        issues = jira.search.iter(jql, fields=columns.ids, limit=limit)
        count = emit(issues, columns, fmt, console)
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
    check_format(fmt)
    with conn.open() as jira:
        columns = Columns(jira, fields, [*DEFAULT_FIELDS, "description"])
        issue = jira.issues.get(key, fields=columns.ids)
        emit([issue], columns, fmt, Console())


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
        metavar="NAME=VALUE",
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
    summary: Annotated[str, typer.Option(help="Summary.")],
    project: Annotated[
        str | None,
        typer.Option(help="Project key or name (default: the profile's project)."),
    ] = None,
    issue_type: Annotated[
        str | None,
        typer.Option(
            "--type", help="Issue type name (default: Sub-task with --parent, else Task)."
        ),
    ] = None,
    parent: Annotated[
        str | None,
        typer.Option(metavar="KEY", help="Parent issue: makes a sub-task, or a child of an epic."),
    ] = None,
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
    project = project or conn.project
    if project is None and parent is not None:
        project = parent.rpartition("-")[0] or None  # a sub-task lives in its parent's project
    if project is None:
        raise typer.BadParameter(
            "no project: pass --project or set project in the profile", param_hint="--project"
        )
    values = _field_values(field or [])
    if parent is not None:
        values["parent"] = parent
    with conn.open() as jira:
        created = jira.issues.create(
            project=project,
            summary=summary,
            issue_type=issue_type or _child_type(jira, parent),
            description=_rich(description, plain),
            labels=label,
            priority=priority,
            assignee=assignee,
            fields=values,
        )
    typer.echo(created.key)


def _child_type(jira: Jira, parent: str | None) -> str:
    """``Task`` without a parent; under an epic a ``Task`` too (a child of the epic), under
    anything else the project's sub-task type (``Sub-task``, or whatever it is named)."""
    if parent is None:
        return "Task"
    above = jira.issues.get(parent, fields=["issuetype", "project"])
    kind = above.issue_type
    if kind is not None and (kind.raw.get("hierarchyLevel") == 1 or kind.name == "Epic"):
        return "Task"
    project = (above.field("project") or {}).get("key") or parent.rpartition("-")[0]
    types = jira.projects.get(project).raw.get("issueTypes", [])
    subtask = [t["name"] for t in types if t.get("subtask")]
    return subtask[0] if subtask else "Sub-task"


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
        typer.echo("nothing changed")
        raise typer.Exit(0)
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
