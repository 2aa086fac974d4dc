"""`jirakit sandbox serve` with the behaviour flags docs/sandbox.md promises (`--tls`,
`--latency`, `--rate-limit`, `--faults`), used the way a user does: the command in a real
process, read from its banner, then plain HTTP requests to it.

Times are only ever lower bounds here (a delay cannot be shorter than it was made), and the
rate limit is low enough (one token per five seconds) that no machine is too slow to hit it.
"""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

AUTH = ("admin@example.com", "sandbox-token")
INFO = "/rest/api/3/serverInfo"


@contextmanager
def serving(*flags: str) -> Iterator[dict[str, str]]:
    """`jirakit sandbox serve --port 0 FLAGS...`; yields its banner (``base URL``, ``CA
    certificate``, ...) once it accepts connections; stops it after the block."""
    command = [sys.executable, "-m", "jirakit", "sandbox", "serve", "--port", "0"]
    proc = subprocess.Popen(
        [*command, "--issues", "5", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    try:
        banner: dict[str, str] = {}
        for line in proc.stdout:
            name, sep, value = line.strip().partition(": ")
            if sep:
                banner[name] = value.strip()
            if name.startswith("OAuth 2.0"):  # the banner's last line (Cloud)
                break
        assert "base URL" in banner, (banner, proc.stderr.read() if proc.stderr else "")
        _wait_listening(banner["base URL"])
        yield banner
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def _wait_listening(url: str) -> None:
    """Until the port accepts a TCP connection (no request: faults and limits stay unspent)."""
    parts = urlsplit(url)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection((parts.hostname, parts.port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens at {url}"
            time.sleep(0.05)


def test_tls_latency_and_rate_limit_through_the_cli():
    flags = ("--tls", "--latency", "150-150", "--rate-limit", "0.2")
    with serving(*flags) as banner:
        base, ca = banner["base URL"], Path(banner["CA certificate"])
        assert base.startswith("https://127.0.0.1:") and ca.is_file()
        assert banner["(clients"] == f"REQUESTS_CA_BUNDLE={ca} SSL_CERT_FILE={ca})"
        # A client that does not trust the printed CA is refused.
        with httpx.Client() as untrusting, pytest.raises(httpx.ConnectError):
            untrusting.get(f"{base}{INFO}")
        context = ssl.create_default_context(cafile=str(ca))
        with httpx.Client(base_url=base, verify=context, auth=AUTH, timeout=30) as http:
            started = time.perf_counter()
            first = http.get(INFO)
            took = time.perf_counter() - started
            second = http.get(INFO)  # within 5 s of the first: the one token is spent
    assert first.status_code == 200 and first.json()["baseUrl"] == base
    assert took >= 0.15  # --latency 150-150 added 150 ms
    # --rate-limit 0.2: a bucket of one token, refilled every five seconds.
    assert first.headers["x-ratelimit-limit"] == "1"
    assert second.status_code == 429, second.text
    assert second.headers["ratelimit-reason"] == "jira-burst-based"
    assert 1 <= int(second.headers["retry-after"]) <= 5


def statuses_served_with(*flags: str, requests: int = 30) -> list[int]:
    with serving(*flags) as banner, httpx.Client(base_url=banner["base URL"], auth=AUTH) as http:
        return [http.get(INFO).status_code for _ in range(requests)]


def test_faults_through_the_cli_are_seeded():
    first = statuses_served_with("--faults", "503=0.4,500=0.2", "--seed", "3")
    assert set(first) == {200, 500, 503}
    assert statuses_served_with("--faults", "503=0.4,500=0.2", "--seed", "3") == first
    assert statuses_served_with("--faults", "503=0.4,500=0.2", "--seed", "4") != first


@pytest.mark.parametrize(
    ("flag", "value", "says"),
    [
        ("--faults", "418=lots", "418"),
        ("--latency", "150-50", "the minimum 150 is above the maximum 50"),
        ("--rate-limit", "0", "must be > 0"),
    ],
)
def test_a_bad_flag_value_is_one_line_naming_the_flag(flag: str, value: str, says: str):
    proc = subprocess.run(
        [sys.executable, "-m", "jirakit", "sandbox", "serve", "--port", "0", flag, value],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert flag in lines[0] and says in lines[0]
