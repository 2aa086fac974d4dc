"""Analytics models: SQL run in the warehouse after each load.

Each model is one ``.sql`` file in this package holding one ``SELECT``; the runner
materialises it as a table of the same name in the dataset schema (drop + ``CREATE TABLE
AS``), in dependency order (``-- depends_on:`` header lines), all in one transaction, so a
reader never sees a half-built set.

The SQL is written once, in the subset that DuckDB and PostgreSQL (15+) share, and runs
unchanged on both. The few things that differ or must be injected are ``{{placeholders}}``
the runner fills in:

``{{schema}}``               the quoted dataset schema
``{{now}}`` / ``{{today}}``  the injectable clock, as timestamptz / date literals (UTC)
``{{sprint_membership}}``    ``(issue_id, sprint_id)`` rows from ``issues.sprint_ids``
                             (JSON; the one dialect-specific snippet), or from
                             ``sprint_issues`` for issues whose ``sprint_ids`` is NULL
``{{daily_fields}}``         the fields tracked by ``daily_issue_field_history``
``{{days_after_resolved}}``  how long resolved issues stay in it (NULL: until today)

Why not transpile from one dialect (sqlglot): the only construct that differs here is
JSON array unnesting, and transpiled SQL would still have to be tested on both databases;
shared SQL, tested on both, keeps what you read identical to what runs.

Usage: ``run_models(conn, dialect="duckdb", schema="jira")`` after a load; see
``docs/sync.md`` for every model's columns and semantics.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from graphlib import TopologicalSorter
from importlib import resources
from typing import Any, Literal, Protocol

__all__ = [
    "DEFAULT_DAILY_FIELDS",
    "DEFAULT_DAYS_AFTER_RESOLVED",
    "MODEL_NAMES",
    "Connection",
    "Dialect",
    "Model",
    "current_catalog",
    "load_models",
    "qualified_schema",
    "quote_ident",
    "render",
    "run_models",
]

Dialect = Literal["duckdb", "postgres"]

DEFAULT_DAILY_FIELDS: tuple[str, ...] = ("status", "assignee", "priority", "sprint")
# How long a resolved issue keeps its daily rows (Fivetran's dbt_jira keeps a month, its
# ``jira_issue_history_buffer``). Until today instead (None), the table grows by every
# issue ever closed every day: 12 million rows for 5,000 issues of two-year-old history.
DEFAULT_DAYS_AFTER_RESOLVED = 30

_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")
_DEPENDS_ON = re.compile(r"^--\s*depends_on:(.*)$", re.M)

# Issue -> sprint rows from the JSON array issues.sprint_ids; issues whose sprint_ids is
# NULL fall back to the sprint_issues table. Non-array JSON values yield nothing.
_SPRINT_MEMBERSHIP: dict[str, str] = {
    "duckdb": """
    SELECT i.id AS issue_id, CAST(j.value ->> '$' AS BIGINT) AS sprint_id
    FROM {{schema}}.issues AS i, json_each(i.sprint_ids) AS j
    WHERE i.is_deleted IS NOT TRUE AND json_type(i.sprint_ids) = 'ARRAY'
    UNION
    SELECT si.issue_id, si.sprint_id
    FROM {{schema}}.sprint_issues AS si
    JOIN {{schema}}.issues AS i ON i.id = si.issue_id
    WHERE i.is_deleted IS NOT TRUE AND i.sprint_ids IS NULL
    """,
    "postgres": """
    SELECT i.id AS issue_id, CAST(j.value AS BIGINT) AS sprint_id
    FROM {{schema}}.issues AS i
    CROSS JOIN LATERAL jsonb_array_elements_text(
        CASE WHEN jsonb_typeof(CAST(i.sprint_ids AS JSONB)) = 'array'
            THEN CAST(i.sprint_ids AS JSONB) ELSE CAST('[]' AS JSONB) END
    ) AS j(value)
    WHERE i.is_deleted IS NOT TRUE
    UNION
    SELECT si.issue_id, si.sprint_id
    FROM {{schema}}.sprint_issues AS si
    JOIN {{schema}}.issues AS i ON i.id = si.issue_id
    WHERE i.is_deleted IS NOT TRUE AND i.sprint_ids IS NULL
    """,
}


@dataclass(frozen=True, slots=True)
class Model:
    """One model: its table name, its SQL template and the models it reads."""

    name: str
    sql: str
    depends_on: tuple[str, ...]

    @property
    def description(self) -> str:
        """The model's header comment (up to the ``depends_on`` line), as text."""
        lines = []
        for line in self.sql.splitlines():
            if not line.startswith("--") or _DEPENDS_ON.match(line):
                break
            lines.append(line[2:].strip())
        return "\n".join(lines).strip()


