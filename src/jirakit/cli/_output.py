"""Printing issues and rows: a table, CSV (headed by field names), JSON or JSON lines."""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from jirakit.client import Jira
from jirakit.client.models import Issue

FORMATS = ("table", "json", "jsonl", "csv")
DEFAULT_FIELDS = ["summary", "status", "assignee", "priority", "updated"]
SYSTEM_FIELDS = {
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
    "parent",
}

Format = Annotated[
    str, typer.Option("--format", "-o", metavar="FORMAT", help="table, json, jsonl or csv.")
]
FieldsOpt = Annotated[
    str | None,
    typer.Option("--fields", "-f", metavar="FIELDS", help="Comma-separated field ids or names."),
]


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise typer.BadParameter(f"must be one of {', '.join(FORMATS)}", param_hint="--format")
    return fmt


_JIRA_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")


def _short_time(text: str) -> str:
    """``2026-05-01T09:30:12.000+0200`` as ``2026-05-01 09:30`` (a table is for reading;
    CSV and JSON keep the full value)."""
    return text[:16].replace("T", " ") if _JIRA_TIME.match(text) else text


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
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Jira sends number fields as 8.0; people write 8
    return str(value)


class Columns:
    """The fields asked for, as ids to fetch and names to head columns with: a custom
    field is headed by its display name (``Story Points``), never ``customfield_10028``."""

    def __init__(self, jira: Jira, fields: str | None, default: Sequence[str]) -> None:
        asked = [f.strip() for f in fields.split(",")] if fields else list(default)
        asked = [f for f in asked if f]
        self.ids: list[str] = []
        self.names: list[str] = []
        names: Mapping[str, str] | None = None
        for spec in asked:
            if spec in SYSTEM_FIELDS or spec.startswith("*"):
                self.ids.append(spec)
                self.names.append(spec)
                continue
            field_id = jira.fields.id_of(spec)
            if names is None:
                names = jira.fields.map().names
            self.ids.append(field_id)
            self.names.append(spec if spec != field_id else names.get(field_id, field_id))


def emit(
    issues: Iterable[Issue], columns: Columns, fmt: str, console: Console | None = None
) -> int:
    """Print issues in ``fmt``; the number printed. JSON keeps Jira's own shape."""
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
    header = ["key", *columns.names]
    cell = _short_time if fmt == "table" else str
    text_rows = [
        [issue.key or issue.id, *(cell(plain(issue.field(f))) for f in columns.ids)]
        for issue in issues
    ]
    print_rows(header, text_rows, fmt, console)
    return len(text_rows)


def print_rows(
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    fmt: str,
    console: Console | None = None,
) -> None:
    """Rows of plain values as a table, CSV, JSON (a list of objects) or JSON lines."""
    if fmt in ("json", "jsonl"):
        objects = [dict(zip(header, row, strict=True)) for row in rows]
        if fmt == "json":
            sys.stdout.write(json.dumps(objects, indent=2, default=str) + "\n")
        else:
            for obj in objects:
                sys.stdout.write(json.dumps(obj, default=str) + "\n")
        return
    text = [["" if v is None else str(v) for v in row] for row in rows]
    if fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(header)
        writer.writerows(text)
        return
    table = Table(show_lines=False)
    for name in header:
        table.add_column(Text(name), overflow="fold")
    for row in text:
        table.add_row(*(Text(cell) for cell in row))  # Text: a summary's [brackets] stay
    (console or Console()).print(table)
