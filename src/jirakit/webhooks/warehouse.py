"""The warehouse consumer: keep a sync's tables current between syncs.

Events mark issues (and worklogs) dirty; each flush reads them again (fetch-on-notify,
`jirakit.webhooks.fetch`) and loads them with dlt into the sync's own tables, as rows made
by the sync's own code (`jirakit.sync.rows`): the same ids, the same columns, the same
values a full sync would write. Deletions become ``issue_deletions`` / ``worklog_deletions``
rows, and `jirakit.sync.pipeline.post_load` turns them into ``is_deleted`` exactly as
after a sync (child rows of a deleted issue included).

    receiver = Receiver("sqlite:///inbox.db", secrets)
    attach_warehouse(receiver, jira, dest="duckdb:///jira.duckdb")

The loads run through a dlt pipeline of their own (`webhook_pipeline`), named per (site,
destination, dataset). DuckDB lets one process write a file at a time: while a
``jirakit sync`` holds it, a flush fails, its issues stay marked, and the next flush loads
them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from jirakit._logging import get_logger
from jirakit.webhooks.consumers import Snapshot
from jirakit.webhooks.fetch import FetchOnNotify

if TYPE_CHECKING:
    from jirakit.client import Jira
    from jirakit.sync.pipeline import Warehouse
    from jirakit.sync.rows import IssueRows
    from jirakit.webhooks.receiver import Receiver

__all__ = ["WarehouseSink", "attach_warehouse", "known_columns", "listen", "pipeline_name"]

log = get_logger("jirakit.webhooks")
FIELDS_TTL = 600.0  # seconds before the field set (custom columns) is read again


def pipeline_name(site: str, dest: str, dataset: str | None = None) -> str:
    """The receiver's dlt pipeline name for one (site, destination, dataset): the sync's
    own naming (`jirakit.sync.state.pipeline_name`) under its own prefix, so the same site
    and warehouse written as another URL or path form still name one pipeline."""
    from jirakit.sync.destination import warehouse_for
    from jirakit.sync.state import pipeline_name as sync_pipeline_name
    from jirakit.sync.state import site_identity

    warehouse = warehouse_for(dest, dataset)
    return sync_pipeline_name(site_identity(site), warehouse, prefix="jirakit_webhooks")


def webhook_pipeline(
    warehouse: Warehouse, *, site: str, dest: str, pipelines_dir: str | None = None
) -> Any:
    """The dlt pipeline the warehouse consumer loads through (one place, so it can be
    aligned with the sync's own pipeline naming)."""
    import dlt

    return dlt.pipeline(
        pipeline_name=pipeline_name(site, dest, warehouse.dataset),
        destination=warehouse.destination,
        dataset_name=warehouse.dataset,
        pipelines_dir=pipelines_dir,  # type: ignore[arg-type]  # None: dlt's default
    )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def known_columns(warehouse: Warehouse) -> dict[str, str]:
    """field id -> column name, as the warehouse's ``fields`` table has them (empty before
    the first sync): custom fields keep the columns the sync gave them."""
    if warehouse.dialect not in ("duckdb", "postgres"):
        return {}
    try:
        conn = warehouse.connect()
    except Exception:  # no database yet
        return {}
    try:
        sql = (
            f"SELECT id, column_name FROM {_quote(warehouse.dataset)}.fields "
            "WHERE column_name IS NOT NULL"
        )
        rows = conn.execute(sql).fetchall()
    except Exception:  # no fields table yet
        return {}
    finally:
        conn.close()
    return {str(fid): str(column) for fid, column in rows}


class WarehouseSink:
    """Loads `Snapshot`s into a sync's warehouse (see the module docstring)."""

    def __init__(
        self,
        jira: Jira,
        dest: str | None,
        dataset: str | None = None,
        *,
        pipelines_dir: str | None = None,
        site: str | None = None,
    ) -> None:
        from jirakit.sync.pipeline import warehouse_for

        self.jira = jira
        self.dest = dest or "duckdb:///jira.duckdb"
        self.warehouse = warehouse_for(self.dest, dataset)
        self.site = site or str(jira.base_url or "")
        self.pipelines_dir = pipelines_dir
        self.loads = 0
        self._builder: IssueRows | None = None
        self._prepared_at = 0.0
        self._pipeline: Any = None

    @property
    def pipeline(self) -> Any:
        if self._pipeline is None:
            self._pipeline = webhook_pipeline(
                self.warehouse, site=self.site, dest=self.dest, pipelines_dir=self.pipelines_dir
            )
        return self._pipeline

    def _rows(self) -> IssueRows:
        from jirakit.sync.rows import IssueRows

        if self._builder is None or time.monotonic() - self._prepared_at > FIELDS_TTL:
            builder = IssueRows(self.jira, columns=known_columns(self.warehouse))
            builder.prepare()
            self._builder, self._prepared_at = builder, time.monotonic()
        return self._builder

    def __call__(self, snapshot: Snapshot) -> None:
        from jirakit.sync.pipeline import post_load
        from jirakit.sync.rows import rows_source

        builder = self._rows()
        first = self.loads == 0
        at = datetime.fromtimestamp((snapshot.fetched_ms or time.time() * 1000) / 1000, UTC)

        def items() -> Iterator[Any]:
            if first:  # every contract table exists, even before any sync
                yield from builder.materialize()
            if snapshot.issues:
                yield from builder.issue_items(snapshot.issues, snapshot.histories, at)
            if snapshot.deleted_issues:
                yield builder.issue_deletions(snapshot.deleted_issues, at)
            if snapshot.worklogs:
                yield builder.worklog_items(snapshot.worklogs)
            if snapshot.deleted_worklogs:
                yield builder.worklog_deletions(snapshot.deleted_worklogs, at)

        # A DuckDB file is opened for this load only (a session: dlt, the fix-ups and the
        # models share one connection), waiting a moment for a reader such as `jirakit sql`
        # or a dashboard page that holds it; held open between loads, it would shut every
        # reader out while the receiver idles.
        with self.warehouse.session() as warehouse:
            pipeline = (
                self.pipeline
                if warehouse is self.warehouse
                else webhook_pipeline(
                    warehouse, site=self.site, dest=self.dest, pipelines_dir=self.pipelines_dir
                )
            )
            pipeline.run(rows_source(items))
            if warehouse.dialect in ("duckdb", "postgres"):
                post_load(pipeline)
        self.loads += 1


def attach_warehouse(
    receiver: Receiver,
    jira: Jira,
    dest: str | None,
    dataset: str | None = None,
    *,
    pipelines_dir: str | None = None,
    interval: float = 1.0,
    batch: int = 100,
) -> FetchOnNotify:
    """Keep ``dest`` current from ``receiver``'s events: a fetch-on-notify consumer whose
    flush job (every ``interval`` seconds while idle) loads into the warehouse."""
    sink = WarehouseSink(jira, dest, dataset, pipelines_dir=pipelines_dir)
    fetch = fetch_on_notify(receiver, jira, interval=interval, batch=batch)
    fetch.add_sink(sink)
    return fetch


def fetch_on_notify(
    receiver: Receiver, jira: Jira, *, interval: float = 1.0, batch: int = 100
) -> FetchOnNotify:
    """The receiver's fetch-on-notify consumer (made once; its flush job runs every
    ``interval`` seconds); snapshot handlers (``@receiver.on_snapshot``) get each batch."""
    existing = next((c for c in receiver.processor.consumers if isinstance(c, FetchOnNotify)), None)
    if existing is not None:
        return existing
    fetch = FetchOnNotify(receiver.inbox, jira, [receiver.handlers.snapshot], batch=batch)
    receiver.add_consumer(fetch)
    receiver.add_job("fetch", fetch.flush, interval)
    return fetch


def listen(
    jira: Jira,
    *,
    dest: str | None,
    dataset: str | None = None,
    store: str = "sqlite:///inbox.db",
    secrets: Any = None,
    host: str = "127.0.0.1",
    port: int = 8080,
    pipelines_dir: str | None = None,
    on_ready: Any = None,
) -> None:
    """Serve a receiver that keeps a sync's warehouse current, until interrupted: what
    ``jirakit sync --listen`` runs after its sync (same ``dest``/``dataset``)."""
    from jirakit.webhooks.receiver import Receiver
    from jirakit.webhooks.serve import run

    receiver = Receiver(store, secrets)
    attach_warehouse(receiver, jira, dest, dataset, pipelines_dir=pipelines_dir)
    try:
        run(receiver.app, host, port, on_ready=on_ready)
    finally:
        receiver.close()
