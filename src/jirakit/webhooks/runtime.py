"""Building a configured `Receiver` from options (``jirakit webhooks serve``, and later the
sync's ``--listen`` and the service): consumers, fetch-on-notify, recovery, polling."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from jirakit.webhooks.app import DEFAULT_MAX_BODY
from jirakit.webhooks.receiver import Receiver
from jirakit.webhooks.store import now_ms
from jirakit.webhooks.verification import Secrets

if TYPE_CHECKING:
    from jirakit.client import Jira

__all__ = ["ServeOptions", "build_receiver"]


@dataclass(frozen=True)
class ServeOptions:
    """Everything ``jirakit webhooks serve`` can be told (see its ``--help``)."""

    store: str = "sqlite:///inbox.db"
    secrets: list[str] = field(default_factory=list)
    jwt_secrets: list[str] = field(default_factory=list)
    app_key: str | None = None
    issuers: list[str] = field(default_factory=list)
    allow_unsigned: bool = False
    dest: str | None = None
    dataset: str | None = None
    forward: list[str] = field(default_factory=list)
    forward_secret: str | None = None
    max_body: int = DEFAULT_MAX_BODY
    retention: timedelta | None = timedelta(days=30)
    virtual: bool = False
    jql: str | None = None
    poll_interval: float = 60.0
    lookback: timedelta = timedelta(minutes=2)
    synchronous: str = "FULL"
    pipelines_dir: str | None = None
    recover_interval: float = 300.0
    refresh_interval: float = 12 * 3600.0
    refresh_within: timedelta = timedelta(days=7)
    heartbeat_interval: float = 30.0


def build_receiver(
    options: ServeOptions, jira: Jira | None = None, *, role: str = "all"
) -> Receiver:
    """A `Receiver` with every consumer and job ``options`` ask for (not started).

    ``role``: ``all`` (receive and apply), ``ingest`` (receive only: ``serve
    --no-process``), or ``work`` (apply, forward, load, recover, poll: ``jirakit webhooks
    work``, beside one or more ingesting processes on the same store)."""
    if role not in ("all", "ingest", "work"):
        raise ValueError("role is all, ingest or work")
    secrets = Secrets.from_env(
        hmac=options.secrets,
        jwt=options.jwt_secrets,
        app_key=options.app_key,
        issuers=tuple(options.issuers),
        allow_unsigned=options.allow_unsigned,
    )
    if options.virtual and jira is None:
        raise ValueError("virtual webhooks poll Jira: give the site and credentials")
    # Polling alone: nothing is pushed here unless secrets say pushes are expected too.
    push = (not options.virtual or secrets.configured or secrets.allow_unsigned) and role != "work"
    receiver = Receiver(
        options.store,
        secrets,
        max_body=options.max_body,
        synchronous=options.synchronous,
        push=push,
        process=role != "ingest",
    )
    if role == "ingest":
        return receiver
    for url in options.forward:
        receiver.forward(url, secret=options.forward_secret)
    if options.dest is not None:
        if jira is None:
            raise ValueError("--dest re-reads issues from Jira: give the site and credentials")
        from jirakit.webhooks.warehouse import attach_warehouse

        attach_warehouse(
            receiver, jira, options.dest, options.dataset, pipelines_dir=options.pipelines_dir
        )
    if jira is not None:
        _recovery_jobs(receiver, jira, options)
    if options.retention is not None:
        keep_ms = int(options.retention.total_seconds() * 1000)

        def purge() -> None:
            receiver.inbox.purge(older_than_ms=now_ms() - keep_ms)

        receiver.add_job("purge", purge, 3600.0)
    return receiver


def _recovery_jobs(receiver: Receiver, jira: Jira, options: ServeOptions) -> None:
    """Failed-delivery recovery, refresh of dynamic webhooks, and either virtual polling
    or a catch-up on start with a heartbeat while running."""
    from jirakit.webhooks.recovery import catch_up, heartbeat, last_heartbeat, recover_failed
    from jirakit.webhooks.registration import refresh
    from jirakit.webhooks.virtual import VirtualWebhooks

    inbox = receiver.inbox
    wake = receiver.wake

    def recover() -> None:
        if recover_failed(jira, inbox):
            wake()

    def refresh_due() -> None:
        refresh(jira, within=options.refresh_within, inbox=inbox)

    receiver.add_job("recover", recover, options.recover_interval)
    if jira.flavour == "cloud":
        receiver.add_job("refresh", refresh_due, options.refresh_interval)
    if options.virtual:
        poller = VirtualWebhooks(jira, inbox, jql=options.jql, lookback=options.lookback)

        def poll() -> None:
            if poller.poll().emitted:
                wake()

        receiver.add_job("poll", poll, options.poll_interval)
        return
    since = last_heartbeat(inbox)  # read before this run writes its own
    done = {"caught_up": since is None}

    def beat() -> None:
        if not done["caught_up"]:
            result = catch_up(jira, inbox, since, lookback=options.lookback, jql=options.jql)
            done["caught_up"] = True
            if result is not None and result.emitted:
                wake()
        heartbeat(inbox)

    receiver.add_job("heartbeat", beat, options.heartbeat_interval)
