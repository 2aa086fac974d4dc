"""Warehouse sync: Jira into DuckDB, Postgres or any dlt destination.

- `jira_source` is the dlt source (use it in any dlt pipeline, Airflow or Dagster);
- `run_sync` runs one sync end to end: extract + load, deletions, analytics models;
- `warehouse_for` turns ``duckdb:///file`` / ``postgres://...`` into a `Warehouse`.

The names load on first use (PEP 562): importing ``jirakit.sync.schema`` or the CLI does
not pay for importing dlt (most of a second) until a sync actually runs.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jirakit.sync.pipeline import SyncResult, Warehouse, post_load, run_sync, warehouse_for
    from jirakit.sync.source import FatalSyncError, RunContext, SyncOptions, jira_source

_HOMES = {
    "SyncResult": "jirakit.sync.pipeline",
    "Warehouse": "jirakit.sync.pipeline",
    "post_load": "jirakit.sync.pipeline",
    "run_sync": "jirakit.sync.pipeline",
    "warehouse_for": "jirakit.sync.pipeline",
    "FatalSyncError": "jirakit.sync.source",
    "RunContext": "jirakit.sync.source",
    "SyncOptions": "jirakit.sync.source",
    "jira_source": "jirakit.sync.source",
}

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


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'jirakit.sync' has no attribute {name!r}")
    return getattr(import_module(home), name)
