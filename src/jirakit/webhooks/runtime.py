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


def build_receiver(options: ServeOptions, jira: Jira | None = None) -> Receiver:
    """A `Receiver` with every consumer and job ``options`` ask for (not started)."""
    secrets = Secrets.from_env(
        hmac=options.secrets,
        jwt=options.jwt_secrets,
        app_key=options.app_key,
        issuers=tuple(options.issuers),
        allow_unsigned=options.allow_unsigned or options.virtual,
    )
    receiver = Receiver(
        options.store,
        secrets,
        max_body=options.max_body,
        synchronous=options.synchronous,
    )
    for url in options.forward:
        receiver.forward(url, secret=options.forward_secret)
    if options.dest is not None:
        if jira is None:
            raise ValueError("--dest re-reads issues from Jira: give the site and credentials")
        from jirakit.webhooks.warehouse import attach_warehouse

        attach_warehouse(
            receiver, jira, options.dest, options.dataset, pipelines_dir=options.pipelines_dir
        )
    if options.retention is not None:
        keep_ms = int(options.retention.total_seconds() * 1000)

        def purge() -> None:
            receiver.inbox.purge(older_than_ms=now_ms() - keep_ms)

        receiver.add_job("purge", purge, 3600.0)
    return receiver
