"""Warehouse sync: Jira into DuckDB, Postgres or any dlt destination.

- `jira_source` is the dlt source (use it in any dlt pipeline, Airflow or Dagster);
- `run_sync` runs one sync end to end: extract + load, deletions, analytics models;
- `warehouse_for` turns ``duckdb:///file`` / ``postgres://...`` into a `Warehouse`.
"""

from jirakit.sync.pipeline import SyncResult, Warehouse, post_load, run_sync, warehouse_for
from jirakit.sync.source import FatalSyncError, RunContext, SyncOptions, jira_source

__all__ = [
    "FatalSyncError",
    "RunContext",
    "SyncOptions",
    "SyncResult",
    "Warehouse",
    "jira_source",
    "post_load",
    "run_sync",
    "warehouse_for",
]
