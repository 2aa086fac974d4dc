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

import hashlib
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
    "ModelRun",
    "build_models",
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
    WHERE i.is_deleted IS NOT TRUE AND json_type(i.sprint_ids) = 'ARRAY' AND i.id {{in_scope}}
    UNION
    SELECT si.issue_id, si.sprint_id
    FROM {{schema}}.sprint_issues AS si
    JOIN {{schema}}.issues AS i ON i.id = si.issue_id
    WHERE i.is_deleted IS NOT TRUE AND i.sprint_ids IS NULL AND i.id {{in_scope}}
    """,
    "postgres": """
    SELECT i.id AS issue_id, CAST(j.value AS BIGINT) AS sprint_id
    FROM {{schema}}.issues AS i
    CROSS JOIN LATERAL jsonb_array_elements_text(
        CASE WHEN jsonb_typeof(CAST(i.sprint_ids AS JSONB)) = 'array'
            THEN CAST(i.sprint_ids AS JSONB) ELSE CAST('[]' AS JSONB) END
    ) AS j(value)
    WHERE i.is_deleted IS NOT TRUE AND i.id {{in_scope}}
    UNION
    SELECT si.issue_id, si.sprint_id
    FROM {{schema}}.sprint_issues AS si
    JOIN {{schema}}.issues AS i ON i.id = si.issue_id
    WHERE i.is_deleted IS NOT TRUE AND i.sprint_ids IS NULL AND i.id {{in_scope}}
    """,
}


@dataclass(frozen=True, slots=True)
class Model:
    """One model: its name, its SQL template, the models it reads and how it is kept.

    ``materialized`` is ``table`` or ``view`` (``-- materialized:`` header); ``incremental``
    names the column a table is maintained by (``-- incremental: issue_id``): its rows for
    an issue depend only on that issue's rows and the metadata tables, so a run rebuilds
    just the rows of the issues loaded since the last build.
    """

    name: str
    sql: str
    depends_on: tuple[str, ...]
    materialized: str = "table"
    incremental: str | None = None

    @property
    def description(self) -> str:
        """The model's header comment (up to the ``depends_on`` line), as text."""
        lines = []
        for line in self.sql.splitlines():
            if not line.startswith("--") or _DEPENDS_ON.match(line):
                break
            lines.append(line[2:].strip())
        return "\n".join(lines).strip()


