"""`jirakit worklog|link|sprint|attach` against a served sandbox, checked with the client."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jirakit import BasicAuth, Jira
from jirakit.cli import app
from jirakit.cli._output import plain
from jirakit.cli.worklog import format_duration, parse_duration
from jirakit.sandbox import Sandbox

TOKEN = "work-token-SECRET"


pytestmark = pytest.mark.usefixtures("no_real_config")


@pytest.fixture(scope="module", params=["cloud", "datacenter"])
def site(request) -> Iterator[tuple[dict[str, str], Jira]]:
    flavour = request.param
    with Sandbox(seed=6, issues=30, flavour=flavour, api_token=TOKEN).serve() as url:
        env = {"JIRAKIT_URL": url, "JIRAKIT_EMAIL": "admin@example.com", "JIRAKIT_API_TOKEN": TOKEN}
        auth = BasicAuth("admin@example.com", TOKEN)
        with Jira(url, auth=auth, flavour=flavour) as jira:
            yield env, jira


def run(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    assert TOKEN not in result.output
    return result.stdout


def fail(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code != 0 and len(result.stderr.splitlines()) == 1, result.output
    return result.exit_code, result.stderr


def test_durations():
    assert parse_duration("1h 30m") == parse_duration("1h30m") == parse_duration("90m") == 5400
    assert parse_duration("1.5h") == 5400 and parse_duration("2d") == 16 * 3600
    assert parse_duration("1w") == 5 * 8 * 3600
    assert format_duration(5400) == "1h 30m" and format_duration(7200) == "2h"


def test_worklog_add_and_list(site):
    env, jira = site
    key = jira.issues.create(project="ENG", summary="timed", issue_type="Task").key
    out = run(env, "worklog", "add", key, "1h 30m", "--started", "2026-03-02T09:15:00+01:00",
              "--comment", "pairing on [it]")  # fmt: skip
    assert out.startswith(f"{key} logged 1h 30m (worklog ")
    logged = list(jira.worklogs.list(key))
    assert len(logged) == 1 and logged[0].time_spent_seconds == 5400
    assert logged[0].started is not None
    assert logged[0].started.isoformat().startswith("2026-03-02T08:15:00")  # in UTC
    run(env, "worklog", "add", key, "45m")
    rows = list(csv.reader(io.StringIO(run(env, "worklog", "list", key, "-o", "csv"))))
    assert rows[0] == ["id", "author", "started", "seconds", "time_spent", "comment"]
    assert [(r[3], r[4]) for r in rows[1:]] == [("5400", "1h 30m"), ("2700", "45m")]
    assert rows[1][1] == "Sandbox Admin"
    held = logged[0].raw["comment"]  # ADF on Cloud; wiki on Data Center, brackets escaped
    assert rows[1][5] == (plain(held) if jira.flavour == "datacenter" else "pairing on [it]")
    assert "pairing on" in rows[1][5]


def test_worklog_bad_input_is_a_usage_error(site):
    env, _ = site
    code, said = fail(env, "worklog", "add", "ENG-1", "soon")
    assert code == 2 and "1h 30m" in said
    code, said = fail(env, "worklog", "add", "ENG-1", "1h", "--started", "yesterday")
    assert code == 2 and "ISO" in said


def test_link_add_reads_like_the_sentence(site):
    env, jira = site
    a, b, c = (jira.issues.create(project="ENG", summary=s, issue_type="Task").key for s in "abc")
    assert run(env, "link", "add", a, "blocks", b).strip() == f"{a} blocks {b}"
    run(env, "link", "add", c, "is blocked by", a)  # the inward phrase swaps them
    links = jira.issues.get(a, fields=["issuelinks"]).field("issuelinks")
    outward = {
        (link["type"]["name"], link["outwardIssue"]["key"])
        for link in links
        if "outwardIssue" in link
    }
    assert outward == {("Blocks", b), ("Blocks", c)}
    code, said = fail(env, "link", "add", a, "obliterates", b)
    assert code == 1 and "no link type 'obliterates'" in said and "Blocks (blocks" in said
    types = json.loads(run(env, "link", "types", "-o", "json"))
    assert {t["name"] for t in types} == {t["name"] for t in jira.links.types()}


def test_sprint_list_and_add(site):
    env, jira = site
    boards = [b.id for b in jira.boards.list(project="ENG", board_type="scrum")]
    expected = {s.id: s for b in boards for s in jira.sprints.list(b)}
    rows = list(csv.reader(io.StringIO(run(env, "sprint", "list", "-p", "ENG", "-o", "csv"))))
    assert rows[0] == ["id", "name", "state", "start", "end", "board", "goal"]
    assert {int(r[0]): (r[1], r[2]) for r in rows[1:]} == {
        i: (s.name, s.state) for i, s in expected.items()
    }
    future = json.loads(run(env, "sprint", "list", "-p", "ENG", "--state", "future", "-o", "json"))
    assert future and {s["state"] for s in future} == {"future"}
    target = future[0]
    key = jira.issues.create(project="ENG", summary="sprint me", issue_type="Task").key
    said = run(env, "sprint", "add", target["name"].upper(), key, "-p", "ENG")  # by name
    assert said.strip() == f"moved {key} to sprint {target['id']}"
    assert key in {i.key for i in jira.sprints.issues(target["id"], fields=["key"])}
    other = future[-1] if len(future) > 1 else target
    run(env, "sprint", "add", str(other["id"]), key)  # by id, no project needed
    assert key in {i.key for i in jira.sprints.issues(other["id"], fields=["key"])}
    code, said = fail(env, "sprint", "list", "--state", "soon", "-p", "ENG")
    assert code == 2 and "future, active, closed" in said
    code, said = fail(env, "sprint", "add", "No Such Sprint", key, "-p", "ENG")
    assert code == 1 and "no sprint named 'No Such Sprint'" in said


def test_attach_uploads_the_files(site, tmp_path: Path):
    env, jira = site
    key = jira.issues.create(project="ENG", summary="with files", issue_type="Task").key
    first, second = tmp_path / "log.txt", tmp_path / "shot.png"
    first.write_text("line one\nline two\n")
    second.write_bytes(bytes(range(256)) * 40)
    out = run(env, "attach", key, str(first), str(second)).splitlines()
    assert out[0].startswith(f"{key} attached log.txt (18 bytes, id ")
    assert out[1].startswith(f"{key} attached shot.png (10,240 bytes, id ")
    files = jira.issues.get(key, fields=["attachment"]).field("attachment")
    assert sorted((a["filename"], a["size"]) for a in files) == [
        ("log.txt", 18),
        ("shot.png", 10240),
    ]
    by_name = {a["filename"]: a["id"] for a in files}
    assert jira.attachments.download(by_name["shot.png"]) == second.read_bytes()
    code, said = fail(env, "attach", key, str(tmp_path / "missing.txt"))
    assert code == 2 and "does not exist" in said
