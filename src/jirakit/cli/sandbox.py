"""``jirakit sandbox ...``: run the local Jira emulator."""

from __future__ import annotations

import errno
import socket
from pathlib import Path
from typing import Annotated, Any

import typer

from jirakit.cli._root import error_line

sandbox_app = typer.Typer(
    name="sandbox",
    help="A local Jira Cloud / Data Center emulator (seeded, in memory).",
    no_args_is_help=True,
)


def _bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (0: any free port), handed to uvicorn as is, so
    the port printed is the port served. A port in use (or a host that cannot be bound)
    exits at once with one line on stderr naming it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP: asyncio disables Nagle only on sockets that say they are TCP.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            message = (
                f"port {port} on {host} is already in use; "
                "pass another with --port (or --port 0 for any free port)"
            )
        else:
            message = f"cannot listen on {host}:{port}: {exc.strerror or exc}"
        raise error_line(message, 1) from None
    return sock


@sandbox_app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0 = any free port).")] = 8080,
    issues: Annotated[int, typer.Option(help="Number of seeded issues.")] = 200,
    projects: Annotated[int, typer.Option(help="Number of seeded projects.")] = 3,
    seed: Annotated[int, typer.Option(help="Generator seed (same seed, same org).")] = 0,
    flavour: Annotated[str, typer.Option(help="cloud or datacenter.")] = "cloud",
    search_lag: Annotated[
        float, typer.Option("--search-lag", help="Seconds before changes are visible to search.")
    ] = 0.0,
    data: Annotated[
        Path | None,
        typer.Option(help="State file: loaded if it exists, written on shutdown."),
    ] = None,
    legacy_search: Annotated[
        bool, typer.Option("--legacy-search", help="Serve the removed /rest/api/3/search on Cloud.")
    ] = False,
    admin_email: Annotated[
        str, typer.Option(help="The seeded admin's email.")
    ] = "admin@example.com",
    api_token: Annotated[str, typer.Option(help="The seeded API token.")] = "sandbox-token",
    rate_limit: Annotated[
        float | None,
        typer.Option(
            "--rate-limit", help="Requests per second per tenant + endpoint (429s above)."
        ),
    ] = None,
    points_per_hour: Annotated[
        int | None,
        typer.Option(
            "--points-per-hour",
            help="The hourly points quota of OAuth apps (Jira's default tier: 65000); 429s when spent.",
        ),
    ] = None,
    points_pool: Annotated[
        str,
        typer.Option(
            "--points-pool",
            help="global: one pool per app for all its sites (Tier 1); site: one per site (Tier 2).",
        ),
    ] = "global",
    points_window: Annotated[
        float, typer.Option("--points-window", help="Seconds in a points window.")
    ] = 3600.0,
    latency: Annotated[
        str | None, typer.Option(help="Added latency per request, MIN_MS-MAX_MS (e.g. 50-150).")
    ] = None,
    faults: Annotated[
        str | None,
        typer.Option(help="Fault spec, e.g. 429=0.05,503=0.02,reset=0.01 (see docs/sandbox.md)."),
    ] = None,
    tls: Annotated[
        bool, typer.Option("--tls", help="Serve https with a self-signed certificate.")
    ] = False,
) -> None:
    """Serve a seeded Jira sandbox until interrupted."""
    import logging
    import tempfile

    sock = _bind(host, port)  # first: a busy port is one line, before any banner

    from jirakit.sandbox import Sandbox
    from jirakit.sandbox.faults import FaultLogFilter, FaultSpec, FaultSpecError, parse_latency
    from jirakit.sandbox.serve import make_server
    from jirakit.sandbox.tls import make_self_signed

    if flavour not in ("cloud", "datacenter"):
        raise typer.BadParameter("must be cloud or datacenter", param_hint="--flavour")
    try:
        spec = FaultSpec.parse(faults) if faults else None
    except FaultSpecError as exc:
        raise typer.BadParameter(str(exc), param_hint="--faults") from None
    try:
        pause = parse_latency(latency) if latency else None
    except (FaultSpecError, ValueError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--latency") from None
    if rate_limit is not None and rate_limit <= 0:
        raise typer.BadParameter("must be > 0", param_hint="--rate-limit")
    if points_per_hour is not None and points_per_hour < 1:
        raise typer.BadParameter("must be >= 1 points", param_hint="--points-per-hour")
    if points_pool not in ("global", "site"):
        raise typer.BadParameter("must be global or site", param_hint="--points-pool")
    if not points_window > 0:
        raise typer.BadParameter("must be > 0 seconds", param_hint="--points-window")
    if points_per_hour is not None and flavour != "cloud":
        raise typer.BadParameter(
            "the points quota meters OAuth apps, which only Cloud has",
            param_hint="--points-per-hour",
        )
    behaviour: dict[str, Any] = {
        "flavour": flavour,
        "search_lag": search_lag,
        "legacy_search": legacy_search,
        "admin_email": admin_email,
        "api_token": api_token,
        "rate_limit": rate_limit,
        "points_per_hour": points_per_hour,
        "points_pool": points_pool,
        "points_window": points_window,
        "faults": spec,
        "latency": pause,
        "fault_seed": seed,
    }
    if data is not None and data.exists():
        sandbox = Sandbox.load(data, **behaviour)
        origin = f"loaded from {data}"
    else:
        sandbox = Sandbox(seed=seed, issues=issues, projects=projects, **behaviour)
        origin = f"seed {seed}, {issues} issues, {projects} projects"
    port = int(sock.getsockname()[1])
    files = make_self_signed(Path(tempfile.mkdtemp(prefix="jirakit-tls-"))) if tls else None
    shown = f"[{host}]" if ":" in host else host
    url = f"{'https' if tls else 'http'}://{shown}:{port}"
    typer.echo(f"Jira sandbox ({flavour}, {origin})")
    typer.echo(f"  base URL:  {url}")
    typer.echo(f"  email:     {admin_email}")
    typer.echo(f"  API token: {api_token}")
    if flavour == "datacenter":
        typer.echo(f"  PAT:       {api_token}  (Authorization: Bearer ...)")
    if files is not None:
        typer.echo(f"  CA certificate: {files.ca}")
        typer.echo(f"  (clients: REQUESTS_CA_BUNDLE={files.ca} SSL_CERT_FILE={files.ca})")
    if sandbox.oauth is not None:
        typer.echo(
            "  OAuth 2.0: client sandbox-client / sandbox-secret at /authorize, /oauth/token"
        )
    if points_per_hour is not None:
        typer.echo(
            f"  points:    {points_per_hour} per {points_window:g} s, {points_pool} pool "
            f"(OAuth traffic only; state at {url}/_jirakit/points)"
        )
    if spec is not None or pause is not None:
        logging.getLogger("uvicorn.error").addFilter(FaultLogFilter())
    server = make_server(sandbox.app, host, port, log_level="info", tls=files)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        if data is not None:
            sandbox.save(data)
            typer.echo(f"state saved to {data}")
