"""`--help` reads like a Jira user's tool: no type tags, flags bare; `--version` works."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from jirakit import __version__
from jirakit.cli import app

COMMANDS = [
    [],
    ["issue"],
    ["issue", "list"],
    ["issue", "view"],
    ["issue", "create"],
    ["issue", "edit"],
    ["issue", "delete"],
    ["issue", "comment"],
    ["search"],
    ["whoami"],
    ["worklog", "add"],
    ["link", "add"],
    ["sprint", "list"],
    ["sprint", "add"],
    ["attach"],
    ["config", "profile", "add"],
    ["config", "profile", "remove"],
    ["sandbox", "serve"],
    ["sync"],
    ["report"],
]
# (a placeholder in a URL path, as in /webhooks/jira/<connection_id>, is not a type tag)
TYPE_TAG = re.compile(r"(?<!/)<[a-z][a-z_\[\]|., ]*>|\b(?:BOOLEAN|TEXT|INTEGER|FLOAT|PATH|BOOL)\b")


def help_of(args: list[str]) -> str:
    result = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a) or "jirakit")
def test_help_has_no_type_tags(args):
    text = help_of(args)
    assert "--help" in text
    assert TYPE_TAG.findall(text) == [], text


def every_command() -> list[list[str]]:
    """Every command and group of the app, as the words that name it."""
    import typer

    found: list[list[str]] = []

    def walk(command: Any, path: list[str]) -> None:
        found.append(path)
        if hasattr(command, "list_commands"):
            ctx = command.context_class(command)
            for name in command.list_commands(ctx):
                walk(command.get_command(ctx, name), [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def test_no_command_of_the_app_shows_type_tags():
    """Not only the ones listed above: every command, the service's and the jobs' too."""
    commands = every_command()
    assert len(commands) > 50 and ["sprint", "add"] in commands
    tagged = {" ".join(c): TYPE_TAG.findall(help_of(c)) for c in commands}
    assert {name: tags for name, tags in tagged.items() if tags} == {}


def flag_line(text: str, flag: str) -> str:
    """The option's own row (not a row whose help text mentions it)."""
    row = re.compile(rf"^│\s*(?:\*\s+)?{flag}\b(?!-)")
    return next(line for line in text.splitlines() if row.search(line))


def test_flags_show_nothing_between_name_and_help_and_options_name_their_value():
    create = help_of(["issue", "create"])
    assert re.search(r"--plain\s{2,}Send text as is", flag_line(create, "--plain"))
    assert re.search(r"--help\s{2,}Show this message", flag_line(create, "--help"))
    assert re.search(r"--parent\s+KEY\s+Parent issue", flag_line(create, "--parent"))
    assert re.search(r"--field\s+NAME=VALUE\s", flag_line(create, "--field"))
    assert re.search(r"--type\s+TYPE\s", flag_line(create, "--type"))
    serve = help_of(["sandbox", "serve"])
    assert re.search(r"--tls\s{2,}Serve https", flag_line(serve, "--tls"))
    assert re.search(r"--port\s+PORT\s", flag_line(serve, "--port"))
    view = help_of(["issue", "view"])
    assert re.search(r"\*\s+KEY\s+Issue key", view)  # an argument: its name, no type


def test_version_flag_and_command():
    for flag in ("--version", "-V"):
        result = CliRunner().invoke(app, [flag])
        assert result.exit_code == 0 and result.stdout == f"jirakit {__version__}\n"
    assert CliRunner().invoke(app, ["version"]).stdout == f"{__version__}\n"
    proc = subprocess.run(
        [sys.executable, "-m", "jirakit", "--version"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and proc.stdout.strip() == f"jirakit {__version__}"


def test_the_version_is_the_installed_distributions():
    """What `jirakit version` prints is what pip installed (pyproject's version), through
    the console script a user runs."""
    from importlib.metadata import version

    program = Path(sys.executable).parent / "jirakit"
    proc = subprocess.run([str(program), "version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout == f"{version('jirakit')}\n"


def test_usage_errors_are_one_line_exit_2():
    result = CliRunner().invoke(app, ["issue", "create", "--project", "ENG"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: Missing option '--summary'. (see 'jirakit issue create --help')"
    ]
    result = CliRunner().invoke(app, ["issue", "lst"])
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1
    assert "No such command 'lst'. Did you mean 'list'?" in result.stderr
