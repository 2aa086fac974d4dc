"""Named profiles in a config file: no flags retyped, no token ever written in clear.

Every test points JIRAKIT_CONFIG (and HOME, XDG_CONFIG_HOME) at its own tmp dir; the OS
keyring is replaced by an in-memory backend through keyring's own `set_keyring` (the
library's injection point), or by its "fail" backend to play a machine without one.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail
from keyring.errors import PasswordDeleteError
from typer.testing import CliRunner

from jirakit import BasicAuth, Jira
from jirakit.cli import app
from jirakit.sandbox import Sandbox

TOKEN = "profile-token-SECRET"
CLOSED = "http://127.0.0.1:9"  # nothing listens there


class MemoryKeyring(KeyringBackend):
    """A keyring backend that keeps secrets in a dict."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.secrets.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


@pytest.fixture(scope="module")
def site_url() -> Iterator[str]:
    with Sandbox(seed=8, issues=20, api_token=TOKEN).serve() as url:
        yield url


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A home of the test's own; JIRAKIT_* cleared so only what a test sets counts."""
    for name in list(os.environ):
        if name.startswith("JIRAKIT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    monkeypatch.setenv("JIRAKIT_CONFIG", str(tmp_path / "jirakit.toml"))
    return tmp_path


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    before = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(before)


@pytest.fixture
def no_keyring_backend() -> Iterator[None]:
    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(before)


def invoke(*args: str, env: dict[str, str] | None = None, input: str | None = None):
    return CliRunner().invoke(app, list(args), env=env or {}, input=input)


def ok(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> str:
    result = invoke(*args, env=env, input=input)
    assert result.exit_code == 0, result.output
    assert TOKEN not in result.output
    return result.stdout


def one_line_error(result, code: int) -> str:
    assert result.exit_code == code, result.output
    assert result.stdout == "" or "Traceback" not in result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert TOKEN not in result.output
    return lines[0]


def add_work(site_url: str, *extra: str) -> None:
    ok(
        "config", "profile", "add", "work", "--url", site_url,
        "--email", "admin@example.com", "--token-env", "WORK_JIRA_TOKEN", *extra,
    )  # fmt: skip


def test_config_path_follows_jirakit_config_then_the_platform_dir(home, monkeypatch):
    assert ok("config", "path").strip() == str(home / "jirakit.toml")
    monkeypatch.delenv("JIRAKIT_CONFIG")
    assert ok("config", "path").strip() == str(home / ".config" / "jirakit" / "config.toml")


def test_profile_with_token_from_an_env_var(home, site_url, monkeypatch):
    add_work(site_url)
    text = (home / "jirakit.toml").read_text()
    assert 'url = "' + site_url + '"' in text and 'token_env = "WORK_JIRA_TOKEN"' in text
    assert stat.S_IMODE((home / "jirakit.toml").stat().st_mode) == 0o600
    monkeypatch.setenv("WORK_JIRA_TOKEN", TOKEN)
    assert ok("whoami", "--profile", "work").startswith("Sandbox Admin <admin@example.com>")
    monkeypatch.setenv("JIRAKIT_PROFILE", "work")
    assert "(cloud)" in ok("whoami")


def test_profile_with_token_in_the_keyring(home, site_url, memory_keyring):
    out = ok(
        "config", "profile", "add", "kr", "--url", site_url, "--email", "admin@example.com",
        "--token-from-keyring", input=TOKEN + "\n",
    )  # fmt: skip
    assert "token stored in the keyring" in out
    assert memory_keyring.secrets == {("jirakit", "kr"): TOKEN}
    assert TOKEN not in (home / "jirakit.toml").read_text()
    assert ok("whoami", "--profile", "kr").startswith("Sandbox Admin")
    listed = json.loads(ok("config", "profile", "list", "-o", "json"))
    assert listed == [
        {
            "name": "kr",
            "default": "",
            "url": site_url,
            "auth": "api_token",
            "email": "admin@example.com",
            "token": "keyring",
            "flavour": "",
            "project": "",
        }
    ]
    assert "removed" in ok("config", "profile", "remove", "kr", "--yes")
    assert memory_keyring.secrets == {}
    assert json.loads(ok("config", "profile", "list", "-o", "json")) == []


def test_default_profile_is_used_when_no_url_is_given(home, site_url, monkeypatch):
    add_work(site_url, "--default", "--project", "OPS")
    monkeypatch.setenv("WORK_JIRA_TOKEN", TOKEN)
    assert ok("whoami").startswith("Sandbox Admin")
    out = json.loads(ok("issue", "list", "-o", "json", "--limit", "100"))
    assert out and {i["key"].split("-")[0] for i in out} == {"OPS"}  # the profile's project
    key = ok("issue", "create", "--summary", "from the profile").strip()
    assert key.startswith("OPS-")
    with Jira(site_url, auth=BasicAuth("admin@example.com", TOKEN)) as jira:
        assert jira.issues.get(key, fields=["summary"]).summary == "from the profile"
    wider = json.loads(ok("issue", "list", "--all-projects", "-s", "Done", "-o", "json"))
    assert len({i["key"].split("-")[0] for i in wider}) > 1


def test_flags_beat_the_profile_which_beats_the_environment(home, site_url, monkeypatch):
    add_work(site_url)
    monkeypatch.setenv("WORK_JIRA_TOKEN", TOKEN)
    monkeypatch.setenv("JIRAKIT_URL", CLOSED)  # the environment says another site ...
    monkeypatch.setenv("JIRAKIT_API_TOKEN", "env-token")
    assert ok("whoami", "--profile", "work").startswith("Sandbox Admin")  # ... the profile wins
    flag = invoke("whoami", "--profile", "work", "--url", CLOSED)  # a flag beats the profile
    assert "127.0.0.1:9" in one_line_error(flag, 1)
    wrong = invoke("whoami", "--profile", "work", "--token", "wrong")
    assert "401" in one_line_error(wrong, 1)
    monkeypatch.delenv("JIRAKIT_URL")
    monkeypatch.setenv("JIRAKIT_PROFILE", "work")  # the env var names a profile
    assert ok("whoami").startswith("Sandbox Admin")


def test_missing_token_says_where_it_looked(home, site_url, no_keyring_backend):
    add_work(site_url)
    line = one_line_error(invoke("whoami", "--profile", "work"), 2)
    assert "no token for profile 'work'" in line
    assert "$WORK_JIRA_TOKEN is not set" in line
    assert "the keyring has no usable backend (No recommended backend was available)" in line


def test_keyring_without_backend_cannot_store_and_writes_nothing(
    home, site_url, no_keyring_backend
):
    result = invoke(
        "config", "profile", "add", "kr", "--url", site_url, "--email", "a@b.c",
        "--token-from-keyring", input=TOKEN + "\n",
    )  # fmt: skip
    line = one_line_error(result, 1)
    assert "cannot store the token: the keyring has no usable backend" in line
    assert not (home / "jirakit.toml").exists()


def test_keyring_not_installed_is_one_line(home, site_url, tmp_path):
    config = tmp_path / "jirakit.toml"
    config.write_text(f'[profiles.kr]\nurl = "{site_url}"\nemail = "a@b.c"\n')
    code = (
        "import sys; sys.modules['keyring'] = None\n"  # as if it were not installed
        "from jirakit.cli import main; sys.argv = ['jirakit', 'whoami', '--profile', 'kr']\n"
        "main()"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIRAKIT_")}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "JIRAKIT_CONFIG": str(config), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "the keyring package is not installed (pip install 'jirakit[keyring]')" in proc.stderr


def test_a_token_written_in_the_file_is_refused(home, site_url):
    (home / "jirakit.toml").write_text(
        f'[profiles.bad]\nurl = "{site_url}"\nemail = "a@b.c"\ntoken = "{TOKEN}"\n'
    )
    line = one_line_error(invoke("whoami", "--profile", "bad"), 2)
    assert "holds a secret in clear (token)" in line
    assert "token_env" in line


def test_config_mistakes_are_one_line_usage_errors(home, site_url):
    add_work(site_url)
    unknown = one_line_error(invoke("whoami", "--profile", "nope"), 2)
    assert "no profile 'nope'" in unknown and "profiles: work" in unknown
    (home / "jirakit.toml").write_text("[profiles.work\nurl = 1")
    assert "is not valid TOML" in one_line_error(invoke("whoami", "--profile", "work"), 2)
    (home / "jirakit.toml").write_text('[profiles.x]\nurl = "ftp://x"\ncolour = "red"\n')
    assert "unknown keys ['colour']" in one_line_error(invoke("config", "profile", "list"), 2)
    bad_auth = invoke("config", "profile", "add", "y", "--url", site_url, "--auth", "password")
    assert "api_token or pat" in one_line_error(bad_auth, 2)


def test_editing_keeps_the_users_comments_and_other_profiles(home, site_url):
    path = home / "jirakit.toml"
    path.write_text(
        '# my Jira sites\n\n[profiles.dc]  # the old server\nurl = "https://jira.example"\n'
        'auth = "pat"\ntoken_env = "DC_PAT"\n'
    )
    add_work(site_url, "--default")
    ok("config", "profile", "add", "work", "--project", "ENG")  # change one setting
    text = path.read_text()
    assert text.startswith("# my Jira sites") and "# the old server" in text
    rows = {r["name"]: r for r in json.loads(ok("config", "profile", "list", "-o", "json"))}
    assert rows["work"]["project"] == "ENG" and rows["work"]["default"] == "yes"
    assert rows["work"]["token"] == "$WORK_JIRA_TOKEN (not set), else keyring"
    assert rows["dc"]["auth"] == "pat" and rows["dc"]["token"].startswith("$DC_PAT")


def test_answering_no_to_remove_changes_nothing(home, site_url):
    add_work(site_url)
    before = (home / "jirakit.toml").read_text()
    out = ok("config", "profile", "remove", "work", input="n\n")
    assert out.strip().endswith("nothing changed")
    assert (home / "jirakit.toml").read_text() == before
    ok("config", "profile", "remove", "work", input="y\n")
    assert "work" not in (home / "jirakit.toml").read_text()


def test_pat_profile_on_data_center(home, monkeypatch):
    with Sandbox(seed=2, issues=5, flavour="datacenter", api_token=TOKEN).serve() as url:
        ok("config", "profile", "add", "dc", "--url", url, "--auth", "pat", "--token-env", "DC_PAT")
        monkeypatch.setenv("DC_PAT", TOKEN)
        said = ok("whoami", "--profile", "dc")
    assert said.startswith("Sandbox Admin") and said.rstrip().endswith("(datacenter)")
