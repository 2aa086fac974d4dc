"""A running sync's live progress, for readers in other processes (`jirakit dashboard`).

The warehouse cannot carry it: a run's ``_sync_runs`` row is loaded with the data it
describes, at the end, and while a sync writes a DuckDB file no other process can open it,
while a reader holding it open makes the sync's own next open fail. So `jirakit sync`
keeps a small JSON file up to date instead (written whole and renamed into place, twice a
second at most, and at every phase), and the dashboard reads that file, leaving a DuckDB
warehouse alone for as long as it says a sync is running.

Where: ``$JIRAKIT_STATE_DIR``, else ``$XDG_STATE_HOME/jirakit``, else
``~/.local/state/jirakit``; one file per (destination, dataset) under ``syncs/``. A reader
on the same machine tells a live run from one that was killed (``kill -9``) by its pid.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from jirakit.client import ClientStats
    from jirakit.sync.destination import Warehouse

__all__ = [
    "ProgressWriter",
    "SyncProgress",
    "progress_path",
    "read_progress",
    "state_dir",
]

# How often the writer refreshes the file while rows arrive (and as a heartbeat).
INTERVAL = 0.5
# A run on another host counts as running while its file is this fresh (seconds).
STALE_AFTER = 15.0


def state_dir() -> Path:
    """Where jirakit keeps per-machine state (see the module docstring)."""
    explicit = os.environ.get("JIRAKIT_STATE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_STATE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "state") / "jirakit"


def progress_path(warehouse: Warehouse) -> Path:
    """The progress file of syncs into ``warehouse`` (its destination and dataset)."""
    key = f"{warehouse.identity}\n{warehouse.dataset}".encode()
    return state_dir() / "syncs" / f"{hashlib.sha256(key).hexdigest()[:24]}.json"


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


@dataclass(frozen=True)
class SyncProgress:
    """One sync's progress as its file last said. ``status`` is ``running`` until the run
    ends (then ``succeeded``, ``failed`` or ``interrupted``); `running` also checks that
    the process is still there."""

    dest: str
    dataset: str
    pid: int
    host: str
    started_at: datetime
    updated_at: datetime
    phase: str
    phase_started_at: datetime
    status: str = "running"
    site: str | None = None
    rows: dict[str, int] = field(default_factory=dict)
    expected: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    rate_limited: int = 0
    waited_seconds: float = 0.0
    finished_at: datetime | None = None
    error: str | None = None

    @property
    def running(self) -> bool:
        """Still running: the file says so and its process lives (on this host), or the
        file is fresh (a sync on another host sharing the state folder)."""
        if self.status != "running":
            return False
        if self.host == socket.gethostname():
            return _alive(self.pid)
        return (datetime.now(UTC) - self.updated_at).total_seconds() < STALE_AFTER

    @property
    def vanished(self) -> bool:
        """The file says running, but its process is gone (killed without a word)."""
        return self.status == "running" and not self.running

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("started_at", "updated_at", "phase_started_at", "finished_at"):
            data[key] = _iso(data[key])
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SyncProgress:
        started = _when(data.get("started_at"))
        updated = _when(data.get("updated_at"))
        phase_started = _when(data.get("phase_started_at"))
        if started is None or updated is None or phase_started is None:
            raise ValueError("a progress file without its times")
        return cls(
            dest=str(data["dest"]),
            dataset=str(data["dataset"]),
            pid=int(data["pid"]),
            host=str(data["host"]),
            started_at=started,
            updated_at=updated,
            phase=str(data["phase"]),
            phase_started_at=phase_started,
            status=str(data.get("status") or "running"),
            site=data.get("site"),
            rows={str(k): int(v) for k, v in dict(data.get("rows") or {}).items()},
            expected={str(k): int(v) for k, v in dict(data.get("expected") or {}).items()},
            requests=int(data.get("requests") or 0),
            rate_limited=int(data.get("rate_limited") or 0),
            waited_seconds=float(data.get("waited_seconds") or 0.0),
            finished_at=_when(data.get("finished_at")),
            error=data.get("error"),
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True


def read_progress(warehouse: Warehouse) -> SyncProgress | None:
    """The latest sync's progress for ``warehouse``, or None when no sync on this machine
    (or sharing its state folder) has written one; an unreadable file counts as none."""
    path = progress_path(warehouse)
    try:
        return SyncProgress.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


class ProgressWriter:
    """Keeps ``progress_path(warehouse)`` current while a sync runs: `phase` and `rows`
    as the run reports them, requests and rate-limit waits from the client's ``stats``,
    then `finish`. A background thread rewrites the file at most every `INTERVAL`
    seconds while anything changed, and at least every few seconds as a heartbeat.

    Use as a context manager; failing to write (a read-only home) never fails the sync.
    """

    def __init__(
        self,
        warehouse: Warehouse,
        *,
        stats: ClientStats | None = None,
        site: str | None = None,
        interval: float = INTERVAL,
    ) -> None:
        now = datetime.now(UTC)
        self.path = progress_path(warehouse)
        self._stats = stats
        self._interval = interval
        self._lock = threading.Lock()
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._state = SyncProgress(
            dest=warehouse.describe(),
            dataset=warehouse.dataset,
            pid=os.getpid(),
            host=socket.gethostname(),
            started_at=now,
            updated_at=now,
            phase="starting",
            phase_started_at=now,
            site=site,
        )
        self._rows: dict[str, int] = {}
        self._expected: dict[str, int] = {}

    @property
    def state(self) -> SyncProgress:
        with self._lock:
            return self._snapshot()

    def __enter__(self) -> Self:
        try:
            self._write()
            self._thread = threading.Thread(target=self._loop, name="jirakit-progress", daemon=True)
            self._thread.start()
        except BaseException as exc:  # a signal's exception, even here, is recorded
            self.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._state.status == "running":  # left without `finish`: say how
            if exc_type is None:
                self.finish("succeeded")
            elif issubclass(exc_type, KeyboardInterrupt):
                self.finish("interrupted", str(exc) or None)
            else:
                self.finish("failed", str(exc) or None)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def connected(self, stats: ClientStats, site: str | None) -> None:
        """The client is ready: count its requests and waits from now on."""
        with self._lock:
            self._stats = stats
            self._state = replace(self._state, site=site)
        self._dirty.set()

    def phase(self, name: str) -> None:
        with self._lock:
            self._state = replace(self._state, phase=name, phase_started_at=datetime.now(UTC))
        self._write()

    def rows(self, table: str, n: int, expected: int | None) -> None:
        with self._lock:
            self._rows[table] = self._rows.get(table, 0) + n
            if expected is not None:
                self._expected[table] = expected
        self._dirty.set()

    def finish(self, status: str, error: str | None = None) -> None:
        with self._lock:
            self._state = replace(
                self._state, status=status, error=error, finished_at=datetime.now(UTC)
            )
        self._write()

    def _snapshot(self) -> SyncProgress:
        stats = self._stats
        extra: dict[str, Any] = {"rows": dict(self._rows), "expected": dict(self._expected)}
        if stats is not None:
            extra["requests"] = stats.requests
            extra["rate_limited"] = stats.by_status.get(429, 0)
            extra["waited_seconds"] = round(stats.throttled_seconds + stats.retry_wait_seconds, 3)
        return replace(self._state, updated_at=datetime.now(UTC), **extra)

    def _loop(self) -> None:
        beat = time.monotonic()
        while not self._stop.wait(self._interval):
            if self._dirty.is_set() or time.monotonic() - beat >= 3 * self._interval:
                self._write()
                beat = time.monotonic()

    def _write(self) -> None:
        self._dirty.clear()
        with self._lock:
            data = self._snapshot().to_json()
        tmp: str | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".progress-", dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out)
            os.replace(tmp, self.path)  # readers see the old file or the new one, whole
        except OSError:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
