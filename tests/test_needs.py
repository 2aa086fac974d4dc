"""The suite's gate (tests/needs.py, tests/conftest.py) as CI meets it: pytest run for real
in a subprocess with ``CI=true`` and one thing missing stops before any test with exit
status 4 and one line saying what is missing and how to get it; a case list that comes back
empty is a failing test; a parametrize over nothing is a collection error.

Each run is a fresh pytest process, 2-4 s on a quiet machine (the gate acts at start-up,
so it cannot be tried in this process). The three that the issue's "done when" rests on
(../shared and Postgres in CI, an empty case list) run in ``make test``, the other three in
``make slow``. What is missing is simulated, never removed: a path that does not exist for
``../shared``, a closed port for Postgres, imports blocked by a ``sitecustomize``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from needs import GET_MODULES, GET_POSTGRES, GET_SHARED, ROOT

# A light file with no Postgres test, and a light one with Postgres tests.
PLAIN = "tests/test_layering.py"
WITH_POSTGRES = "tests/webhooks/test_webhooks_postgres.py"
CLOSED = "host=127.0.0.1 port=1 dbname=test user=postgres connect_timeout=3"


def pytest_run(
    *args: str,
    ci: bool,
    env: dict[str, str] | None = None,
    path: tuple[Path, ...] = (),
    cwd: Path = ROOT,
) -> subprocess.CompletedProcess[str]:
    """``python -m pytest -q *args`` with this checkout's ``src`` (after ``path``) on
    ``PYTHONPATH``, ``CI=true`` or no ``CI`` at all, and ``env`` added."""
    run_env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    run_env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (*path, ROOT / "src"))
    run_env.update(env or {})
    if ci:
        run_env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def stand_in_shared(tmp_path: Path) -> dict[str, str]:
    """``JIRAKIT_SHARED`` at an empty stand-in that passes the start-up check, so that a run
    tries one missing thing at a time whether or not the real ../shared is here."""
    (tmp_path / "shared" / "jira").mkdir(parents=True)
    return {"JIRAKIT_SHARED": str(tmp_path / "shared")}


def error_lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in (done.stdout + done.stderr).splitlines() if "ERROR" in line]


def test_ci_without_shared_stops_with_one_line(tmp_path: Path):
    nowhere = tmp_path / "no-shared"
    done = pytest_run(PLAIN, ci=True, env={"JIRAKIT_SHARED": str(nowhere)})
    assert done.returncode == 4, done.stdout + done.stderr
    assert error_lines(done) == [
        f"ERROR: CI=true, but the shared Jira material is missing at {nowhere}: {GET_SHARED}"
    ]
    assert " passed" not in done.stdout  # stopped before any test


def test_ci_with_postgres_unreachable_stops_with_one_line(tmp_path: Path):
    env = {**stand_in_shared(tmp_path), "JIRAKIT_TEST_PG_DSN": CLOSED}
    done = pytest_run(WITH_POSTGRES, "--collect-only", ci=True, env=env)
    assert done.returncode == 4, done.stdout + done.stderr
    [line] = error_lines(done)
    assert line.startswith(f"ERROR: CI=true, but PostgreSQL is unreachable at {CLOSED!r}")
    assert "Connection refused" in line and line.endswith(GET_POSTGRES)


@pytest.mark.slow  # one more pytest start-up (2-4 s); CI runs it in make slow
def test_locally_postgres_unreachable_is_a_skip_that_says_how():
    done = pytest_run(
        WITH_POSTGRES, "-m", "postgres", ci=False, env={"JIRAKIT_TEST_PG_DSN": CLOSED}
    )
    assert done.returncode == 0, done.stdout + done.stderr
    skipped = [line for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
    assert skipped and all(line.endswith(GET_POSTGRES) for line in skipped)
    summary = done.stdout.strip().splitlines()[-1]
    assert re.fullmatch(rf"{len(skipped)} skipped(, \d+ deselected)? in .*", summary), summary


@pytest.mark.slow  # one more pytest start-up (2-4 s); CI runs it in make slow
def test_ci_without_the_interop_clients_stops_with_one_line(tmp_path: Path):
    """``jira``, ``atlassian`` and ``psycopg`` blocked at start-up (``requests`` too would
    stop schemathesis' pytest plugin first: pytest's own loud failure, exit status 3)."""
    (tmp_path / "sitecustomize.py").write_text(
        "import sys\n"
        "for name in ('jira', 'atlassian', 'psycopg'):\n"
        "    sys.modules[name] = None  # `import name` fails\n"
    )
    done = pytest_run(PLAIN, ci=True, env=stand_in_shared(tmp_path), path=(tmp_path,))
    assert done.returncode == 4, done.stdout + done.stderr
    [line] = error_lines(done)
    assert line.startswith("ERROR: CI=true, but jira is not importable")
    named = re.findall(r"(?:but |; )(\S+) is not importable \(", line)
    assert named == ["jira", "atlassian-python-api", "psycopg[binary]"], line
    assert line.count(f": {GET_MODULES}") == 3


EMPTY_CASES = """
import pytest
from needs import cases

HERE = {here!r}


@pytest.mark.parametrize("case", cases([], what="probe cases", source=__import__("pathlib").Path(HERE)))
def test_over_cases(case):
    assert case is not None
"""


def test_an_empty_case_list_is_a_failing_test(tmp_path: Path):
    """``cases`` over a source that exists but yields nothing: one test, and it fails."""
    source = tmp_path / "cases"
    source.mkdir()
    probe = tmp_path / "test_probe.py"
    probe.write_text(EMPTY_CASES.format(here=str(source)))
    done = pytest_run(
        str(probe),
        "-p",
        "conftest",  # the suite's own conftest (its hooks make the marked case fail)
        "--rootdir",
        str(tmp_path),
        ci=False,
        path=(ROOT / "tests",),
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"no probe cases found in {source}" in done.stdout
    assert "1 failed" in done.stdout


@pytest.mark.slow  # one more pytest start-up (2-4 s); CI runs it in make slow
def test_a_parametrize_over_nothing_is_a_collection_error(tmp_path: Path):
    probe = tmp_path / "test_probe.py"
    probe.write_text(
        "import pytest\n\n\n@pytest.mark.parametrize('x', [])\ndef test_nothing(x):\n    assert x\n"
    )
    done = pytest_run(str(probe), "-c", str(ROOT / "pyproject.toml"), ci=False, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr  # interrupted: collection error
    assert "Empty parameter set in 'test_nothing'" in done.stdout
    assert " passed" not in done.stdout and " skipped" not in done.stdout
