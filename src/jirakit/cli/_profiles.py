"""Named connection profiles: a TOML file of site URL, auth kind and email per profile.

The file lives at ``$JIRAKIT_CONFIG`` or, by default, in the platform's config directory
(``~/.config/jirakit/config.toml`` on Linux, following ``$XDG_CONFIG_HOME``; the
Application Support and APPDATA folders on macOS and Windows)::

    default = "work"

    [profiles.work]
    url = "https://acme.atlassian.net"
    auth = "api_token"            # or "pat" (Data Center personal access token)
    email = "me@acme.com"
    token_env = "ACME_JIRA_TOKEN" # the token is read from this variable ...
    project = "ENG"               # optional: the default project of `issue list/create`
    flavour = "cloud"             # optional: skips the serverInfo probe

A profile never holds a secret: the token comes from the environment variable named by
``token_env`` or, failing that, from the OS keyring (service ``jirakit``, user = the
profile's name), where ``jirakit config profile add --token-from-keyring`` puts it.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import typer
from typer._click.exceptions import ClickException  # typer 0.29 vendors click

AuthKind = Literal["api_token", "pat"]
AUTH_KINDS: tuple[AuthKind, ...] = ("api_token", "pat")
FLAVOURS = ("cloud", "datacenter")
KEYRING_SERVICE = "jirakit"
KEYS = ("url", "auth", "email", "token_env", "flavour", "project")
SECRET_KEYS = ("token", "api_token", "pat", "password", "secret")


class ProfileError(ClickException):
    """The config file or a profile cannot be used: a usage error (exit status 2)."""

    exit_code = 2


class KeyringUnavailable(Exception):
    """The keyring package is missing or has no usable backend; ``str()`` says which."""


def config_path() -> Path:
    """``$JIRAKIT_CONFIG``, else ``config.toml`` in the platform's config dir for jirakit."""
    explicit = os.environ.get("JIRAKIT_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    return Path(typer.get_app_dir("jirakit")) / "config.toml"


@dataclass(frozen=True, slots=True)
class Profile:
    """One ``[profiles.NAME]`` table. Holds no secret, only where to find it."""

    name: str
    url: str | None = None
    auth: AuthKind = "api_token"
    email: str | None = None
    token_env: str | None = None
    flavour: str | None = None
    project: str | None = None

    @classmethod
    def parse(cls, name: str, table: Mapping[str, Any], path: Path) -> Profile:
        where = f"profile {name!r} in {path}"
        secrets = [k for k in table if k in SECRET_KEYS]
        if secrets:
            raise ProfileError(
                f"{where} holds a secret in clear ({', '.join(secrets)}): remove it and use "
                'token_env = "VAR" or `jirakit config profile add --token-from-keyring`'
            )
        unknown = sorted(set(table) - set(KEYS))
        if unknown:
            raise ProfileError(f"{where} has unknown keys {unknown}; known keys: {', '.join(KEYS)}")
        values: dict[str, str] = {}
        for key in KEYS:
            value = table.get(key)
            if value is None:
                continue
            if not isinstance(value, str):
                raise ProfileError(f"{where}: {key} must be a string, not {value!r}")
            values[key] = value
        auth = values.pop("auth", "api_token")
        if auth not in AUTH_KINDS:
            raise ProfileError(f"{where}: auth must be api_token or pat, not {auth!r}")
        flavour = values.get("flavour")
        if flavour is not None and flavour not in FLAVOURS:
            raise ProfileError(f"{where}: flavour must be cloud or datacenter, not {flavour!r}")
        url = values.get("url")
        if url is not None and not url.startswith(("http://", "https://")):
            raise ProfileError(f"{where}: url must start with http:// or https://, not {url!r}")
        return cls(name=name, auth="pat" if auth == "pat" else "api_token", **values)

    def as_table(self) -> dict[str, str]:
        """The TOML table for this profile (no empty keys)."""
        out = {"url": self.url, "auth": self.auth, "email": self.email}
        out |= {"token_env": self.token_env, "flavour": self.flavour, "project": self.project}
        return {k: v for k, v in out.items() if v}

    def token(self) -> tuple[str | None, str]:
        """``(token, where it was looked for)``: the ``token_env`` variable first, then the
        keyring. ``where`` names the places tried, for an error message."""
        tried = []
        if self.token_env:
            value = os.environ.get(self.token_env)
            if value:
                return value, f"${self.token_env}"
            tried.append(f"${self.token_env} is not set")
        try:
            value = keyring_get(self.name)
        except KeyringUnavailable as exc:
            tried.append(str(exc))
        else:
            if value:
                return value, "the keyring"
            tried.append(f"the keyring has no token for {self.name!r}")
        return None, "; ".join(tried)


@dataclass(frozen=True, slots=True)
class Profiles:
    """The whole file: profiles by name and the default one."""

    path: Path
    profiles: Mapping[str, Profile]
    default: str | None = None

    def get(self, name: str) -> Profile:
        profile = self.profiles.get(name)
        if profile is None:
            known = ", ".join(sorted(self.profiles)) or "none yet"
            raise ProfileError(
                f"no profile {name!r} in {self.path} (profiles: {known}); "
                "add one with `jirakit config profile add`"
            )
        return profile


def load(path: Path | None = None) -> Profiles:
    """Read the config file; a missing file is an empty one, a broken one a `ProfileError`."""
    path = path or config_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Profiles(path, {})
    except OSError as exc:
        raise ProfileError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{path} is not valid TOML: {exc}") from None
    tables = data.get("profiles", {})
    if not isinstance(tables, dict):
        raise ProfileError(f"{path}: 'profiles' must be a table of [profiles.NAME] tables")
    profiles: dict[str, Profile] = {}
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise ProfileError(f"{path}: profiles.{name} must be a table")
        profiles[name] = Profile.parse(name, table, path)
    default = data.get("default")
    if default is not None and (not isinstance(default, str) or default not in profiles):
        raise ProfileError(f"{path}: default = {default!r} names no profile")
    return Profiles(path, profiles, default)


def save(path: Path, edit: Any) -> None:
    """Apply ``edit(document)`` to the file through tomlkit, which keeps the user's
    comments and layout, then write it back (0600: it names where secrets live)."""
    import tomlkit

    try:
        document = tomlkit.parse(path.read_text("utf-8")) if path.exists() else tomlkit.document()
    except Exception as exc:  # tomlkit raises its own ParseError subclasses
        raise ProfileError(f"{path} is not valid TOML: {exc}") from None
    edit(document)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(tomlkit.dumps(document))
    os.replace(tmp, path)


# -- the OS keyring (optional) ------------------------------------------------------------


def _keyring() -> Any:
    try:
        import keyring
    except ImportError:
        raise KeyringUnavailable(
            "the keyring package is not installed (pip install 'jirakit[keyring]')"
        ) from None
    return keyring


def _no_backend(exc: Exception) -> KeyringUnavailable:
    first = str(exc).split(". ")[0].strip().rstrip(".")
    return KeyringUnavailable(f"the keyring has no usable backend ({first})")


def keyring_get(profile: str) -> str | None:
    keyring = _keyring()
    from keyring.errors import KeyringError

    try:
        value = keyring.get_password(KEYRING_SERVICE, profile)
    except KeyringError as exc:
        raise _no_backend(exc) from None
    return str(value) if value is not None else None


def keyring_set(profile: str, token: str) -> None:
    keyring = _keyring()
    from keyring.errors import KeyringError

    try:
        keyring.set_password(KEYRING_SERVICE, profile, token)
    except KeyringError as exc:
        raise _no_backend(exc) from None


def keyring_delete(profile: str) -> bool:
    """Remove the profile's token; False when there was none (or no keyring at all)."""
    try:
        keyring = _keyring()
    except KeyringUnavailable:
        return False
    from keyring.errors import KeyringError, PasswordDeleteError

    try:
        keyring.delete_password(KEYRING_SERVICE, profile)
    except PasswordDeleteError:
        return False
    except KeyringError as exc:
        raise _no_backend(exc) from None
    return True
