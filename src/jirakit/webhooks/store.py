"""The durable inbox: every verified delivery, committed before the receiver answers 2xx.

One SQLAlchemy Core schema on SQLite (WAL, the default: ``sqlite:///inbox.db``) or Postgres
(``postgresql://...``, several receivers on one database):

``webhook_deliveries``
    one row per delivery id (``X-Atlassian-Webhook-Identifier``, or ``sha256:<hex>`` of the
    body when Jira sent none): raw body, headers (``Authorization`` and cookies left out),
    receive time, how it verified, and its status ``accepted`` -> ``applied`` (or
    ``rejected``: stored for inspection, never applied). The id is bound to the hash of
    the first body stored under it: a later body under the same id is a conflict, not a
    duplicate (a replayed token with a changed body).
``webhook_entities``
    the newest version applied per entity (issue, comment, worklog, ...) and tombstones
    (`jirakit.webhooks.ordering`).
``webhook_journal``
    one row per applied delivery, written in the transaction that applies it: the audit
    that nothing was applied twice.
``webhook_dirty``
    issues and worklogs to re-read (fetch-on-notify), with a mark that changes each time
    one is marked again, so a read never clears a newer mark.
``webhook_outbox``
    forwards to other HTTP endpoints, committed with the delivery they forward.
``webhook_state``
    small named values (heartbeat, poll cursors, registered webhook ids).
``webhook_duplicates``
    how many deliveries per event type came again under an id already stored, with the
    same body (answered 200, not stored again): counted in the transaction that finds them.

Writes from the receiver go through one writer thread that commits whatever has queued
up in one transaction (group commit): with ``synchronous=FULL`` each commit is an fsync,
and concurrent deliveries share it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Row,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.pool import StaticPool

try:  # POSIX: writers of one SQLite file in several processes queue on an flock
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from jirakit._logging import get_logger

__all__ = [
    "ACCEPTED",
    "APPLIED",
    "REJECTED",
    "DeliveryRow",
    "Inbox",
    "Incoming",
    "content_id",
    "now_ms",
]

log = get_logger("jirakit.webhooks")

ACCEPTED = "accepted"
APPLIED = "applied"
REJECTED = "rejected"
STORED = "stored"
DUPLICATE = "duplicate"
CONFLICT = "conflict"
# Credentials never reach the store.
DROPPED_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})

_ID = BigInteger().with_variant(Integer, "sqlite")  # SQLite: the rowid itself
metadata = MetaData()

deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("seq", _ID, primary_key=True, autoincrement=True),
    Column("delivery_id", String(255), nullable=False),
    Column("body_sha256", String(64), nullable=False),
    Column("received_ms", BigInteger, nullable=False),
    Column("source", String(16), nullable=False),
    Column("retry", Integer, nullable=False, default=0),
    Column("event", String(128)),
    Column("issue_id", BigInteger),
    Column("issue_key", String(64)),
    Column("status", String(16), nullable=False),
    Column("outcome", String(16)),
    Column("error", Text),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_ms", BigInteger),
    Column("replay", Boolean, nullable=False, default=False),
    Column("applied_ms", BigInteger),
    Column("headers", Text, nullable=False),
    Column("body", LargeBinary, nullable=False),
    UniqueConstraint("delivery_id", name="uq_webhook_deliveries_id"),
    Index("ix_webhook_deliveries_status", "status", "seq"),
    Index("ix_webhook_deliveries_received", "received_ms"),
)

entities = Table(
    "webhook_entities",
    metadata,
    Column("kind", String(16), nullable=False),
    Column("entity_id", String(64), nullable=False),
    Column("issue_id", BigInteger),
    Column("version", BigInteger, nullable=False),
    Column("sequence", BigInteger, nullable=False, default=0),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("delivery_id", String(255)),
    Column("changed_ms", BigInteger, nullable=False),
    PrimaryKeyConstraint("kind", "entity_id"),
)

journal = Table(
    "webhook_journal",
    metadata,
    Column("seq", _ID, primary_key=True, autoincrement=True),
    Column("delivery_id", String(255), nullable=False),
    Column("event", String(128)),
    Column("kind", String(16)),
    Column("entity_id", String(64)),
    Column("ordering", String(16), nullable=False),
    Column("applied_ms", BigInteger, nullable=False),
    Index("ix_webhook_journal_delivery", "delivery_id"),
)

dirty = Table(
    "webhook_dirty",
    metadata,
    Column("kind", String(16), nullable=False),  # issue | worklog
    Column("entity_id", BigInteger, nullable=False),
    Column("issue_id", BigInteger),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("mark", BigInteger, nullable=False),
    Column("marked_ms", BigInteger, nullable=False),
    PrimaryKeyConstraint("kind", "entity_id"),
)

outbox = Table(
    "webhook_outbox",
    metadata,
    Column("seq", _ID, primary_key=True, autoincrement=True),
    Column("target", String(255), nullable=False),
    Column("delivery_id", String(255), nullable=False),
    Column("url", Text, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False),  # pending | sent | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_ms", BigInteger, nullable=False),
    Column("last_error", Text),
    Column("created_ms", BigInteger, nullable=False),
    Column("sent_ms", BigInteger),
    UniqueConstraint("target", "delivery_id", name="uq_webhook_outbox_target_delivery"),
    Index("ix_webhook_outbox_status", "status", "next_ms"),
)

state = Table(
    "webhook_state",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("value", Text, nullable=False),
)

# Deliveries that came again (same id, same body), per event type ("" when the body named
# none): a row each, not stored again. Only verified deliveries get this far, so nobody
# without the secret can make the inbox write here.
duplicates = Table(
    "webhook_duplicates",
    metadata,
    Column("event", String(128), primary_key=True),
    Column("count", BigInteger, nullable=False),
    Column("last_ms", BigInteger, nullable=False),
)


# `Inbox.checkpoint` starts the WAL over (a pause of the writer) once it holds this many
# pages (128 MB; every few seconds at 1,000 deliveries/s): each pause holds the acks that
# arrive meanwhile, so fewer pauses keep them out of the p99. SQLite
# checkpoints inside a commit at AUTOCHECKPOINT_PAGES (256 MB), the fallback when no
# checkpoint job runs. The WAL file keeps its largest size on disk.
RESTART_PAGES = 32_768
AUTOCHECKPOINT_PAGES = 65_536
# The group commit asks for a checkpoint (`GroupCommit.on_growth`) after this many commits
# or bytes of bodies, well before the WAL reaches AUTOCHECKPOINT_PAGES (a commit writes its
# bodies' pages plus a few pages of the table and its indexes).
CHECKPOINT_AFTER_COMMITS = 1_000
CHECKPOINT_ATTEMPTS = 10
CHECKPOINT_AFTER_BYTES = 8 * 1024 * 1024


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def content_id(body: bytes) -> str:
    """The delivery id of a delivery that came without ``X-Atlassian-Webhook-Identifier``."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


