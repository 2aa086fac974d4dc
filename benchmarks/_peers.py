"""Helpers for `benchmarks/sync_vs_peers.py` (and the slow peer tests): peer virtualenvs,
measured child processes, counting the requests a served sandbox sees, record counting for
Airbyte and Singer output, and the pycontribs-`jira` script.

Run as a script, this module *is* the pycontribs-`jira` peer (the benchmark starts it in a
child process so its time and memory are measured like the others')::

    python benchmarks/_peers.py pycontribs URL EMAIL TOKEN OUT.json
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LAUNCHER = Path(__file__).with_name("_launch.py")
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "jirakit-bench"


class PeerFailed(Exception):
    """A peer could not be installed or run; the message goes in the table."""


# -- virtualenvs ----------------------------------------------------------------------


def base_python() -> str:
    """The interpreter the project's venv was made from (venvs of venvs are fragile)."""
    return str(getattr(sys, "_base_executable", None) or sys.executable)


def ensure_venv(cache: Path, name: str, requirement: str, *, log: Any = print) -> Path:
    """A virtualenv at ``cache/name`` with ``requirement`` installed from PyPI (once; a
    marker file records what was installed). Returns its ``bin`` directory."""
    venv = cache / name
    marker = venv / ".jirakit-bench-installed"
    if marker.exists() and marker.read_text() == requirement:
        return venv / "bin"
    cache.mkdir(parents=True, exist_ok=True)
    log(f"  installing {requirement} into {venv} (once) ...")
    steps = [
        [base_python(), "-m", "venv", "--clear", str(venv)],
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", requirement],
    ]
    for cmd in steps:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            raise PeerFailed(f"install failed: {' | '.join(tail) or proc.returncode}")
    marker.write_text(requirement)
    return venv / "bin"


# requests' ``Session.send`` (which Airbyte's CDK and tap-jira call directly) skips
# ``merge_environment_settings``, so both ignore ``REQUESTS_CA_BUNDLE`` and verify
# against certifi's bundle only. This startup hook (a ``.pth`` file in the peer's own
# venv) points certifi at the benchmark's CA when ``JIRAKIT_BENCH_CA`` is set.
_SHIM = """import os

_ca = os.environ.get("JIRAKIT_BENCH_CA")
if _ca:
    import certifi
    import certifi.core

    certifi.where = certifi.core.where = lambda: _ca
"""


def install_ca_shim(bin_dir: Path) -> None:
    """Make the venv's requests trust ``$JIRAKIT_BENCH_CA`` (see ``_SHIM``)."""
    python = bin_dir / "python"
    proc = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    site = Path(proc.stdout.strip())
    (site / "jirakit_bench_ca.py").write_text(_SHIM)
    (site / "jirakit_bench_ca.pth").write_text("import jirakit_bench_ca\n")


# -- measured child processes ---------------------------------------------------------


@dataclass
class Measured:
    returncode: int
    seconds: float
    cpu_seconds: float
    max_rss_mib: float
    timed_out: bool = False


