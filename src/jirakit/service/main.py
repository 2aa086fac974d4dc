"""The app factory: `create_app(settings)` -> a FastAPI app (``jirakit serve`` runs it).

from jirakit.service import create_app, load_settings
app = create_app(load_settings(database_url="sqlite:///service.db"))
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import Engine

from jirakit import __version__
from jirakit.service import problems
from jirakit.service.background import running
from jirakit.service.config import Settings, load_settings
from jirakit.service.connections import JiraClients, open_service_governor
from jirakit.service.db import migrate
from jirakit.service.deps import WaitedHeader
from jirakit.service.idempotency import IdempotencyMiddleware
from jirakit.service.inbound import router as jira_receiver
from jirakit.service.ratelimit import limiter_for
from jirakit.service.routers import budget, connection, hris, passthrough, storage, task, webhook
from jirakit.service.state import ServiceState

DESCRIPTION = """A self-hostable unified task API over your customers' Jira sites, in
Unified.to's route and model shapes. Authenticate with `Authorization: Bearer KEY`."""


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    transport: httpx.BaseTransport | None = None,
    async_transport: httpx.AsyncBaseTransport | None = None,
    hook_transport: httpx.BaseTransport | None = None,
    run_migrations: bool = True,
) -> FastAPI:
    settings = settings or load_settings()
    state = ServiceState.build(
        settings,
        engine=engine,
        transport=transport,
        async_transport=async_transport,
        hook_transport=hook_transport,
    )
    if run_migrations:
        migrate(state.engine)
    state.extra["governor"] = open_service_governor(settings)
    state.extra["clients"] = JiraClients(state)
    state.extra["limiter"] = limiter_for(state.engine, settings.rate_limit)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with running(state):
            yield
        await state.extra["clients"].aclose()
        if state.extra["governor"] is not None:
            state.extra["governor"].close()

    app = FastAPI(
        title="jirakit service",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.service = state
    # Added first, so it runs inside the request-id middleware (its problems carry the id).
    app.add_middleware(IdempotencyMiddleware, state=state)
    app.add_middleware(WaitedHeader)  # X-Jirakit-Waited: rate-limit waits of Jira calls
    problems.install(app)
    app.include_router(task.router, responses=problems.PROBLEM_RESPONSES)
    app.include_router(connection.router, responses=problems.PROBLEM_RESPONSES)
    app.include_router(webhook.router, responses=problems.PROBLEM_RESPONSES)
    app.include_router(hris.router, responses=problems.PROBLEM_RESPONSES)
    app.include_router(storage.router, responses=problems.PROBLEM_RESPONSES)
    app.include_router(passthrough.router, responses=problems.PROBLEM_RESPONSES)
    app.include_router(budget.router, responses=problems.PROBLEM_RESPONSES)
    # Jira's deliveries for native webhooks (issue 13; `jirakit.service.inbound`).
    app.include_router(jira_receiver)

    @app.get("/healthz", tags=["meta"])
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "version": __version__}

    return app
