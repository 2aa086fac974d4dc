"""``jirakit config``: the profiles file (see `jirakit.cli._profiles`). Never prints a token."""

from __future__ import annotations

import os
import re
from typing import Annotated, Any

import typer
from typer._click.exceptions import ClickException  # typer 0.29 vendors click

from jirakit.cli._output import Format, check_format, print_rows
from jirakit.cli._profiles import (
    AUTH_KINDS,
    FLAVOURS,
    KEYRING_SERVICE,
    KeyringUnavailable,
    Profile,
    ProfileError,
    config_path,
    keyring_delete,
    keyring_set,
    load,
    save,
)

config_app = typer.Typer(
    help="The config file: named profiles, so connection flags are not retyped.",
    no_args_is_help=True,
)
profile_app = typer.Typer(help="Add, list and remove connection profiles.", no_args_is_help=True)
config_app.add_typer(profile_app, name="profile")

NAME = re.compile(r"^[A-Za-z0-9_-]+$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@config_app.command("path")
def show_path() -> None:
    """Print where the config file is ($JIRAKIT_CONFIG or the platform's config dir)."""
    typer.echo(str(config_path()))


def _choice(value: str | None, allowed: tuple[str, ...], hint: str) -> str | None:
    if value is not None and value not in allowed:
        raise typer.BadParameter(f"must be {' or '.join(allowed)}", param_hint=hint)
    return value


@profile_app.command("add")
def profile_add(
    name: Annotated[str, typer.Argument(help="Profile name: letters, digits, - and _.")],
    url: Annotated[str | None, typer.Option(metavar="URL", help="Site URL.")] = None,
    auth: Annotated[
        str | None,
        typer.Option(
            metavar="api_token|pat", help="api_token (Cloud; default) or pat (Data Center)."
        ),
    ] = None,
    email: Annotated[
        str | None, typer.Option(metavar="EMAIL", help="Account email (or DC username).")
    ] = None,
    token_env: Annotated[
        str | None,
        typer.Option(
            "--token-env", metavar="VAR", help="Environment variable that holds the token."
        ),
    ] = None,
    flavour: Annotated[
        str | None,
        typer.Option(metavar="cloud|datacenter", help="Skip asking the site which it is."),
    ] = None,
    project: Annotated[
        str | None, typer.Option(metavar="KEY", help="Default project for issue list/create.")
    ] = None,
    default: Annotated[
        bool, typer.Option("--default", help="Use this profile when none is named.")
    ] = False,
    token_from_keyring: Annotated[
        bool,
        typer.Option(
            "--token-from-keyring",
            help="Ask for the token (hidden) and store it in the OS keyring.",
        ),
    ] = False,
) -> None:
    """Add a profile, or change the given settings of an existing one."""
    if not NAME.match(name):
        raise typer.BadParameter("use letters, digits, - and _", param_hint="NAME")
    _choice(auth, AUTH_KINDS, "--auth")
    _choice(flavour, FLAVOURS, "--flavour")
    if token_env is not None and not ENV_NAME.match(token_env):
        raise typer.BadParameter("not an environment variable name", param_hint="--token-env")
    profiles = load()
    old = profiles.profiles.get(name)
    if old is None and not url:
        raise typer.BadParameter("a new profile needs --url", param_hint="--url")
    table = old.as_table() if old else {}
    given = {"url": url, "auth": auth, "email": email, "token_env": token_env}
    given |= {"flavour": flavour, "project": project}
    table |= {k: v for k, v in given.items() if v is not None}
    profile = Profile.parse(name, table, profiles.path)  # the same checks as reading it
    if profile.auth == "api_token" and not profile.email:
        raise typer.BadParameter("an api_token profile needs --email", param_hint="--email")
    if token_from_keyring:
        secret = typer.prompt(f"Token for profile {name}", hide_input=True).strip()
        if not secret:
            raise typer.BadParameter("the token is empty", param_hint="--token-from-keyring")
        try:
            keyring_set(name, secret)
        except KeyringUnavailable as exc:
            raise ClickException(
                f"cannot store the token: {exc}; set --token-env instead"
            ) from None

    def edit(doc: Any) -> None:
        import tomlkit

        if "profiles" not in doc:
            doc["profiles"] = tomlkit.table(is_super_table=True)
        entry = tomlkit.table()
        for key, value in profile.as_table().items():
            entry[key] = value
        doc["profiles"][name] = entry
        if default:
            doc["default"] = name

    save(profiles.path, edit)
    where = "updated" if old else "added"
    stored = (
        f"; token stored in the keyring (service {KEYRING_SERVICE})" if token_from_keyring else ""
    )
    typer.echo(f"profile {name} {where} in {profiles.path}{stored}")


def _token_source(profile: Profile) -> str:
    if profile.token_env:
        state = "set" if os.environ.get(profile.token_env) else "not set"
        return f"${profile.token_env} ({state}), else keyring"
    return "keyring"


@profile_app.command("list")
def profile_list(fmt: Format = "table") -> None:
    """List the profiles (never their tokens)."""
    check_format(fmt)
    profiles = load()
    header = ["name", "default", "url", "auth", "email", "token", "flavour", "project"]
    rows = [
        [
            p.name,
            "yes" if p.name == profiles.default else "",
            p.url,
            p.auth,
            p.email,
            _token_source(p),
            p.flavour or "",
            p.project or "",
        ]
        for p in profiles.profiles.values()
    ]
    if not rows and fmt == "table":
        typer.echo(f"no profiles in {profiles.path}; add one with `jirakit config profile add`")
        return
    print_rows(header, rows, fmt)


@profile_app.command("remove")
def profile_remove(
    name: Annotated[str, typer.Argument(help="The profile to remove.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove a profile (and its token from the keyring)."""
    profiles = load()
    profiles.get(name)  # a clear error when there is no such profile
    if not yes and not typer.confirm(f"Remove profile {name}?"):
        typer.echo("nothing changed")
        raise typer.Exit(0)

    def edit(doc: Any) -> None:
        del doc["profiles"][name]
        if doc.get("default") == name:
            del doc["default"]

    save(profiles.path, edit)
    try:
        dropped = keyring_delete(name)
    except KeyringUnavailable:
        dropped = False
    extra = "; its token removed from the keyring" if dropped else ""
    typer.echo(f"profile {name} removed{extra}")


__all__ = ["ProfileError", "config_app"]
