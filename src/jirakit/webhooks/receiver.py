"""`Receiver`: the inbox, the ASGI app, the processor and the background jobs, wired.

    receiver = Receiver("sqlite:///inbox.db", Secrets(hmac=("s3cret",)))

    @receiver.on("jira:issue_updated")
    def changed(event: IssueEvent) -> None: ...

    receiver.app          # ASGI: POST /webhooks/jira, GET /healthz, GET /metrics
    receiver.start()      # background work on threads (the ASGI lifespan does this too)

Background work is plain functions on `Job` threads: `Processor.run_once` (woken as soon
as a delivery is stored), fetch-on-notify flushes, forwards, refreshes, recovery and
polls. A job queue can call the same functions instead (issue 14: procrastinate).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from jirakit._logging import get_logger
from jirakit.webhooks.app import DEFAULT_MAX_BODY, Metrics, ReceiverApp
from jirakit.webhooks.consumers import Consumer, Forwarder, Handlers
from jirakit.webhooks.processor import Processor
from jirakit.webhooks.store import Inbox
from jirakit.webhooks.verification import Secrets, Verifier

__all__ = ["Job", "Receiver"]

log = get_logger("jirakit.webhooks")
F = TypeVar("F", bound=Callable[..., Any])


class Job:
    """``fn`` on a thread of its own, every ``interval`` seconds or when woken; again at
    once while it reports work done (a truthy result). Errors are logged, not raised: the
    next run tries again."""

    def __init__(self, name: str, fn: Callable[[], Any], interval: float) -> None:
        self.name = name
        self.fn = fn
        self.interval = interval
        self.runs = 0
        self.errors = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"jirakit-{self.name}", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            busy = False
            try:
                busy = bool(self.fn())
                self.runs += 1
            except Exception as exc:
                self.errors += 1
                log.error(
                    "webhooks.job_failed", job=self.name, error=f"{type(exc).__name__}: {exc}"
                )
            if busy:
                continue
            self._wake.wait(self.interval)


class Receiver:
    """A webhook receiver (see the module docstring).

    ``store``: ``sqlite:///inbox.db`` (WAL), ``postgresql://...``, or an `Inbox`.
    ``secrets``: what deliveries must be signed with (`Secrets`; default: from the
    environment, ``JIRAKIT_WEBHOOK_SECRET`` / ``JIRAKIT_WEBHOOK_JWT_SECRET``).
    ``push=False``: nothing is posted here (virtual webhooks fill the inbox); the webhook
    path answers 404 and no secret is needed. ``process=False``: this process only stores
    deliveries; another one (``jirakit webhooks work``) applies them.
    """

    def __init__(
        self,
        store: str | Inbox = "sqlite:///inbox.db",
        secrets: Secrets | None = None,
        *,
        max_body: int = DEFAULT_MAX_BODY,
        path: str = "/webhooks/jira",
        public_path: str | None = None,
        synchronous: str = "FULL",
        batch: int = 100,
        poll_interval: float = 1.0,
        consumers: Sequence[Consumer] = (),
        push: bool = True,
        process: bool = True,
    ) -> None:
        self.inbox = store if isinstance(store, Inbox) else Inbox(store, synchronous=synchronous)
        self.secrets = secrets if secrets is not None else Secrets.from_env()
        if push and not self.secrets.configured and not self.secrets.allow_unsigned:
            raise ValueError(
                "no webhook secret: give an HMAC secret (admin webhooks) or a JWT secret "
                "(an app's dynamic webhooks), or allow unsigned deliveries explicitly"
            )
        self.metrics = Metrics()
        self.handlers = Handlers()
        self.processor = Processor(self.inbox, [self.handlers, *consumers], batch=batch)
        self.forwarders: list[Forwarder] = []
        self.jobs: dict[str, Job] = {}
        self._started = False
        self._lock = threading.Lock()
        if process:
            self.add_job("process", self.processor.run_once, poll_interval)
        if self.inbox.dialect == "sqlite":
            checkpoint = self.add_job("checkpoint", self._checkpoint, 1.0)
            self.inbox.writer.on_growth = checkpoint.wake
        self.app = ReceiverApp(
            self.inbox,
            Verifier(self.secrets),
            max_body=max_body,
            path=path,
            public_path=public_path,
            metrics=self.metrics,
            on_stored=self.jobs["process"].wake if process else None,
            health=self.health,
            startup=self.start,
            shutdown=self.stop,
            accept_push=push,
        )

    # -- consumers --------------------------------------------------------------------------

    def on(self, *events: str, current_only: bool = False) -> Callable[[F], F]:
        """Register a handler (see `jirakit.webhooks.consumers.Handlers.on`)."""
        return self.handlers.on(*events, current_only=current_only)

    def on_snapshot(self, fn: F) -> F:
        return self.handlers.on_snapshot(fn)

    def add_consumer(self, consumer: Consumer) -> None:
        self.processor.add(consumer)

    def forward(
        self,
        url: str,
        *,
        secret: str | None = None,
        events: Sequence[str] = ("*",),
        current_only: bool = False,
        interval: float = 1.0,
        **options: Any,
    ) -> Forwarder:
        """Forward events to ``url`` (`jirakit.webhooks.consumers.Forwarder`)."""
        forwarder = Forwarder(
            url, secret=secret, events=events, current_only=current_only, **options
        )
        self.forwarders.append(forwarder)
        self.add_consumer(forwarder)
        self.add_job(
            f"forward-{len(self.forwarders)}", lambda: forwarder.deliver(self.inbox), interval
        )
        return forwarder

    # -- background work ----------------------------------------------------------------

    def add_job(self, name: str, fn: Callable[[], Any], interval: float) -> Job:
        with self._lock:
            if name in self.jobs:
                raise ValueError(f"a job named {name!r} exists")
            job = Job(name, fn, interval)
            self.jobs[name] = job
            if self._started:
                job.start()
        return job

    def start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
            self.inbox.writer.start()
            for job in self.jobs.values():
                job.start()

    def stop(self) -> None:
        with self._lock:
            if not self._started:
                return
            self._started = False
            jobs = list(self.jobs.values())
        for job in jobs:
            job.stop()
        self.processor.release()
        self.inbox.writer.stop()

    def close(self) -> None:
        self.stop()
        self.inbox.close()

    def __enter__(self) -> Receiver:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _checkpoint(self) -> None:
        self.inbox.checkpoint()  # once per run: the job runs again when woken or in 1 s

    def process_pending(self) -> int:
        """Apply every stored delivery now (in the calling thread)."""
        return self.processor.drain()

    def wake(self) -> None:
        """Process now (a delivery was stored by something other than the app)."""
        job = self.jobs.get("process")
        if job is not None:
            job.wake()

    def health(self) -> Mapping[str, Any]:
        """What ``/healthz`` reports: the store answers (an indexed lookup, whatever its
        size), whether deliveries wait, and each job's error count."""
        return {
            "inbox": {"pending": self.inbox.has_pending()},
            "jobs": {n: j.errors for n, j in self.jobs.items()},
        }
