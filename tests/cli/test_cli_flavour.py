"""Cloud or Data Center: asked of the site (serverInfo.deploymentType) when not given, and
a Cloud-only 404 from a Data Center site explained. Against the sandbox in both flavours."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from jirakit import BasicAuth, Jira
from jirakit.cli import app
from jirakit.cli._connect import deployment_type, detect_flavour
from jirakit.sandbox import Sandbox

TOKEN = "flavour-token-SECRET"


@pytest.fixture(autouse=True)
def no_flavour_from_outside(no_real_config, monkeypatch):
    for name in ("JIRAKIT_FLAVOUR", "JIRAKIT_PAT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def dc_url() -> Iterator[str]:
    with Sandbox(seed=4, issues=15, flavour="datacenter", api_token=TOKEN).serve() as url:
        yield url


@pytest.fixture(scope="module")
def cloud_url() -> Iterator[str]:
    with Sandbox(seed=4, issues=15, api_token=TOKEN).serve() as url:
        yield url


def env_for(url: str) -> dict[str, str]:
    return {"JIRAKIT_URL": url, "JIRAKIT_EMAIL": "admin@example.com", "JIRAKIT_API_TOKEN": TOKEN}


def run(url: str, *args: str) -> str:
    result = CliRunner().invoke(app, list(args), env=env_for(url))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_server_info_tells_the_flavours_apart(dc_url, cloud_url):
    assert deployment_type(cloud_url) == "Cloud" and detect_flavour(cloud_url) == "cloud"
    assert deployment_type(dc_url) == "Server" and detect_flavour(dc_url) == "datacenter"


def test_data_center_is_detected_without_the_flag(dc_url):
    assert run(dc_url, "whoami").rstrip().endswith("(datacenter)")
    key = run(
        dc_url, "issue", "create", "--project", "ENG", "--summary", "DC", "--description", "**x**"
    ).strip()
    # The CLI spoke /rest/api/2: the description it reads back is wiki text, not ADF.
    got = run(dc_url, "issue", "get", key, "-o", "json", "-f", "description")
    with Jira(dc_url, auth=BasicAuth("admin@example.com", TOKEN), flavour="datacenter") as jira:
        assert jira.issues.get(key, fields=["description"]).description == "*x*"
    assert '"description": "*x*"' in got


def test_cloud_is_detected_without_the_flag(cloud_url):
    assert run(cloud_url, "whoami").rstrip().endswith("(cloud)")
    key = run(
        cloud_url, "issue", "create", "--project", "ENG", "--summary", "C", "--description", "**x**"
    ).strip()
    got = run(cloud_url, "issue", "get", key, "-o", "json", "-f", "description")
    assert '"type": "doc"' in got  # /rest/api/3 answers ADF


def test_a_pat_means_data_center_and_the_flag_is_obeyed(dc_url, cloud_url):
    result = CliRunner().invoke(app, ["whoami", "--url", dc_url, "--pat", TOKEN])
    assert result.exit_code == 0 and result.stdout.rstrip().endswith("(datacenter)")
    said = run(cloud_url, "whoami", "--flavour", "datacenter")  # Cloud serves /rest/api/2 too
    assert said.rstrip().endswith("(datacenter)")


def test_cloud_flag_on_data_center_explains_the_404(dc_url):
    result = CliRunner().invoke(app, ["whoami", "--flavour", "cloud"], env=env_for(dc_url))
    assert result.exit_code == 1 and result.stdout == ""
    line = result.stderr.strip()
    assert len(result.stderr.splitlines()) == 1 and line.startswith("error: ")
    assert "404" in line and "/rest/api/3/myself" in line
    assert "deploymentType Server" in line and "pass --flavour datacenter" in line


def test_the_explanation_through_the_real_entry_point(dc_url):
    proc = subprocess.run(
        [sys.executable, "-m", "jirakit", "issue", "view", "ENG-1", "--flavour", "cloud"],
        env={**os.environ, **env_for(dc_url)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "pass --flavour datacenter" in proc.stderr and TOKEN not in proc.stderr


def test_an_honest_cloud_404_gets_no_flavour_hint(cloud_url):
    result = CliRunner().invoke(app, ["issue", "view", "ENG-9999"], env=env_for(cloud_url))
    assert result.exit_code == 1
    assert "Issue does not exist" in result.stderr and "--flavour" not in result.stderr


def test_one_blip_does_not_make_a_data_center_site_pass_for_cloud():
    """`jirakit sync` asks the flavour without the full retries (a site that never
    answers must still be a recorded run): a connection dropped once, then Data Center's
    answer, is still Data Center."""
    import json
    import socket
    import threading

    body = json.dumps({"deploymentType": "DataCenter", "version": "9.12.0"}).encode()
    answered = [0]
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def serve() -> None:
        for n in range(2):
            conn, _ = listener.accept()
            with conn:
                if n == 0:  # the blip: the connection drops before any answer
                    conn.recv(65536)
                    continue
                conn.recv(65536)
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                    + body
                )
                answered[0] += 1

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        assert detect_flavour(url, retry=False) == "datacenter"
        assert answered == [1]
    finally:
        listener.close()
        thread.join(5)
