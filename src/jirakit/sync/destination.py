"""Where a sync loads: the ``--dest`` forms, checked before any request is made, and SQL
access to the warehouse afterwards (models, report, state checks).

Accepted forms (`ACCEPTED`): ``duckdb:///relative.duckdb``, ``duckdb:////absolute.duckdb``,
``postgresql://user[:password]@host[:port]/database`` (``postgres://`` too; the password
also from ``JIRAKIT_DEST_PASSWORD`` or ``PGPASSWORD``), or another dlt destination by name
(``bigquery``, ``snowflake``, … configured the dlt way). Anything else is a
`DestinationError` whose one-line message says what to write instead.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from jirakit.errors import redact_url

# Environment variables a Postgres password may come from, in order, when the URL has none
# (libpq itself reads PGPASSWORD and ~/.pgpass; dlt needs the password handed to it).
PASSWORD_ENV = ("JIRAKIT_DEST_PASSWORD", "PGPASSWORD")

ACCEPTED = (
    "duckdb:///relative.duckdb",
    "duckdb:////absolute/path.duckdb",
    "postgresql://user[:password]@host[:port]/database",
    "a dlt destination by name (bigquery, snowflake, …)",
)

# Measured at 20,000 and 100,000 issues (docs/benchmarks.md): with one DuckDB thread,
# 128 MB loads and builds the models with no out-of-memory retry, and the whole sync
# peaked at 467-471 MiB at 100,000 issues (446-523 MiB at 20,000, by configuration);
# with two threads each thread's buffers need their share of the
# limit (160 MB failed the load). More of both is faster: `jirakit sync --duckdb-memory
# 1GB --duckdb-threads 2`.
DUCKDB_MEMORY = "128MB"
DUCKDB_THREADS = 1
# Seconds `check_destination` waits for a reader to let go of a DuckDB file.
LOCK_WAIT = 3.0


class DestinationError(ValueError):
    """``--dest`` cannot be used as given; the message says what to fix, on one line."""


def _accepted() -> str:
    return "accepted forms: " + "; ".join(ACCEPTED)


@dataclass(frozen=True)
class Warehouse:
    """Where a sync loads, and how to reach it with SQL afterwards (models, report).

    ``dialect`` is ``duckdb`` or ``postgres`` for the SQL warehouses jirakit models; any
    other dlt destination loads fine but gets no models (``dialect`` is its name).
    ``dataset`` defaults to ``main`` on DuckDB (tables are then plain ``issues``, with no
    ``jira.jira`` ambiguity in a file named ``jira.duckdb``) and ``jira`` elsewhere.
    ``duckdb_memory`` caps DuckDB's memory while loading and building models (DuckDB
    spills what does not fit to a temporary directory beside the file); DuckDB's own
    default is 80% of the machine's RAM, which a sync of 100,000 issues would take.
    ``duckdb_threads`` is DuckDB's thread count (None: one per core). ``identity`` names
    the destination without any secret (the sync's state is keyed by it); ``password`` is
    the Postgres password, kept out of ``repr``. ``shared`` is an open DuckDB connection
    that a run uses for everything (`session`).
    """

    dialect: str
    location: str | None = None
    dataset: str = "jira"
    duckdb_memory: str | None = None
    duckdb_threads: int | None = None
    identity: str = ""
    password: str | None = field(default=None, repr=False)
    shared: Any = field(default=None, repr=False, compare=False)

    def connect(self) -> Any:
        """A new connection (closing it is the caller's job). In a `session`, a cursor on
        the session's DuckDB connection: its own transactions, the same open database."""
        if self.dialect == "duckdb":
            if self.shared is not None:
                return self.shared.cursor()
            import duckdb

            return duckdb.connect(
                self.location or "jira.duckdb",
                config=duckdb_config(self.duckdb_memory, self.duckdb_threads),
            )
        if self.dialect == "postgres":
            import psycopg

            return psycopg.connect(self.conninfo())
        raise ValueError(f"no SQL access to a {self.dialect} destination from jirakit")

    @cached_property
    def destination(self) -> Any:
        """The dlt destination (built on first use: `jirakit sql` and `report` only need
        SQL access, and importing dlt costs most of a second)."""
        import dlt

        if self.dialect == "duckdb":
            if self.shared is not None:  # dlt borrows it and never closes it
                return dlt.destinations.duckdb(self.shared)
            config = duckdb_config(self.duckdb_memory, self.duckdb_threads)
            return dlt.destinations.duckdb({"database": self.location, "global_config": config})
        if self.dialect == "postgres":
            from dlt.destinations.impl.postgres.configuration import PostgresCredentials

            credentials = PostgresCredentials()
            credentials.parse_native_representation(self.location or "")
            # dlt refuses a Postgres destination without a password; "" lets libpq decide
            # (trust auth, ~/.pgpass), as psql does.
            credentials.password = self.password or ""
            return dlt.destinations.postgres(credentials)
        return self.dialect

    @contextmanager
    def session(self) -> Iterator[Warehouse]:
        """This warehouse with one DuckDB connection open for the whole block: every
        phase (state checks, dlt's load, fix-ups, models, the run's record) uses it, where
        each opening a DuckDB file of its own costs a checkpoint and a catalog read each
        time. Opening waits out a reader's lock as `check_destination` does. Other
        destinations: this warehouse, unchanged."""
        if self.dialect != "duckdb" or self.shared is not None:
            yield self
            return
        conn = _open_duckdb(
            Path(self.location or "jira.duckdb"),
            duckdb_config(self.duckdb_memory, self.duckdb_threads),
        )
        try:
            yield replace(self, shared=conn)
        finally:
            conn.close()

    def conninfo(self) -> str:
        """The Postgres connection string, with the password if one was given."""
        from psycopg.conninfo import make_conninfo

        if self.password:
            return make_conninfo(self.location or "", password=self.password)
        return self.location or ""

    def describe(self) -> str:
        """For messages: the file, the server and database, or the destination's name."""
        return self.identity.split(":", 1)[1] if ":" in self.identity else self.identity


def duckdb_config(
    memory_limit: str | None, threads: int | None = DUCKDB_THREADS
) -> dict[str, str | bool | int | float | list[str]]:
    """DuckDB settings for loading and modelling within ``memory_limit`` (None: DuckDB's
    default) on ``threads`` threads (None: one per core). Row order within a table means
    nothing to jirakit's tables, and keeping it makes DuckDB buffer whole inserts."""
    config: dict[str, str | bool | int | float | list[str]] = {"preserve_insertion_order": False}
    if memory_limit:
        config["memory_limit"] = memory_limit
    if threads:
        config["threads"] = threads
    return config


def warehouse_for(
    dest: str | None,
    dataset: str | None = None,
    *,
    duckdb_memory: str | None = DUCKDB_MEMORY,
    duckdb_threads: int | None = DUCKDB_THREADS,
) -> Warehouse:
    """``duckdb:///path.duckdb``, ``postgres://...``/``postgresql://...``, or a dlt
    destination name; None writes ``./jira.duckdb``. Raises `DestinationError` for a form
    it cannot use (nothing is contacted: see `check_destination`)."""
    dest = (dest or "").strip()
    if not dest or dest == "duckdb" or dest.startswith("duckdb:"):
        return _duckdb(dest, dataset, duckdb_memory, duckdb_threads)
    if dest.startswith(("postgres://", "postgresql://")):
        return _postgres(dest, dataset)
    if "://" in dest or ":" in dest or "/" in dest:
        scheme = dest.split(":", 1)[0]
        raise DestinationError(f"--dest {dest!r}: unknown scheme {scheme!r}; {_accepted()}")
    from dlt.common.destination.exceptions import UnknownDestinationModule
    from dlt.common.destination.reference import Destination

    try:
        Destination.from_reference(dest)
    except (UnknownDestinationModule, ImportError, ValueError) as exc:
        raise DestinationError(
            f"--dest {dest!r} is not a dlt destination dlt knows ({type(exc).__name__}); "
            f"{_accepted()}"
        ) from None
    return Warehouse(dest, None, dataset or "jira", identity=f"{dest}:{dest}")


def _duckdb(dest: str, dataset: str | None, memory: str | None, threads: int | None) -> Warehouse:
    if dest in ("", "duckdb"):
        path = "jira.duckdb"
    elif dest.startswith("duckdb:///") and len(dest) > len("duckdb:///"):
        path = dest.removeprefix("duckdb:///")
    else:
        raise DestinationError(
            f"--dest {dest!r}: write duckdb:///relative.duckdb or duckdb:////absolute.duckdb "
            "(three slashes, then the path)"
        )
    return Warehouse(
        "duckdb",
        path,
        dataset or "main",
        memory,
        threads,
        identity=f"duckdb:{Path(path).resolve()}",
    )


def _postgres(dest: str, dataset: str | None) -> Warehouse:
    url = dest.replace("postgres://", "postgresql://", 1)
    parts = urlsplit(url)
    database = parts.path.lstrip("/")
    if not parts.hostname or not database or not parts.username:
        raise DestinationError(
            f"--dest: a Postgres URL needs a user, a host and a database, as in "
            f"postgresql://user[:password]@host[:port]/database (got {_redact(url)!r})"
        )
    password = unquote(parts.password) if parts.password else None
    if password is None:
        password = next((os.environ[n] for n in PASSWORD_ENV if os.environ.get(n)), None)
    host = f"{parts.hostname}:{parts.port or 5432}"
    return Warehouse(
        "postgres",
        _redact(url),
        dataset or "jira",
        identity=f"postgres:{parts.username}@{host}/{database}",
        password=password,
    )


_redact = redact_url


def check_destination(warehouse: Warehouse, *, timeout: float = 5.0) -> None:
    """Fail fast, before any request to Jira, when the destination cannot be used: a
    DuckDB file whose folder is missing, that is not a DuckDB database or is locked by
    another process; a Postgres server that does not answer or refuses the login."""
    if warehouse.dialect == "duckdb":
        _check_duckdb(Path(warehouse.location or "jira.duckdb"))
    elif warehouse.dialect == "postgres":
        _check_postgres(warehouse, timeout)


def _check_duckdb(path: Path) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise DestinationError(
            f"--dest: the folder {folder} does not exist; create it (mkdir -p {folder}) "
            "or choose another path"
        )
    if path.is_dir():
        raise DestinationError(f"--dest: {path} is a folder; give a file name such as jira.duckdb")
    if not os.access(folder, os.W_OK):
        raise DestinationError(f"--dest: cannot write in {folder}; choose a writable folder")
    if path.exists():
        _open_duckdb(path).close()


def _open_duckdb(path: Path, config: dict[str, Any] | None = None) -> Any:
    """``duckdb.connect(path)``, waiting up to `LOCK_WAIT` seconds for a reader (`jirakit
    sql`, a dashboard page) that holds the file for a moment: while it does no writer can
    open it. Raises `DestinationError` when it cannot be opened."""
    import duckdb

    deadline = time.monotonic() + LOCK_WAIT
    while True:
        try:
            return duckdb.connect(str(path), config=config or {})
        except duckdb.Error as exc:
            # another process's reader holds the lock; or, in this process (jirakit serve
            # running a sync job while a dashboard page reads), DuckDB refuses a second
            # open of the file with another configuration until the reader closes it
            busy = "lock" in str(exc).lower() or "different configuration" in str(exc)
            if busy and time.monotonic() < deadline:
                time.sleep(0.1)
                continue
            text = str(exc).strip()
            first = text.splitlines()[0] if text else type(exc).__name__
            raise DestinationError(f"--dest: cannot open {path} as DuckDB: {first}") from None


def _check_postgres(warehouse: Warehouse, timeout: float) -> None:
    import psycopg

    try:
        with psycopg.connect(warehouse.conninfo(), connect_timeout=max(1, int(timeout))):
            pass
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split())
        raise DestinationError(
            f"--dest: cannot reach Postgres as {warehouse.describe()}: {reason}. Check that the "
            f"server runs and the URL; a password can come from the URL, "
            f"{' or '.join(PASSWORD_ENV)}"
        ) from None