def load_models() -> tuple[Model, ...]:
    """Every model in this package, in dependency order (ties broken by name)."""
    found: dict[str, Model] = {}
    for entry in resources.files(__package__).iterdir():
        if not entry.name.endswith(".sql"):
            continue
        sql = entry.read_text(encoding="utf-8")
        match = _DEPENDS_ON.search(sql)
        deps = tuple(d.strip() for d in match.group(1).split(",") if d.strip()) if match else ()
        name = entry.name.removesuffix(".sql")
        found[name] = Model(name, sql, deps)
    for model in found.values():
        unknown = set(model.depends_on) - set(found)
        if unknown:
            raise ValueError(f"model {model.name} depends on unknown models {sorted(unknown)}")
    sorter: TopologicalSorter[str] = TopologicalSorter()
    for name in sorted(found):
        sorter.add(name, *sorted(found[name].depends_on))
    order: list[str] = []
    sorter.prepare()
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order.extend(ready)
        sorter.done(*ready)
    return tuple(found[name] for name in order)


MODEL_NAMES: tuple[str, ...] = tuple(m.name for m in load_models())


def quote_ident(name: str) -> str:
    """Quote an identifier the way DuckDB and PostgreSQL both read it."""
    if not name or "\x00" in name:
        raise ValueError(f"invalid identifier {name!r}")
    return '"' + name.replace('"', '""') + '"'


def qualified_schema(schema: str, catalog: str | None = None) -> str:
    """``"schema"``, or ``"catalog"."schema"`` when a catalog is given."""
    return (
        quote_ident(schema) if catalog is None else f"{quote_ident(catalog)}.{quote_ident(schema)}"
    )


def current_catalog(conn: Connection, dialect: Dialect) -> str | None:
    """DuckDB's current database (the catalog to qualify names with); None on Postgres."""
    if dialect != "duckdb":
        return None
    row = conn.execute("SELECT current_database()").fetchone()
    return str(row[0])


def _text_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware (e.g. datetime.now(UTC))")
    return now.astimezone(UTC)


def render(
    model: Model,
    *,
    dialect: Dialect,
    schema: str = "jira",
    now: datetime | None = None,
    daily_fields: Sequence[str] = DEFAULT_DAILY_FIELDS,
    days_after_resolved: int | None = DEFAULT_DAYS_AFTER_RESOLVED,
    catalog: str | None = None,
) -> str:
    """The model's ``SELECT`` with every placeholder filled in for ``dialect``.

    ``catalog`` qualifies the schema (``"catalog"."schema"``); `run_models` passes DuckDB's
    current database, since a file named like the schema (``jira.duckdb`` holding schema
    ``jira``) makes a bare ``jira.issues`` ambiguous.
    """
    if dialect not in _SPRINT_MEMBERSHIP:
        raise ValueError(f"unsupported dialect {dialect!r} (use 'duckdb' or 'postgres')")
    if not daily_fields:
        raise ValueError("daily_fields must name at least one field")
    if days_after_resolved is not None and days_after_resolved < 0:
        raise ValueError("days_after_resolved must be >= 0")
    clock = _utc(now)
    values: dict[str, str] = {
        "sprint_membership": _SPRINT_MEMBERSHIP[dialect],
        "schema": qualified_schema(schema, catalog),
        "now": f"CAST('{clock:%Y-%m-%d %H:%M:%S.%f}+00' AS TIMESTAMP WITH TIME ZONE)",
        "today": f"CAST('{clock:%Y-%m-%d}' AS DATE)",
        "daily_fields": ", ".join(f"({_text_literal(f)})" for f in daily_fields),
        "days_after_resolved": "NULL" if days_after_resolved is None else str(days_after_resolved),
    }

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise KeyError(f"model {model.name}: unknown placeholder {{{{{key}}}}}")
        return values[key]

    # Two passes: a snippet (sprint_membership) may itself hold placeholders.
    return _PLACEHOLDER.sub(fill, _PLACEHOLDER.sub(fill, model.sql))