@dataclass(slots=True)
class Incoming:
    """One delivery to store. ``status`` is ``accepted`` or ``rejected`` (malformed)."""

    delivery_id: str
    body: bytes
    headers: Mapping[str, str]
    received_ms: int
    source: str
    retry: int = 0
    event: str | None = None
    issue_id: int | None = None
    issue_key: str | None = None
    status: str = ACCEPTED
    outcome: str | None = None
    error: str | None = None
    body_sha256: str = field(default="")

    def __post_init__(self) -> None:
        if not self.body_sha256:
            self.body_sha256 = hashlib.sha256(self.body).hexdigest()

    def row(self) -> dict[str, Any]:
        kept = {k: v for k, v in self.headers.items() if k.lower() not in DROPPED_HEADERS}
        return {
            "delivery_id": self.delivery_id,
            "body_sha256": self.body_sha256,
            "received_ms": self.received_ms,
            "source": self.source,
            "retry": self.retry,
            "event": self.event,
            "issue_id": self.issue_id,
            "issue_key": self.issue_key,
            "status": self.status,
            "outcome": self.outcome,
            "error": self.error,
            "attempts": 0,
            "next_ms": None,
            "replay": False,
            "applied_ms": None,
            "headers": orjson.dumps(kept, option=orjson.OPT_SORT_KEYS).decode(),
            "body": self.body,
        }


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """A stored delivery (what `jirakit webhooks inbox` prints)."""

    seq: int
    delivery_id: str
    received_ms: int
    source: str
    retry: int
    event: str | None
    issue_id: int | None
    issue_key: str | None
    status: str
    outcome: str | None
    error: str | None
    attempts: int
    replay: bool
    applied_ms: int | None
    headers: dict[str, str]
    body: bytes

    @classmethod
    def from_row(cls, row: Row[Any]) -> DeliveryRow:
        m = row._mapping
        return cls(
            seq=int(m["seq"]),
            delivery_id=str(m["delivery_id"]),
            received_ms=int(m["received_ms"]),
            source=str(m["source"]),
            retry=int(m["retry"] or 0),
            event=m["event"],
            issue_id=m["issue_id"],
            issue_key=m["issue_key"],
            status=str(m["status"]),
            outcome=m["outcome"],
            error=m["error"],
            attempts=int(m["attempts"] or 0),
            replay=bool(m["replay"]),
            applied_ms=m["applied_ms"],
            headers=dict(orjson.loads(m.get("headers") or "{}")),
            body=bytes(m["body"]),
        )

    def summary(self) -> dict[str, Any]:
        """One JSON line of ``jirakit webhooks inbox --json``."""
        return {
            "delivery_id": self.delivery_id,
            "event": self.event,
            "issue_id": self.issue_id,
            "issue_key": self.issue_key,
            "status": self.status,
            "outcome": self.outcome,
            "source": self.source,
            "retry": self.retry,
            "received_ms": self.received_ms,
            "applied_ms": self.applied_ms,
            "attempts": self.attempts,
            "error": self.error,
        }


