"""``jirakit serve`` and its housekeeping: ``tenants``, ``connections``, ``keys``.

Every command takes ``--db URL`` (else ``JIRAKIT_DB``, else ``sqlite:///jirakit-service.db``).
``tenants create`` and ``connections create`` print the new key / id as their last line.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (default: $JIRAKIT_DB or a SQLite file)."),
]

tenants_app = typer.Typer(name="tenants", help="Tenants of `jirakit serve`.", no_args_is_help=True)
connections_app = typer.Typer(
    name="connections", help="Customers' Jira connections.", no_args_is_help=True
)
keys_app = typer.Typer(
    name="keys", help="Encryption keys for stored credentials.", no_args_is_help=True
)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


@contextmanager
def _state(db: str | None) -> Iterator[Any]:
    from jirakit.errors import ConfigurationError
    from jirakit.service.config import load_settings
    from jirakit.service.db import migrate
    from jirakit.service.state import ServiceState

    try:
        settings = load_settings(**({"database_url": db} if db else {}))
        state = ServiceState.build(settings)
        migrate(state.engine)
    except ConfigurationError as exc:
        raise _fail(str(exc)) from None
    try:
        yield state
    finally:
        state.engine.dispose()


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    db: DbOption = None,
    jobs: Annotated[
        str | None,
        typer.Option(
            "--jobs",
            help="Background work as jobs: sqlite:///jobs.db (run here) or postgresql://... "
            "(run by `jirakit worker`); default $JIRAKIT_JOBS_URL, else this process's loop.",
        ),
    ] = None,
) -> None:
    """Serve the unified task API (FastAPI on uvicorn) until interrupted. To scale out, run
    several on one Postgres database (`--db postgresql://...`) behind a load balancer, with
    `--jobs postgresql://...` and `jirakit worker` processes doing the background work."""
    import logging

    import uvicorn

    from jirakit import _logging
    from jirakit.errors import ConfigurationError, redact_url
    from jirakit.service import create_app, load_settings

    overrides: dict[str, Any] = {"database_url": db} if db else {}
    if jobs:
        overrides["jobs_url"] = jobs
    try:
        settings = load_settings(**overrides)
        if settings.jobs_url and not settings.jobs_url.startswith(
            ("sqlite:///", "postgresql://", "postgres://")
        ):
            raise ConfigurationError(
                f"jobs URL {redact_url(settings.jobs_url)!r}: use sqlite:///path.db or "
                "postgresql://..."
            )
        app = create_app(settings)
        dashboard = _mount_dashboard(app)
    except ConfigurationError as exc:
        raise _fail(str(exc)) from None
    if settings.jobs_url and not settings.jobs_url.startswith("sqlite"):
        from jirakit.cli._extras import require_extra

        require_extra("serve --jobs postgresql://...", ("procrastinate",), "jobs")
    _logging.configure(logging.INFO)
    work = settings.jobs_url.split(":")[0] + " jobs" if settings.jobs_url else "in-process"
    typer.echo(
        f"jirakit serve on http://{host}:{port} ({settings.env}, "
        f"{settings.database_url.split(':')[0]}, background work: {work})"
    )
    typer.echo(
        f"dashboard on http://{host}:{port}/ui/"
        if dashboard
        else "no dashboard: pip install 'jirakit[ui]' to have it at /ui/"
    )
    from jirakit.service.server import config

    uvicorn.Server(config(app, host=host, port=port)).run()


def _mount_dashboard(app: Any) -> bool:
    """The web dashboard at ``/ui`` (`jirakit.ui.service.mount`), when the ui extra is
    installed. Mounted here, not in the service's app factory: the dashboard reads
    through the service, never the other way (DESIGN.md)."""
    try:
        from jirakit.ui.service import mount
    except ImportError:
        return False
    mount(app)
    return True


@tenants_app.command("create")
def tenants_create(
    name: Annotated[
        str, typer.Argument(help="The tenant's name (one of your app's environments).")
    ],
    db: DbOption = None,
) -> None:
    """Create a tenant; prints its API key (shown once) as the last line."""
    from jirakit.errors import ConfigurationError
    from jirakit.service.tenants import create_tenant

    with _state(db) as state:
        try:
            with state.sessions() as session, session.begin():
                tenant, key = create_tenant(session, name)
                tenant_id = tenant.id
        except ConfigurationError as exc:
            raise _fail(str(exc)) from None
        typer.echo(f"tenant {name} ({tenant_id}); its API key, shown only now:", err=True)
        typer.echo(key)


@tenants_app.command("list")
def tenants_list(db: DbOption = None) -> None:
    """List tenants."""
    from sqlalchemy import select

    from jirakit.service.models import Tenant

    with _state(db) as state, state.sessions() as session:
        for tenant in session.scalars(select(Tenant).order_by(Tenant.name)):
            typer.echo(f"{tenant.id}\t{tenant.name}")


@connections_app.command("create")
def connections_create(
    tenant: Annotated[str, typer.Option(help="The tenant's name.")],
    kind: Annotated[str, typer.Option(help="api_token (Cloud) or pat (Data Center).")],
    site: Annotated[str, typer.Option(help="The Jira site, e.g. https://acme.atlassian.net.")],
    token: Annotated[str, typer.Option(help="The API token or PAT.", envvar="JIRAKIT_JIRA_TOKEN")],
    email: Annotated[str | None, typer.Option(help="The account's email (api_token).")] = None,
    external_xref: Annotated[str | None, typer.Option(help="Your own reference.")] = None,
    verify: Annotated[bool, typer.Option(help="Check the credentials with Jira first.")] = True,
    db: DbOption = None,
) -> None:
    """Connect a Jira site for a tenant; prints the connection id as the last line."""
    import asyncio

    from jirakit.errors import ConfigurationError, JiraError
    from jirakit.service.connections import build_connection
    from jirakit.service.connections import verify as check
    from jirakit.service.tenants import find_tenant

    if kind not in ("api_token", "pat"):
        raise _fail("--kind must be api_token or pat (OAuth connections come through consent)")
    with _state(db) as state:
        try:
            with state.sessions() as session:
                tenant_id = find_tenant(session, tenant).id
            conn = build_connection(
                state, tenant_id, kind, site=site, email=email, token=token,
                external_xref=external_xref,
            )  # fmt: skip
            if verify:
                asyncio.run(check(state, conn))
            with state.sessions() as session, session.begin():
                session.add(conn)
        except ConfigurationError as exc:
            raise _fail(str(exc)) from None
        except JiraError as exc:
            raise _fail(f"Jira refused the credentials: {exc}") from None
        typer.echo(f"connection to {conn.site} for tenant {tenant}:", err=True)
        typer.echo(conn.id)


@connections_app.command("list")
def connections_list(
    tenant: Annotated[str, typer.Option(help="The tenant's name.")], db: DbOption = None
) -> None:
    """List a tenant's connections and their health."""
    from sqlalchemy import select

    from jirakit.errors import ConfigurationError
    from jirakit.service.models import Connection
    from jirakit.service.tenants import find_tenant

    with _state(db) as state:
        try:
            with state.sessions() as session:
                tenant_id = find_tenant(session, tenant).id
                for c in session.scalars(
                    select(Connection).where(Connection.tenant_id == tenant_id)
                ):
                    typer.echo(f"{c.id}\t{c.kind}\t{c.status}\t{c.site}")
        except ConfigurationError as exc:
            raise _fail(str(exc)) from None