class Connection(Protocol):
    """The part of a DB-API connection the runner uses (duckdb and psycopg 3 both fit)."""

    def execute(self, query: str, /) -> Any: ...

    def commit(self) -> Any: ...

    def rollback(self) -> Any: ...


def run_models(
    conn: Connection,
    *,
    dialect: Dialect,
    schema: str = "jira",
    now: datetime | None = None,
    daily_fields: Sequence[str] = DEFAULT_DAILY_FIELDS,
    days_after_resolved: int | None = DEFAULT_DAYS_AFTER_RESOLVED,
    models: Iterable[str] | None = None,
    before_each: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Build every model table in ``schema``; return the row count of each, in run order.

    ``conn`` is a duckdb connection or a psycopg 3 connection. All tables are replaced in
    one transaction, committed at the end (rolled back on error). ``now`` (timezone-aware;
    default: the current time) is the clock every model uses, so runs are reproducible.
    ``models`` restricts the run to those models (their dependencies must already exist).
    ``before_each(model)`` is called before each statement; what it raises rolls the whole
    run back (a sync stopping between statements).
    """
    if dialect not in _SPRINT_MEMBERSHIP:
        raise ValueError(f"unsupported dialect {dialect!r} (use 'duckdb' or 'postgres')")
    selected = load_models()
    if models is not None:
        wanted = set(models)
        unknown = wanted - {m.name for m in selected}
        if unknown:
            raise ValueError(f"unknown models: {sorted(unknown)}")
        selected = tuple(m for m in selected if m.name in wanted)
    clock = _utc(now)
    catalog = current_catalog(conn, dialect)
    prefix = qualified_schema(schema, catalog)
    statements: list[tuple[str, str]] = []
    for model in selected:
        select = render(
            model,
            dialect=dialect,
            schema=schema,
            now=clock,
            daily_fields=daily_fields,
            days_after_resolved=days_after_resolved,
            catalog=catalog,
        )
        table = f"{prefix}.{quote_ident(model.name)}"
        statements.append((model.name, f"DROP TABLE IF EXISTS {table}"))
        statements.append((model.name, f"CREATE TABLE {table} AS\n{select}"))

    counts: dict[str, int] = {}
    explicit = dialect == "duckdb" or bool(getattr(conn, "autocommit", False))
    if explicit:
        conn.execute("BEGIN TRANSACTION")
    try:
        for name, statement in statements:
            if before_each is not None:
                before_each(name)
            try:
                conn.execute(statement)
            except Exception as exc:
                exc.add_note(f"while building model {name!r} ({dialect})")
                raise
        for model in selected:
            table = f"{prefix}.{quote_ident(model.name)}"
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            counts[model.name] = int(row[0])
    except BaseException:
        if explicit:
            conn.execute("ROLLBACK")
        else:
            conn.rollback()
        raise
    if explicit:
        conn.execute("COMMIT")
    else:
        conn.commit()
    return counts
