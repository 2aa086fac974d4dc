"""``jirakit worklog add|list``: log time on an issue, and read what was logged."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

import typer

from jirakit.cli._connect import Connection, connected
from jirakit.cli._output import Format, check_format, plain, print_rows
from jirakit.client import Text

worklog_app = typer.Typer(help="Log time on issues.", no_args_is_help=True)

# Jira's default time-tracking settings: a day is 8 hours, a week 5 days.
UNITS = {"w": 5 * 8 * 3600, "d": 8 * 3600, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([wdhms])", re.IGNORECASE)


def parse_duration(text: str) -> int:
    """``1h 30m``, ``1h30m``, ``90m``, ``1.5h``, ``2d``, ``1w`` as seconds (Jira's default
    units: 1d = 8h, 1w = 5d). Anything else is a usage error."""
    compact = text.strip()
    parts = _PART.findall(compact)
    if not parts or _PART.sub("", compact).strip():
        raise typer.BadParameter(
            f"{text!r} is not a duration; write it like 1h 30m, 45m, 1.5h or 2d (1d = 8h)",
            param_hint="DURATION",
        )
    seconds = round(sum(float(n) * UNITS[u.lower()] for n, u in parts))
    if seconds < 60:
        raise typer.BadParameter("log at least one minute", param_hint="DURATION")
    return seconds


def format_duration(seconds: int) -> str:
    """Seconds in Jira's words: ``5400`` -> ``1h 30m`` (hours, not 8-hour days)."""
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    return (
        " ".join(p for p in (f"{hours}h" if hours else "", f"{minutes}m" if minutes else "") if p)
        or "0m"
    )


def parse_started(text: str | None) -> datetime:
    """An ISO date or date-time (local time when no offset is given); now by default."""
    if text is None:
        return datetime.now().astimezone()
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not an ISO date or time, e.g. 2026-05-01 or 2026-05-01T09:30",
            param_hint="--started",
        ) from None
    return moment if moment.tzinfo else moment.astimezone()


@worklog_app.command("add")
@connected()
def worklog_add(
    key: Annotated[str, typer.Argument(help="Issue key, e.g. ENG-12.")],
    duration: Annotated[str, typer.Argument(help="Time spent: 1h 30m, 45m, 1.5h, 2d (1d = 8h).")],
    started: Annotated[
        str | None,
        typer.Option(metavar="WHEN", help="When the work started (ISO; default: now)."),
    ] = None,
    comment: Annotated[str | None, typer.Option(help="What was done (plain text).")] = None,
    *,
    conn: Connection,
) -> None:
    """Log time spent on an issue."""
    seconds = parse_duration(duration)
    when = parse_started(started)
    with conn.open() as jira:
        logged = jira.worklogs.add(
            key, seconds, when, comment=Text(comment) if comment is not None else None
        )
    typer.echo(f"{key} logged {format_duration(seconds)} (worklog {logged.id})")


@worklog_app.command("list")
@connected()
def worklog_list(
    key: Annotated[str, typer.Argument(help="Issue key, e.g. ENG-12.")],
    fmt: Format = "table",
    *,
    conn: Connection,
) -> None:
    """List the time logged on an issue."""
    check_format(fmt)
    with conn.open() as jira:
        rows = [
            [
                w.id,
                plain(w.raw.get("author")),
                w.started.isoformat() if w.started else "",
                w.time_spent_seconds,
                format_duration(w.time_spent_seconds),
                plain(w.raw.get("comment")),
            ]
            for w in jira.worklogs.list(key)
        ]
    header = ["id", "author", "started", "seconds", "time_spent", "comment"]
    print_rows(header, rows, fmt)
