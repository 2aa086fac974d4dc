"""The kinds of background work, written once for both queues (Postgres and SQLite).

A `TaskKind` is a plain function of a `JobContext` and JSON arguments, with the lock that
keeps two jobs from running at once (``lock``) and the one that keeps two from waiting at
once (``queueing_lock``). Both queues (`jirakit.jobs.queue`) run the kinds registered in a
`TaskRegistry`; ``default_registry()`` has the ones that exist today:

- ``sync_connection``: one warehouse sync of a `SyncTarget` (`jirakit.sync.pipeline.run_sync`),
  locked per target: one sync at a time per connection. A sync killed half-way is retried,
  and resumes from the state committed with the data in the destination, so the warehouse
  ends as if it had run once. ``full_refresh=True`` reloads everything; while it runs it
  keeps the sync's progress file, and a stop asked for (`JobQueue.request_stop`) stops
  it at a safe point (the job ends ``aborted``, the run ``interrupted``).
- ``schedule_syncs``: defers ``sync_connection`` for every target whose interval is due
  (run periodically by the worker); the queueing lock keeps one queued sync per target.

The service's background work (`jirakit.service.jobs`, which defers them; they run with
the service's settings from the worker's environment):

- ``service.deliver``: one attempt of one outgoing webhook, locked and queued per
  delivery id (a killed attempt is retried under the same ``webhook-id``);
- ``service.refresh_token``: an OAuth token refresh, locked per connection (and under
  the connection's database lock): once across all processes;
- ``webhooks.refresh_dynamic``: extend a connection's native (dynamic) webhooks;
- ``webhooks.poll_virtual``: one virtual-webhook poll, locked per connection;
- ``webhooks.process_inbox``: apply received Jira deliveries (one run at a time; the
  inbox's processor also holds a lease), publishing keyed by the delivery id.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from jirakit.client import BasicAuth, BearerAuth, Jira
from jirakit.errors import ConfigurationError

__all__ = [
    "RESERVED_KINDS",
    "JobContext",
    "JobStopped",
    "SyncTarget",
    "TaskKind",
    "TaskRegistry",
    "default_registry",
]

RESERVED_KINDS = (
    "webhooks.process_inbox",
    "webhooks.refresh_dynamic",
    "webhooks.poll_virtual",
    "service.deliver",
    "service.refresh_token",
)


@dataclass(frozen=True)
class SyncTarget:
    """What one scheduled sync reads and where it writes. Secrets stay out: the token is
    read from the environment variable ``token_env`` of the worker that runs it.

    ``auth``: ``basic`` (``email`` + API token) or ``bearer`` (a Data Center PAT or an
    OAuth access token); ``dest``/``dataset``: as ``jirakit sync --dest``; ``every``:
    seconds between scheduled runs (0: only when deferred by hand)."""

    name: str
    url: str
    dest: str
    token_env: str = "JIRA_API_TOKEN"
    auth: str = "basic"
    email: str | None = None
    dataset: str | None = None
    streams: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    pipelines_dir: str | None = None
    every: float = 0.0
    tenant: str | None = None  # whose share of the points budget (default: the name)

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"a target's name is letters, digits, - and _: not {self.name!r}")
        if self.auth not in ("basic", "bearer"):
            raise ValueError(f"auth must be basic or bearer, not {self.auth!r}")
        if self.auth == "basic" and not self.email:
            raise ValueError("basic auth needs the email of the API token's owner")
        if self.every < 0:
            raise ValueError("every must be >= 0 seconds")

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["streams"], data["projects"] = list(self.streams), list(self.projects)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SyncTarget:
        known = set(cls.__dataclass_fields__)
        values = {k: v for k, v in data.items() if k in known}
        values["streams"] = tuple(values.get("streams") or ())
        values["projects"] = tuple(values.get("projects") or ())
        return cls(**values)

    def client(self, **options: Any) -> Jira:
        token = os.environ.get(self.token_env)
        if not token:
            raise ConfigurationError(
                f"target {self.name!r}: set {self.token_env} in the worker's environment "
                "(the token is never stored with the job)"
            )
        auth = BasicAuth(self.email or "", token) if self.auth == "basic" else BearerAuth(token)
        return Jira(self.url, auth=auth, **options)


@dataclass
class JobContext:
    """What a task gets besides its arguments."""

    job_id: int
    attempt: int
    defer: Callable[..., int | None]  # defer(kind, **args): follow-up work
    targets: Callable[[], list[tuple[SyncTarget, float | None]]]
    mark_scheduled: Callable[[str, float], None]
    extra: dict[str, Any] = field(default_factory=dict)
    # Whether a stop of this running job was asked for (`JobQueue.request_stop`); a task
    # that can stop half-way polls it and raises `JobStopped` once it has.
    stop_requested: Callable[[], bool] = lambda: False


class JobStopped(Exception):
    """A task stopped on request (`JobContext.stop_requested`) at a safe point: the job
    ends ``aborted`` (not retried, never ``succeeded``); the message says what was
    committed."""


TaskFunction = Callable[..., Any]


@dataclass(frozen=True)
class TaskKind:
    """One kind of job. ``lock``/``queueing_lock`` map the job's arguments to a lock name
    (None: no lock); ``retries``: further attempts after a failure (a killed worker's job
    is retried regardless)."""

    name: str
    function: TaskFunction
    lock: Callable[[Mapping[str, Any]], str | None] = lambda args: None
    queueing_lock: Callable[[Mapping[str, Any]], str | None] = lambda args: None
    retries: int = 3
    backoff: float = 5.0


class TaskRegistry:
    """The kinds a queue runs, by name."""

    def __init__(self) -> None:
        self._kinds: dict[str, TaskKind] = {}

    def register(self, kind: TaskKind) -> TaskKind:
        if kind.name in self._kinds:
            raise ValueError(f"task kind {kind.name!r} is registered already")
        self._kinds[kind.name] = kind
        return kind

    def get(self, name: str) -> TaskKind:
        try:
            return self._kinds[name]
        except KeyError:
            known = ", ".join(sorted(self._kinds)) or "none"
            raise KeyError(f"no task kind {name!r} (registered: {known})") from None

    def __iter__(self) -> Iterator[TaskKind]:
        return iter(self._kinds.values())

    def __contains__(self, name: object) -> bool:
        return name in self._kinds


# How often a running sync looks whether a stop was asked for (seconds).
STOP_POLL = 0.5


def sync_connection(
    ctx: JobContext, target: Mapping[str, Any], full_refresh: bool = False
) -> dict[str, Any]:
    """One sync of ``target`` (a `SyncTarget` as JSON); ``full_refresh``: ignore the
    cursor and reload everything (as ``jirakit sync --full-refresh``).

    While it runs it keeps the progress file ``jirakit sync`` keeps
    (`jirakit.sync.progress`, under ``JIRAKIT_STATE_DIR``), which the dashboard shows; a
    stop asked for (``ctx.stop_requested``) stops it at the sync's next safe point, as
    Ctrl-C stops ``jirakit sync``: the run is recorded ``interrupted`` and the job ends
    with `JobStopped`; the next run resumes from what was committed."""
    import threading

    from jirakit.jobs.budget import Priority, sync_handle, sync_priority
    from jirakit.sync.pipeline import SyncInterrupted, run_sync, warehouse_for
    from jirakit.sync.progress import ProgressWriter
    from jirakit.sync.schema import STREAMS
    from jirakit.sync.source import FatalSyncError, StopSignal, SyncOptions

    spec = SyncTarget.from_json(target)
    options = SyncOptions(
        streams=spec.streams or STREAMS, projects=spec.projects, full_refresh=bool(full_refresh)
    )
    warehouse = warehouse_for(spec.dest, spec.dataset)
    # The points budget (jirakit.jobs.budget): OAuth sites only; a first load is a backfill.
    handle = sync_handle(spec.tenant or spec.name, spec.url)
    stop = StopSignal()
    ended = threading.Event()

    def watch() -> None:
        while not ended.wait(STOP_POLL):
            if ctx.stop_requested():
                stop.set(signal.SIGTERM)
                return

    watcher = threading.Thread(target=watch, name=f"jirakit-job-{ctx.job_id}-stop", daemon=True)
    with ProgressWriter(warehouse) as live:
        watcher.start()
        try:
            with spec.client(governor=handle) as jira:
                if handle is not None:  # a full refresh reloads everything: a backfill
                    handle.priority = (
                        Priority.BACKFILL if full_refresh else sync_priority(jira, warehouse)
                    )
                live.connected(jira.stats, jira.base_url)
                result = run_sync(
                    jira,
                    warehouse=warehouse,
                    pipelines_dir=spec.pipelines_dir,
                    options=options,
                    progress=live.rows,
                    on_phase=live.phase,
                    stop=stop,
                )
                throttled = jira.stats.throttled_seconds
        except SyncInterrupted as exc:
            message = f"stopped on request during {exc.phase}. {exc.committed}"
            live.finish("interrupted", message)
            if not stop.is_set():
                raise  # the worker itself was interrupted
            raise JobStopped(message) from None
        except FatalSyncError as exc:
            live.finish("failed", f"sync failed: {exc}")
            raise
        finally:
            ended.set()
        live.finish(result.status, result.error)
    return {
        "target": spec.name,
        "status": result.status,
        "rows": dict(result.rows),
        "requests": result.requests,
        "attempt": ctx.attempt,
        "full_refresh": bool(full_refresh),
        "plan": result.plan,
        "priority": None if handle is None else handle.priority.name.lower(),
        "throttled_seconds": round(throttled, 3),
    }


def schedule_syncs(ctx: JobContext) -> list[str]:
    """Defer a sync of every target whose interval has passed; the names deferred."""
    import time

    now = time.time()
    deferred = []
    for target, last in ctx.targets():
        if target.every <= 0 or (last is not None and now - last < target.every):
            continue
        ctx.mark_scheduled(target.name, now)
        if ctx.defer("sync_connection", target=target.as_json()) is not None:
            deferred.append(target.name)
    return deferred


def _target_lock(args: Mapping[str, Any]) -> str:
    return f"sync:{args['target']['name']}"


def default_registry() -> TaskRegistry:
    registry = TaskRegistry()
    registry.register(
        TaskKind(
            "sync_connection",
            sync_connection,
            lock=_target_lock,
            queueing_lock=_target_lock,
            retries=3,
            backoff=10.0,
        )
    )
    registry.register(
        TaskKind(
            "schedule_syncs",
            schedule_syncs,
            queueing_lock=lambda args: "schedule_syncs",
            retries=0,
        )
    )
    register_service_kinds(registry)
    return registry


def _service_kind(name: str) -> TaskFunction:
    def run(ctx: JobContext, **args: Any) -> Any:
        from jirakit.service.jobs import run_kind

        return run_kind(name, ctx.defer, args)

    run.__name__ = name.replace(".", "_")
    run.__doc__ = f"The service's {name} job (`jirakit.service.jobs`)."
    return run


def _keyed(kind: str, prefix: str, arg: str) -> Callable[[Mapping[str, Any]], str | None]:
    def lock(args: Mapping[str, Any]) -> str:
        if arg not in args:
            raise KeyError(f"{kind} needs {arg}")
        return f"{prefix}:{args[arg]}"

    return lock


def register_service_kinds(registry: TaskRegistry) -> None:
    """The service's kinds (the names `RESERVED_KINDS` kept for them)."""
    deliver = _keyed("service.deliver", "deliver", "delivery_id")
    refresh = _keyed("service.refresh_token", "refresh", "connection_id")
    registry.register(
        TaskKind(
            "service.deliver",
            _service_kind("service.deliver"),
            lock=deliver,
            queueing_lock=deliver,
            retries=3,
            backoff=2.0,
        )
    )
    registry.register(
        TaskKind(
            "service.refresh_token",
            _service_kind("service.refresh_token"),
            lock=refresh,
            queueing_lock=refresh,
            retries=2,
            backoff=5.0,
        )
    )
    registry.register(
        TaskKind(
            "webhooks.refresh_dynamic",
            _service_kind("webhooks.refresh_dynamic"),
            lock=_keyed("webhooks.refresh_dynamic", "dynamic", "connection_id"),
            queueing_lock=_keyed("webhooks.refresh_dynamic", "dynamic", "connection_id"),
            retries=2,
            backoff=30.0,
        )
    )
    registry.register(
        TaskKind(
            "webhooks.poll_virtual",
            _service_kind("webhooks.poll_virtual"),
            lock=_keyed("webhooks.poll_virtual", "poll", "connection_id"),
            queueing_lock=_keyed("webhooks.poll_virtual", "poll", "subscription_id"),
            retries=0,
        )
    )
    registry.register(
        TaskKind(
            "webhooks.process_inbox",
            _service_kind("webhooks.process_inbox"),
            lock=lambda args: "process_inbox",
            queueing_lock=lambda args: "process_inbox",
            retries=2,
            backoff=2.0,
        )
    )


SCHEDULE_EVERY = timedelta(seconds=30)
