"""Fixtures for the jobs tests: a schema of their own on the local PostgreSQL server.

When ``CI=true`` an unreachable server is a failure; locally the Postgres tests skip,
saying why.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

PG_DSN = os.environ.get("JIRAKIT_TEST_PG_DSN", "host=127.0.0.1 port=5432 dbname=test user=postgres")
PG_URL = os.environ.get("JIRAKIT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _connect() -> object:
    import psycopg

    try:
        return psycopg.connect(PG_DSN, connect_timeout=3, autocommit=True)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI: the local PostgreSQL server is unreachable ({PG_DSN}): {exc}")
        pytest.skip(f"local PostgreSQL unreachable ({PG_DSN}): {exc}")


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A fresh schema (``jirakit_t_<hex>``), dropped afterwards."""
    conn = _connect()
    name = f"jirakit_t_{uuid.uuid4().hex[:12]}"
    try:
        yield name
    finally:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")  # type: ignore[attr-defined]
        conn.close()  # type: ignore[attr-defined]


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh database (``jirakit_t_<hex>``) on the local server: its URL. Dropped after."""
    conn = _connect()
    name = f"jirakit_t_{uuid.uuid4().hex[:12]}"
    conn.execute(f"CREATE DATABASE {name}")  # type: ignore[attr-defined]
    try:
        yield PG_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[attr-defined]
        conn.close()  # type: ignore[attr-defined]
