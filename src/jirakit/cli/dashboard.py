"""`jirakit dashboard`: the web dashboard over one warehouse, with no service running.

Project health, syncs and schema drift, read from the warehouse `jirakit sync` fills
(``--dest`` and ``--dataset`` as for `jirakit sync` and `jirakit sql`), read-only. It
listens on 127.0.0.1 by default, with no login: on the loopback interface only the
machine's own users can reach it, and only through a loopback host name. Bound to any
other interface it needs a token (``JIRAKIT_DASHBOARD_TOKEN``, or ``--token``, which
other users of the machine can see in the process list), typed once into a login form.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated

import typer

from jirakit.cli._extras import require_extra
from jirakit.cli._root import error_line

__all__ = ["dashboard", "is_loopback"]

DEFAULT_PORT = 8050


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) is a loopback interface."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def dashboard(
    dest: Annotated[
        str | None,
        typer.Option(
            help="The warehouse: duckdb:///file.duckdb (default jira.duckdb) or postgresql://..."
        ),
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option(help="Dataset (schema) the sync wrote; main on DuckDB, jira on Postgres."),
    ] = None,
    host: Annotated[
        str,
        typer.Option(help="Interface to listen on; anything but loopback needs a token."),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to listen on (0: any free port).")
    ] = DEFAULT_PORT,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="JIRAKIT_DASHBOARD_TOKEN",
            help="Login token (16+ characters); required off loopback. Prefer the "
            "environment variable: a command line is visible to other users.",
            show_default=False,
        ),
    ] = None,
    ssl_certfile: Annotated[
        Path | None, typer.Option(help="Serve https with this certificate (PEM).")
    ] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option(help="The certificate's key (PEM).")] = None,
    poll: Annotated[
        float,
        typer.Option(min=0.2, max=60.0, help="Seconds between the syncs page's refreshes."),
    ] = 2.0,
) -> None:
    """Serve the web dashboard (project health, syncs, schema drift) over a warehouse."""
    require_extra("dashboard", ("jinja2", "duckdb", "psycopg"), extra="ui")
    from jirakit.cli.sandbox import _bind
    from jirakit.sync.destination import DestinationError, warehouse_for
    from jirakit.ui import (
        LOOPBACK_HOSTS,
        Providers,
        TokenAccess,
        UiSettings,
        WarehouseSource,
        create_app,
    )
    from jirakit.ui.warehouse import _one_line

    try:
        warehouse = warehouse_for(dest, dataset)
    except DestinationError as exc:
        raise error_line(str(exc), 2) from None
    if warehouse.dialect not in ("duckdb", "postgres"):
        raise error_line(
            f"the dashboard reads DuckDB or Postgres warehouses, not {warehouse.dialect!r}: "
            "pass --dest duckdb:///file.duckdb or --dest postgresql://...",
            2,
        )
    loopback = is_loopback(host)
    if token is not None and not token.strip():
        token = None
    if not loopback and token is None:
        raise error_line(
            f"--host {host} lets other machines reach the dashboard: set a login token "
            "in JIRAKIT_DASHBOARD_TOKEN (16+ characters, e.g. from python -c 'import secrets; "
            "print(secrets.token_urlsafe())'), or keep the default --host 127.0.0.1",
            2,
        )
    try:
        access = TokenAccess(token) if token is not None else None
    except ValueError as exc:
        raise error_line(str(exc), 2) from None
    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise error_line("--ssl-certfile and --ssl-keyfile go together", 2)

    source = WarehouseSource(warehouse)
    if warehouse.dialect == "duckdb":
        if not source.path.parent.is_dir():
            raise error_line(f"the folder of {source.path} does not exist", 1)
        if not source.path.is_file():
            typer.echo(
                f"{source.path} does not exist yet: the pages fill in once `jirakit sync` writes it.",
                err=True,
            )
    else:
        import psycopg

        try:
            with psycopg.connect(warehouse.conninfo(), connect_timeout=5):
                pass
        except psycopg.Error as exc:
            raise error_line(f"cannot reach Postgres: {_one_line(exc)}", 1) from None

    sock = _bind(host, port)
    # Listening before the address is printed: a browser opening it at once waits in the
    # backlog while the server starts, instead of being refused.
    sock.listen(128)
    import uvicorn

    app = create_app(
        Providers(analytics=source, sync_runs=source, drift=source),
        access=access,
        settings=UiSettings(source=source.describe(), poll_seconds=poll),
        # Without a login, answer only to loopback names (no DNS rebinding).
        hosts=LOOPBACK_HOSTS if access is None else None,
    )
    scheme = "https" if ssl_certfile else "http"
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    if bound_host in ("0.0.0.0", "::"):
        shown = "<this machine's address>"
    typer.echo(
        f"Dashboard of {source.describe()} at {scheme}://{shown}:{bound_port}/ "
        f"({'log in with the token' if access else 'no login: loopback only'}; Ctrl-C stops it)",
        err=False,
    )
    if access is not None and scheme == "http":
        typer.echo(
            "Warning: plain http sends the token and the session cookie unencrypted over the "
            "network; give --ssl-certfile/--ssl-keyfile, or put a TLS proxy in front.",
            err=True,
        )
    config = uvicorn.Config(
        app,
        log_level=os.environ.get("JIRAKIT_DASHBOARD_LOG", "warning"),
        ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
        ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
        server_header=False,
    )
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
