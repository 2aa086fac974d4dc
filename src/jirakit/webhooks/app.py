"""The receiver as an ASGI app: ``POST /webhooks/jira``, ``GET /healthz``, ``GET /metrics``.

For each delivery, in this order:

1. size: a ``Content-Length`` (or a streamed body) over ``max_body`` is answered 413
   without reading (more of) it;
2. type: a ``Content-Type`` other than JSON is answered 415;
3. verification over the raw bytes (`jirakit.webhooks.verification`): failures are answered 401,
   counted, logged without the body, and not stored;
4. parsing: a body that is not a JSON object is stored as ``rejected`` (for inspection)
   and answered 400;
5. the durable inbox: the delivery is committed (`jirakit.webhooks.store`) and only then
   answered 200. A delivery id seen before with the same body is answered 200 and not
   stored again; with a different body (a replayed signature or token over a changed
   body), 409 and not stored. A store that cannot commit answers 503 (Jira retries).

Processing happens after the answer (`jirakit.webhooks.processor`). Bad input never gets a
500. Mount it in a Starlette/FastAPI app with ``app.mount("/jira", receiver.app)`` (the
paths above are then under ``/jira``); run its background work with your app's lifespan
(`jirakit.webhooks.Receiver.start`/``stop``).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson

from jirakit._logging import get_logger
from jirakit.webhooks.store import (
    CONFLICT,
    DUPLICATE,
    REJECTED,
    Inbox,
    Incoming,
    content_id,
)
from jirakit.webhooks.verification import VerificationError, Verifier

__all__ = ["DEFAULT_MAX_BODY", "Metrics", "ReceiverApp", "describe"]

log = get_logger("jirakit.webhooks")

DEFAULT_MAX_BODY = 10 * 1024 * 1024
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class Metrics:
    """Counters for ``/metrics`` (Prometheus text) and tests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str], int] = {}

    def inc(self, name: str, label: str = "", n: int = 1) -> None:
        with self._lock:
            key = (name, label)
            self._counts[key] = self._counts.get(key, 0) + n

    def get(self, name: str, label: str = "") -> int:
        with self._lock:
            return self._counts.get((name, label), 0)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {f"{n}{{{lbl}}}" if lbl else n: v for (n, lbl), v in self._counts.items()}

    def render(self) -> str:
        lines: list[str] = []
        with self._lock:
            items = sorted(self._counts.items())
        for (name, label), value in items:
            labels = f'{{result="{label}"}}' if label else ""
            lines.append(f"jirakit_webhooks_{name}{labels} {value}")
        return "\n".join(lines) + "\n"


def _json(status: int, payload: Mapping[str, Any]) -> tuple[int, bytes]:
    return status, orjson.dumps(payload)


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


