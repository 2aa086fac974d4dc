"""Fixtures for the sync tests: warehouse tables from the schema contract, on DuckDB and on
the local PostgreSQL, plus a small hand-made Jira dataset with known histories.

The dataset ("now" is 2026-03-20 12:00 UTC; 2026-03-02 is a Monday):

ALPHA (board 1; sprints S1 closed 03-02 09:00 -> completed 03-13 10:00, S2 active from
03-16 09:00, S3 future):
  A-1  created 03-01 10:00 unassigned -> alice 11:00; sprint S1 from 03-01 12:00;
       To Do -> In Progress 03-02 10:00 -> Done 03-05 10:00 (resolved); 3 points.
  A-2  created 03-01 10:00 assigned alice -> bob 03-04 10:00 -> carol 03-10 10:00;
       no sprint history, sprint_ids [1, 2]; To Do -> In Progress 03-03 10:00 -> Done
       03-06 10:00 -> In Progress 03-09 10:00 (reopened); 5 points.
  A-3  created 03-03 10:00 (after S1 started), bob; added to S1 03-04 10:00;
       To Do -> Done 03-12 10:00 (resolved); 2 points.
  A-4  created 02-25 10:00; S1 from 02-28 10:00, removed 03-06 10:00; priority
       Medium -> High 03-01 10:00; To Do, no status history; 8 points.
  A-5  deleted (in S1, with history, comments and worklogs): excluded everywhere.
  A-6  created 03-10 10:00; To Do -> In Progress 03-11 10:00 -> In Review 03-12 16:00
       (lateral); S2 from 03-15 10:00; 1 point.
BETA (no sprints):
  B-1, B-2, B-3 created 03-01 00:00, resolved after 1, 3 and 10 days (To Do -> Done).
  B-4  created 02-01 00:00, open, never changed.
EMPTY: a project with no issues.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import duckdb
import pytest

from jirakit.sync.schema import TABLES, Table
from needs import require_module, require_postgres

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)

DUCKDB_TYPES = {
    "text": "VARCHAR",
    "bigint": "BIGINT",
    "double": "DOUBLE",
    "bool": "BOOLEAN",
    "timestamp": "TIMESTAMP WITH TIME ZONE",
    "date": "DATE",
    "json": "JSON",
}
POSTGRES_TYPES = {**DUCKDB_TYPES, "text": "TEXT", "double": "DOUBLE PRECISION", "json": "JSONB"}
# Tests over both databases; the Postgres cases carry the `postgres` marker.
DIALECTS = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]


def ts(text: str) -> datetime:
    """'2026-03-01 10:00' (UTC) -> aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def ddl(table: Table, dialect: str, qualified_schema: str) -> str:
    """CREATE TABLE for a contract table, as dlt would load it (with its _dlt columns)."""
    types = DUCKDB_TYPES if dialect == "duckdb" else POSTGRES_TYPES
    cols = [f"{q(c.name)} {types[c.type]}" for c in table.columns]
    cols += [f"{q('_dlt_load_id')} {types['text']} NOT NULL", f"{q('_dlt_id')} {types['text']}"]
    if table.primary_key:
        cols.append(f"PRIMARY KEY ({', '.join(q(c) for c in table.primary_key)})")
    body = ",\n  ".join(cols)
    return f"CREATE TABLE {qualified_schema}.{q(table.name)} (\n  {body}\n)"


