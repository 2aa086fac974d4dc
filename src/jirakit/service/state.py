"""What one service instance holds: settings, the database, the vault, Jira clients."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from jirakit.service.config import Settings
from jirakit.service.crypto import Vault
from jirakit.service.db import make_engine, session_factory


@dataclass
class ServiceState:
    """Built once by `create_app`; handed to routes through `deps` and to background work.

    ``transport``/``async_transport`` replace the network for Jira and Atlassian calls (tests
    mount the sandbox in-process with them); ``hook_transport`` for outgoing webhooks.
    """

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    vault: Vault
    transport: httpx.BaseTransport | None = None
    async_transport: httpx.AsyncBaseTransport | None = None
    hook_transport: httpx.BaseTransport | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        engine: Engine | None = None,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
        hook_transport: httpx.BaseTransport | None = None,
    ) -> ServiceState:
        engine = engine or make_engine(settings.database_url)
        return cls(
            settings=settings,
            engine=engine,
            sessions=session_factory(engine),
            vault=Vault(settings.key_list),
            transport=transport,
            async_transport=async_transport,
            hook_transport=hook_transport,
        )
