"""`jirakit dashboard`: what it refuses, in one line each, before it listens; serving
itself is tested in a browser (tests/ui)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jirakit.cli import app
from jirakit.cli.dashboard import is_loopback


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(
        app, ["dashboard", *args], env={"JIRAKIT_DASHBOARD_TOKEN": "", **(env or {})}
    )
    assert "Traceback" not in result.output
    return result.exit_code, result.stderr.strip()


def test_loopback_names():
    for host in ("127.0.0.1", "127.0.1.1", "::1", "[::1]", "localhost", "LOCALHOST"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "192.168.1.20", "dashboard.example", ""):
        assert not is_loopback(host), host


def test_off_loopback_a_token_is_required(tmp_path: Path):
    dest = f"duckdb:///{tmp_path / 'jira.duckdb'}"
    code, err = run("--dest", dest, "--host", "0.0.0.0")
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith("error: --host 0.0.0.0 lets other machines reach the dashboard")
    assert "JIRAKIT_DASHBOARD_TOKEN" in err
    code, err = run("--dest", dest, "--host", "0.0.0.0", env={"JIRAKIT_DASHBOARD_TOKEN": "short"})
    assert code == 2 and "at least 16 characters" in err
    assert "short" not in err.replace("shortest", "")


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (["--dest", "mysql://x"], 2, "unknown scheme 'mysql'"),
        (["--dest", "duckdb:///no/such/folder/jira.duckdb"], 1, "the folder of no/such/folder"),
        (["--dest", "postgresql://postgres@127.0.0.1:9/test"], 1, "cannot reach Postgres"),
        (["--ssl-certfile", "cert.pem"], 2, "--ssl-certfile and --ssl-keyfile go together"),
    ],
)
def test_what_it_refuses_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], code: int, said: str
):
    monkeypatch.chdir(tmp_path)
    got, err = run(*args)
    assert got == code and len(err.splitlines()) == 1, err
    assert err.startswith("error: ") and said in err and "error: error:" not in err


def test_a_port_in_use_is_one_line(tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, err = run("--dest", f"duckdb:///{tmp_path / 'jira.duckdb'}", "--port", str(port))
    assert code == 1 and f"port {port} on 127.0.0.1 is already in use" in err