def _header(sql: str, key: str) -> str | None:
    match = re.search(rf"^--\s*{key}:\s*(\w+)\s*$", sql, re.M)
    return match.group(1) if match else None


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
        materialized = _header(sql, "materialized") or "table"
        if materialized not in ("table", "view"):
            raise ValueError(f"model {name}: materialized must be table or view")
        found[name] = Model(name, sql, deps, materialized, _header(sql, "incremental"))
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
    scope: str | None = None,
) -> str:
    """The model's ``SELECT`` with every placeholder filled in for ``dialect``.

    ``scope`` names a table of ``issue_id`` s: an incremental model then selects the rows of
    those issues only (None: every issue).

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
        # ids are primary keys: IS NOT NULL holds for every row.
        "in_scope": "IS NOT NULL" if scope is None else f"IN (SELECT issue_id FROM {scope})",
    }

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise KeyError(f"model {model.name}: unknown placeholder {{{{{key}}}}}")
        return values[key]

    # Two passes: a snippet (sprint_membership) may itself hold placeholders.
    return _PLACEHOLDER.sub(fill, _PLACEHOLDER.sub(fill, model.sql))


# Tables whose rows name the issue they belong to: an issue is rebuilt when a row of one of
# these arrived with a load the models have not seen. issue_deletions and worklog
# deletions reach their issue through the fix-ups (is_deleted), so they count too.
_ISSUE_ROWS: tuple[tuple[str, str], ...] = (
    ("issues", "SELECT t.id FROM {t} AS t WHERE t._dlt_load_id IN ({new})"),
    ("issue_field_history", "SELECT t.issue_id FROM {t} AS t WHERE t._dlt_load_id IN ({new})"),
    ("comments", "SELECT t.issue_id FROM {t} AS t WHERE t._dlt_load_id IN ({new})"),
    ("worklogs", "SELECT t.issue_id FROM {t} AS t WHERE t._dlt_load_id IN ({new})"),
    ("sprint_issues", "SELECT t.issue_id FROM {t} AS t WHERE t._dlt_load_id IN ({new})"),
    ("issue_deletions", "SELECT t.id FROM {t} AS t WHERE t._dlt_load_id IN ({new})"),
    (
        "worklog_deletions",
        "SELECT w.issue_id FROM {t} AS t JOIN {p}.worklogs AS w ON w.id = t.id"
        " WHERE t._dlt_load_id IN ({new})",
    ),
)
# What the models read besides issue rows: a change here (a user renamed, a sprint closed)
# can change any issue's model rows, so it means a full rebuild.
_METADATA = ("boards", "fields", "priorities", "projects", "sprints", "statuses", "users")
# The columns of incremental models that move with the clock, refreshed on every run
# (the same expressions as in the models' SQL, so the values are the same to the bit).
# Durations are differences of epochs, not EXTRACT(EPOCH FROM a - b): DuckDB subtracts
# timestamps with time zone through ICU's calendar, 50 times slower (0.26 s against
# 0.005 s for 20,000 rows).
_CLOCK_COLUMNS = {
    "issue_enhanced": (
        "open_duration_minutes = CAST(EXTRACT(EPOCH FROM coalesce(resolved_at, {{now}}))"
        " - EXTRACT(EPOCH FROM created_at) AS DOUBLE PRECISION) / 60, "
        "days_in_current_status = CAST(EXTRACT(EPOCH FROM {{now}})"
        " - EXTRACT(EPOCH FROM current_status_since) AS DOUBLE PRECISION) / 86400"
    ),
    # Only the current status moves with the clock (left_at is NULL).
    "issue_status_transitions": (
        "minutes_in_to_status = CAST(EXTRACT(EPOCH FROM coalesce(left_at, {{now}}))"
        " - EXTRACT(EPOCH FROM changed_at) AS DOUBLE PRECISION) / 60 WHERE left_at IS NULL"
    ),
}
_STATE = "_jirakit_models"
_SEEN_LOADS = "_jirakit_model_loads"
_SCOPE = "_jirakit_model_scope"
_NEW_LOADS = "_jirakit_model_new_loads"


class Connection(Protocol):
    """The part of a DB-API connection the runner uses (duckdb and psycopg 3 both fit)."""

    def execute(self, query: str, /) -> Any: ...

    def commit(self) -> Any: ...

    def rollback(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class ModelRun:
    """What `build_models` did: every model's row count (in run order); ``mode``
    ``full`` (every table rebuilt) or ``incremental``; ``issues`` the issues rebuilt in an
    incremental run (None in a full one)."""

    counts: dict[str, int]
    mode: Literal["full", "incremental"]
    issues: int | None = None


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
    incremental: bool = False,
) -> dict[str, int]:
    """Build every model in ``schema``; return the row count of each, in run order.

    See `build_models` (this is its ``counts``)."""
    return build_models(
        conn,
        dialect=dialect,
        schema=schema,
        now=now,
        daily_fields=daily_fields,
        days_after_resolved=days_after_resolved,
        models=models,
        before_each=before_each,
        incremental=incremental,
    ).counts


def build_models(
    conn: Connection,
    *,
    dialect: Dialect,
    schema: str = "jira",
    now: datetime | None = None,
    daily_fields: Sequence[str] = DEFAULT_DAILY_FIELDS,
    days_after_resolved: int | None = DEFAULT_DAYS_AFTER_RESOLVED,
    models: Iterable[str] | None = None,
    before_each: Callable[[str], None] | None = None,
    incremental: bool = False,
) -> ModelRun:
    """Build the model tables and views in ``schema``.

    ``conn`` is a duckdb connection or a psycopg 3 connection. Everything is replaced in
    one transaction, committed at the end (rolled back on error). ``now`` (timezone-aware;
    default: the current time) is the clock every model uses, so runs are reproducible.
    ``models`` restricts the run to those models (their dependencies must already exist).
    ``before_each(model)`` is called before each model; what it raises rolls the whole
    run back (a sync stopping between statements).

    ``incremental``: where the models were last built by this code with the same settings
    and the metadata tables (users, sprints, statuses, ...) are unchanged, rebuild the
    incremental models' rows only for the issues that have rows from loads (dlt's
    ``_dlt_loads``) the models have not seen, refresh their clock columns, and rebuild
    the small aggregate models whole; the result is what a full build gives. Otherwise
    (and always when ``models`` is given) a full build.
    """
    if dialect not in _SPRINT_MEMBERSHIP:
        raise ValueError(f"unsupported dialect {dialect!r} (use 'duckdb' or 'postgres')")
    every = load_models()
    selected = every
    if models is not None:
        wanted = set(models)
        unknown = wanted - {m.name for m in selected}
        if unknown:
            raise ValueError(f"unknown models: {sorted(unknown)}")
        selected = tuple(m for m in selected if m.name in wanted)
    clock = _utc(now)
    catalog = current_catalog(conn, dialect)
    prefix = qualified_schema(schema, catalog)
    options: dict[str, Any] = {
        "dialect": dialect,
        "schema": schema,
        "now": clock,
        "daily_fields": daily_fields,
        "days_after_resolved": days_after_resolved,
        "catalog": catalog,
    }

    def table(name: str) -> str:
        return f"{prefix}.{quote_ident(name)}"

    def run(name: str, statement: str) -> None:
        try:
            conn.execute(statement)
        except Exception as exc:
            exc.add_note(f"while building model {name!r} ({dialect})")
            raise

    signature = _signature(every, dialect, daily_fields, days_after_resolved)
    explicit = dialect == "duckdb" or bool(getattr(conn, "autocommit", False))
    if explicit:
        conn.execute("BEGIN TRANSACTION")
    try:
        kinds = _objects(conn, dialect, schema, catalog)
        metadata = _fingerprint(conn, dialect, schema, catalog, kinds)
        # The loads not yet reflected, read once: the scope and the state recorded at the
        # end both use this list, so a load committed meanwhile (a webhook listener on
        # Postgres, under read committed) stays unseen and is taken up by the next build.
        if "_dlt_loads" in kinds:
            unseen = (
                f" WHERE l.load_id NOT IN (SELECT s.load_id FROM {table(_SEEN_LOADS)} AS s)"
                if _SEEN_LOADS in kinds
                else ""
            )
            conn.execute(f"DROP TABLE IF EXISTS {_NEW_LOADS}")
            conn.execute(
                f"CREATE TEMPORARY TABLE {_NEW_LOADS} AS SELECT DISTINCT l.load_id "
                f"FROM {table('_dlt_loads')} AS l{unseen}"
            )
        mode: Literal["full", "incremental"] = "full"
        if (
            incremental
            and models is None
            and "_dlt_loads" in kinds
            and all(m.name in kinds for m in every)
            and _stored_state(conn, table(_STATE), kinds) == (signature, metadata)
        ):
            mode = "incremental"
        touched: int | None = None
        if mode == "full":
            for model in reversed(selected):
                kind = kinds.get(model.name)
                if kind is not None:
                    run(model.name, f"DROP {kind} {table(model.name)}")
            for model in selected:
                if before_each is not None:
                    before_each(model.name)
                if model.materialized == "view":
                    run(model.name, f"CREATE VIEW {table(model.name)} AS\n{_view(model, options)}")
                else:
                    select = render(model, **options)
                    run(model.name, f"CREATE TABLE {table(model.name)} AS\n{select}")
        else:
            new = f"SELECT n.load_id FROM {_NEW_LOADS} AS n"
            parts = [
                sql.format(t=table(name), p=prefix, new=new)
                for name, sql in _ISSUE_ROWS
                if name in kinds and (name != "worklog_deletions" or "worklogs" in kinds)
            ]
            conn.execute(f"DROP TABLE IF EXISTS {_SCOPE}")
            conn.execute(
                f"CREATE TEMPORARY TABLE {_SCOPE} AS SELECT DISTINCT CAST(x.id AS BIGINT) "
                f"AS issue_id FROM ({' UNION ALL '.join(parts)}) AS x(id)"
            )
            touched = int(conn.execute(f"SELECT count(*) FROM {_SCOPE}").fetchone()[0])
            for model in selected:
                if before_each is not None:
                    before_each(model.name)
                target = table(model.name)
                if model.materialized == "view":
                    # The view embeds today's date: recreated on every run, which costs
                    # nothing (it holds no rows).
                    run(model.name, f"DROP VIEW {target}")
                    run(model.name, f"CREATE VIEW {target} AS\n{_view(model, options)}")
                elif model.incremental:
                    key = quote_ident(model.incremental)
                    if touched:
                        select = render(model, **options, scope=_SCOPE)
                        run(
                            model.name,
                            f"DELETE FROM {target} WHERE {key} IN (SELECT issue_id FROM {_SCOPE})",
                        )
                        run(model.name, f"INSERT INTO {target} SELECT * FROM (\n{select}\n) AS m")
                    if "issues" in kinds:
                        # issues gone from the warehouse since (a full refresh whose own
                        # models never ran reloads only what exists): their rows go too
                        run(
                            model.name,
                            f"DELETE FROM {target} WHERE {key} NOT IN "
                            f"(SELECT i.id FROM {table('issues')} AS i)",
                        )
                    if model.name in _CLOCK_COLUMNS:
                        update = _CLOCK_COLUMNS[model.name]
                        filled = render(Model(model.name, update, ()), **options)
                        run(model.name, f"UPDATE {target} SET {filled}")
                else:
                    run(model.name, f"DROP TABLE {target}")
                    run(model.name, f"CREATE TABLE {target} AS\n{render(model, **options)}")
            conn.execute(f"DROP TABLE {_SCOPE}")
        counts = {m.name: _count(conn, m, table(m.name), options) for m in selected}
        if models is None:
            _store_state(conn, table, kinds, signature, metadata, clock)
        if "_dlt_loads" in kinds:
            conn.execute(f"DROP TABLE {_NEW_LOADS}")
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
    return ModelRun(counts, mode, touched)


def _view(model: Model, options: dict[str, Any]) -> str:
    """A view's ``SELECT``. DuckDB binds a view's unqualified names in the view's own
    database and schema when it is read, and a qualified name would break when the file is
    opened under another name (copied, or attached): there the tables stay unqualified.
    PostgreSQL resolves them once, when the view is created."""
    if options["dialect"] == "duckdb":
        model = Model(model.name, model.sql.replace("{{schema}}.", ""), model.depends_on)
    return render(model, **options)


def _signature(
    models: Sequence[Model],
    dialect: str,
    daily_fields: Sequence[str],
    days_after_resolved: int | None,
) -> str:
    """What the stored models were built from: a different one means a full rebuild."""
    text = repr((dialect, tuple(daily_fields), days_after_resolved, [m.sql for m in models]))
    return hashlib.sha256(text.encode()).hexdigest()


def _objects(conn: Connection, dialect: str, schema: str, catalog: str | None) -> dict[str, str]:
    """The tables and views in ``schema``: name -> ``TABLE`` or ``VIEW``."""
    where = f"table_schema = {_text_literal(schema)}"
    if catalog is not None:
        where += f" AND table_catalog = {_text_literal(catalog)}"
    rows = conn.execute(
        f"SELECT table_name, table_type FROM information_schema.tables WHERE {where}"
    ).fetchall()
    return {str(n): ("VIEW" if "VIEW" in str(t).upper() else "TABLE") for n, t in rows}


def _fingerprint(
    conn: Connection, dialect: str, schema: str, catalog: str | None, kinds: dict[str, str]
) -> str:
    """A digest of the metadata tables' contents (dlt's bookkeeping columns left out)."""
    prefix = qualified_schema(schema, catalog)
    digest = hashlib.sha256()
    for name in _METADATA:
        if name not in kinds:
            continue
        where = f"table_schema = {_text_literal(schema)} AND table_name = {_text_literal(name)}"
        if catalog is not None:
            where += f" AND table_catalog = {_text_literal(catalog)}"
        columns = sorted(
            str(r[0])
            for r in conn.execute(
                f"SELECT column_name FROM information_schema.columns WHERE {where}"
            ).fetchall()
            if not str(r[0]).startswith("_dlt_")
        )
        listed = ", ".join(quote_ident(c) for c in columns)
        rows = conn.execute(f"SELECT {listed} FROM {prefix}.{quote_ident(name)}").fetchall()
        texts = sorted(repr(tuple(_plain(v) for v in r)) for r in rows)
        digest.update(repr((name, columns, texts)).encode())
    return digest.hexdigest()


def _plain(value: Any) -> Any:
    """A value as the same text whatever the session's time zone (a timestamp with time
    zone comes back in it)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).isoformat()
    return value


