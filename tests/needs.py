"""What the test suite needs from outside the repository, checked in one place.

- ``../shared`` (the official Jira specs, real Jira fixtures, Atlassian's JQL cases), next
  to the repository; ``JIRAKIT_SHARED`` points elsewhere;
- a PostgreSQL server: ``JIRAKIT_TEST_PG_DSN`` (libpq keywords or a ``postgresql://``
  URL; default the local server, trust auth, database ``test``);
- the interop clients run unmodified against the sandbox: pycontribs ``jira``,
  ``atlassian-python-api``, ``requests``, and ``psycopg`` (all in the ``dev`` extra).

In CI (``CI=true``) a missing one is a failure: the session stops before any test with one
line (``tests/conftest.py``), and a test that still meets one fails. Locally the test
skips, with a reason that says how to get what it needs.

Cases read from files go through `cases`, so an empty list is a failing test, never zero
tests.
"""

from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn
from urllib.parse import quote

import pytest

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI") == "true"
SHARED = Path(os.environ.get("JIRAKIT_SHARED") or ROOT.parent / "shared")
PG_DSN = os.environ.get("JIRAKIT_TEST_PG_DSN") or (
    "host=127.0.0.1 port=5432 dbname=test user=postgres"
)
# import name -> the distribution that provides it
INTEROP = {
    "jira": "jira",
    "atlassian": "atlassian-python-api",
    "requests": "requests",
    "psycopg": "psycopg[binary]",
}

GET_SHARED = (
    "check out the shared Jira material (specs, fixtures, jql-cases) next to the "
    "repository as ../shared, or set JIRAKIT_SHARED to its path"
)
GET_POSTGRES = (
    "start a local PostgreSQL (trust auth, database 'test', see docs/development.md) "
    "or set JIRAKIT_TEST_PG_DSN"
)
GET_MODULES = "install the dev extra: .venv/bin/python -m pip install -e '.[dev]'"


def missing(reason: str) -> NoReturn:
    """A test cannot run for want of ``reason``: in CI a failure, locally a skip."""
    if IN_CI:
        pytest.fail(f"CI=true: {reason}", pytrace=False)
    try:
        pytest.skip(reason, allow_module_level=True)
    except pytest.skip.Exception as skip:
        skip._use_item_location = True  # report the test's place, as a skip mark does
        raise


# -- ../shared -----------------------------------------------------------------------------


def shared_path(*parts: str) -> Path:
    """A path under ``../shared`` (not checked: for module constants)."""
    return SHARED.joinpath(*parts)


def shared_problem() -> str | None:
    """Why ``../shared`` cannot be used, or None."""
    if (SHARED / "jira").is_dir():
        return None
    return f"the shared Jira material is missing at {SHARED}: {GET_SHARED}"


def require_shared(*parts: str) -> Path:
    """The path under ``../shared``; a failure in CI, a skip locally, when it is missing."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        missing(f"{path} is missing: {GET_SHARED}")
    return path


def shared_json(*parts: str) -> Any:
    """A JSON file under ``../shared`` (see `require_shared`)."""
    import json

    return json.loads(require_shared(*parts).read_text(encoding="utf-8"))


# -- PostgreSQL ----------------------------------------------------------------------------


@functools.cache
def postgres_problem(dsn: str = PG_DSN) -> str | None:
    """Why the server at ``dsn`` cannot be used (checked once per session), or None."""
    try:
        import psycopg
    except ImportError:
        return f"psycopg is not installed: {GET_MODULES}"
    try:
        psycopg.connect(dsn, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        said = " ".join(str(exc).split())
        return f"PostgreSQL is unreachable at {dsn!r} ({said}): {GET_POSTGRES}"
    return None


def require_postgres(dsn: str = PG_DSN) -> str:
    """``dsn`` once a connection to it works; a failure in CI, a skip locally, otherwise."""
    problem = postgres_problem(dsn)
    if problem:
        missing(problem)
    return dsn


def pg_url(dsn: str = PG_DSN) -> str:
    """``dsn`` as a ``postgresql://`` URL (what ``--dest`` and dlt take). dlt insists on a
    password; a trusting server ignores the placeholder."""
    from psycopg.conninfo import conninfo_to_dict

    parts = conninfo_to_dict(dsn)
    user = quote(str(parts.get("user", "postgres")), safe="")
    password = quote(str(parts.get("password", "trust")), safe="")
    host = parts.get("host", "127.0.0.1")
    port = parts.get("port", "5432")
    return f"postgresql://{user}:{password}@{host}:{port}/{parts.get('dbname', 'test')}"


# -- the interop clients -------------------------------------------------------------------


def module_problem(name: str) -> str | None:
    try:
        importlib.import_module(name)
    except ImportError as exc:
        return f"{INTEROP.get(name, name)} is not importable ({exc}): {GET_MODULES}"
    return None


def require_module(name: str) -> ModuleType:
    """``import name``; a failure in CI, a skip locally (module-level too), when missing."""
    problem = module_problem(name)
    if problem:
        missing(problem)
    return importlib.import_module(name)


# -- cases read from files -----------------------------------------------------------------


def cases(found: Iterable[Any], *, what: str, source: Path, width: int = 1) -> list[Any]:
    """The parameters of a test over cases read from ``source``: never silently none.

    ``found`` are the parameter values (or ``pytest.param``); ``width`` the number of
    argnames. A missing ``source`` gives one test that fails in CI and skips locally; a
    present ``source`` that yields nothing gives one test that fails.
    """
    params = list(found)
    if params:
        return params
    blank = None if width == 1 else (None,) * width
    values = blank if isinstance(blank, tuple) else (blank,)
    if not source.exists():
        mark = pytest.mark.needs_missing(f"{source} is missing: {GET_SHARED}")
        return [pytest.param(*values, id="missing", marks=mark)]
    mark = pytest.mark.no_cases(f"no {what} found in {source}")
    return [pytest.param(*values, id="none-found", marks=mark)]
