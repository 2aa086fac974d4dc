"""Connection settings for CLI commands: flags, a named profile, or environment; never echoed.

Each setting is taken from the first place that has it: the command line, then the profile
(``--profile``/``JIRAKIT_PROFILE``, else the config file's ``default`` when no URL is given
at all), then the ``JIRAKIT_*`` environment variables. With no flavour given anywhere, a
PAT means Data Center and an API token asks the site: ``GET /rest/api/2/serverInfo``
answers on Cloud and Data Center alike, and its ``deploymentType`` says which.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

import typer

from jirakit import BasicAuth, BearerAuth, Jira
from jirakit.cli._profiles import Profile, load
from jirakit.client import Flavour, RetryPolicy
from jirakit.errors import HTTPError, JiraError, NotFound, ResponseDecodeError, TransportError

R = TypeVar("R")

ProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--profile",
        envvar="JIRAKIT_PROFILE",
        metavar="NAME",
        help="A profile from the config file (see `jirakit config`); flags override it.",
    ),
]
Url = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="JIRAKIT_URL",
        metavar="URL",
        help="Site URL, e.g. https://acme.atlassian.net",
    ),
]
Email = Annotated[
    str | None,
    typer.Option(
        "--email",
        envvar="JIRAKIT_EMAIL",
        metavar="EMAIL",
        help="Account email (Cloud) or username (Data Center).",
    ),
]
Token = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="JIRAKIT_API_TOKEN",
        metavar="TOKEN",
        help="API token (Cloud) or password.",
        show_default=False,
    ),
]
Pat = Annotated[
    str | None,
    typer.Option(
        "--pat",
        envvar="JIRAKIT_PAT",
        metavar="TOKEN",
        help="Personal access token (Data Center).",
        show_default=False,
    ),
]
FlavourOpt = Annotated[
    str | None,
    typer.Option(
        "--flavour",
        envvar="JIRAKIT_FLAVOUR",
        metavar="cloud|datacenter",
        help="Default: datacenter with a PAT, else asked of the site (serverInfo).",
    ),
]

SETTINGS = ("url", "email", "token", "pat", "flavour")
ENV_VARS = {
    "url": "JIRAKIT_URL",
    "email": "JIRAKIT_EMAIL",
    "token": "JIRAKIT_API_TOKEN",
    "pat": "JIRAKIT_PAT",
    "flavour": "JIRAKIT_FLAVOUR",
}


class FlavourMismatch(JiraError):
    """A Cloud-only path (``/rest/api/3``) answered 404 on a Data Center or Server site."""


@dataclass(frozen=True, slots=True)
class Resolved:
    """What a command connects with, after flags, profile and environment are merged."""

    url: str
    auth: BasicAuth | BearerAuth
    flavour: Flavour | None
    profile: Profile | None


@dataclass(frozen=True)
class Connection:
    """One command's connection settings, as given; `open()` makes the client.

    ``from_env`` names the settings that came from ``JIRAKIT_*`` variables rather than the
    command line: a profile outranks those, not flags."""

    url: str | None = None
    email: str | None = None
    token: str | None = None
    pat: str | None = None
    flavour: str | None = None
    profile: str | None = None
    from_env: frozenset[str] = field(default_factory=frozenset)

    def _flag(self, name: str) -> str | None:
        value: str | None = getattr(self, name)
        return None if name in self.from_env else value

    def _env(self, name: str) -> str | None:
        value: str | None = getattr(self, name)
        return value if name in self.from_env else None

    @functools.cached_property
    def chosen_profile(self) -> Profile | None:
        """The profile named by ``--profile``/``JIRAKIT_PROFILE``, else the file's default
        when no URL is given at all; None when there is neither."""
        if self.profile:
            return load().get(self.profile)
        if self.url:
            return None
        profiles = load()
        return profiles.get(profiles.default) if profiles.default else None

    @property
    def project(self) -> str | None:
        """The profile's default project, if any."""
        profile = self.chosen_profile
        return profile.project if profile else None

    def resolve(self) -> Resolved:
        profile = self.chosen_profile

        def pick(name: str) -> str | None:
            from_profile = getattr(profile, name, None) if profile else None
            return self._flag(name) or from_profile or self._env(name)

        url = pick("url")
        if not url:
            raise typer.BadParameter(
                "no site URL: pass --url, set JIRAKIT_URL, or use a profile (--profile)",
                param_hint="--url",
            )
        email, flavour = pick("email"), pick("flavour")
        if flavour is not None and flavour not in ("cloud", "datacenter"):
            raise typer.BadParameter("must be cloud or datacenter", param_hint="--flavour")
        auth: BasicAuth | BearerAuth
        if self._flag("pat"):
            auth = BearerAuth(str(self.pat))
        elif self._flag("token"):
            if not email:
                raise typer.BadParameter(
                    "--token needs --email (or JIRAKIT_EMAIL, or a profile's email)",
                    param_hint="--email",
                )
            auth = BasicAuth(email, str(self.token))
        elif profile is not None:
            auth = _profile_auth(profile, email, self._env("pat"), self._env("token"))
        elif self._env("pat"):
            auth = BearerAuth(str(self.pat))
        elif self.token and email:
            auth = BasicAuth(email, self.token)
        else:
            raise typer.BadParameter(
                "no credentials: pass --email and --token (or JIRAKIT_EMAIL and "
                "JIRAKIT_API_TOKEN), --pat (JIRAKIT_PAT), or use a profile (--profile)",
                param_hint="--token",
            )
        chosen: Flavour | None = None
        if flavour is not None:
            chosen = "cloud" if flavour == "cloud" else "datacenter"
        elif isinstance(auth, BearerAuth):
            chosen = "datacenter"
        return Resolved(url, auth, chosen, profile)

    def open(self, *, unreachable: Flavour | None = None) -> Jira:
        """A client for the resolved settings; the flavour asked of the site if not given.

        A site that cannot be reached raises `TransportError`; with ``unreachable``, the
        site is asked without the full retries, and the client is made with that flavour
        instead (`jirakit sync`: its run starts, fails on its own first request with its
        retries, and is recorded). Asked twice: one blip does not decide the flavour."""
        settings = self.resolve()
        flavour = settings.flavour
        if flavour is None:
            try:
                flavour = detect_flavour(settings.url, retry=unreachable is None)
            except TransportError:
                if unreachable is None:
                    raise
                flavour = unreachable
        return Jira(settings.url, auth=settings.auth, flavour=flavour)


