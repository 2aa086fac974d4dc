"""`jirakit sql`: one query against the synced warehouse, printed as a table, CSV or JSON.

The warehouse is named as for `jirakit sync` (``--dest duckdb:///file.duckdb`` or
``postgres://...``, ``--dataset``) and opened read-only: a DuckDB file in DuckDB's
read-only mode (a process that holds it for writing, such as a running sync, keeps it
locked), Postgres with ``default_transaction_read_only`` and the query in a read-only
transaction that is rolled back. Unqualified table names resolve in the dataset schema.
This guards against accidents; it is not an access control (give Postgres users a role
that can only read for that).

Errors (SQL, a missing database file, an unreachable server) are one line on stderr and
exit code 1.
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = ["Format", "open_read_only", "sql"]

_BATCH = 1000


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def _fail(message: str) -> NoReturn:
    Console(stderr=True).print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def _one_line(exc: BaseException) -> str:
    """A database error's message on one line, without the echo of the query that DuckDB
    and Postgres add below it (``LINE 1: ...`` and a caret)."""
    lines: list[str] = []
    for line in str(exc).splitlines():
        text = line.strip()
        if text.startswith("LINE ") or text == "^":
            break
        if text:
            lines.append(text)
    return " ".join(lines) or type(exc).__name__


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def open_read_only(dest: str | None, dataset: str | None) -> tuple[Any, str]:
    """A read-only connection to the warehouse ``dest`` names (the forms `jirakit sync`
    takes) with the dataset as its default schema, and the dialect; a missing DuckDB
    file, an unreachable server or another destination is a one-line error (exit 1)."""
    from jirakit.sync.destination import DestinationError, warehouse_for

    try:
        warehouse = warehouse_for(dest, dataset)
    except DestinationError as exc:
        _fail(str(exc))
    if warehouse.dialect == "duckdb":
        import duckdb

        path = Path(warehouse.location or "jira.duckdb")
        if not path.is_file():
            _fail(f"{path} does not exist: run `jirakit sync` first, or name it with --dest")
        try:
            conn: Any = duckdb.connect(str(path), read_only=True)
        except duckdb.Error as exc:
            _fail(f"cannot open {path}: {_one_line(exc)}")
        if warehouse.dataset != "main":
            try:
                conn.execute(f"SET schema = {_quote_literal(warehouse.dataset)}")
            except duckdb.Error as exc:
                conn.close()
                _fail(f"dataset {warehouse.dataset!r}: {_one_line(exc)}")
        return conn, "duckdb"
    if warehouse.dialect == "postgres":
        import psycopg

        try:
            conn = psycopg.connect(warehouse.conninfo(), autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:  # the message names host and port, never the password
            _fail(f"cannot connect to Postgres: {_one_line(exc)}")
        try:
            conn.execute("SET default_transaction_read_only = on")
            conn.execute(
                "SELECT set_config('search_path', %s, false)",
                [f"{_quote_ident(warehouse.dataset)}, public"],
            )
        except psycopg.Error as exc:
            conn.close()
            _fail(f"cannot prepare the Postgres session: {_one_line(exc)}")
        conn.autocommit = False
        conn.read_only = True
        return conn, "postgres"
    _fail(
        f"jirakit sql reads DuckDB or Postgres warehouses, not {warehouse.dialect!r}: "
        "pass --dest duckdb:///file.duckdb or --dest postgres://..."
    )


def _batches(cursor: Any) -> Iterator[list[tuple[Any, ...]]]:
    while batch := cursor.fetchmany(_BATCH):
        yield [tuple(row) for row in batch]


def _plain(value: Any) -> Any:
    """A value as JSON has it (nested JSON from Postgres stays nested)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)


def _cell(value: Any) -> str:
    """A value as CSV and the table show it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(_plain(value), ensure_ascii=False)
    if isinstance(value, datetime | date | time):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    return str(_plain(value))


def _unique(columns: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    names = []
    for name in columns:
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return names


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _print_table(columns: Sequence[str], cursor: Any, max_rows: int) -> None:
    rows = cursor.fetchmany(max_rows + 1)
    more = len(rows) > max_rows
    rows = [tuple(r) for r in rows[:max_rows]]
    table = Table(show_edge=False, header_style="bold")
    for i, name in enumerate(columns):
        values = [r[i] for r in rows if r[i] is not None]
        numeric = bool(values) and all(_is_number(v) for v in values)
        table.add_column(Text(name), justify="right" if numeric else "left")
    for row in rows:
        # Text, not markup: a value like "[red]" is printed as it is.
        table.add_row(*(Text("NULL", style="dim") if v is None else Text(_cell(v)) for v in row))
    n = len(rows)
    table.caption = (
        f"first {n:,} rows (more with --max-rows, or all with --format csv)"
        if more
        else f"{n:,} row{'s' if n != 1 else ''}"
    )
    Console().print(table)


def _write_csv(columns: Sequence[str], cursor: Any) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    for batch in _batches(cursor):
        writer.writerows([_cell(v) for v in row] for row in batch)


def _write_json(columns: Sequence[str], cursor: Any) -> None:
    names = _unique(columns)
    out = sys.stdout
    out.write("[")
    first = True
    for batch in _batches(cursor):
        for row in batch:
            item = {k: _plain(v) for k, v in zip(names, row, strict=True)}
            out.write(("\n" if first else ",\n") + json.dumps(item, ensure_ascii=False))
            first = False
    out.write("\n]\n" if not first else "]\n")


def sql(
    query: Annotated[
        str,
        typer.Argument(
            help='One SQL query, e.g. "select status, count(*) from issue_enhanced group by 1".',
            show_default=False,
        ),
    ],
    dest: Annotated[
        str | None,
        typer.Option(
            help="The warehouse: duckdb:///file.duckdb (default jira.duckdb) or postgres://..."
        ),
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option(
            help="Dataset (schema) to resolve table names in; main on DuckDB, jira elsewhere."
        ),
    ] = None,
    output_format: Annotated[
        Format, typer.Option("--format", help="table (rich), csv or json (an array of objects).")
    ] = Format.table,
    max_rows: Annotated[
        int, typer.Option(min=1, help="Rows shown in a table (csv and json print every row).")
    ] = 1000,
) -> None:
    """Run one SQL query against the synced warehouse (read-only) and print the result."""
    conn, dialect = open_read_only(dest, dataset)
    errors: tuple[type[BaseException], ...]
    if dialect == "duckdb":
        import duckdb

        errors = (duckdb.Error,)
    else:
        import psycopg

        errors = (psycopg.Error,)
    try:
        cursor = conn.execute(query)
        if cursor.description is None:  # a statement without a result (SET, PRAGMA ...)
            if output_format is Format.table:
                Console(stderr=True).print("OK (no result set)", highlight=False)
            return
        columns = [str(d[0]) for d in cursor.description]
        if output_format is Format.csv:
            _write_csv(columns, cursor)
        elif output_format is Format.json:
            _write_json(columns, cursor)
        else:
            _print_table(columns, cursor, max_rows)
        sys.stdout.flush()
    except errors as exc:
        _fail(_one_line(exc))
    except BrokenPipeError:
        # The reader went away (`jirakit sql ... | head`): stop quietly, and keep Python
        # from reporting the failed flush of stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise typer.Exit(0) from None
    finally:
        if dialect == "postgres":
            conn.rollback()
        conn.close()