def _stored_state(conn: Connection, state: str, kinds: dict[str, str]) -> tuple[str, str] | None:
    if _STATE not in kinds or _SEEN_LOADS not in kinds:
        return None
    row = conn.execute(f"SELECT signature, metadata FROM {state}").fetchone()
    return None if row is None else (str(row[0]), str(row[1]))


def _store_state(
    conn: Connection,
    table: Callable[[str], str],
    kinds: dict[str, str],
    signature: str,
    metadata: str,
    clock: datetime,
) -> None:
    """Record what the models now reflect: their signature, the metadata digest and every
    load they have seen (in the models' transaction, so it is true when committed)."""
    state, seen = table(_STATE), table(_SEEN_LOADS)
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {state} "
        "(signature TEXT, metadata TEXT, built_at TIMESTAMP WITH TIME ZONE)"
    )
    conn.execute(f"CREATE TABLE IF NOT EXISTS {seen} (load_id TEXT)")
    conn.execute(f"DELETE FROM {state}")
    conn.execute(
        f"INSERT INTO {state} VALUES ({_text_literal(signature)}, {_text_literal(metadata)}, "
        f"CAST('{clock.isoformat()}' AS TIMESTAMP WITH TIME ZONE))"
    )
    if "_dlt_loads" in kinds:
        conn.execute(
            f"INSERT INTO {seen} SELECT n.load_id FROM {_NEW_LOADS} AS n "
            f"WHERE n.load_id NOT IN (SELECT s.load_id FROM {seen} AS s)"
        )


def _count(conn: Connection, model: Model, target: str, options: dict[str, Any]) -> int:
    """The model's row count; for a view of days, summed from its ranges rather than by
    generating every day."""
    if model.materialized == "view" and "generate_series" in model.sql:
        ranges, _, _ = render(model, **options).rpartition("\nSELECT\n")
        if "\nWITH bounded AS (" in ranges:
            row = conn.execute(
                f"{ranges}\nSELECT coalesce(sum(b.to_day - b.from_day + 1), 0) "
                "FROM bounded AS b WHERE b.from_day <= b.to_day"
            ).fetchone()
            return int(row[0])
    return int(conn.execute(f"SELECT count(*) FROM {target}").fetchone()[0])