class Warehouse:
    """A schema holding every contract table, on one dialect, with an insert helper."""

    def __init__(self, conn: Any, dialect: str, schema: str, catalog: str | None = None) -> None:
        self.conn = conn
        self.dialect = dialect
        self.schema = schema
        # DuckDB: a database file named like the schema (jira.duckdb + jira) needs
        # catalog-qualified names.
        self.qualified = f"{q(catalog)}.{q(schema)}" if catalog else q(schema)
        self._marker = "?" if dialect == "duckdb" else "%s"
        self.counts: dict[str, int] = {}

    def create_tables(self) -> None:
        self.conn.execute(f"CREATE SCHEMA {self.qualified}")
        for table in TABLES.values():
            self.conn.execute(ddl(table, self.dialect, self.qualified))
        self.commit()

    def insert(self, table_name: str, rows: Sequence[dict[str, Any]]) -> None:
        table = TABLES[table_name]
        names = [c.name for c in table.columns]
        json_type = "JSON" if self.dialect == "duckdb" else "JSONB"
        marks = [
            f"CAST({self._marker} AS {json_type})" if c.type == "json" else self._marker
            for c in table.columns
        ]
        if not rows:
            return
        row_marks = f"({', '.join(marks)}, {self._marker}, {self._marker})"
        sql = (
            f"INSERT INTO {self.qualified}.{q(table_name)} "
            f"({', '.join(q(n) for n in names)}, {q('_dlt_load_id')}, {q('_dlt_id')}) "
            f"VALUES {', '.join([row_marks] * len(rows))}"
        )
        params: list[Any] = []
        for row in rows:
            unknown = set(row) - set(names)
            assert not unknown, f"{table_name}: unknown columns {unknown}"
            params += [
                json.dumps(row[c.name])
                if c.type == "json" and row.get(c.name) is not None
                else row.get(c.name)
                for c in table.columns
            ]
            params += ["load-1", uuid.uuid4().hex]
        self.conn.execute(sql, params)
        self.commit()

    def load_sample(self) -> None:
        """Insert the hand-made dataset described in this module's docstring."""
        load_dataset(self)

    def commit(self) -> None:
        if self.dialect == "postgres":
            self.conn.commit()

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Run a query; ``{s}`` stands for the quoted schema."""
        rows = self.conn.execute(sql.replace("{s}", self.qualified)).fetchall()
        if self.dialect == "postgres":
            self.conn.commit()
        return [tuple(r) for r in rows]

    def dicts(self, sql: str) -> list[dict[str, Any]]:
        cur = self.conn.execute(sql.replace("{s}", self.qualified))
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        if self.dialect == "postgres":
            self.conn.commit()
        return rows


def _history(
    issue_id: int,
    history_id: int,
    field_id: str,
    frm: Any,
    to: Any,
    at: str,
    *,
    field: str | None = None,
    frm_s: str | None = None,
    to_s: str | None = None,
    author: str | None = "u-alice",
) -> dict[str, Any]:
    return {
        "issue_id": issue_id,
        "history_id": history_id,
        "item_index": 0,
        "field_id": field_id,
        "field": field or field_id,
        "field_type": "jira",
        "from_value": None if frm is None else str(frm),
        "from_string": frm_s,
        "to_value": None if to is None else str(to),
        "to_string": to_s,
        "author_id": author,
        "changed_at": ts(at),
    }


STATUS_NAMES = {1: "To Do", 3: "In Progress", 10: "In Review", 5: "Done"}
STATUS_CATEGORY = {1: "new", 3: "indeterminate", 10: "indeterminate", 5: "done"}
USER_NAMES = {"u-alice": "Alice", "u-bob": "Bob", "u-carol": "Carol"}


def status_change(issue_id: int, history_id: int, frm: int, to: int, at: str) -> dict[str, Any]:
    return _history(
        issue_id, history_id, "status", frm, to, at, frm_s=STATUS_NAMES[frm], to_s=STATUS_NAMES[to]
    )


def assignee_change(
    issue_id: int, history_id: int, frm: str | None, to: str | None, at: str
) -> dict[str, Any]:
    return _history(
        issue_id,
        history_id,
        "assignee",
        frm,
        to,
        at,
        frm_s=USER_NAMES.get(frm or ""),
        to_s=USER_NAMES.get(to or ""),
    )


def sprint_change(
    issue_id: int, history_id: int, frm: str | None, to: str | None, at: str
) -> dict[str, Any]:
    return _history(
        issue_id,
        history_id,
        "customfield_10020",
        frm,
        to,
        at,
        field="Sprint",
        frm_s=frm and f"S{frm}",
        to_s=to and f"S{to}",
    )


def issue(
    issue_id: int,
    key: str,
    project_id: int,
    status: int,
    created: str,
    *,
    resolved: str | None = None,
    assignee: str | None = None,
    points: float | None = None,
    sprints: list[int] | None = None,
    priority: str = "Medium",
    deleted: bool = False,
) -> dict[str, Any]:
    return {
        "id": issue_id,
        "key": key,
        "project_id": project_id,
        "project_key": key.split("-")[0],
        "issue_type": "Story",
        "issue_type_id": 10001,
        "status": STATUS_NAMES[status],
        "status_id": status,
        "status_category": STATUS_CATEGORY[status],
        "priority": priority,
        "resolution": "Done" if resolved else None,
        "assignee_id": assignee,
        "reporter_id": "u-alice",
        "creator_id": "u-alice",
        "summary": f"Issue {key}",
        "labels": [],
        "sprint_ids": sprints if sprints is not None else [],
        "story_points": points,
        "created_at": ts(created),
        "updated_at": ts(created),
        "resolved_at": ts(resolved) if resolved else None,
        "is_deleted": deleted,
        "deleted_at": ts("2026-03-15 00:00") if deleted else None,
        "raw": {"key": key},
    }


def load_dataset(wh: Warehouse) -> None:
    wh.insert(
        "projects",
        [
            {"id": 100, "key": "ALPHA", "name": "Alpha", "project_type": "software"},
            {"id": 200, "key": "BETA", "name": "Beta", "project_type": "business"},
            {"id": 300, "key": "EMPTY", "name": "Empty", "project_type": "software"},
        ],
    )
    wh.insert(
        "users",
        [
            {
                "id": uid,
                "display_name": name,
                "email": f"{name.lower()}@example.com",
                "active": True,
            }
            for uid, name in USER_NAMES.items()
        ],
    )
    wh.insert(
        "fields",
        [
            {"id": "status", "name": "Status", "column_name": "status", "custom": False},
            {"id": "assignee", "name": "Assignee", "column_name": "assignee_id", "custom": False},
            {"id": "priority", "name": "Priority", "column_name": "priority", "custom": False},
            {
                "id": "customfield_10020",
                "name": "Sprint",
                "column_name": "sprint_ids",
                "custom": True,
                "custom_type": "com.pyxis.greenhopper.jira:gh-sprint",
            },
            {
                "id": "customfield_10016",
                "name": "Story Points",
                "column_name": "story_points",
                "custom": True,
                "custom_type": "com.atlassian.jira.plugin.system.customfieldtypes:float",
            },
        ],
    )
    wh.insert(
        "status_categories",
        [
            {"id": 2, "key": "new", "name": "To Do"},
            {"id": 4, "key": "indeterminate", "name": "In Progress"},
            {"id": 3, "key": "done", "name": "Done"},
        ],
    )
    cat_ids = {"new": 2, "indeterminate": 4, "done": 3}
    wh.insert(
        "statuses",
        [
            {
                "id": sid,
                "name": name,
                "category_key": STATUS_CATEGORY[sid],
                "category_id": cat_ids[STATUS_CATEGORY[sid]],
            }
            for sid, name in STATUS_NAMES.items()
        ],
    )
    wh.insert("priorities", [{"id": 1, "name": "High"}, {"id": 3, "name": "Medium"}])
    wh.insert("boards", [{"id": 1, "name": "Alpha board", "type": "scrum", "project_id": 100}])
    wh.insert(
        "sprints",
        [
            {
                "id": 1,
                "board_id": 1,
                "name": "S1",
                "state": "closed",
                "start_at": ts("2026-03-02 09:00"),
                "end_at": ts("2026-03-13 09:00"),
                "complete_at": ts("2026-03-13 10:00"),
            },
            {
                "id": 2,
                "board_id": 1,
                "name": "S2",
                "state": "active",
                "start_at": ts("2026-03-16 09:00"),
                "end_at": ts("2026-03-27 09:00"),
            },
            {"id": 3, "board_id": 1, "name": "S3", "state": "future"},
        ],
    )
    wh.insert(
        "issues",
        [
            issue(
                1,
                "ALPHA-1",
                100,
                5,
                "2026-03-01 10:00",
                resolved="2026-03-05 10:00",
                assignee="u-alice",
                points=3,
                sprints=[1],
            ),
            issue(
                2,
                "ALPHA-2",
                100,
                3,
                "2026-03-01 10:00",
                assignee="u-carol",
                points=5,
                sprints=[1, 2],
            ),
            issue(
                3,
                "ALPHA-3",
                100,
                5,
                "2026-03-03 10:00",
                resolved="2026-03-12 10:00",
                assignee="u-bob",
                points=2,
                sprints=[1],
            ),
            issue(4, "ALPHA-4", 100, 1, "2026-02-25 10:00", points=8, priority="High"),
            issue(
                5,
                "ALPHA-5",
                100,
                3,
                "2026-03-01 10:00",
                assignee="u-alice",
                points=13,
                sprints=[1],
                deleted=True,
            ),
            issue(
                6, "ALPHA-6", 100, 10, "2026-03-10 10:00", assignee="u-bob", points=1, sprints=[2]
            ),
            issue(
                11,
                "BETA-1",
                200,
                5,
                "2026-03-01 00:00",
                resolved="2026-03-02 00:00",
                assignee="u-bob",
            ),
            issue(
                12,
                "BETA-2",
                200,
                5,
                "2026-03-01 00:00",
                resolved="2026-03-04 00:00",
                assignee="u-bob",
            ),
            issue(
                13,
                "BETA-3",
                200,
                5,
                "2026-03-01 00:00",
                resolved="2026-03-11 00:00",
                assignee="u-carol",
            ),
            issue(14, "BETA-4", 200, 1, "2026-02-01 00:00"),
        ],
    )
    wh.insert(
        "sprint_issues",
        [
            {"sprint_id": s, "issue_id": i}
            for i, s in [(1, 1), (2, 1), (2, 2), (3, 1), (5, 1), (6, 2)]
        ],
    )
    wh.insert(
        "issue_field_history",
        [
            # ALPHA-1
            assignee_change(1, 1001, None, "u-alice", "2026-03-01 11:00"),
            sprint_change(1, 1002, None, "1", "2026-03-01 12:00"),
            status_change(1, 1003, 1, 3, "2026-03-02 10:00"),
            status_change(1, 1004, 3, 5, "2026-03-05 10:00"),
            # ALPHA-2
            status_change(2, 2001, 1, 3, "2026-03-03 10:00"),
            assignee_change(2, 2002, "u-alice", "u-bob", "2026-03-04 10:00"),
            status_change(2, 2003, 3, 5, "2026-03-06 10:00"),
            status_change(2, 2004, 5, 3, "2026-03-09 10:00"),
            assignee_change(2, 2005, "u-bob", "u-carol", "2026-03-10 10:00"),
            # ALPHA-3
            sprint_change(3, 3001, None, "1", "2026-03-04 10:00"),
            status_change(3, 3002, 1, 5, "2026-03-12 10:00"),
            # ALPHA-4
            sprint_change(4, 4001, None, "1", "2026-02-28 10:00"),
            _history(4, 4002, "priority", 3, 1, "2026-03-01 10:00", frm_s="Medium", to_s="High"),
            sprint_change(4, 4003, "1", None, "2026-03-06 10:00"),
            # ALPHA-5 (deleted)
            status_change(5, 5001, 1, 3, "2026-03-02 10:00"),
            sprint_change(5, 5002, None, "1", "2026-03-01 12:00"),
            # ALPHA-6
            status_change(6, 6001, 1, 3, "2026-03-11 10:00"),
            status_change(6, 6002, 3, 10, "2026-03-12 16:00"),
            sprint_change(6, 6003, None, "2", "2026-03-15 10:00"),
            # BETA
            status_change(11, 11001, 1, 5, "2026-03-02 00:00"),
            status_change(12, 12001, 1, 5, "2026-03-04 00:00"),
            status_change(13, 13001, 1, 5, "2026-03-11 00:00"),
        ],
    )
    wh.insert(
        "comments",
        [
            {
                "id": 1,
                "issue_id": 1,
                "author_id": "u-alice",
                "body": "one",
                "created_at": ts("2026-03-02 10:00"),
            },
            {
                "id": 2,
                "issue_id": 1,
                "author_id": "u-bob",
                "body": "two",
                "created_at": ts("2026-03-03 10:00"),
            },
            {
                "id": 3,
                "issue_id": 1,
                "author_id": "u-bob",
                "body": "gone",
                "created_at": ts("2026-03-03 11:00"),
                "is_deleted": True,
            },
            {
                "id": 4,
                "issue_id": 2,
                "author_id": "u-carol",
                "body": "three",
                "created_at": ts("2026-03-04 10:00"),
            },
            {
                "id": 5,
                "issue_id": 5,
                "author_id": "u-alice",
                "body": "on a deleted issue",
                "created_at": ts("2026-03-04 10:00"),
            },
        ],
    )
    wh.insert(
        "worklogs",
        [
            {
                "id": 1,
                "issue_id": 1,
                "author_id": "u-alice",
                "started_at": ts("2026-03-03 09:00"),
                "time_spent_seconds": 3600,
            },
            {
                "id": 2,
                "issue_id": 1,
                "author_id": "u-alice",
                "started_at": ts("2026-03-10 09:00"),
                "time_spent_seconds": 1800,
            },
            {
                "id": 3,
                "issue_id": 2,
                "author_id": "u-bob",
                "started_at": ts("2026-03-04 09:00"),
                "time_spent_seconds": 7200,
            },
            {
                "id": 4,
                "issue_id": 3,
                "author_id": "u-bob",
                "started_at": ts("2026-03-08 23:30"),
                "time_spent_seconds": 600,
            },
            {
                "id": 5,
                "issue_id": 2,
                "author_id": "u-carol",
                "started_at": ts("2026-03-16 09:00"),
                "time_spent_seconds": 3600,
            },
            {
                "id": 6,
                "issue_id": 1,
                "author_id": "u-alice",
                "started_at": ts("2026-03-04 09:00"),
                "time_spent_seconds": 999,
                "is_deleted": True,
            },
            {
                "id": 7,
                "issue_id": 5,
                "author_id": "u-alice",
                "started_at": ts("2026-03-03 09:00"),
                "time_spent_seconds": 9999,
            },
        ],
    )


def _pg_connect() -> Any:
    """A psycopg connection to the test PostgreSQL (``JIRAKIT_TEST_PG_DSN``); in CI a
    failure, locally a skip saying how to get one, when there is none."""
    psycopg = require_module("psycopg")
    return psycopg.connect(require_postgres(), connect_timeout=3)


@pytest.fixture
def make_warehouse() -> Iterator[Callable[..., Warehouse]]:
    """Factory: an empty warehouse (every contract table) on 'duckdb' or 'postgres'.

    DuckDB is in memory unless ``duckdb_path`` is given (then ``schema`` and ``catalog``
    name the schema and the file's catalog); Postgres gets a fresh schema, dropped
    afterwards.
    """
    cleanups: list[Callable[[], None]] = []

    def make(
        dialect: str,
        *,
        duckdb_path: str | None = None,
        schema: str | None = None,
        catalog: str | None = None,
    ) -> Warehouse:
        schema = schema or f"jk_test_{uuid.uuid4().hex[:12]}"
        if dialect == "duckdb":
            conn: Any = duckdb.connect(duckdb_path or ":memory:")
            cleanups.append(conn.close)
        else:
            conn = _pg_connect()

            def drop(conn: Any = conn, schema: str = schema) -> None:
                conn.rollback()
                conn.execute(f"DROP SCHEMA IF EXISTS {q(schema)} CASCADE")
                conn.commit()
                conn.close()

            cleanups.append(drop)
        wh = Warehouse(conn, dialect, schema, catalog=catalog)
        wh.create_tables()
        return wh

    yield make
    for cleanup in reversed(cleanups):
        cleanup()


@pytest.fixture(scope="module", params=DIALECTS)
def modelled(request: pytest.FixtureRequest) -> Iterator[Warehouse]:
    """The hand-made dataset with every model built, once per dialect per module."""
    from jirakit.sync.models import run_models

    schema = f"jk_test_{uuid.uuid4().hex[:12]}"
    if request.param == "duckdb":
        conn: Any = duckdb.connect()
    else:
        conn = _pg_connect()
    wh = Warehouse(conn, request.param, schema)
    try:
        wh.create_tables()
        wh.load_sample()
        wh.counts = run_models(conn, dialect=request.param, schema=schema, now=NOW)
        yield wh
    finally:
        if request.param == "postgres":
            conn.rollback()
            conn.execute(f"DROP SCHEMA IF EXISTS {q(schema)} CASCADE")
            conn.commit()
        conn.close()


@pytest.fixture(scope="module")
def duckdb_warehouse() -> Iterator[Warehouse]:
    """An empty in-memory DuckDB warehouse shared by a module (for property tests)."""
    conn = duckdb.connect()
    wh = Warehouse(conn, "duckdb", "jira")
    wh.create_tables()
    wh.insert(
        "status_categories",
        [
            {"id": 2, "key": "new"},
            {"id": 4, "key": "indeterminate"},
            {"id": 3, "key": "done"},
        ],
    )
    wh.insert(
        "statuses",
        [
            {"id": sid, "name": name, "category_key": STATUS_CATEGORY[sid]}
            for sid, name in STATUS_NAMES.items()
        ],
    )
    yield wh
    conn.close()
