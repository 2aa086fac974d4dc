"""Running third-party clients, unmodified, in their own environments against a served
sandbox, for the slow peer tests (``test_sandbox_peers.py``).

- Airbyte's ``source-jira`` and Singer's ``tap-jira`` come from PyPI into virtualenvs made
  by `benchmarks/_peers.py`'s ``ensure_venv``; both talk https only (the sandbox serves a
  throwaway CA, trusted through the CA shim the benchmarks install).
- jira.js 6 comes from npm into a package folder; its script (``peers/*.mjs``) is copied
  there so Node resolves ``jira.js`` from it.

Both caches live under ``<repo>/.cache/peers`` (git-ignored) unless ``JIRAKIT_PEERS_CACHE``
says otherwise. Every request the peer makes is counted by status, so a client that
swallows 404s (Airbyte ignores them on several streams) cannot hide a missing endpoint.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jirakit.sandbox import Sandbox
from jirakit.sandbox.serve import serve_in_thread
from jirakit.sandbox.tls import make_self_signed

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from _peers import (  # noqa: E402  (benchmarks/ is not a package)
    CountingApp,
    airbyte_catalog,
    ensure_venv,
    install_ca_shim,
    select_singer_catalog,
)

CACHE = Path(os.environ.get("JIRAKIT_PEERS_CACHE", ROOT / ".cache" / "peers"))
PEERS = Path(__file__).resolve().parent / "peers"
AIRBYTE_REQ = "airbyte-source-jira==4.0.0"
TAP_REQ = "tap-jira==2.6.0"
JIRAJS_REQ = "jira.js@6.2.0"
EMAIL, TOKEN = "admin@example.com", "sandbox-token"


@dataclass
class Served:
    url: str
    port: int
    ca: Path
    counter: CountingApp
    env: dict[str, str] = field(default_factory=dict)


@contextmanager
def served_tls(sandbox: Sandbox, work: Path) -> Iterator[Served]:
    tls = make_self_signed(work / "tls")
    counter = CountingApp(sandbox.app)
    env = {
        **os.environ,
        "JIRAKIT_BENCH_CA": str(tls.ca),
        "REQUESTS_CA_BUNDLE": str(tls.ca),
        "SSL_CERT_FILE": str(tls.ca),
        "NODE_EXTRA_CA_CERTS": str(tls.ca),
    }
    with serve_in_thread(counter, "127.0.0.1", 0, tls=tls) as url:
        yield Served(url, int(url.rsplit(":", 1)[1]), tls.ca, counter, env)


def _messages(text: str) -> Iterator[dict[str, Any]]:
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                yield json.loads(line)
            except ValueError:
                continue


@dataclass
class PeerRun:
    records: Counter[str]
    statuses: dict[str, str]
    errors: list[str]
    stderr: str


def airbyte_read(served: Served, work: Path, *, timeout: float = 1500) -> tuple[list[str], PeerRun]:
    """``discover`` then ``read`` of every stream; (stream names, what the read emitted)."""
    bin_dir = ensure_venv(CACHE, "airbyte-source-jira", AIRBYTE_REQ, log=lambda *_: None)
    install_ca_shim(bin_dir)
    exe = str(bin_dir / "source-jira")
    config = {
        "api_token": TOKEN,
        "email": EMAIL,
        "domain": f"127.0.0.1:{served.port}",  # the connector prepends https://
        "start_date": "2000-01-01T00:00:00Z",
    }
    (work / "airbyte-config.json").write_text(json.dumps(config))
    disc = subprocess.run(
        [exe, "discover", "--config", str(work / "airbyte-config.json")],
        capture_output=True,
        text=True,
        env=served.env,
        timeout=600,
        check=False,
    )
    catalog = next(
        (m["catalog"] for m in _messages(disc.stdout) if m.get("type") == "CATALOG"), None
    )
    assert catalog is not None, disc.stderr[-2000:] or disc.stdout[-2000:]
    names = [s["name"] for s in catalog["streams"]]
    (work / "airbyte-catalog.json").write_text(json.dumps(airbyte_catalog(catalog, names)))
    read = subprocess.run(
        [
            exe,
            "read",
            "--config",
            str(work / "airbyte-config.json"),
            "--catalog",
            str(work / "airbyte-catalog.json"),
        ],
        capture_output=True,
        text=True,
        env=served.env,
        timeout=timeout,
        check=False,
    )
    assert read.returncode == 0, read.stderr[-3000:]
    run = PeerRun(Counter(), {}, [], read.stderr)
    for msg in _messages(read.stdout):
        if msg.get("type") == "RECORD":
            run.records[msg["record"]["stream"]] += 1
        elif msg.get("type") == "TRACE":
            trace = msg["trace"]
            if trace.get("type") == "ERROR":
                run.errors.append(str(trace["error"].get("message")))
            elif trace.get("type") == "STREAM_STATUS":
                status = trace["stream_status"]
                run.statuses[status["stream_descriptor"]["name"]] = status["status"]
        elif msg.get("type") == "LOG" and msg["log"]["level"] in ("ERROR", "FATAL"):
            run.errors.append(msg["log"]["message"][:500])
    return names, run


def tap_jira_sync(
    served: Served, work: Path, *, timeout: float = 1500
) -> tuple[list[str], PeerRun]:
    """``--discover`` then a sync of every stream."""
    bin_dir = ensure_venv(CACHE, "tap-jira", TAP_REQ, log=lambda *_: None)
    install_ca_shim(bin_dir)
    exe = str(bin_dir / "tap-jira")
    config = {
        "base_url": served.url,
        "username": EMAIL,
        "password": TOKEN,
        "start_date": "2000-01-01T00:00:00Z",
        "user_agent": "jirakit-peer-test",
    }
    (work / "tap-config.json").write_text(json.dumps(config))
    disc = subprocess.run(
        [exe, "--config", str(work / "tap-config.json"), "--discover"],
        capture_output=True,
        text=True,
        env=served.env,
        timeout=600,
        check=False,
    )
    assert disc.returncode == 0, disc.stderr[-2000:]
    catalog = json.loads(disc.stdout)
    names = [s["tap_stream_id"] for s in catalog["streams"]]
    (work / "tap-catalog.json").write_text(json.dumps(select_singer_catalog(catalog, names)))
    sync = subprocess.run(
        [
            exe,
            "--config",
            str(work / "tap-config.json"),
            "--properties",
            str(work / "tap-catalog.json"),
        ],
        capture_output=True,
        text=True,
        env=served.env,
        timeout=timeout,
        check=False,
    )
    assert sync.returncode == 0, sync.stderr[-3000:]
    run = PeerRun(Counter(), {}, [], sync.stderr)
    for msg in _messages(sync.stdout):
        if msg.get("type") == "RECORD":
            run.records[msg["stream"]] += 1
    run.errors = [
        line for line in sync.stderr.splitlines() if line.startswith(("ERROR", "CRITICAL"))
    ]
    return names, run


def ensure_jirajs() -> Path:
    """The npm package folder with jira.js 6 installed (once)."""
    folder = CACHE / "jirajs"
    marker = folder / ".jirakit-installed"
    if not (marker.exists() and marker.read_text() == JIRAJS_REQ):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "package.json").write_text('{"name": "jirakit-peer-jirajs", "private": true}')
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", JIRAJS_REQ],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=900,
            check=True,
        )
        marker.write_text(JIRAJS_REQ)
    return folder


def run_node(script: str, served: Served, extra: dict[str, str]) -> dict[str, Any]:
    folder = ensure_jirajs()
    shutil.copy(PEERS / script, folder / script)
    env = {**served.env, "JIRA_HOST": served.url, "JIRA_EMAIL": EMAIL, "JIRA_TOKEN": TOKEN, **extra}
    proc = subprocess.run(
        ["node", str(folder / script)],
        cwd=folder,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result: dict[str, Any] = json.loads(proc.stdout)
    result["_stderr"] = proc.stderr
    return result
