"""``jirakit sprint list|add``: a project's sprints, and moving issues into one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import typer

from jirakit.cli._connect import Connection, connected
from jirakit.cli._output import Format, check_format, print_rows
from jirakit.client import Jira
from jirakit.client.resources.agile import Sprint
from jirakit.errors import BadRequest, ConfigurationError

sprint_app = typer.Typer(help="Sprints: list them, move issues into one.", no_args_is_help=True)

STATES = ("future", "active", "closed")

ProjectOpt = Annotated[
    str | None,
    typer.Option(
        "--project", "-p", help="Project key (default: the profile's project); its scrum boards."
    ),
]
BoardOpt = Annotated[
    int | None, typer.Option("--board", metavar="ID", help="One board instead of a project's.")
]


def _states(text: str | None) -> list[str] | None:
    if not text:
        return None
    states = [s.strip().lower() for s in text.split(",") if s.strip()]
    bad = [s for s in states if s not in STATES]
    if bad:
        raise typer.BadParameter(
            f"unknown {bad}; use {', '.join(STATES)} (comma-separated)", param_hint="--state"
        )
    return states


def sprints_of(
    jira: Jira, board: int | None, project: str | None, states: list[str] | None
) -> Iterator[Sprint]:
    """The sprints of one board, or of every scrum board of a project, each once."""
    if board is not None:
        boards = [board]
    elif project:
        boards = [b.id for b in jira.boards.list(project=project, board_type="scrum")]
        if not boards:
            raise ConfigurationError(f"project {project} has no scrum board, so no sprints")
    else:
        raise typer.BadParameter(
            "which sprints? pass --project (or set project in the profile) or --board",
            param_hint="--project",
        )
    seen: set[int] = set()
    for board_id in boards:
        try:
            for sprint in jira.sprints.list(board_id, state=states):  # type: ignore[arg-type]
                if sprint.id not in seen:
                    seen.add(sprint.id)
                    yield sprint
        except BadRequest:
            if board is not None:
                raise  # the board asked for does not do sprints: say so
            # a project's kanban boards have no sprints: skip them


def find_sprint(jira: Jira, sprint: str, board: int | None, project: str | None) -> int:
    """A sprint id from an id or a (case-insensitive) name among the project's sprints."""
    if sprint.isdigit():
        return int(sprint)
    found = [
        s
        for s in sprints_of(jira, board, project, None)
        if (s.name or "").casefold() == sprint.casefold()
    ]
    if len(found) == 1:
        return found[0].id
    if not found:
        raise ConfigurationError(
            f"no sprint named {sprint!r}; `jirakit sprint list` shows the names"
        )
    ids = ", ".join(str(s.id) for s in found)
    raise ConfigurationError(f"several sprints are named {sprint!r} ({ids}); pass the id")


@sprint_app.command("list")
@connected()
def sprint_list(
    project: ProjectOpt = None,
    board: BoardOpt = None,
    state: Annotated[
        str | None,
        typer.Option(metavar="STATES", help="future, active, closed (comma-separated)."),
    ] = None,
    fmt: Format = "table",
    *,
    conn: Connection,
) -> None:
    """List sprints of a project's scrum boards (or of one board)."""
    check_format(fmt)
    states = _states(state)
    project = project or (conn.project if board is None else None)
    with conn.open() as jira:
        rows = [
            [
                s.id,
                s.name,
                s.state,
                s.start.date().isoformat() if s.start else "",
                s.end.date().isoformat() if s.end else "",
                s.board_id,
                s.goal or "",
            ]
            for s in sprints_of(jira, board, project, states)
        ]
    print_rows(["id", "name", "state", "start", "end", "board", "goal"], rows, fmt)


@sprint_app.command("add")
@connected()
def sprint_add(
    sprint: Annotated[str, typer.Argument(help="Sprint id, or its name (see `sprint list`).")],
    keys: Annotated[list[str], typer.Argument(help="Issue keys to move into the sprint.")],
    project: ProjectOpt = None,
    board: BoardOpt = None,
    *,
    conn: Connection,
) -> None:
    """Move issues into a sprint."""
    project = project or (conn.project if board is None else None)
    with conn.open() as jira:
        sprint_id = find_sprint(jira, sprint, board, project)
        jira.sprints.move_issues(sprint_id, keys)
    typer.echo(f"moved {', '.join(keys)} to sprint {sprint_id}")
