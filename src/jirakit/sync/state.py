"""Whose state a sync uses: the (Jira site, destination, dataset) it belongs to.

A sync's cursor lives in dlt's source state, which dlt commits with the data into the
destination (``_dlt_pipeline_state``). The local pipelines folder is only a cache of it,
so the rules are:

- the dlt pipeline is named after the site, the destination and the dataset
  (`pipeline_name`): two destinations, two sites or two datasets never share a cursor,
  whatever pipelines folder they use;
- before a run, the destination is asked what it holds (`inspect`). When it holds no
  committed state for this pipeline, any local cache is discarded and the run is a full
  load (`plan`), and says so; a dataset that already holds another site's rows is refused,
  so two sites never mix in one set of tables (give each its own ``--dataset``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from jirakit.sync.destination import Warehouse


def site_identity(url: str | None) -> str:
    """A site URL as one stable string: scheme and host in lower case, no trailing slash,
    no credentials or query."""
    if not url:
        return "unresolved"
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme.lower()}://{host}{port}{parts.path.rstrip('/')}"


def pipeline_name(site: str, warehouse: Warehouse, prefix: str = "jirakit") -> str:
    """The dlt pipeline for syncing ``site`` into ``warehouse``'s dataset."""
    key = "\n".join((site, warehouse.identity or warehouse.dialect, warehouse.dataset))
    return f"{prefix}_{hashlib.sha256(key.encode()).hexdigest()[:16]}"


@dataclass(frozen=True)
class DestinationState:
    """What the destination holds, read with SQL before a run (``known`` is False for
    destinations jirakit has no SQL access to: there dlt's own restore decides)."""

    known: bool = False
    committed: bool = False  # a completed load of this pipeline's state
    sites: frozenset[str] = frozenset()  # sites recorded in `_sync_runs`
    issues: int | None = None  # rows in `issues` (None: no table)
    last_run: tuple[Any, Any] | None = None  # (started_at, cursor_to) of the last success
    # Issues (not deleted) updated since shortly before the last success's cursor:
    # id -> (updated_at, synced_at) in epoch ms (`RunContext.recent`).
    recent: dict[int, tuple[int, int]] = field(default_factory=dict)
    # The dataset's tables and their columns.
    columns: dict[str, frozenset[str]] = field(default_factory=dict)


@dataclass
class Plan:
    """How this run starts: ``full`` with the ``reason`` to print, or incremental."""

    full: bool
    reason: str
    reset_state: bool = False  # forget the restored cursor (the warehouse was emptied)
    discarded_cache: bool = False
    notes: list[str] = field(default_factory=list)


def table_columns(conn: Any, dialect: str, schema: str) -> dict[str, set[str]]:
    """The tables of ``schema`` and their columns, read from ``information_schema``."""
    rows = _fetch(
        conn,
        dialect,
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = ?",
        (schema,),
    )
    tables: dict[str, set[str]] = {}
    for table, column in rows:
        tables.setdefault(str(table), set()).add(str(column))
    return tables