def engine_url(url: str) -> str:
    """``sqlite:///inbox.db`` as is; ``postgres://`` and ``postgresql://`` through psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: str, *, synchronous: str = "FULL", **options: Any) -> Engine:
    """An engine for the inbox. SQLite: WAL, ``synchronous`` (FULL: every commit reaches the
    disk, surviving power loss; NORMAL: survives a killed process, not a power cut), a busy
    timeout, and ``BEGIN IMMEDIATE`` for writes (`Inbox.write`) so two writers queue instead
    of failing on a stale snapshot."""
    url = engine_url(url)
    if not url.startswith(("sqlite", "postgresql")):
        raise ValueError(f"unsupported store {url!r}: use sqlite:///path.db or postgresql://...")
    if url.startswith("sqlite"):
        if synchronous.upper() not in ("FULL", "NORMAL", "EXTRA", "OFF"):
            raise ValueError("synchronous must be FULL, NORMAL, EXTRA or OFF")
        memory = url in ("sqlite://", "sqlite:///:memory:")
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            **({"poolclass": StaticPool} if memory else {}),
            **options,
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # SQLAlchemy's begin hook starts them
            cur = dbapi_connection.cursor()
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={synchronous.upper()}")
            cur.execute("PRAGMA busy_timeout=30000")
            # Checkpoints copy the WAL into the database and sync it: a started receiver
            # runs them on a job of their own (`Inbox.checkpoint`), off the commit that
            # acknowledges deliveries; this is the fallback when nothing does.
            cur.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            immediate = conn.get_execution_options().get("immediate", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True, **options)


_SQLITE_COLUMNS = [c.name for c in deliveries.c if c.name != "seq"]
_SQLITE_INSERT = (
    f"INSERT INTO {deliveries.name} ({', '.join(_SQLITE_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in _SQLITE_COLUMNS)}) "
    "ON CONFLICT (delivery_id) DO NOTHING"
)
_SQLITE_PRIOR = f"SELECT body_sha256 FROM {deliveries.name} WHERE delivery_id = ?"
_SQLITE_DUPLICATE = (
    f"INSERT INTO {duplicates.name} (event, count, last_ms) VALUES (?, ?, ?) "
    "ON CONFLICT (event) DO UPDATE SET count = count + excluded.count, "
    "last_ms = excluded.last_ms"
)


def _duplicates_per_event(items: Sequence[Incoming], results: Sequence[str]) -> dict[str, int]:
    """How many of ``items`` were duplicates, per event type ("" for none)."""
    found: dict[str, int] = {}
    for item, result in zip(items, results, strict=True):
        if result == DUPLICATE:
            found[item.event or ""] = found.get(item.event or "", 0) + 1
    return found


class _Stop:
    pass


class GroupCommit:
    """The receiver's writer: deliveries queue up while a commit is in flight and are
    committed together by the next one. `submit` returns a future resolved (``stored``,
    ``duplicate`` or ``conflict``) once the row is durable; `submit_async` an asyncio
    future, and every asyncio future of a batch is settled with one wake-up of its loop."""

    def __init__(self, inbox: Inbox, max_batch: int = 256, linger: float = 0.0) -> None:
        self.inbox = inbox
        self.max_batch = max_batch
        # Wait this long for company when a batch would be tiny. The inbox waits 0.5 ms on
        # Postgres (a commit is a round trip to another process), not at all on SQLite:
        # there the commit in flight gathers the next batch, and the timed wait cost a lone
        # delivery 1 ms and twice the CPU (measured), more than its shared commit saved.
        self.linger = linger
        self._queue: queue.SimpleQueue[tuple[Incoming, Any] | _Stop] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.commits = 0
        # Called (on the writer's thread, after the acks) once the commits since the last
        # call may have grown the WAL by several MB: the receiver wakes its checkpoint job.
        self.on_growth: Callable[[], None] | None = None
        self._grown_commits = 0
        self._grown_bytes = 0
        self._raw: Any = None  # SQLite: the writer thread's own connection, while it runs

    def start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="jirakit-webhooks-writer", daemon=True
                )
                self._thread.start()

    def submit(self, item: Incoming) -> Future[str]:
        future: Future[str] = Future()
        self._put(item, future)
        return future

    def submit_async(self, item: Incoming) -> asyncio.Future[str]:
        """From a coroutine: an asyncio future of the running loop."""
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._put(item, future)
        return future

    def _put(self, item: Incoming, future: Any) -> None:
        self._queue.put((item, future))
        if self._thread is None:
            self.start()

    def stop(self, timeout: float = 10.0) -> None:
        with self._lock:
            thread = self._thread
            self._thread = None
        if thread is not None:
            self._queue.put(_Stop())
            thread.join(timeout)

    def _release(self) -> None:
        raw, self._raw = self._raw, None
        if raw is not None:
            with contextlib.suppress(Exception):
                raw.close()

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            self._release()

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if isinstance(first, _Stop):
                return
            batch = [first]
            stop = False
            deadline = time.monotonic() + self.linger
            while len(batch) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    try:
                        nxt = self._queue.get(timeout=left)
                    except queue.Empty:
                        break
                if isinstance(nxt, _Stop):
                    stop = True
                    break
                batch.append(nxt)
            outcomes: list[tuple[Any, str | None, BaseException | None]]
            try:
                if self._raw is None and self.inbox.dialect == "sqlite":
                    self._raw = self.inbox.engine.raw_connection()
                dbapi = None if self._raw is None else self._raw.driver_connection
                results = self.inbox.store_many([item for item, _ in batch], dbapi=dbapi)
            except Exception as exc:  # the database is down: every waiting request gets 503
                log.error("webhooks.store_failed", error=type(exc).__name__, batch=len(batch))
                outcomes = [(future, None, exc) for _, future in batch]
                self._release()  # a new connection for the next batch
            else:
                self.commits += 1
                outcomes = [
                    (future, result, None)
                    for (_, future), result in zip(batch, results, strict=True)
                ]
            _settle_all(outcomes)
            if self.on_growth is not None:
                self._grown_commits += 1
                self._grown_bytes += sum(len(item.body) for item, _ in batch)
                if (
                    self._grown_commits >= CHECKPOINT_AFTER_COMMITS
                    or self._grown_bytes >= CHECKPOINT_AFTER_BYTES
                ):
                    self._grown_commits = self._grown_bytes = 0
                    self.on_growth()
            if stop:
                return


def _settle_all(outcomes: list[tuple[Any, str | None, BaseException | None]]) -> None:
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Any, Any, Any]]] = {}
    for future, result, exc in outcomes:
        if isinstance(future, asyncio.Future):
            by_loop.setdefault(future.get_loop(), []).append((future, result, exc))
        elif exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)
    for loop, settled in by_loop.items():
        # a loop closed meanwhile has nobody waiting for these
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, settled)


def _settle(settled: list[tuple[asyncio.Future[str], str | None, BaseException | None]]) -> None:
    for future, result, exc in settled:
        if future.done():  # the request went away (client disconnected)
            continue
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(str(result))


class _WriteLock:
    """Mutual exclusion of SQLite writers: a thread lock, plus an ``flock`` on
    ``<database>.lock`` for other processes on the same file (the kernel wakes the next
    waiter at once)."""

    def __init__(self, database: str | None) -> None:
        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        if database and database != ":memory:" and fcntl is not None:
            self._fd = os.open(f"{database}.lock", os.O_RDWR | os.O_CREAT, 0o600)

    def __enter__(self) -> None:
        self._thread_lock.acquire()
        if self._fd is not None and fcntl is not None:
            fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None and fcntl is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._thread_lock.release()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class Inbox:
    """The store (see the module docstring). ``url`` is a SQLAlchemy-style URL."""

    def __init__(self, url: str, *, synchronous: str = "FULL", create: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url, synchronous=synchronous)
        self.dialect = self.engine.dialect.name
        self._writer = self.engine.execution_options(immediate=True)
        self._write_lock = (
            _WriteLock(self.engine.url.database) if self.dialect == "sqlite" else None
        )
        self.writer = GroupCommit(self, linger=0.0 if self.dialect == "sqlite" else 0.0005)
        if create:
            metadata.create_all(self.engine)

    def close(self) -> None:
        self.writer.stop()
        self.engine.dispose()
        if self._write_lock is not None:
            self._write_lock.close()

    def __enter__(self) -> Inbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions -------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (SQLite: ``BEGIN IMMEDIATE``), committed on exit.

        SQLite: writers take turns on a lock of their own first (threads, and processes on
        the same file: `_WriteLock`). When SQLite itself makes a writer wait, it sleeps in
        steps of up to 100 ms; a lock hands over as soon as it is released, so the acks do
        not wait out a sleep behind the applier."""
        if self._write_lock is None:
            with self._writer.begin() as conn:
                yield conn
            return
        with self._write_lock, self._writer.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def _insert(self, table: Table) -> Any:
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)

    # -- ingest ---------------------------------------------------------------------------

    def submit(self, item: Incoming) -> Future[str]:
        """Queue ``item`` for the next group commit."""
        return self.writer.submit(item)

    def submit_async(self, item: Incoming) -> asyncio.Future[str]:
        """Queue ``item`` for the next group commit (the receiver's path, on its loop)."""
        return self.writer.submit_async(item)

    def store(self, item: Incoming) -> str:
        """Store one delivery now: ``stored``, ``duplicate`` or ``conflict``."""
        return self.store_many([item])[0]

    def store_many(self, items: Sequence[Incoming], *, dbapi: Any = None) -> list[str]:
        """Store deliveries in one transaction; one result per item, in order.

        One ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` for the batch; only the ids it
        did not insert (seen before, or twice in the batch) are looked up, to tell a
        duplicate (same body) from a conflict (another body).

        SQLite: straight through the driver (``dbapi``: a connection of this inbox's engine
        to use, else one from its pool), the receiver's hot path: SQLAlchemy's own work per
        transaction was most of the cost of a commit of one or two deliveries."""
        if self.dialect == "sqlite":
            return self._store_many_sqlite(items, dbapi)
        with self.write() as conn:
            stmt = (
                self._insert(deliveries)
                .on_conflict_do_nothing(index_elements=["delivery_id"])
                .returning(deliveries.c.delivery_id)
            )
            inserted = {str(r[0]) for r in conn.execute(stmt, [i.row() for i in items])}
            seen: set[str] = set()
            results: list[str] = []
            others: list[Incoming] = []
            for item in items:
                if item.delivery_id in inserted and item.delivery_id not in seen:
                    seen.add(item.delivery_id)
                    results.append(STORED)
                else:
                    results.append("")
                    others.append(item)
            if others:
                known: dict[str, str] = {}
                ids = list({i.delivery_id for i in others})
                for start in range(0, len(ids), 500):
                    rows = conn.execute(
                        select(deliveries.c.delivery_id, deliveries.c.body_sha256).where(
                            deliveries.c.delivery_id.in_(ids[start : start + 500])
                        )
                    )
                    known.update({str(r[0]): str(r[1]) for r in rows})
                for n, item in enumerate(items):
                    if results[n] == "":
                        prior = known.get(item.delivery_id, item.body_sha256)
                        results[n] = DUPLICATE if prior == item.body_sha256 else CONFLICT
                counted = _duplicates_per_event(items, results)
                if counted:
                    at = now_ms()
                    upsert = postgresql.insert(duplicates)
                    conn.execute(
                        upsert.on_conflict_do_update(
                            index_elements=["event"],
                            set_={
                                "count": duplicates.c.count + upsert.excluded.count,
                                "last_ms": upsert.excluded.last_ms,
                            },
                        ),
                        # In one order in every transaction: two receivers' batches with
                        # the same event types lock their rows alike, never crosswise.
                        [
                            {"event": e, "count": n, "last_ms": at}
                            for e, n in sorted(counted.items())
                        ],
                    )
        return results

    def _store_many_sqlite(self, items: Sequence[Incoming], dbapi: Any) -> list[str]:
        raw = None
        if dbapi is None:
            raw = self.engine.raw_connection()
            dbapi = raw.driver_connection
        try:
            assert self._write_lock is not None
            with self._write_lock:
                dbapi.execute("BEGIN IMMEDIATE")
                try:
                    results = [
                        STORED if dbapi.execute(_SQLITE_INSERT, item.row()).rowcount == 1 else ""
                        for item in items
                    ]
                    for n, item in enumerate(items):
                        if results[n] == "":  # seen before, or earlier in this batch
                            row = dbapi.execute(_SQLITE_PRIOR, (item.delivery_id,)).fetchone()
                            prior = item.body_sha256 if row is None else str(row[0])
                            results[n] = DUPLICATE if prior == item.body_sha256 else CONFLICT
                    counted = _duplicates_per_event(items, results)
                    if counted:
                        at = now_ms()
                        dbapi.executemany(
                            _SQLITE_DUPLICATE, [(e, n, at) for e, n in counted.items()]
                        )
                    dbapi.execute("COMMIT")
                except BaseException:
                    if dbapi.in_transaction:
                        dbapi.execute("ROLLBACK")
                    raise
            return results
        finally:
            if raw is not None:
                raw.close()

    # -- reading --------------------------------------------------------------------------

    def get(self, delivery_id: str) -> DeliveryRow | None:
        with self.read() as conn:
            row = conn.execute(
                select(deliveries).where(deliveries.c.delivery_id == delivery_id)
            ).first()
        return None if row is None else DeliveryRow.from_row(row)

    def deliveries(
        self,
        *,
        status: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        limit: int | None = None,
        after_seq: int = 0,
    ) -> list[DeliveryRow]:
        """Stored deliveries in arrival order."""
        q = select(deliveries).where(deliveries.c.seq > after_seq).order_by(deliveries.c.seq)
        if status is not None:
            q = q.where(deliveries.c.status == status)
        if since_ms is not None:
            q = q.where(deliveries.c.received_ms >= since_ms)
        if until_ms is not None:
            q = q.where(deliveries.c.received_ms < until_ms)
        if limit is not None:
            q = q.limit(limit)
        with self.read() as conn:
            return [DeliveryRow.from_row(r) for r in conn.execute(q)]

    def counts(self) -> dict[str, int]:
        """Deliveries per status."""
        with self.read() as conn:
            rows = conn.execute(
                select(deliveries.c.status, func.count()).group_by(deliveries.c.status)
            )
            return {str(s): int(n) for s, n in rows}

    def duplicates(self, conn: Connection | None = None) -> dict[str | None, int]:
        """Deliveries that came again and were not stored again, per event type (None:
        the body named none). An inbox made before they were counted has none."""
        if conn is None:
            with self.read() as fresh:
                return self.duplicates(fresh)
        if not inspect(conn).has_table(duplicates.name):
            return {}
        rows = conn.execute(select(duplicates.c.event, duplicates.c.count))
        return {(str(e) or None): int(n) for e, n in rows}

    def pending(self, conn: Connection, limit: int, at_ms: int | None = None) -> list[DeliveryRow]:
        """Accepted deliveries due for processing, oldest first (locked on Postgres, so
        several processors share the work)."""
        at = now_ms() if at_ms is None else at_ms
        wanted = [c for c in deliveries.c if c.name != "headers"]  # not needed to apply
        q = (
            select(*wanted)
            .where(
                deliveries.c.status == ACCEPTED,
                or_(deliveries.c.next_ms.is_(None), deliveries.c.next_ms <= at),
            )
            .order_by(deliveries.c.seq)
            .limit(limit)
        )
        if self.dialect == "postgresql":
            q = q.with_for_update(skip_locked=True)
        return [DeliveryRow.from_row(r) for r in conn.execute(q)]

    def has_pending(self, at_ms: int | None = None) -> bool:
        """Whether an accepted delivery is due (None: due or waiting for a retry)."""
        q = select(deliveries.c.seq).where(deliveries.c.status == ACCEPTED)
        if at_ms is not None:
            q = q.where(or_(deliveries.c.next_ms.is_(None), deliveries.c.next_ms <= at_ms))
        with self.read() as conn:
            return conn.execute(q.limit(1)).first() is not None

    # -- after processing -----------------------------------------------------------------

    @staticmethod
    def mark_applied(conn: Connection, done: Sequence[tuple[int, str]], at_ms: int) -> None:
        """Mark deliveries ``(seq, outcome)`` applied (one statement, many rows)."""
        if not done:
            return
        stmt = (
            update(deliveries)
            .where(deliveries.c.seq == bindparam("b_seq"))
            .values(
                status=APPLIED,
                outcome=bindparam("b_outcome"),
                applied_ms=at_ms,
                error=None,
                next_ms=None,
            )
        )
        conn.execute(stmt, [{"b_seq": seq, "b_outcome": outcome} for seq, outcome in done])

    @staticmethod
    def mark_failed(conn: Connection, seq: int, error: str, attempts: int, next_at: int) -> None:
        """A consumer failed: try again at ``next_at`` (the delivery stays accepted)."""
        conn.execute(
            update(deliveries)
            .where(deliveries.c.seq == seq)
            .values(error=error[:2000], attempts=attempts, next_ms=next_at)
        )

    @staticmethod
    def add_journal(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Journal rows: ``delivery_id``, ``event``, ``kind``, ``entity_id``, ``ordering``,
        ``applied_ms``."""
        if rows:
            conn.execute(journal.insert(), list(rows))

    def journal_counts(self) -> dict[str, int]:
        """How many times each delivery was applied (the exactly-once audit)."""
        with self.read() as conn:
            rows = conn.execute(
                select(journal.c.delivery_id, func.count()).group_by(journal.c.delivery_id)
            )
            return {str(d): int(n) for d, n in rows}

    # -- replay and retention -------------------------------------------------------------

    def replay(
        self, *, since_ms: int, until_ms: int | None = None, events: Sequence[str] = ()
    ) -> int:
        """Mark applied deliveries received in [since, until) for another run through the
        consumers; returns how many. Rejected deliveries stay rejected."""
        cond = [deliveries.c.status == APPLIED, deliveries.c.received_ms >= since_ms]
        if until_ms is not None:
            cond.append(deliveries.c.received_ms < until_ms)
        if events:
            cond.append(deliveries.c.event.in_(list(events)))
        with self.write() as conn:
            result = conn.execute(
                update(deliveries)
                .where(and_(*cond))
                .values(status=ACCEPTED, replay=True, next_ms=None, attempts=0, error=None)
            )
            return int(result.rowcount or 0)

    def purge(self, *, older_than_ms: int) -> dict[str, int]:
        """Delete what was received (applied or rejected) before ``older_than_ms``, and the
        journal, sent forwards and tombstones as old. Accepted deliveries not yet applied
        are kept whatever their age."""
        with self.write() as conn:
            gone = conn.execute(
                delete(deliveries).where(
                    deliveries.c.received_ms < older_than_ms, deliveries.c.status != ACCEPTED
                )
            ).rowcount
            journaled = conn.execute(
                delete(journal).where(journal.c.applied_ms < older_than_ms)
            ).rowcount
            sent = conn.execute(
                delete(outbox).where(
                    outbox.c.created_ms < older_than_ms, outbox.c.status != "pending"
                )
            ).rowcount
            tombstones = conn.execute(
                delete(entities).where(entities.c.changed_ms < older_than_ms)
            ).rowcount
        return {
            "deliveries": int(gone or 0),
            "journal": int(journaled or 0),
            "outbox": int(sent or 0),
            "entities": int(tombstones or 0),
        }

    def checkpoint(self, restart_at: int = RESTART_PAGES) -> bool:
        """SQLite: copy the WAL into the database, and once it holds ``restart_at`` pages
        let the next commit start it over; returns whether it did that. Postgres: nothing
        to do.

        Two passes. The first (PASSIVE: never waits for the writer nor blocks it) copies
        what was committed when it began, the bulk. But a receiver that never pauses commits
        again meanwhile, SQLite starts the WAL over only once all of it was copied, and so
        it would grow until ``wal_autocheckpoint`` ran a checkpoint of 40 MB or more inside
        a commit, holding every ack waiting for it (40-80 ms every 1-2 s at 1,000
        deliveries/s, measured). The second pass copies the few pages committed during the
        first while holding the write lock, so that nothing is committed in between and the
        next writer starts the WAL over: a pause of the writer for its two syncs (7-11 ms
        measured at a load average of 2, 15-40 ms at 3-5), hence only once the WAL is
        that large.

        An unlocked pass that took more than 5 ms is followed by another (twice at most:
        what was committed during it is copied unlocked too), so the locked one has little
        to copy; its syncs take what they take. A reader (the
        processor's, another process's) can hold a snapshot older than the WAL's end, and
        no pass copies past it: a pass that stops short is tried again a few milliseconds
        later, a few times, rather than waiting for the next run while the WAL grows
        toward ``wal_autocheckpoint``."""
        if self.dialect != "sqlite" or self._write_lock is None:
            return False
        raw = self.engine.raw_connection()
        try:
            db: Any = raw.driver_connection
            held_back = False
            for attempt in range(CHECKPOINT_ATTEMPTS):
                if held_back:
                    time.sleep(0.005)  # for the reader to finish
                started = time.monotonic()
                busy, frames, copied = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                if frames < max(1, restart_at):
                    return False  # small yet; a writer that pauses starts it over itself
                held_back = bool(busy) or copied < frames
                if held_back:
                    continue
                if time.monotonic() - started > 0.005 and attempt < 2:
                    continue  # much was committed meanwhile: copy it unlocked too
                with self._write_lock:
                    busy, frames, copied = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                if not busy and copied == frames:
                    return True
                held_back = True
            return False
        finally:
            raw.close()

    # -- named state ----------------------------------------------------------------------

    def get_state(self, key: str, default: Any = None) -> Any:
        with self.read() as conn:
            row = conn.execute(select(state.c.value).where(state.c.key == key)).first()
        return default if row is None else json.loads(row[0])

    def set_state(self, key: str, value: Any, conn: Connection | None = None) -> None:
        text = json.dumps(value, separators=(",", ":"), sort_keys=True)
        stmt = self._insert(state).values(key=key, value=text)
        stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={"value": text})
        if conn is not None:
            conn.execute(stmt)
            return
        with self.write() as own:
            own.execute(stmt)

    # -- fetch-on-notify marks ------------------------------------------------------------

    def mark_dirty(
        self, conn: Connection, marks: Sequence[tuple[str, int, int | None, bool]]
    ) -> None:
        """Mark issues (or worklogs) ``(kind, id, issue id, deleted)`` to be read again;
        marking again moves the mark (and a deletion sticks)."""
        if not marks:
            return
        at = now_ms()
        rows: dict[tuple[str, int], dict[str, Any]] = {}
        for kind, entity_id, issue_id, deleted in marks:
            key = (kind, int(entity_id))
            before = rows.get(key)
            rows[key] = {
                "kind": kind,
                "entity_id": int(entity_id),
                "issue_id": issue_id,
                "deleted": deleted or bool(before and before["deleted"]),
                "mark": time.monotonic_ns(),
                "marked_ms": at,
            }
        stmt = self._insert(dirty)
        stmt = stmt.on_conflict_do_update(
            index_elements=["kind", "entity_id"],
            set_={
                "mark": stmt.excluded.mark,
                "marked_ms": stmt.excluded.marked_ms,
                "deleted": dirty.c.deleted | stmt.excluded.deleted,
            },
        )
        conn.execute(stmt, list(rows.values()))

    def dirty(self, kind: str, limit: int) -> list[tuple[int, int | None, bool, int]]:
        """Up to ``limit`` marked entities: (id, issue id, deleted, mark), oldest first."""
        with self.read() as conn:
            rows = conn.execute(
                select(dirty.c.entity_id, dirty.c.issue_id, dirty.c.deleted, dirty.c.mark)
                .where(dirty.c.kind == kind)
                .order_by(dirty.c.marked_ms, dirty.c.entity_id)
                .limit(limit)
            )
            return [(int(r[0]), r[1], bool(r[2]), int(r[3])) for r in rows]

    def dirty_count(self) -> int:
        with self.read() as conn:
            return int(conn.execute(select(func.count()).select_from(dirty)).scalar_one())

    def clear_dirty(self, kind: str, marks: Sequence[tuple[int, int]]) -> None:
        """Unmark entities read since they were marked (``(id, mark)``); one marked again
        meanwhile keeps its newer mark."""
        if not marks:
            return
        with self.write() as conn:
            for entity_id, mark in marks:
                conn.execute(
                    delete(dirty).where(
                        dirty.c.kind == kind, dirty.c.entity_id == entity_id, dirty.c.mark == mark
                    )
                )

    # -- outbox ---------------------------------------------------------------------------

    def enqueue(
        self, conn: Connection, target: str, delivery_id: str, url: str, body: bytes
    ) -> None:
        """Queue a forward (in the caller's transaction); once per (target, delivery)
        unless replayed (a replay queues it again)."""
        at = now_ms()
        stmt = self._insert(outbox).values(
            target=target,
            delivery_id=delivery_id,
            url=url,
            body=body,
            status="pending",
            attempts=0,
            next_ms=at,
            created_ms=at,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["target", "delivery_id"],
            set_={"status": "pending", "body": body, "url": url, "attempts": 0, "next_ms": at},
        )
        conn.execute(stmt)

    def due_forwards(self, limit: int, at_ms: int | None = None) -> list[dict[str, Any]]:
        at = now_ms() if at_ms is None else at_ms
        with self.read() as conn:
            rows = conn.execute(
                select(outbox)
                .where(outbox.c.status == "pending", outbox.c.next_ms <= at)
                .order_by(outbox.c.seq)
                .limit(limit)
            )
            return [dict(r._mapping) for r in rows]

    def forward_done(self, seq: int, *, ok: bool, error: str | None, next_ms: int | None) -> None:
        """Record one forward attempt: sent, or retry at ``next_ms`` (None: give up)."""
        with self.write() as conn:
            values: dict[str, Any] = {"attempts": outbox.c.attempts + 1, "last_error": error}
            if ok:
                values.update(status="sent", sent_ms=now_ms())
            elif next_ms is None:
                values.update(status="failed")
            else:
                values.update(next_ms=next_ms)
            conn.execute(update(outbox).where(outbox.c.seq == seq).values(**values))

    def forwards(self) -> list[dict[str, Any]]:
        with self.read() as conn:
            return [dict(r._mapping) for r in conn.execute(select(outbox).order_by(outbox.c.seq))]
