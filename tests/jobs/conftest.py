"""Fixtures for the jobs tests: a schema or a database of their own on the test PostgreSQL
server (``JIRAKIT_TEST_PG_DSN``), reached through the suite's gate (``tests/needs.py``): in
CI an unreachable server is a failure; locally these tests skip, saying how to get one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from needs import PG_DSN, pg_url, require_postgres


def _connect() -> Any:
    import psycopg

    return psycopg.connect(require_postgres(), connect_timeout=3, autocommit=True)


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A fresh schema (``jirakit_t_<hex>``), dropped afterwards."""
    conn = _connect()
    name = f"jirakit_t_{uuid.uuid4().hex[:12]}"
    try:
        yield name
    finally:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        conn.close()


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh database (``jirakit_t_<hex>``) on the test server: its URL. Dropped after."""
    from psycopg.conninfo import make_conninfo

    conn = _connect()
    name = f"jirakit_t_{uuid.uuid4().hex[:12]}"
    conn.execute(f"CREATE DATABASE {name}")
    try:
        yield pg_url(make_conninfo(PG_DSN, dbname=name))
    finally:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.close()
