"""What the dashboard's pages read, as small interfaces (Protocols) and plain data.

The pages never query anything themselves: each reads through a provider. `jirakit
dashboard` gives them warehouse-backed providers (`jirakit.ui.warehouse`: project
health, sync runs, schema drift from one warehouse); `jirakit serve` mounts the same app
at ``/ui`` with providers of its own for the pages only the service can fill
(connections, sync control, the webhook inbox and outbox, the rate-limit budget), and
warehouse providers per connection. A page whose provider is absent is not offered.

Every call names the `Viewer`, so that a provider can scope what it returns to the
viewer's tenant: a provider must never return another tenant's rows, whatever ids it is
asked for (it answers as if they did not exist).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "AnalyticsProvider",
    "BadFilter",
    "BoxItem",
    "BudgetProvider",
    "BudgetSnapshot",
    "Chart",
    "ConnectionSummary",
    "ConnectionsProvider",
    "DriftEventRow",
    "DriftProvider",
    "FilterChoices",
    "HealthFilters",
    "LiveRun",
    "ProjectHealth",
    "Providers",
    "SyncActivity",
    "SyncControl",
    "SyncJob",
    "SyncRun",
    "SyncRunsProvider",
    "TableData",
    "Unavailable",
    "Viewer",
    "WebhookBoxSummary",
    "WebhooksProvider",
]


# -- who is looking, and what can go wrong --------------------------------------------


@dataclass(frozen=True)
class Viewer:
    """Who is looking. ``tenant_id`` is None for the standalone dashboard (one user, one
    warehouse); the service sets it from the API key or the login session, and providers
    scope every answer to it."""

    tenant_id: str | None = None
    name: str = "local"
    # What the access layer re-checks on each request of a session (the service: the
    # SHA-256 of the API key that logged in, so a revoked key ends its sessions); never
    # a secret itself.
    credential: str | None = field(default=None, repr=False, compare=False)


class Unavailable(Exception):
    """The data cannot be read right now (a sync holds the DuckDB file, the server is
    down): the page says ``message`` and that it will come back, never a server error.
    ``retry_after`` is the seconds a client may wait before asking again."""

    def __init__(self, message: str, *, retry_after: int = 5) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class BadFilter(ValueError):
    """A filter the data cannot answer (an unknown project, a start after the end); the
    message says what to choose instead, and the page shows it beside the form."""


# -- project health -------------------------------------------------------------------


@dataclass(frozen=True)
class HealthFilters:
    """Project health's filters: a project key, a board id, and a range of UTC days
    (both ends included). None means "any"."""

    project: str | None = None
    board: int | None = None
    start: date | None = None
    end: date | None = None

    def query(self) -> dict[str, str]:
        """As GET query parameters (for links that keep the filters)."""
        out: dict[str, str] = {}
        if self.project:
            out["project"] = self.project
        if self.board is not None:
            out["board"] = str(self.board)
        if self.start:
            out["from"] = self.start.isoformat()
        if self.end:
            out["to"] = self.end.isoformat()
        return out


@dataclass(frozen=True)
class FilterChoices:
    """What the filters offer: projects (key, name), boards (id, name, project key), and
    the days the data spans."""

    projects: tuple[tuple[str, str], ...] = ()
    boards: tuple[tuple[int, str, str | None], ...] = ()
    first_day: date | None = None
    last_day: date | None = None


@dataclass(frozen=True)
class TableData:
    """A chart's numbers as a table: cells already formatted as shown; ``numeric`` per
    column (numbers are right-aligned)."""

    columns: tuple[str, ...]
    numeric: tuple[bool, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Chart:
    """One chart: a Vega-Lite ``spec`` (its data inline), the ``table`` of the same
    numbers, a ``caption`` saying what it shows, and its ``series`` names (what a reader
    of the drawing should find: one line, area or bar colour each). ``empty`` says why
    there is nothing to draw, when there is not."""

    key: str
    title: str
    caption: str
    spec: Mapping[str, Any]
    table: TableData
    series: tuple[str, ...]
    empty: str | None = None


@dataclass(frozen=True)
class ProjectHealth:
    """The project health page: the filters as applied, the days covered, how the days
    are grouped (``day``, ``week`` or ``month``), and the charts in page order."""

    filters: HealthFilters
    start: date
    end: date
    bucket: str
    charts: tuple[Chart, ...]
    generated_at: datetime


@runtime_checkable
class AnalyticsProvider(Protocol):
    """Project health from the warehouse models of one connection (the standalone
    dashboard: its one warehouse, ``connection`` None)."""

    def filter_choices(self, viewer: Viewer, connection: str | None = None) -> FilterChoices: ...

    def project_health(
        self, viewer: Viewer, filters: HealthFilters, connection: str | None = None
    ) -> ProjectHealth: ...


# -- syncs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncRun:
    """A finished run, as ``_sync_runs`` records it."""

    run_id: str
    site: str | None
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    full_refresh: bool
    requests: int | None
    rows: Mapping[str, int]
    skipped: int
    error: str | None
    cursor_from: datetime | None = None
    # Jira's 429 answers and the seconds spent waiting on its rate limit and on retries
    # (None: recorded before runs carried them).
    rate_limited: int | None = None
    waited_seconds: float | None = None

    @property
    def load(self) -> str:
        """``full refresh`` (asked for), ``full load`` (no cursor yet) or ``incremental``."""
        if self.full_refresh:
            return "full refresh"
        return "full load" if self.cursor_from is None else "incremental"

    @property
    def seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return max(0.0, (self.finished_at - self.started_at).total_seconds())


@dataclass(frozen=True)
class LiveRun:
    """A run in progress (or the last one, just ended): its phase, rows so far per
    table (with the total where known), requests, answers 429 and time spent waiting
    on the rate limit and retries. ``vanished``: it says it runs, but its process is
    gone (killed)."""

    status: str
    phase: str
    site: str | None
    started_at: datetime
    phase_started_at: datetime
    updated_at: datetime
    rows: Mapping[str, int]
    expected: Mapping[str, int]
    requests: int
    rate_limited: int
    waited_seconds: float
    finished_at: datetime | None = None
    error: str | None = None
    vanished: bool = False

    @property
    def running(self) -> bool:
        return self.status == "running" and not self.vanished


@dataclass(frozen=True)
class SyncActivity:
    """The syncs page: finished runs (newest first), the live one if any, and a
    ``notice`` when the runs could not be read fresh (then ``runs_as_of`` says when they
    were)."""

    runs: tuple[SyncRun, ...]
    live: LiveRun | None = None
    notice: str | None = None
    runs_as_of: datetime | None = None


@runtime_checkable
class SyncRunsProvider(Protocol):
    def sync_activity(
        self, viewer: Viewer, connection: str | None = None, *, limit: int = 50
    ) -> SyncActivity: ...


# -- schema drift ---------------------------------------------------------------------


@dataclass(frozen=True)
class DriftEventRow:
    """One drift event (``_drift_events``) and a sentence saying what changed."""

    id: str
    run_id: str | None
    detected_at: datetime | None
    kind: str
    field_id: str | None
    field_name: str | None
    column_name: str | None
    before: Any
    after: Any
    description: str


@runtime_checkable
class DriftProvider(Protocol):
    def drift_events(
        self, viewer: Viewer, connection: str | None = None, *, limit: int = 500
    ) -> tuple[DriftEventRow, ...]: ...


# -- the service's pages (implemented by `jirakit serve`, `jirakit.ui.service`) ------


@dataclass(frozen=True)
class ConnectionSummary:
    """A tenant's Jira connection: ``health`` is ``healthy`` or ``needs_reauth`` (then
    `ConnectionsProvider.reauthorize` starts the OAuth flow again, for ``oauth2``
    connections). ``sync_target`` names where its syncs write (None: no sync target is
    set up for it, so it cannot be synced from here); ``last_sync_*`` is its newest
    finished sync job."""

    id: str
    name: str
    site: str
    auth_kind: str
    health: str
    scopes: tuple[str, ...] = ()
    token_expires_at: datetime | None = None
    last_sync_at: datetime | None = None
    last_error: str | None = None
    reauthorize_url: str | None = None
    paused: bool = False
    last_sync_status: str | None = None
    sync_target: str | None = None
    last_used_at: datetime | None = None


@runtime_checkable
class ConnectionsProvider(Protocol):
    def connections(self, viewer: Viewer) -> Sequence[ConnectionSummary]: ...

    def reauthorize(self, viewer: Viewer, connection: str) -> str:
        """The consent URL that authorises ``connection`` again (`KeyError` for an
        unknown or foreign id; `BadFilter` when it cannot be, saying why)."""
        ...


@dataclass(frozen=True)
class SyncJob:
    """One ``sync_connection`` job of the job queue: its status (``todo``, ``doing``,
    ``succeeded``, ``failed``, ``cancelled``), attempts, when it was queued and ended,
    and the last error."""

    id: int
    connection: str
    status: str
    attempts: int
    queued_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    full_refresh: bool = False

    @property
    def seconds(self) -> float | None:
        if self.queued_at is None or self.finished_at is None:
            return None
        return max(0.0, (self.finished_at - self.queued_at).total_seconds())


@runtime_checkable
class SyncControl(Protocol):
    """Start, stop and fully refresh a connection's sync (queued as jobs), and list its
    jobs. Unknown or foreign connection ids raise `KeyError`; a connection without a
    sync target raises `BadFilter` (saying how to set one up)."""

    def start(
        self, viewer: Viewer, connection: str, *, full_refresh: bool = False
    ) -> int | None: ...

    def stop(self, viewer: Viewer, connection: str) -> tuple[int, int]:
        """Cancel the waiting jobs and ask the running one to stop at its next safe
        point: (jobs cancelled, running jobs asked to stop)."""
        ...

    def jobs(self, viewer: Viewer, connection: str, *, limit: int = 50) -> Sequence[SyncJob]: ...

    @property
    def full_refresh_supported(self) -> bool: ...


@dataclass(frozen=True)
class BoxItem:
    """One message of an inbox or outbox (a row of its table on the page)."""

    id: str
    event: str
    status: str
    at: datetime | None
    attempts: int = 0
    detail: str | None = None


@dataclass(frozen=True)
class WebhookBoxSummary:
    """Counts per event type and state (inbox: received, verified, rejected, retried by
    Jira, replayed; outbox: pending, retrying, delivered, dead), the mean lag seconds per
    event type, and the newest messages (``items``) of interest. ``source`` says where
    it was read."""

    counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    lag_seconds: Mapping[str, float] = field(default_factory=dict)
    items: tuple[BoxItem, ...] = ()
    source: str = ""
    first_at: datetime | None = None
    last_at: datetime | None = None


@runtime_checkable
class WebhooksProvider(Protocol):
    """The connection's Jira webhook inbox and the tenant's outgoing webhook outbox.
    Foreign or unknown connection and message ids raise `KeyError`; a connection without
    an inbox raises `Unavailable` (saying how to set one up)."""

    def inbox(self, viewer: Viewer, connection: str) -> WebhookBoxSummary: ...

    def replay(self, viewer: Viewer, connection: str, start: datetime, end: datetime) -> int: ...

    def outbox(self, viewer: Viewer) -> WebhookBoxSummary: ...

    def retry(self, viewer: Viewer, delivery_id: str | None = None) -> int: ...


@dataclass(frozen=True)
class BudgetSnapshot:
    """The rate-limit budget as one tenant may see it: the shared pool (points per
    hour), points granted over time (``used``: series name -> (when, points granted in
    all by then); the viewer's own, and all other tenants together), what is left in the
    pool now, and who is throttled and why (the viewer by priority class; other tenants
    only counted, never named)."""

    pool_points_per_hour: int
    used: Mapping[str, Sequence[tuple[datetime, float]]] = field(default_factory=dict)
    throttled: Mapping[str, str] = field(default_factory=dict)
    window_seconds: float = 3600.0
    pool_left: float | None = None
    server_remaining: int | None = None
    mine: tuple[tuple[str, float, int, float, bool], ...] = ()
    others_waiting: int = 0
    others: int = 0
    sampled_at: datetime | None = None


@runtime_checkable
class BudgetProvider(Protocol):
    def budget(self, viewer: Viewer) -> BudgetSnapshot: ...


@dataclass(frozen=True)
class Providers:
    """What the app can show. Pages exist for the providers given; the standalone
    dashboard gives the first three."""

    analytics: AnalyticsProvider | None = None
    sync_runs: SyncRunsProvider | None = None
    drift: DriftProvider | None = None
    connections: ConnectionsProvider | None = None
    sync_control: SyncControl | None = None
    webhooks: WebhooksProvider | None = None
    budget: BudgetProvider | None = None