@connections_app.command("webhook-secret")
def connections_webhook_secret(
    connection_id: Annotated[str, typer.Argument(help="The connection's id.")],
    secret: Annotated[
        str | None,
        typer.Option(
            help="The secret its Jira admin webhooks are registered with.",
            envvar="JIRAKIT_JIRA_WEBHOOK_SECRET",
        ),
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the secret.")] = False,
    db: DbOption = None,
) -> None:
    """Set the HMAC secret that admin webhooks of this connection sign with (they post to
    /webhooks/jira/<connection_id>); OAuth dynamic webhooks need none."""
    from jirakit.service.inbound import set_webhook_secret

    if not clear and not secret:
        raise _fail("give --secret (or JIRAKIT_JIRA_WEBHOOK_SECRET), or --clear")
    with _state(db) as state:
        try:
            set_webhook_secret(state, connection_id, None if clear else secret)
        except KeyError:
            raise _fail(f"no connection {connection_id!r}") from None
    typer.echo(f"connection {connection_id}: webhook secret {'removed' if clear else 'set'}")


@keys_app.command("generate")
def keys_generate() -> None:
    """Print a new encryption key (put it first in JIRAKIT_ENCRYPTION_KEYS)."""
    from jirakit.service.crypto import generate_key

    typer.echo(generate_key())


@keys_app.command("rotate")
def keys_rotate(db: DbOption = None) -> None:
    """Re-encrypt every stored secret under the first key of JIRAKIT_ENCRYPTION_KEYS."""
    from jirakit.errors import ConfigurationError
    from jirakit.service.crypto_rotate import rotate_all

    with _state(db) as state:
        try:
            counts = rotate_all(state)
        except ConfigurationError as exc:
            raise _fail(str(exc)) from None
        typer.echo(", ".join(f"{n} {what}" for what, n in counts.items()) + " re-encrypted")
