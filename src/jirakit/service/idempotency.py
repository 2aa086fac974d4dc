"""``Idempotency-Key`` on every POST, PUT, PATCH and DELETE (an ASGI middleware).

- the first request with a key runs; its response (status, headers, body; encrypted at
  rest, since a response may hold a new webhook secret) is kept ``JIRAKIT_IDEMPOTENCY_TTL``
  seconds (24 h);
- the same key with the same request (method, path, query, body) replays that response,
  marked ``Idempotent-Replayed: true``;
- the same key with a different request answers 422;
- a duplicate arriving while the first is still running waits for it (up to
  ``JIRAKIT_IDEMPOTENCY_WAIT`` seconds), then replays, or answers 409 with ``Retry-After``;
- 5xx answers are not kept: the key may be retried.

Keys are per tenant (the API key's): another tenant's identical key is another key.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import timedelta
from typing import Any, cast

from anyio import to_thread
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from jirakit.service.deps import tenant_of_key
from jirakit.service.models import IdempotencyRecord, utcnow
from jirakit.service.problems import PROBLEM_JSON, request_id_var
from jirakit.service.state import ServiceState

METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HEADER = b"idempotency-key"
MAX_KEY = 255
_KEEP_HEADERS = {b"content-type", b"x-next-cursor", b"x-total-count", b"location"}


def _problem(
    status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    body = json.dumps(
        {
            "type": "about:blank",
            "title": {409: "Conflict", 422: "Unprocessable Content", 400: "Bad Request"}[status],
            "status": status,
            "detail": detail,
            "request_id": request_id_var.get(),
        }
    ).encode()
    return status, [(b"content-type", PROBLEM_JSON.encode()), *(headers or [])], body


class IdempotencyMiddleware:
    def __init__(self, app: Any, state: ServiceState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        raw_key = headers.get(HEADER)
        tenant_id = await self._tenant(headers.get(b"authorization", b"").decode("latin-1"))
        if raw_key is None or tenant_id is None:
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1").strip()
        if not key or len(key) > MAX_KEY:
            await _send(send, *_problem(400, f"Idempotency-Key must be 1-{MAX_KEY} characters"))
            return
        body = await _read_body(receive)
        fingerprint = hashlib.sha256(
            b"\n".join(
                [
                    scope["method"].encode(),
                    scope.get("raw_path", b""),
                    scope.get("query_string", b""),
                    body,
                ]
            )
        ).hexdigest()
        outcome = await self._begin(tenant_id, key, fingerprint)
        if outcome is not None:
            await _send(send, *outcome)
            return
        captured: dict[str, Any] = {"status": 500, "headers": [], "body": []}

        async def replay_receive() -> Any:
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Any) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                captured["body"].append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_receive, capture)
        except BaseException:
            await to_thread.run_sync(self._forget, tenant_id, key)
            raise
        if captured["status"] >= 500:
            await to_thread.run_sync(self._forget, tenant_id, key)
        else:
            await to_thread.run_sync(
                self._finish,
                tenant_id,
                key,
                captured["status"],
                captured["headers"],
                b"".join(captured["body"]),
            )

    async def _tenant(self, authorization: str) -> str | None:
        scheme, _, rest = authorization.strip().partition(" ")
        key = rest.strip() if rest and scheme.lower() == "bearer" else authorization.strip()
        if not key or " " in key:
            return None
        return await tenant_of_key(self.state, key)

    async def _begin(
        self, tenant_id: str, key: str, fingerprint: str
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        """None: this request owns the key and runs. Else the answer to send instead."""
        deadline = asyncio.get_running_loop().time() + self.state.settings.idempotency_wait
        while True:
            outcome = await to_thread.run_sync(self._claim, tenant_id, key, fingerprint)
            if outcome != "wait":
                return cast("tuple[int, list[tuple[bytes, bytes]], bytes] | None", outcome)
            if asyncio.get_running_loop().time() > deadline:
                return _problem(
                    409,
                    "a request with this Idempotency-Key is still being processed; retry later",
                    [(b"retry-after", b"1")],
                )
            await asyncio.sleep(0.05)

    def _claim(self, tenant_id: str, key: str, fingerprint: str) -> Any:
        now = utcnow()
        ttl = timedelta(seconds=self.state.settings.idempotency_ttl)
        with self.state.sessions() as session:
            try:
                with session.begin():
                    session.execute(
                        delete(IdempotencyRecord).where(
                            IdempotencyRecord.tenant_id == tenant_id,
                            IdempotencyRecord.key == key,
                            IdempotencyRecord.expires_at < now,
                        )
                    )
                    session.add(
                        IdempotencyRecord(
                            tenant_id=tenant_id, key=key, fingerprint=fingerprint,
                            status="in_progress", created_at=now, expires_at=now + ttl,
                        )
                    )  # fmt: skip
                return None
            except IntegrityError:
                pass
        with self.state.sessions() as session:
            record = session.scalar(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.tenant_id == tenant_id, IdempotencyRecord.key == key
                )
            )
        if record is None:
            return "wait"  # the other request failed and let go of the key: try again
        if record.fingerprint != fingerprint:
            return _problem(
                422,
                "this Idempotency-Key was used with a different request; use a new key",
            )
        if record.status != "done":
            return "wait"
        body = self.state.vault.decrypt(record.response_body.decode("ascii"))  # type: ignore[union-attr]
        stored = [
            (k.encode("latin-1"), v.encode("latin-1")) for k, v in record.response_headers or []
        ]
        return (
            int(record.response_status or 200),
            [*stored, (b"idempotent-replayed", b"true")],
            bytes.fromhex(str(body["hex"])),
        )

    def _finish(
        self, tenant_id: str, key: str, status: int, headers: list[Any], body: bytes
    ) -> None:
        kept = [
            [k.decode("latin-1"), v.decode("latin-1")]
            for k, v in headers
            if k.lower() in _KEEP_HEADERS
        ]
        with self.state.sessions() as session, session.begin():
            record = session.get(IdempotencyRecord, (tenant_id, key))
            if record is None:
                return
            record.status = "done"
            record.response_status = status
            record.response_headers = kept
            record.response_body = self.state.vault.encrypt({"hex": body.hex()}).encode("ascii")

    def _forget(self, tenant_id: str, key: str) -> None:
        with self.state.sessions() as session, session.begin():
            session.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.tenant_id == tenant_id, IdempotencyRecord.key == key
                )
            )


async def _read_body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _send(send: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    out = [h for h in headers if h[0] != b"content-length"]
    out.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": body})
