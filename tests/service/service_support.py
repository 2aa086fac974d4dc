"""Helpers for the service tests (constants, the served `Service`, settings)."""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from jirakit.sandbox import Sandbox
from jirakit.service import load_settings
from jirakit.service.state import ServiceState
from jirakit.testing.webhooks import WebhookReceiver
from needs import PG_DSN, require_postgres

JIRA_TOKEN = "SEKRIT-jira-api-token-7f3a9c"
OAUTH_SECRET = "SEKRIT-oauth-client-secret-51be"
OAUTH_CLIENT = "jirakit-service-tests"
ENCRYPTION_KEY = (
    "U0VLUklULWVuY3J5cHRpb24ta2V5LXRlc3RzLTAwMDA="  # b"SEKRIT-encryption-key-tests-0000"
)
SECRETS = [JIRA_TOKEN, OAUTH_SECRET, ENCRYPTION_KEY]
# Where the secrets test collects what this suite produced (responses, logs, tokens issued).
CAPTURE = os.environ.get("JIRAKIT_SECRETS_CAPTURE")


def _pg_admin() -> Any:
    """An autocommit connection to the test server (a failure in CI, a skip locally, when
    it is unreachable)."""
    import psycopg

    require_postgres()
    return psycopg.connect(PG_DSN, connect_timeout=3, autocommit=True)


@dataclass
class Service:
    """A served service and the sandbox it talks to."""

    url: str
    state: ServiceState
    sandbox: Sandbox
    sandbox_url: str
    clients: list[httpx.Client] = field(default_factory=list)
    tenants: list[str] = field(default_factory=list)

    def tenant(self, name: str | None = None) -> str:
        """A new tenant; returns its API key."""
        from jirakit.service.tenants import create_tenant

        with self.state.sessions() as session, session.begin():
            tenant, key = create_tenant(session, name or f"t-{uuid.uuid4().hex[:8]}")
            self.tenants.append(tenant.id)
        return key

    def forget_tenants(self) -> None:
        """Delete this test's tenants (and, cascading, their connections, webhooks and
        outbox), so a database shared by the session holds no other test's work."""
        from sqlalchemy import delete

        from jirakit.service.models import Tenant

        with self.state.sessions() as session, session.begin():
            session.execute(delete(Tenant).where(Tenant.id.in_(self.tenants)))

    def client(self, key: str) -> httpx.Client:
        http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {key}"},
            timeout=30.0,
            event_hooks={"response": [_capture]} if CAPTURE else {},
        )
        self.clients.append(http)
        return http

    def connect(self, http: httpx.Client) -> str:
        """An api_token connection to the sandbox through the Unified-shaped route."""
        response = http.post(
            "/unified/connection",
            json={
                "integration_type": "jira",
                "auth": {
                    "api_url": self.sandbox_url,
                    "emails": [self.sandbox.admin_email],
                    "token": JIRA_TOKEN,
                },
            },
        )
        assert response.status_code == 200, response.text
        return str(response.json()["id"])

    def tick(self) -> dict[str, int]:
        from jirakit.service.background import tick

        return tick(self.state)


def _capture(response: httpx.Response) -> None:
    response.read()
    with open(CAPTURE, "a", encoding="utf-8") as out:  # type: ignore[arg-type]
        out.write(json.dumps({"headers": dict(response.headers), "body": response.text}) + "\n")


def settings_for(db_url: str, sandbox_url: str, **overrides: Any) -> Any:
    options: dict[str, Any] = {
        "database_url": db_url,
        "encryption_keys": ENCRYPTION_KEY,
        "background": False,
        "rate_limit": 0,
        "oauth_client_id": OAUTH_CLIENT,
        "oauth_client_secret": OAUTH_SECRET,
        "oauth_redirect_uri": "http://127.0.0.1:9/oauth/callback",
        "oauth_auth_url": sandbox_url,
        "oauth_api_url": sandbox_url,
        "webhook_retry_schedule": "0.05,0.05,0.05",
        "webhook_timeout": 5.0,
    }
    options.update(overrides)
    return load_settings(**options)


def serve_app(app: Any, port: int = 0) -> Any:
    """Serve ``app`` in a thread with its lifespan (as `jirakit serve` runs it)."""
    from jirakit.service.server import serve_in_thread

    return serve_in_thread(app, port=port)


class SlowReceiver(WebhookReceiver):
    """Answers each delivery after ``delay`` seconds; counts the POSTs in flight at once."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.answering = 0
        self.most_at_once = 0

    def _answer(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        with self._cond:
            self.answering += 1
            self.most_at_once = max(self.most_at_once, self.answering)
        try:
            time.sleep(self.delay)
            return super()._answer(path, body, headers)
        finally:
            with self._cond:
                self.answering -= 1
