"""Rows for issues read outside a sync run: the sync's own extraction turned into a small
public surface, so a webhook receiver (fetch-on-notify) writes exactly what a sync writes.

    builder = IssueRows(jira, columns=known_columns)   # field id -> column, as loaded
    builder.prepare()                                   # /myself and /field, like a run
    items = [*builder.issue_items(issues, histories, synced_at),
             builder.issue_deletions([10042], deleted_at)]
    pipeline.run(rows_source(lambda: iter(items)))

Nothing here shapes a row itself: issues become rows in `jirakit.sync.transform`, through
the same `Extractor` methods a sync runs (comments paged in when an issue embeds only
some, links, attachments, sprint membership, custom columns and their dlt hints).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import dlt

from jirakit.client import Jira
from jirakit.sync import transform as tf
from jirakit.sync.source import Extractor, RunContext, SyncOptions

__all__ = ["IssueRows", "rows_source"]

Json = Mapping[str, Any]


class IssueRows:
    """dlt items (typed Arrow batches with the sync's table hints) for given issues.

    ``columns`` is the field id -> column name mapping the warehouse already uses (its
    ``fields.column_name``), so custom fields land in the same columns as the sync's."""

    def __init__(
        self,
        jira: Jira,
        *,
        columns: Mapping[str, str] | None = None,
        options: SyncOptions | None = None,
    ) -> None:
        self.options = options or SyncOptions()
        self.run = RunContext()
        self.state: dict[str, Any] = {"columns": dict(columns or {})}
        self._extractor = Extractor(jira, self.options, self.run, self.state)

    @property
    def columns(self) -> dict[str, str]:
        return dict(self.state.get("columns") or {})

    def prepare(self) -> None:
        """Read the user's time zone and the field set (column names, hints), as a run
        does first."""
        self._extractor.prepare()

    def materialize(self) -> Iterator[Any]:
        """Every contract table, empty, for a warehouse no sync has created yet."""
        yield from self._extractor.materialize()

    def issue_items(
        self,
        issues: Sequence[Json],
        histories: Mapping[int, Sequence[Json]],
        synced_at: datetime,
    ) -> Iterator[Any]:
        """The rows of ``issues`` (as ``issue/bulkfetch`` returns them with ``*all``) and
        of their ``histories`` (``changelog/bulkfetch``), stamped ``synced_at``."""
        x = self._extractor
        self.run.started_at = synced_at
        sprints: dict[int, dict[str, Any]] = {}
        loaded: set[int] = set()
        with ThreadPoolExecutor(max_workers=max(1, self.options.concurrency)) as pool:
            yield from x._issue_rows(pool, list(issues), sprints, loaded)
        if sprints:
            yield x.emit("sprints", list(sprints.values()))
        yield x.emit(
            "issue_field_history",
            [
                row
                for issue_id in sorted(histories)
                if issue_id in loaded
                for row in tf.history_rows(issue_id, histories[issue_id])
            ],
        )

    def issue_deletions(self, ids: Iterable[int], deleted_at: datetime) -> Any:
        return self._extractor.emit(
            "issue_deletions", [{"id": int(i), "deleted_at": deleted_at} for i in ids]
        )

    def worklog_items(self, worklogs: Sequence[Json]) -> Any:
        return self._extractor.emit("worklogs", [tf.worklog_row(w) for w in worklogs])

    def worklog_deletions(self, ids: Iterable[int], deleted_at: datetime) -> Any:
        return self._extractor.emit(
            "worklog_deletions", [{"id": int(i), "deleted_at": deleted_at} for i in ids]
        )


def rows_source(items: Callable[[], Iterator[Any]], name: str = "jira_webhooks") -> Any:
    """A dlt source of ``items`` (from `IssueRows`), loaded the way `jira_source` loads:
    one resource, tables from the items' hints, dlt's load id on every Arrow row (the
    warehouse fix-ups in `jirakit.sync.pipeline.post_load` compare load ids)."""
    dlt.config["normalize.parquet_normalizer.add_dlt_load_id"] = True

    @dlt.source(name=name, max_table_nesting=0)
    def source() -> Any:
        @dlt.resource(name="jira", selected=True)
        def everything() -> Iterator[Any]:
            yield from items()

        return everything

    return source()