def run_measured(
    cmd: Sequence[str],
    *,
    stdout: Path,
    stderr: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float | None = None,
) -> Measured:
    """Run ``cmd`` to completion; wall time, and CPU and peak RSS from ``wait4`` of the
    command (its own rusage, including any children it waited for), taken by the small
    `_launch.py` so that this process's own size does not count (see there)."""
    usage_file = stdout.resolve().with_name(stdout.name + ".rusage.json")  # cwd may differ
    usage_file.unlink(missing_ok=True)
    launched = [sys.executable, "-S", str(LAUNCHER), str(usage_file), "--", *cmd]
    with stdout.open("wb") as out, stderr.open("wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            launched,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
        deadline = None if timeout is None else started + timeout
        timed_out = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if deadline is not None and time.perf_counter() > deadline and not timed_out:
                timed_out = True
                os.killpg(proc.pid, signal.SIGKILL)  # the child's own session only
            time.sleep(0.05)
        seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    try:
        own = json.loads(usage_file.read_text())
        cpu, max_rss_kib = float(own["cpu_seconds"]), float(own["max_rss_kib"])
    except (OSError, ValueError, KeyError):
        # Killed (timeout) before the launcher could write the tool's usage. The
        # launcher's own maxrss would be this process's size again: not measured.
        cpu, max_rss_kib = usage.ru_utime + usage.ru_stime, math.nan
    return Measured(
        returncode=proc.returncode,
        seconds=seconds,
        cpu_seconds=cpu,
        max_rss_mib=max_rss_kib / 1024,
        timed_out=timed_out,
    )


def tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(line.strip()[:200] for line in text[-lines:])


# -- counting what reaches the sandbox ------------------------------------------------


class CountingApp:
    """Counts every request (method, endpoint template, status) before any other layer,
    so rate-limited and faulted requests count too."""

    def __init__(self, app: Any) -> None:
        # imported here, not at the top: this module is also the pycontribs peer's
        # script, whose start-up time and memory are measured
        from jirakit.sandbox.limits import endpoint_template

        self.app = app
        self.template = endpoint_template
        self.lock = threading.Lock()
        self.counts: Counter[tuple[str, str, int]] = Counter()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = [0]

        async def counted(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, counted)
        finally:
            with self.lock:
                self.counts[(scope["method"], self.template(scope["path"]), status[0])] += 1

    def take(self) -> Counter[tuple[str, str, int]]:
        """The counts so far, starting afresh."""
        with self.lock:
            taken, self.counts = self.counts, Counter()
        return taken

    def failures(self) -> dict[tuple[str, str, int], int]:
        """The counts of answers 400 and over."""
        return {k: n for k, n in self.counts.items() if k[2] >= 400}


# -- counting what a peer captured ----------------------------------------------------


@dataclass
class Captured:
    issues: set[str] = field(default_factory=set)
    histories: dict[str, int] = field(default_factory=dict)  # history id -> items
    comments: set[str] = field(default_factory=set)
    worklogs: set[str] = field(default_factory=set)
    records: int = 0
    capped: int = 0  # issues whose embedded changelog says it holds fewer than total

    @property
    def history_items(self) -> int:
        return sum(self.histories.values())

    def add_changelog(self, changelog: Mapping[str, Any] | None) -> None:
        if not changelog:
            return
        histories = changelog.get("histories") or []
        total = changelog.get("total")
        if isinstance(total, int) and total > len(histories):
            self.capped += 1
        for h in histories:
            self.histories[str(h.get("id"))] = len(h.get("items") or [])


def _json_lines(path: Path) -> Iterator[Any]:
    with path.open("rb") as f:
        for line in f:
            if line.startswith(b"{"):
                try:
                    yield json.loads(line)
                except ValueError:
                    continue


def count_airbyte(path: Path) -> Captured:
    """RECORD messages of source-jira: issues (history embedded as ``changelog``),
    issue_comments, issue_worklogs."""
    got = Captured()
    for msg in _json_lines(path):
        if msg.get("type") != "RECORD":
            continue
        rec = msg["record"]
        stream, data = rec.get("stream"), rec.get("data") or {}
        got.records += 1
        if stream == "issues":
            got.issues.add(str(data.get("id")))
            got.add_changelog(data.get("changelog"))
        elif stream == "issue_comments":
            got.comments.add(str(data.get("id")))
        elif stream == "issue_worklogs":
            got.worklogs.add(str(data.get("id")))
    return got


def count_singer(path: Path) -> Captured:
    """RECORD messages of tap-jira: issues, changelogs (one history per record),
    issue_comments, worklogs."""
    got = Captured()
    for msg in _json_lines(path):
        if msg.get("type") != "RECORD":
            continue
        stream, data = msg.get("stream"), msg.get("record") or {}
        got.records += 1
        if stream == "issues":
            got.issues.add(str(data.get("id")))
        elif stream == "changelogs":
            got.histories[str(data.get("id"))] = len(data.get("items") or [])
        elif stream == "issue_comments":
            got.comments.add(str(data.get("id")))
        elif stream == "worklogs":
            got.worklogs.add(str(data.get("id")))
    return got


def select_singer_catalog(catalog: dict[str, Any], streams: Sequence[str]) -> dict[str, Any]:
    """Mark ``streams`` (all their properties) selected and every other stream not
    selected; tap-jira wants every stream present in the catalog."""
    for entry in catalog["streams"]:
        chosen = entry["tap_stream_id"] in streams
        for md in entry.get("metadata", []):
            md["metadata"]["selected"] = chosen
    return catalog


def airbyte_catalog(discovered: dict[str, Any], streams: Sequence[str]) -> dict[str, Any]:
    """A configured catalog for ``streams`` from a ``discover`` CATALOG message."""
    configured = []
    for stream in discovered["streams"]:
        if stream["name"] not in streams:
            continue
        modes = stream.get("supported_sync_modes") or ["full_refresh"]
        mode = "full_refresh" if "full_refresh" in modes else modes[0]
        configured.append(
            {
                "stream": stream,
                "sync_mode": mode,
                "destination_sync_mode": "overwrite",
                **({"cursor_field": stream.get("default_cursor_field") or []}),
            }
        )
    return {"streams": configured}


# -- the pycontribs-jira peer ---------------------------------------------------------


def pycontribs_main(url: str, email: str, token: str, out: str) -> None:
    """How people write it: search every issue, then per issue its changelog, comments
    and worklogs."""
    from jira import JIRA

    jira = JIRA(server=url, basic_auth=(email, token))
    got = Captured()
    issues = jira.search_issues(
        "project IS NOT EMPTY ORDER BY key", maxResults=False, fields="summary"
    )
    for issue in issues:
        got.issues.add(str(issue.id))
        full = jira.issue(issue.key, expand="changelog", fields="summary")
        changelog = full.raw.get("changelog") or {}
        got.add_changelog(changelog)
        for comment in jira.comments(issue.key):
            got.comments.add(str(comment.id))
        for worklog in jira.worklogs(issue.key):
            got.worklogs.add(str(worklog.id))
    result = {
        "issues": len(got.issues),
        "history_items": got.history_items,
        "comments": len(got.comments),
        "worklogs": len(got.worklogs),
        "capped": got.capped,
    }
    Path(out).write_text(json.dumps(result))


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "pycontribs":
        pycontribs_main(*sys.argv[2:])
    else:
        sys.exit(__doc__)
