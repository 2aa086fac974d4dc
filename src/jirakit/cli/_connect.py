"""Connection settings for CLI commands: flags or environment, never echoed."""

from __future__ import annotations

from typing import Annotated

import typer

from jirakit import BasicAuth, BearerAuth, Jira
from jirakit.client import Flavour

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
