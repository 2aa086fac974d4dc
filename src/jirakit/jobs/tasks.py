"""The kinds of background work, written once for both queues (Postgres and SQLite).

A `TaskKind` is a plain function of a `JobContext` and JSON arguments, with the lock that
keeps two jobs from running at once (``lock``) and the one that keeps two from waiting at
once (``queueing_lock``). Both queues (`jirakit.jobs.queue`) run the kinds registered in a
`TaskRegistry`; ``default_registry()`` has the ones that exist today:

- ``sync_connection``: one warehouse sync of a `SyncTarget` (`jirakit.sync.pipeline.run_sync`),
  locked per target: one sync at a time per connection. A sync killed half-way is retried,
  and resumes from the state committed with the data in the destination, so the warehouse
  ends as if it had run once.
- ``schedule_syncs``: defers ``sync_connection`` for every target whose interval is due
  (run periodically by the worker); the queueing lock keeps one queued sync per target.

Kinds to register when the webhooks and service parts merge (names reserved, not
registered yet): ``webhooks.process_inbox`` (inbox processing, lock per entity),
``webhooks.refresh_dynamic`` (dynamic-webhook refresh, every ~25 days per connection),
``webhooks.poll_virtual`` (virtual-webhook polls, lock per connection),
``service.deliver`` (outgoing webhook deliveries, keyed by delivery id),
``service.refresh_token`` (OAuth token refresh, lock per connection: once across all
processes).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from jirakit.client import BasicAuth, BearerAuth, Jira
from jirakit.errors import ConfigurationError

__all__ = [
    "RESERVED_KINDS",
    "JobContext",
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


def sync_connection(ctx: JobContext, target: Mapping[str, Any]) -> dict[str, Any]:
    """One sync of ``target`` (a `SyncTarget` as JSON)."""
    from jirakit.jobs.budget import sync_handle, sync_priority
    from jirakit.sync.pipeline import run_sync, warehouse_for
    from jirakit.sync.schema import STREAMS
    from jirakit.sync.source import SyncOptions

    spec = SyncTarget.from_json(target)
    options = SyncOptions(streams=spec.streams or STREAMS, projects=spec.projects)
    warehouse = warehouse_for(spec.dest, spec.dataset)
    # The points budget (jirakit.jobs.budget): OAuth sites only; a first load is a backfill.
    handle = sync_handle(spec.tenant or spec.name, spec.url)
    with spec.client(governor=handle) as jira:
        if handle is not None:
            handle.priority = sync_priority(jira, warehouse)
        result = run_sync(
            jira, warehouse=warehouse, pipelines_dir=spec.pipelines_dir, options=options
        )
        throttled = jira.stats.throttled_seconds
    return {
        "target": spec.name,
        "status": result.status,
        "rows": dict(result.rows),
        "requests": result.requests,
        "attempt": ctx.attempt,
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
    return registry


SCHEDULE_EVERY = timedelta(seconds=30)
