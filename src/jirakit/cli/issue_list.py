"""``jirakit issue list``: issues by filters (project, assignee, status, ...) and/or JQL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from jirakit.cli._connect import Connection, connected
from jirakit.cli._output import DEFAULT_FIELDS, Columns, FieldsOpt, Format, check_format, emit

if TYPE_CHECKING:
    from jirakit.jql import Node, Query


def build_query(
    *,
    jql: str | None,
    project: str | None,
    assignee: str | None,
    status: list[str],
    issue_type: list[str],
    label: list[str],
    parent: str | None,
    order_by: str,
) -> Query:
    """The filters AND-ed with the ``--jql`` restriction; ORDER BY from ``--jql`` if it has
    one, else ``order_by``. Values are quoted by the JQL builder, never pasted in."""
    from jirakit.jql import J, JqlSyntaxError, Query, parse
    from jirakit.jql.builder import all_of

    def parsed(text: str, hint: str) -> Query:
        try:
            return parse(text)
        except JqlSyntaxError as exc:
            raise typer.BadParameter(str(exc), param_hint=hint) from None

    raw = parsed(jql, "--jql") if jql else Query()
    parts: list[Node] = []
    if project:
        parts.append(J.project == project)
    if assignee:
        who = assignee.strip()
        if who.casefold() == "me":
            parts.append(J.assignee == J.fn("currentUser"))
        elif who.casefold() in ("none", "unassigned"):
            parts.append(J.assignee.is_empty())
        else:
            parts.append(J.assignee == who)  # Jira takes an accountId, email or name
    if status:
        parts.append(J.status.in_(*status))
    if issue_type:
        parts.append(J.issuetype.in_(*issue_type))
    if label:
        parts.append(J.labels.in_(*label))
    if parent:
        parts.append(J.parent == parent)
    if raw.where is not None:
        parts.append(raw.where)
    if not parts:
        raise typer.BadParameter(
            "say which issues: --project (or a profile's project), --assignee, --status, "
            "--type, --label, --parent or --jql",
            param_hint="--project",
        )
    order = raw.order_by or parsed(f"ORDER BY {order_by}", "--order-by").order_by
    return Query(all_of(*parts), order)


@connected()
def issue_list(
    project: Annotated[
        str | None,
        typer.Option(
            "--project", "-p", help="Project key or name (default: the profile's project)."
        ),
    ] = None,
    assignee: Annotated[
        str | None,
        typer.Option(
            "--assignee",
            "-a",
            metavar="USER",
            help="'me', 'none', an email, display name or accountId.",
        ),
    ] = None,
    status: Annotated[
        list[str] | None, typer.Option("--status", "-s", help="Status name (repeatable).")
    ] = None,
    issue_type: Annotated[
        list[str] | None, typer.Option("--type", "-t", help="Issue type name (repeatable).")
    ] = None,
    label: Annotated[
        list[str] | None, typer.Option("--label", "-l", help="Label (repeatable).")
    ] = None,
    parent: Annotated[
        str | None, typer.Option(metavar="KEY", help="Children of this issue (or epic).")
    ] = None,
    jql: Annotated[
        str | None,
        typer.Option("--jql", "-q", help="JQL, AND-ed with the filters above (its ORDER BY wins)."),
    ] = None,
    order_by: Annotated[
        str, typer.Option("--order-by", metavar="ORDER", help="ORDER BY clause, e.g. 'key ASC'.")
    ] = "updated DESC",
    fields: FieldsOpt = None,
    fmt: Format = "table",
    limit: Annotated[int, typer.Option(metavar="N", help="At most this many issues.")] = 50,
    all_projects: Annotated[
        bool, typer.Option("--all-projects", help="Ignore the profile's default project.")
    ] = False,
    *,
    conn: Connection,
) -> None:
    """List issues by project, assignee, status, type, label and/or JQL."""
    check_format(fmt)
    if limit < 1:
        raise typer.BadParameter("must be at least 1", param_hint="--limit")
    if project is None and not all_projects:
        project = conn.project
    query = build_query(
        jql=jql,
        project=project,
        assignee=assignee,
        status=status or [],
        issue_type=issue_type or [],
        label=label or [],
        parent=parent,
        order_by=order_by,
    )
    console = Console()
    with conn.open() as jira:
        columns = Columns(jira, fields, DEFAULT_FIELDS)
        issues = jira.search.iter(str(query), fields=columns.ids, limit=limit)
        count = emit(issues, columns, fmt, console)
    if fmt == "table":
        console.print(f"{count} issue(s): {query}", style="dim", markup=False, highlight=False)
