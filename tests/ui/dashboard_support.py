"""Helpers for the dashboard's tests (imported by their conftest and tests)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

EMAIL, TOKEN = "admin@example.com", "sandbox-token"
# A summary that would end the <script> element holding a chart's data, were it not escaped.
HOSTILE = '</script><script>alert("x")</script> & <b>bold</b>'


@dataclass(frozen=True)
class Synced:
    url: str  # the served sandbox
    db: Path
    state: Path

    @property
    def dest(self) -> str:
        return f"duckdb:///{self.db}"

    def sql(self, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        con = duckdb.connect(str(self.db), read_only=True)
        try:
            con.execute("SET TimeZone = 'UTC'")
            return [tuple(r) for r in con.execute(query, params or []).fetchall()]
        finally:
            con.close()


@dataclass(frozen=True)
class Dashboard:
    url: str
    process: subprocess.Popen[str]


@contextmanager
def serve_dashboard(*args: str, env: dict[str, str] | None = None) -> Iterator[Dashboard]:
    """`jirakit dashboard ARGS --port 0` in a process of its own, until the block ends."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "jirakit", "dashboard", *args, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(r"(https?://[\w.\[\]:]+/)", line)
        if found is None:
            proc.kill()
            _, err = proc.communicate()
            raise AssertionError(f"jirakit dashboard did not start: {line!r} {err!r}")
        yield Dashboard(found.group(1), proc)
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
