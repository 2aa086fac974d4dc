"""Helpers for the receiver tests: signed deliveries (signed with the sandbox's own signing
code, independent of the receiver's) and a served receiver's handle."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from jirakit.sandbox import webhooks as sandbox_webhooks
from jirakit.webhooks import Receiver

SECRET = "s3cret-hmac"
JWT_SECRET = "app-shared-secret"
ADMIN = "/rest/webhooks/1.0/webhook"
ALL_EVENTS = [
    "jira:issue_created",
    "jira:issue_updated",
    "jira:issue_deleted",
    "comment_created",
    "comment_updated",
    "comment_deleted",
    "worklog_created",
    "worklog_updated",
    "worklog_deleted",
]


def issue_body(issue_id: int = 10001, *, event: str = "jira:issue_updated", **fields: Any) -> bytes:
    """A minimal Jira-shaped issue event body."""
    body = {
        "timestamp": 1_770_000_000_000,
        "webhookEvent": event,
        "issue_event_type_name": "issue_updated",
        "issue": {
            "id": str(issue_id),
            "key": f"ENG-{issue_id - 10000}",
            "fields": {"summary": "s", "updated": "2026-02-01T12:00:00.000+0000", **fields},
        },
    }
    return json.dumps(body).encode()


def hmac_headers(body: bytes, *, secret: str = SECRET, ident: str | None = None) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Atlassian-Webhook-Identifier": ident or str(uuid.uuid4()),
        "X-Hub-Signature": sandbox_webhooks.sign(body, secret),
    }


@dataclass
class Served:
    receiver: Receiver
    url: str
    http: httpx.Client

    @property
    def hook(self) -> str:
        return f"{self.url}/webhooks/jira"

    def post(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return self.http.post(self.hook, content=body, headers=headers)


def register_admin(
    http: httpx.Client, url: str, *, secret: str | None = SECRET, events: list[str] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "receiver", "url": url, "events": events or ALL_EVENTS}
    if secret is not None:
        body["secret"] = secret
    r = http.post(ADMIN, json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


class ShiftedClock:
    """The wall clock plus an offset that `advance` moves: changes get real, increasing
    timestamps, and a test can still jump past Jira's "last minute" windows."""

    def __init__(self) -> None:
        import threading
        from datetime import timedelta

        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> Any:
        from datetime import UTC, datetime

        with self._lock:
            return datetime.now(UTC) + self._offset

    def advance(self, **delta: float) -> None:
        from datetime import timedelta

        with self._lock:
            self._offset += timedelta(**delta)
