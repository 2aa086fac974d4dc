"""Fixtures for the service: a served `jirakit serve` app over a served sandbox, on SQLite
and on the local Postgres (a database of its own per test session).

Secrets here are recognisable on purpose (``SECRETS``): the secrets test runs this whole
suite and greps everything it produced for them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from psycopg.conninfo import make_conninfo
from service_support import (
    CAPTURE,
    JIRA_TOKEN,
    OAUTH_CLIENT,
    OAUTH_SECRET,
    Service,
    _pg_admin,
    serve_app,
    settings_for,
)

from jirakit.sandbox import Sandbox
from jirakit.sandbox.oauth import OAuthClient
from jirakit.sandbox.serve import free_port
from jirakit.service import create_app
from needs import PG_DSN
from needs import pg_url as as_url


@pytest.fixture(scope="session", autouse=True)
def capture_logs() -> Iterator[None]:
    """For the secrets test: every jirakit log line at DEBUG, appended to CAPTURE.log.
    (Mode "a": uvicorn's logging setup closes every handler; an append handler reopens.)"""
    if not CAPTURE:
        yield
        return
    import logging

    handler = logging.FileHandler(CAPTURE + ".log", mode="a", encoding="utf-8")
    logger = logging.getLogger("jirakit")
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)
        handler.close()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh Postgres database for this test session, dropped at the end."""
    name = f"jk_service_{uuid.uuid4().hex[:10]}"
    admin = _pg_admin()
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield as_url(make_conninfo(PG_DSN, dbname=name)).replace(
            "postgresql://", "postgresql+psycopg://", 1
        )
    finally:
        from sqlalchemy.pool import NullPool  # noqa: F401  (engines are disposed by then)

        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'service.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=0, issues=40, projects=2, api_token=JIRA_TOKEN) as sb:
        assert sb.oauth is not None
        sb.oauth.clients[OAUTH_CLIENT] = OAuthClient(OAUTH_CLIENT, OAUTH_SECRET)
        # Dynamic webhooks are this app's: signed with its client secret, as on Jira.
        sb.webhooks.app_key, sb.webhooks.app_secret = OAUTH_CLIENT, OAUTH_SECRET
        yield sb


@pytest.fixture
def sandbox_url(sandbox: Sandbox) -> Iterator[str]:
    with sandbox.serve() as url:
        yield url


@pytest.fixture
def make_service(db_url: str, sandbox: Sandbox, sandbox_url: str) -> Iterator[Any]:
    """Factory: a served service (settings overridable); all stopped at the end."""
    stack: list[Any] = []

    def make(**overrides: Any) -> Service:
        port = free_port()
        overrides.setdefault("oauth_redirect_uri", f"http://127.0.0.1:{port}/oauth/callback")
        if overrides.get("public_url") == "self":  # the service's own address
            overrides["public_url"] = f"http://127.0.0.1:{port}"
        app = create_app(settings_for(db_url, sandbox_url, **overrides))
        if CAPTURE:
            app.add_middleware(CaptureMiddleware)
        ctx = serve_app(app, port=port)
        url = ctx.__enter__()
        svc = Service(url, app.state.service, sandbox, sandbox_url)
        stack.append((ctx, svc))
        return svc

    yield make
    for ctx, svc in reversed(stack):
        for http in svc.clients:
            http.close()
        ctx.__exit__(None, None, None)
        svc.forget_tenants()
        svc.state.engine.dispose()
    if CAPTURE and sandbox.oauth is not None:
        # Every token the sandbox issued: none may appear in anything we produced.
        issued = [*sandbox.oauth._access, *sandbox.oauth._refresh]
        with open(CAPTURE + ".tokens", "a", encoding="utf-8") as out:
            out.writelines(t + "\n" for t in issued)


class CaptureMiddleware:
    """For the secrets test: every response the service sends, appended to CAPTURE."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def tee(message: Any) -> None:
            with open(str(CAPTURE), "a", encoding="utf-8") as out:  # noqa: ASYNC230 (test-only tee)
                if message["type"] == "http.response.start":
                    headers = [
                        (k.decode("latin-1"), v.decode("latin-1")) for k, v in message["headers"]
                    ]
                    out.write(json.dumps({"status": message["status"], "headers": headers}) + "\n")
                elif message["type"] == "http.response.body":
                    out.write(message.get("body", b"").decode("utf-8", "replace") + "\n")
            await send(message)

        await self.app(scope, receive, tee if scope["type"] == "http" else send)


@pytest.fixture
def service(make_service: Any) -> Service:
    return make_service()


@pytest.fixture
def api(service: Service) -> httpx.Client:
    """A client of a fresh tenant."""
    return service.client(service.tenant())


@pytest.fixture
def conn_id(service: Service, api: httpx.Client) -> str:
    return service.connect(api)
