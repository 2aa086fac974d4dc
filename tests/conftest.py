"""The suite-wide gate: in CI (``CI=true``) what the tests need from outside the repository
must be there, or the run stops at once with one line that says what is missing and how to
get it. Locally the tests that need it skip, saying the same. See ``tests/needs.py`` and
docs/development.md."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from needs import IN_CI, INTEROP, PG_DSN, missing, module_problem, postgres_problem, shared_problem


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "no_cases(reason): a case list came back empty (the test fails)"
    )
    config.addinivalue_line(
        "markers", "needs_missing(reason): what the test reads is missing (CI: fail, else skip)"
    )
    if IN_CI:
        problems = [shared_problem(), *(module_problem(name) for name in INTEROP)]
        found = [p for p in problems if p]
        if found:
            raise pytest.UsageError("CI=true, but " + "; ".join(found))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if IN_CI and any(item.get_closest_marker("postgres") for item in items):
        problem = postgres_problem(PG_DSN)
        if problem:
            raise pytest.UsageError(f"CI=true, but {problem}")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    empty = item.get_closest_marker("no_cases")
    if empty is not None:
        pytest.fail(empty.args[0], pytrace=False)
    absent = item.get_closest_marker("needs_missing")
    if absent is not None:
        missing(absent.args[0])


@pytest.fixture(scope="session", autouse=True)
def _isolated_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Per-machine state (the progress files of running syncs) goes to a folder of the test
    session's own, never the user's ~/.local/state (subprocesses inherit it)."""
    previous = os.environ.get("JIRAKIT_STATE_DIR")
    os.environ["JIRAKIT_STATE_DIR"] = str(tmp_path_factory.mktemp("jirakit-state"))
    yield
    if previous is None:
        os.environ.pop("JIRAKIT_STATE_DIR", None)
    else:
        os.environ["JIRAKIT_STATE_DIR"] = previous
