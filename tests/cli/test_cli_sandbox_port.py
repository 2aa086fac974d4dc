"""`jirakit sandbox serve` on a busy port: one clear line, before any banner."""

from __future__ import annotations

import os
import socket
import subprocess
import sys


def test_busy_port_is_one_line_naming_it():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "jirakit", "sandbox", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    assert proc.returncode == 1
    assert proc.stdout == ""  # no banner, no URL, no token first
    assert proc.stderr.splitlines() == [
        f"error: port {port} on 127.0.0.1 is already in use; "
        "pass another with --port (or --port 0 for any free port)"
    ]


def test_an_address_that_cannot_be_bound_is_one_line_too():
    proc = subprocess.run(
        [sys.executable, "-m", "jirakit", "sandbox", "serve", "--host", "192.0.2.1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1 and proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot listen on 192.0.2.1:8080: ")