def _fetch(conn: Any, dialect: str, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    if dialect == "postgres":
        sql = sql.replace("?", "%s")
    cursor = conn.execute(sql, params)
    return list(cursor.fetchall())


def _q(schema: str, table: str) -> str:
    return '"' + schema.replace('"', '""') + '"."' + table.replace('"', '""') + '"'


def inspect(
    warehouse: Warehouse, name: str, recent_within: timedelta | None = None
) -> DestinationState:
    """Read what ``warehouse`` holds for the pipeline ``name`` (DuckDB and Postgres; a
    DuckDB file that does not exist yet holds nothing and is not created). With
    ``recent_within``, also the issues updated that long (and two hours more: the JQL
    cursor is floored to the minute and moved back over DST) before the last successful
    run's cursor."""
    if warehouse.dialect not in ("duckdb", "postgres"):
        return DestinationState()
    if warehouse.dialect == "duckdb":
        from pathlib import Path

        if not Path(warehouse.location or "jira.duckdb").exists():
            return DestinationState(known=True)
    conn = warehouse.connect()
    try:
        return _inspect(conn, warehouse.dialect, warehouse.dataset, name, recent_within)
    finally:
        conn.close()


def _inspect(
    conn: Any, dialect: str, schema: str, name: str, recent_within: timedelta | None = None
) -> DestinationState:
    tables = table_columns(conn, dialect, schema)
    committed = False
    if "_dlt_pipeline_state" in tables and "_dlt_loads" in tables:
        # The same test dlt uses to restore state: a state row from a completed load.
        rows = _fetch(
            conn,
            dialect,
            f"SELECT count(*) FROM {_q(schema, '_dlt_pipeline_state')} s "
            f"JOIN {_q(schema, '_dlt_loads')} l ON l.load_id = s._dlt_load_id "
            "WHERE s.pipeline_name = ? AND l.status = 0",
            (name,),
        )
        committed = bool(rows and rows[0][0])
    sites: set[str] = set()
    last_run = None
    runs = tables.get("_sync_runs", set())
    if "site" in runs:
        sites = {
            str(r[0])
            for r in _fetch(
                conn,
                dialect,
                f"SELECT DISTINCT site FROM {_q(schema, '_sync_runs')} WHERE site IS NOT NULL",
            )
        }
    if {"status", "started_at", "cursor_to"} <= runs:
        found = _fetch(
            conn,
            dialect,
            f"SELECT started_at, cursor_to FROM {_q(schema, '_sync_runs')} "
            "WHERE status = 'succeeded' ORDER BY started_at DESC LIMIT 1",
        )
        last_run = (found[0][0], found[0][1]) if found else None
    issues = None
    recent: dict[int, tuple[int, int]] = {}
    if "issues" in tables:
        issues = int(_fetch(conn, dialect, f"SELECT count(*) FROM {_q(schema, 'issues')}")[0][0])
        wanted = {"id", "updated_at", "synced_at", "is_deleted"}
        if (
            recent_within is not None
            and last_run is not None
            and last_run[1] is not None
            and wanted <= tables["issues"]
        ):
            epoch = (
                "epoch_ms({c})"
                if dialect == "duckdb"
                else "CAST(floor(extract(epoch FROM {c}) * 1000) AS BIGINT)"
            )
            since = last_run[1] - recent_within - timedelta(hours=2)
            rows = _fetch(
                conn,
                dialect,
                f"SELECT id, {epoch.format(c='updated_at')}, {epoch.format(c='synced_at')} "
                f"FROM {_q(schema, 'issues')} WHERE NOT is_deleted AND updated_at >= ? "
                "AND synced_at IS NOT NULL",
                (since,),
            )
            recent = {int(r[0]): (int(r[1]), int(r[2])) for r in rows}
    columns = {table: frozenset(names) for table, names in tables.items()}
    return DestinationState(True, committed, frozenset(sites), issues, last_run, recent, columns)


def plan(
    seen: DestinationState,
    *,
    site: str,
    where: str,
    local_state: dict[str, Any],
    full_refresh: bool,
) -> Plan:
    """Decide how the run starts from what the destination holds (``seen``) and the local
    cache's source state (``local_state``, before dlt restores anything)."""
    if full_refresh:
        return Plan(True, "full refresh: every table of this site reloaded, as asked")
    if not seen.known:
        return Plan(bool(not local_state), "the destination's own state decides (no SQL access)")
    if not seen.committed:
        if local_state.get("cursor"):
            return Plan(
                True,
                f"full load: {where} holds no data for {site}; "
                "a cursor cached locally for it was discarded",
                discarded_cache=True,
            )
        return Plan(True, f"full load: first sync of {site} into {where}")
    if not seen.issues:
        # Emptied or dropped by hand (or a site with no issues, where a full load is free):
        # a cursor must not stand for rows the warehouse no longer has.
        return Plan(True, f"full load: {where} holds no issues for {site}", reset_state=True)
    return Plan(False, f"incremental: from the cursor committed in {where}")


def other_sites(seen: DestinationState, site: str) -> list[str]:
    return sorted(seen.sites - {site})
