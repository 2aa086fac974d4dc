"""The command line starts without loading what only some commands need."""

from __future__ import annotations

import subprocess
import sys

import pytest

import jirakit.sync


def test_cli_import_leaves_dlt_duckdb_and_the_sandbox_unloaded() -> None:
    heavy = ("dlt", "duckdb", "pyarrow", "matplotlib", "jirakit.sandbox", "jirakit.sync.source")
    code = f"import sys, jirakit.cli.app; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_every_lazy_sync_export_resolves() -> None:
    for name in jirakit.sync.__all__:
        value = getattr(jirakit.sync, name)
        assert getattr(value, "__name__", name) == name
    with pytest.raises(AttributeError, match="nonexistent"):
        jirakit.sync.nonexistent  # noqa: B018