def _profile_auth(
    profile: Profile, email: str | None, env_pat: str | None, env_token: str | None
) -> BasicAuth | BearerAuth:
    secret, tried = profile.token()
    secret = secret or (env_pat if profile.auth == "pat" else env_token)
    if not secret:
        flag = "--pat" if profile.auth == "pat" else "--token"
        raise typer.BadParameter(
            f"no token for profile {profile.name!r}: {tried}; set token_env in the profile, "
            f"store it with `jirakit config profile add {profile.name} --token-from-keyring`, "
            f"or pass {flag}",
            param_hint="--profile",
        )
    if profile.auth == "pat":
        return BearerAuth(secret)
    if not email:
        raise typer.BadParameter(
            f"profile {profile.name!r} uses an API token but has no email: add one "
            "(`jirakit config profile add ... --email`) or pass --email",
            param_hint="--email",
        )
    return BasicAuth(email, secret)


def _server_info_url(url: str) -> str:
    return f"{url.rstrip('/')}/rest/api/2/serverInfo"


def deployment_type(url: str, *, retry: bool = True) -> str | None:
    """The site's ``serverInfo.deploymentType`` (``Cloud``, ``Server``, ``DataCenter``),
    or None when the site does not answer it. Asked anonymously over ``/rest/api/2``,
    which both Cloud and Data Center serve, so it needs no flavour and no credentials.
    A site that cannot be reached raises `TransportError` (after retries, with ``retry``)."""
    # Without ``retry`` the site is still asked twice (one blip must not make a Data
    # Center site pass for Cloud), with a short pause, not the full policy.
    policy = RetryPolicy() if retry else RetryPolicy(max_attempts=2, backoff_max=1.0)
    with Jira(url, flavour="datacenter", retry=policy) as probe:
        try:
            return probe.server_info().deployment_type
        except (HTTPError, ResponseDecodeError):  # not a Jira answer: cannot tell
            return None


def detect_flavour(url: str, *, retry: bool = True) -> Flavour:
    """``cloud`` unless the site says it is Server or Data Center; a site that does not
    answer serverInfo is taken for Cloud (a 404 from ``/rest/api/3`` is then explained)."""
    kind = deployment_type(url, retry=retry)
    return "datacenter" if kind is not None and kind.casefold() != "cloud" else "cloud"


def explain_not_found(exc: NotFound) -> FlavourMismatch | None:
    """A `FlavourMismatch` when ``exc`` came from a Cloud-only ``/rest/api/3`` path of a
    site whose serverInfo says Server or Data Center; None for an honest 404."""
    base, sep, _ = exc.url.partition("/rest/api/3/")
    if not sep:
        return None
    try:
        kind = deployment_type(base)
    except JiraError:
        kind = None
    if kind is not None and kind.casefold() == "cloud":
        return None
    if kind is None and "null for uri" not in exc.message:
        return None
    said = f"its serverInfo says deploymentType {kind}" if kind else "it has no /rest/api/3"
    return FlavourMismatch(
        f"{exc} -- {base} looks like Jira Data Center or Server ({said}): "
        'pass --flavour datacenter (or flavour = "datacenter" in the profile)'
    )


_CONNECTION_PARAMS = [
    inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=hint)
    for name, hint in (
        ("profile", ProfileOpt),
        ("url", Url),
        ("email", Email),
        ("token", Token),
        ("pat", Pat),
        ("flavour", FlavourOpt),
    )
]


_CONTEXT = inspect.Parameter(
    "jirakit_ctx", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=typer.Context
)


def _from_env(ctx: typer.Context | None) -> frozenset[str]:
    """The settings whose value came from their environment variable."""
    if ctx is None:
        return frozenset()
    sources = {name: ctx.get_parameter_source(name) for name in SETTINGS}
    return frozenset(n for n, s in sources.items() if s is not None and s.name == "ENVIRONMENT")


def connected(*, first: bool = False) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Give a command the ``--profile/--url/--email/--token/--pat/--flavour`` options
    (after its own, or before them with `first`); the command takes them as one
    ``conn: Connection``. A 404 from a Cloud-only path of a Data Center site is explained."""

    def decorate(command: Callable[..., R]) -> Callable[..., R]:
        own = [
            p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
            for p in inspect.signature(command, eval_str=True).parameters.values()
            if p.name != "conn"
        ]
        params = [*_CONNECTION_PARAMS, *own] if first else [*own, *_CONNECTION_PARAMS]
        params.append(_CONTEXT)  # typer fills it in: where each setting came from

        @functools.wraps(command)
        def run(**kwargs: Any) -> R:
            settings = {p.name: kwargs.pop(p.name) for p in _CONNECTION_PARAMS}
            ctx = kwargs.pop(_CONTEXT.name, None)
            conn = Connection(**settings, from_env=_from_env(ctx))
            try:
                return command(conn=conn, **kwargs)
            except NotFound as exc:
                better = explain_not_found(exc)
                if better is None:
                    raise
                raise better from exc

        run.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in params}
        return run

    return decorate
