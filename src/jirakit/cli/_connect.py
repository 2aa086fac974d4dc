"""Connection settings for CLI commands: flags or environment, never echoed."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import typer

from jirakit import BasicAuth, BearerAuth, Jira
from jirakit.client import Flavour

R = TypeVar("R")

Url = Annotated[
    str | None,
    typer.Option("--url", envvar="JIRAKIT_URL", help="Site URL, e.g. https://acme.atlassian.net"),
]
Email = Annotated[
    str | None, typer.Option("--email", envvar="JIRAKIT_EMAIL", help="Account email (Cloud).")
]
Token = Annotated[
    str | None,
    typer.Option(
        "--token", envvar="JIRAKIT_API_TOKEN", help="API token (Cloud).", show_default=False
    ),
]
Pat = Annotated[
    str | None,
    typer.Option(
        "--pat",
        envvar="JIRAKIT_PAT",
        help="Personal access token (Data Center).",
        show_default=False,
    ),
]
FlavourOpt = Annotated[
    str | None,
    typer.Option(
        "--flavour",
        envvar="JIRAKIT_FLAVOUR",
        help="cloud or datacenter (default: datacenter with --pat, else cloud).",
    ),
]


def connect(
    url: str | None, email: str | None, token: str | None, pat: str | None, flavour: str | None
) -> Jira:
    """A client from the settings, or a clear usage error naming what is missing."""
    if not url:
        raise typer.BadParameter("no site URL: pass --url or set JIRAKIT_URL", param_hint="--url")
    if pat:
        auth: BasicAuth | BearerAuth = BearerAuth(pat)
        chosen = flavour or "datacenter"
    elif email and token:
        auth = BasicAuth(email, token)
        chosen = flavour or "cloud"
    else:
        raise typer.BadParameter(
            "no credentials: pass --email and --token (or JIRAKIT_EMAIL and JIRAKIT_API_TOKEN), "
            "or --pat (JIRAKIT_PAT)",
            param_hint="--token",
        )
    if chosen not in ("cloud", "datacenter"):
        raise typer.BadParameter("must be cloud or datacenter", param_hint="--flavour")
    resolved: Flavour = "cloud" if chosen == "cloud" else "datacenter"
    return Jira(url, auth=auth, flavour=resolved)


@dataclass(frozen=True)
class Connection:
    """One command's connection settings, as given; `open()` makes the client."""

    url: str | None = None
    email: str | None = None
    token: str | None = None
    pat: str | None = None
    flavour: str | None = None

    def open(self) -> Jira:
        return connect(self.url, self.email, self.token, self.pat, self.flavour)


_CONNECTION_PARAMS = [
    inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=hint)
    for name, hint in (
        ("url", Url),
        ("email", Email),
        ("token", Token),
        ("pat", Pat),
        ("flavour", FlavourOpt),
    )
]


def connected(*, first: bool = False) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Give a command the `--url/--email/--token/--pat/--flavour` options (after its own,
    or before them with `first`); the command takes them as one `conn: Connection`."""

    def decorate(command: Callable[..., R]) -> Callable[..., R]:
        own = [
            p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
            for p in inspect.signature(command, eval_str=True).parameters.values()
            if p.name != "conn"
        ]
        params = [*_CONNECTION_PARAMS, *own] if first else [*own, *_CONNECTION_PARAMS]

        @functools.wraps(command)
        def run(**kwargs: Any) -> R:
            settings = {p.name: kwargs.pop(p.name) for p in _CONNECTION_PARAMS}
            return command(conn=Connection(**settings), **kwargs)

        run.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in params}
        return run

    return decorate
