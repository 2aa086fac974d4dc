"""``import jirakit``: cheap, and everything it used to expose is still there."""

from __future__ import annotations

import subprocess
import sys


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_import_jirakit_does_not_load_the_client_until_used():
    done = _run(
        "import sys, jirakit; assert 'jirakit.client' not in sys.modules; "
        "assert 'httpx' not in sys.modules; jirakit.Jira; assert 'jirakit.client' in sys.modules"
    )
    assert done.returncode == 0, done.stderr


def test_the_names_and_submodules_it_exposed_are_reachable():
    done = _run(
        "import jirakit\n"
        "assert jirakit.errors.NotFound.__name__ == 'NotFound'\n"
        "assert jirakit.client.Jira is jirakit.Jira\n"
        "assert callable(jirakit.authorization_url)\n"
        "assert jirakit.adf.__name__ == 'jirakit.adf'\n"
        "try:\n    jirakit.no_such_thing\nexcept AttributeError as e:\n"
        "    assert 'no_such_thing' in str(e)\nelse:\n    raise SystemExit('no error')\n"
    )
    assert done.returncode == 0, done.stderr