class ReceiverApp:
    """The ASGI callable (see the module docstring)."""

    def __init__(
        self,
        inbox: Inbox,
        verifier: Verifier,
        *,
        max_body: int = DEFAULT_MAX_BODY,
        path: str = "/webhooks/jira",
        public_path: str | None = None,
        metrics: Metrics | None = None,
        on_stored: Callable[[], None] | None = None,
        health: Callable[[], Mapping[str, Any]] | None = None,
        startup: Callable[[], None] | None = None,
        shutdown: Callable[[], None] | None = None,
        accept_push: bool = True,
    ) -> None:
        if max_body < 1:
            raise ValueError("max_body must be at least 1 byte")
        self.inbox = inbox
        self.verifier = verifier
        self.max_body = max_body
        self.path = "/" + path.strip("/")
        self.public_path = public_path
        self.metrics = metrics or Metrics()
        self.on_stored = on_stored
        self.health = health
        self.startup = startup
        self.shutdown = shutdown
        self.accept_push = accept_push

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if kind != "http":
            return
        path = _route(scope)
        method = scope["method"]
        if (path == self.path or path == self.path + "/") and not self.accept_push:
            await _send(send, 404, b'{"error":"this receiver polls Jira (virtual webhooks)"}')
        elif path == self.path or path == self.path + "/":
            if method != "POST":
                await _send(send, 405, b'{"error":"use POST"}', extra=[(b"allow", b"POST")])
                return
            status, body = await self._deliver(scope, receive)
            await _send(send, status, body)
        elif path == "/healthz" and method in ("GET", "HEAD"):
            status, body = await self._healthz()
            await _send(send, status, body if method == "GET" else b"")
        elif path == "/metrics" and method == "GET":
            await _send(send, 200, self.metrics.render().encode(), content_type=b"text/plain")
        else:
            await _send(send, 404, b'{"error":"not found"}')

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    if self.startup is not None:
                        await asyncio.to_thread(self.startup)
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.shutdown is not None:
                    await asyncio.to_thread(self.shutdown)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _healthz(self) -> tuple[int, bytes]:
        try:
            details = dict(self.health()) if self.health is not None else {}
        except Exception as exc:  # the store is unreachable
            return _json(503, {"status": "unavailable", "error": type(exc).__name__})
        return _json(200, {"status": "ok", **details})

    async def _deliver(self, scope: Scope, receive: Receive) -> tuple[int, bytes]:
        started = time.perf_counter()
        metrics = self.metrics
        metrics.inc("requests_total")
        headers: dict[str, str] = {}
        for name, value in scope.get("headers") or ():
            key = name.decode("latin-1").lower()
            text = value.decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            metrics.inc("deliveries_total", "too_large")
            return _json(413, {"error": f"body over {self.max_body} bytes"})
        if not _is_json(headers.get("content-type", "")):
            metrics.inc("deliveries_total", "unsupported_media_type")
            return _json(415, {"error": "Content-Type must be application/json"})
        raw = await _read_body(receive, self.max_body)
        if raw is None:
            metrics.inc("deliveries_total", "too_large")
            return _json(413, {"error": f"body over {self.max_body} bytes"})
        url = self.public_path or _request_path(scope)
        try:
            verified = self.verifier.check(raw, headers, method="POST", url=url)
        except VerificationError as exc:
            metrics.inc("deliveries_total", "unauthorized")
            metrics.inc("rejected_total", exc.reason)
            log.warning(
                "webhooks.rejected",
                reason=exc.reason,
                delivery_id=headers.get("x-atlassian-webhook-identifier"),
                client=_client(scope),
                size=len(raw),
            )
            return _json(401, {"error": "unauthorized", "reason": exc.reason, "message": str(exc)})
        delivery_id = headers.get("x-atlassian-webhook-identifier") or content_id(raw)
        retry_header = headers.get("x-atlassian-webhook-retry", "0")
        item = Incoming(
            delivery_id=delivery_id[:255],
            body=raw,
            headers=headers,
            received_ms=time.time_ns() // 1_000_000,
            source=verified.method,
            retry=int(retry_header) if retry_header.isdigit() else 0,
        )
        malformed = describe(raw, item)
        if malformed is not None:
            item.status, item.outcome, item.error = REJECTED, "malformed", malformed
        try:
            result = await self.inbox.submit_async(item)
        except Exception as exc:
            metrics.inc("deliveries_total", "store_error")
            log.error("webhooks.store_unavailable", error=type(exc).__name__)
            return _json(503, {"error": "the inbox is unavailable; retry later"})
        if malformed is not None:
            metrics.inc("deliveries_total", "malformed")
            return _json(400, {"error": "malformed", "message": malformed, "id": delivery_id})
        if result == DUPLICATE:
            metrics.inc("deliveries_total", "duplicate")
            return _json(200, {"status": "duplicate", "id": delivery_id})
        if result == CONFLICT:
            metrics.inc("deliveries_total", "conflict")
            log.warning(
                "webhooks.conflict", delivery_id=delivery_id, client=_client(scope), size=len(raw)
            )
            return _json(
                409,
                {
                    "error": "conflict",
                    "message": "a different body was already received under this "
                    "X-Atlassian-Webhook-Identifier",
                },
            )
        metrics.inc("deliveries_total", "accepted")
        metrics.inc("ack_microseconds_total", n=int((time.perf_counter() - started) * 1e6))
        if self.on_stored is not None:
            self.on_stored()
        return _json(200, {"status": "accepted", "id": delivery_id})


def describe(raw: bytes, item: Incoming) -> str | None:
    """Fill ``item``'s event name and issue from the body; returns why the body is
    malformed, or None."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return f"the body is not valid JSON: {exc}"
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    name = body.get("webhookEvent")
    item.event = str(name)[:128] if name is not None else None
    issue = body.get("issue")
    if not isinstance(issue, dict):
        for holder in ("worklog", "attachment"):
            inner = body.get(holder)
            if isinstance(inner, dict) and inner.get("issueId") is not None:
                issue = {"id": inner.get("issueId")}
                break
    if isinstance(issue, dict):
        ident = issue.get("id")
        if isinstance(ident, int | str) and str(ident).isdigit():
            item.issue_id = int(ident)
        key = issue.get("key")
        item.issue_key = str(key)[:64] if key is not None else None
    return None


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _route(scope: Scope) -> str:
    path = str(scope.get("path") or "/")
    root = str(scope.get("root_path") or "")
    if root and path.startswith(root):
        path = path[len(root) :] or "/"
    return path


def _request_path(scope: Scope) -> str:
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) else str(scope.get("path") or "/")
    query = scope.get("query_string") or b""
    return f"{path}?{query.decode('latin-1')}" if query else path


def _client(scope: Scope) -> str | None:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else None


async def _send(
    send: Send,
    status: int,
    body: bytes,
    *,
    content_type: bytes = b"application/json",
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    headers.extend(extra or ())
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
