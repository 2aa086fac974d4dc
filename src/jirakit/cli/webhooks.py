"""``jirakit webhooks ...``: receive Jira webhooks into a durable inbox, and manage them."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from jirakit.cli._connect import Connection, connected
from jirakit.cli.sync import parse_duration

if TYPE_CHECKING:
    from jirakit.client import Jira
    from jirakit.webhooks.runtime import ServeOptions

webhooks_app = typer.Typer(
    name="webhooks",
    help="Receive Jira webhooks (verify, dedupe, durable inbox, ordered apply) and manage them.",
    no_args_is_help=True,
)

DEFAULT_STORE = "sqlite:///inbox.db"
Store = Annotated[
    str,
    typer.Option(
        "--store",
        envvar="JIRAKIT_WEBHOOK_STORE",
        help="The inbox: sqlite:///inbox.db or postgresql://user@host/db.",
    ),
]


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _since(text: str, option: str = "--since") -> int:
    """``2h`` (that long ago) or an ISO date/time (UTC unless it says) as epoch ms."""
    text = text.strip()
    try:
        ago = parse_duration(text)
    except typer.BadParameter:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise typer.BadParameter(
                "a duration ago (30m, 2h, 7d) or an ISO time (2026-03-01T09:00)",
                param_hint=option,
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    return int((datetime.now(UTC) - ago).timestamp() * 1000)


def _open_inbox(store: str) -> Any:
    from jirakit.webhooks.store import Inbox

    try:
        return Inbox(store)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--store") from None


@webhooks_app.command()
@connected()
def serve(
    conn: Connection,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind (0 = any free port).")] = 8080,
    store: Store = DEFAULT_STORE,
    secret: Annotated[
        list[str] | None,
        typer.Option(
            "--secret",
            help="Admin-webhook HMAC secret (repeat for rotation; also "
            "JIRAKIT_WEBHOOK_SECRET, comma-separated).",
            show_default=False,
        ),
    ] = None,
    jwt_secret: Annotated[
        list[str] | None,
        typer.Option(
            "--jwt-secret",
            help="The app's shared secret for dynamic webhooks' JWTs (repeat for rotation; "
            "also JIRAKIT_WEBHOOK_JWT_SECRET).",
            show_default=False,
        ),
    ] = None,
    app_key: Annotated[
        str | None, typer.Option(help="Expected JWT 'aud' (the app key / OAuth client id).")
    ] = None,
    issuer: Annotated[
        list[str] | None, typer.Option("--issuer", help="Accepted JWT 'iss' (client keys).")
    ] = None,
    allow_unsigned: Annotated[
        bool,
        typer.Option("--allow-unsigned", help="Accept deliveries without any signature (unsafe)."),
    ] = False,
    dest: Annotated[
        str | None,
        typer.Option(
            help="Keep a sync's warehouse current: duckdb:///file.duckdb or postgres://... "
            "(needs --url and credentials: issues are re-read, as a sync reads them)."
        ),
    ] = None,
    dataset: Annotated[
        str | None, typer.Option(help="Warehouse dataset (as given to jirakit sync).")
    ] = None,
    forward: Annotated[
        list[str] | None, typer.Option("--forward", help="Forward every event to this URL.")
    ] = None,
    forward_secret: Annotated[
        str | None,
        typer.Option(
            envvar="JIRAKIT_WEBHOOK_FORWARD_SECRET",
            help="Sign forwards (Standard Webhooks, whsec_...).",
            show_default=False,
        ),
    ] = None,
    max_body: Annotated[int, typer.Option(min=1, help="Largest body accepted, in bytes.")] = 10
    * 1024
    * 1024,
    retention: Annotated[
        str, typer.Option(help="Purge applied deliveries older than this (e.g. 30d; 0 keeps).")
    ] = "30d",
    virtual: Annotated[
        bool,
        typer.Option(
            "--virtual",
            help="Poll Jira for changes (virtual webhooks) where it cannot push (needs --url).",
        ),
    ] = False,
    jql: Annotated[
        str | None, typer.Option(help="Scope of --virtual polling and catch-up, e.g. project = ENG")
    ] = None,
    poll_interval: Annotated[
        str, typer.Option(help="Virtual webhooks: time between polls.")
    ] = "60s",
    lookback: Annotated[
        str, typer.Option(help="Virtual webhooks and catch-up: how far each read looks back.")
    ] = "2m",
    synchronous: Annotated[
        str, typer.Option(help="SQLite durability: FULL (power loss) or NORMAL (process crash).")
    ] = "FULL",
    process: Annotated[
        bool,
        typer.Option(
            "--process/--no-process",
            help="Apply deliveries here too (--no-process: only store them; run "
            "'jirakit webhooks work' on the same store to apply them).",
        ),
    ] = True,
) -> None:
    """Receive Jira webhooks on POST /webhooks/jira until interrupted."""
    from jirakit._logging import configure
    from jirakit.webhooks.runtime import ServeOptions, build_receiver
    from jirakit.webhooks.serve import run

    configure()
    keep = parse_duration(retention) if retention.strip() not in ("0", "") else None
    options = ServeOptions(
        store=store,
        secrets=list(secret or ()),
        jwt_secrets=list(jwt_secret or ()),
        app_key=app_key,
        issuers=list(issuer or ()),
        allow_unsigned=allow_unsigned,
        dest=dest,
        dataset=dataset,
        forward=list(forward or ()),
        forward_secret=forward_secret,
        max_body=max_body,
        retention=keep,
        virtual=virtual,
        jql=jql,
        poll_interval=parse_duration(poll_interval).total_seconds(),
        lookback=parse_duration(lookback),
        synchronous=synchronous,
    )
    _check(options, conn)
    jira = _governed(conn.open()) if conn.url else None
    try:
        receiver = build_receiver(options, jira, role="all" if process else "ingest")
    except ValueError as exc:
        _fail(str(exc))
        return

    def ready(url: str) -> None:
        typer.echo(f"jirakit webhooks: POST {url}/webhooks/jira (inbox {store})", err=True)

    try:
        run(receiver.app, host, port, on_ready=ready)
    finally:
        receiver.close()
        if jira is not None:
            jira.close()


def _governed(jira: Jira) -> Jira:
    """Fetch-on-notify spends the app's points budget (OAuth sites) at webhook priority,
    through the governor ``JIRAKIT_GOVERNOR`` names (`jirakit.jobs.budget`)."""
    if jira.base_url:
        from jirakit.jobs.budget import Priority, governed_handle

        jira.governor = governed_handle(jira.base_url, jira.base_url, Priority.WEBHOOK)
    return jira


def _check(options: ServeOptions, conn: Connection) -> None:
    if (options.dest or options.virtual) and not conn.url:
        what = "--dest" if options.dest else "--virtual"
        raise typer.BadParameter(
            f"{what} reads issues from Jira: pass --url and credentials too", param_hint=what
        )


@webhooks_app.command()
def inbox(
    store: Store = DEFAULT_STORE,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a line.")] = False,
    status: Annotated[
        str | None, typer.Option(help="Only accepted, applied or rejected deliveries.")
    ] = None,
    since: Annotated[str | None, typer.Option(help="Received since (30m, 2h, or ISO).")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many.")] = None,
) -> None:
    """Print what the inbox holds, oldest first."""
    if status is not None and status not in ("accepted", "applied", "rejected"):
        raise typer.BadParameter("one of accepted, applied, rejected", param_hint="--status")
    box = _open_inbox(store)
    try:
        rows = box.deliveries(status=status, since_ms=_since(since) if since else None, limit=limit)
    finally:
        box.close()
    out = sys.stdout
    for row in rows:
        summary = row.summary()
        if as_json:
            out.write(json.dumps(summary, separators=(",", ":")) + "\n")
        else:
            at = datetime.fromtimestamp(row.received_ms / 1000, UTC).isoformat(timespec="seconds")
            issue = row.issue_key or (row.issue_id if row.issue_id is not None else "")
            detail = row.outcome or ""
            out.write(
                f"{at}  {row.status:<8} {detail:<12} {row.event or '?':<28} {issue!s:<12} "
                f"{row.delivery_id}\n"
            )


@webhooks_app.command()
def replay(
    since: Annotated[str, typer.Option(help="Received since (30m, 2h, 7d, or ISO).")],
    store: Store = DEFAULT_STORE,
    until: Annotated[str | None, typer.Option(help="Received before (ISO or ago).")] = None,
    event: Annotated[
        list[str] | None, typer.Option("--event", help="Only these webhookEvent names.")
    ] = None,
) -> None:
    """Run stored deliveries through the consumers again.

    The running receiver picks them up; ordering still never lets an older state
    overwrite a newer one."""
    box = _open_inbox(store)
    try:
        n = box.replay(
            since_ms=_since(since),
            until_ms=_since(until, "--until") if until else None,
            events=list(event or ()),
        )
    finally:
        box.close()
    typer.echo(f"{n} deliveries queued for replay")


@webhooks_app.command()
def purge(
    older_than: Annotated[str, typer.Option(help="Delete what was received before this ago.")],
    store: Store = DEFAULT_STORE,
) -> None:
    """Delete applied and rejected deliveries received before the cutoff.

    Old journal rows, sent forwards and tombstones go too; deliveries not yet applied
    are never purged."""
    box = _open_inbox(store)
    try:
        counts = box.purge(older_than_ms=_since(older_than, "--older-than"))
    finally:
        box.close()
    typer.echo(", ".join(f"{n} {what}" for what, n in counts.items()) + " purged")


ISSUE_EVENTS = ["jira:issue_created", "jira:issue_updated", "jira:issue_deleted"]


@webhooks_app.command()
@connected()
def register(
    conn: Connection,
    target: Annotated[
        str, typer.Option(help="The receiver's URL, e.g. https://host/webhooks/jira")
    ],
    jql: Annotated[str, typer.Option(help="Which issues (dynamic webhooks: a JQL subset).")],
    event: Annotated[
        list[str] | None,
        typer.Option("--event", help="Event names (default: issue created/updated/deleted)."),
    ] = None,
    admin: Annotated[
        bool, typer.Option("--admin", help="An admin webhook (site admins, Data Center).")
    ] = False,
    name: Annotated[str, typer.Option(help="Admin webhook name.")] = "jirakit",
    secret: Annotated[
        str | None,
        typer.Option(
            envvar="JIRAKIT_WEBHOOK_SECRET",
            help="Admin webhook secret (Jira signs each delivery with it).",
            show_default=False,
        ),
    ] = None,
    store: Store = DEFAULT_STORE,
) -> None:
    """Register a webhook: dynamic (the app's, expires in 30 days) or --admin."""
    from jirakit.webhooks.registration import AdminWebhooks, UnsupportedWebhook
    from jirakit.webhooks.registration import register as register_dynamic

    events = list(event or ISSUE_EVENTS)
    with conn.open() as jira:
        if admin:
            made = AdminWebhooks(jira).create(
                name, target, events, jql=jql, secret=(secret or "").split(",")[0] or None
            )
            typer.echo(f"admin webhook {str(made.get('self', '')).rsplit('/', 1)[-1]} registered")
            return
        box = _open_inbox(store)
        try:
            results = register_dynamic(
                jira, target, [{"jqlFilter": jql, "events": events}], inbox=box
            )
        except UnsupportedWebhook as exc:
            _fail(str(exc))
            return
        finally:
            box.close()
    for r in results:
        if r.ok:
            typer.echo(f"dynamic webhook {r.id} registered (expires in 30 days: refresh it)")
        else:
            _fail("Jira refused the webhook: " + "; ".join(r.errors))


@webhooks_app.command(name="list")
@connected()
def list_webhooks(conn: Connection) -> None:
    """List the app's dynamic webhooks with their expiry."""
    with conn.open() as jira:
        for hook in jira.webhooks.list():
            expires = hook.expires.isoformat(timespec="minutes") if hook.expires else "-"
            typer.echo(f"{hook.id}  expires {expires}  {','.join(hook.events)}  {hook.jql}")


@webhooks_app.command()
@connected()
def delete(
    conn: Connection,
    ids: Annotated[list[int], typer.Argument(help="Dynamic webhook ids.")],
) -> None:
    """Delete dynamic webhooks of the app."""
    with conn.open() as jira:
        jira.webhooks.delete(ids)
    typer.echo(f"{len(ids)} webhooks deleted")


@webhooks_app.command()
@connected()
def refresh(
    conn: Connection,
    within: Annotated[
        str, typer.Option(help="Refresh when one expires within this (e.g. 7d); 0 always.")
    ] = "7d",
    store: Store = DEFAULT_STORE,
) -> None:
    """Extend the app's dynamic webhooks before their 30-day expiry."""
    from datetime import timedelta

    from jirakit.webhooks.registration import refresh as refresh_hooks

    window = timedelta(days=36500) if within.strip() == "0" else parse_duration(within)
    box = _open_inbox(store)
    try:
        with conn.open() as jira:
            result = refresh_hooks(jira, within=window, inbox=box)
    finally:
        box.close()
    if not result.refreshed:
        typer.echo(f"nothing due ({len(result.skipped)} webhooks expire later)")
        return
    assert result.expires is not None
    typer.echo(
        f"{len(result.refreshed)} webhooks refreshed until "
        f"{result.expires.isoformat(timespec='minutes')}"
    )


@webhooks_app.command()
@connected()
def work(
    conn: Connection,
    store: Store = DEFAULT_STORE,
    dest: Annotated[
        str | None, typer.Option(help="Keep a sync's warehouse current (as serve --dest).")
    ] = None,
    dataset: Annotated[str | None, typer.Option(help="Warehouse dataset.")] = None,
    forward: Annotated[
        list[str] | None, typer.Option("--forward", help="Forward every event to this URL.")
    ] = None,
    forward_secret: Annotated[
        str | None,
        typer.Option(envvar="JIRAKIT_WEBHOOK_FORWARD_SECRET", show_default=False),
    ] = None,
    retention: Annotated[
        str, typer.Option(help="Purge applied deliveries older than this.")
    ] = "30d",
) -> None:
    """Apply what 'serve --no-process' stores: consumers, forwards, loads, recovery."""
    import signal
    import threading

    from jirakit._logging import configure
    from jirakit.webhooks.runtime import ServeOptions, build_receiver

    configure()
    options = ServeOptions(
        store=store,
        dest=dest,
        dataset=dataset,
        forward=list(forward or ()),
        forward_secret=forward_secret,
        retention=parse_duration(retention) if retention.strip() not in ("0", "") else None,
        allow_unsigned=True,  # nothing is received here
    )
    _check(options, conn)
    jira = _governed(conn.open()) if conn.url else None
    try:
        receiver = build_receiver(options, jira, role="work")
    except ValueError as exc:
        _fail(str(exc))
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    receiver.start()
    typer.echo(f"jirakit webhooks: applying deliveries from {store}", err=True)
    try:
        stop.wait()
    finally:
        receiver.close()
        if jira is not None:
            jira.close()
