"""Receiving webhooks in tests: a tiny local HTTP server that records and verifies deliveries.

    with WebhookReceiver(secret="s3cret") as hook:      # or the ``webhook_receiver`` fixture
        ... register hook.url as a webhook, change something ...
        [delivery] = hook.wait_for(1)
        assert delivery.verified and delivery.json()["webhookEvent"] == "jira:issue_updated"

``X-Hub-Signature`` is checked over the raw body bytes, in constant time, before anything
parses the body; a delivery with a bad or missing signature (when ``secret`` is set) is
answered 401 and recorded with ``verified=False``. Deliveries of dynamic webhooks carry
``Authorization: JWT ...`` instead: with ``jwt_secret`` set, its signature and ``qsh`` are
checked (not its times: the sandbox may run on a frozen clock; `verify_jwt` does it all). ``fail_with`` scripts the answers to
the first requests (e.g. ``[500, 503]`` to see retries). `sign` makes a valid signature for
hand-built deliveries; `verify_jwt` checks the JWT of dynamic-webhook deliveries.
"""

from __future__ import annotations

import hmac
import json
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from jirakit.sandbox.webhooks import jwt_decode, query_string_hash, sign

__all__ = ["Delivery", "WebhookReceiver", "sign", "verify_jwt", "verify_signature"]


def verify_signature(body: bytes, header: str | None, secret: str) -> bool:
    """True when ``header`` is ``sha256=<HMAC-SHA256 of body>`` (constant-time compare)."""
    if not header:
        return False
    return hmac.compare_digest(header.strip().encode(), sign(body, secret).encode())


def verify_jwt(
    authorization: str | None,
    secret: str,
    *,
    url: str,
    method: str = "POST",
    now: datetime | None = None,
    leeway: float = 60.0,
) -> dict[str, Any]:
    """Check a dynamic webhook's ``Authorization: JWT <token>`` and return its claims.

    Verifies the HS256 signature with the app's shared secret, ``exp`` and ``iat`` against
    ``now`` (default: the wall clock) with ``leeway`` seconds, and ``qsh`` against
    ``method`` + ``url``. Raises ``ValueError`` on any mismatch."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme != "JWT" or not token:
        raise ValueError("expected an 'Authorization: JWT <token>' header")
    claims = jwt_decode(token.strip(), secret)
    at = (now or datetime.now().astimezone()).timestamp()
    if float(claims.get("exp", 0)) + leeway < at:
        raise ValueError("the JWT has expired")
    if float(claims.get("iat", 0)) - leeway > at:
        raise ValueError("the JWT was issued in the future")
    if claims.get("qsh") != query_string_hash(method, url):
        raise ValueError("the JWT's qsh does not match the request")
    return claims


@dataclass(frozen=True)
class Delivery:
    """One request the receiver got."""

    path: str
    body: bytes
    headers: Mapping[str, str]  # lower-cased names
    status: int  # what the receiver answered
    verified: bool | None  # signature check (None: no secret configured)
    received_at: float = field(default=0.0)

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def identifier(self) -> str | None:
        return self.headers.get("x-atlassian-webhook-identifier")

    @property
    def retry(self) -> int:
        """``X-Atlassian-Webhook-Retry`` (absent on a first attempt: 0)."""
        return int(self.headers.get("x-atlassian-webhook-retry", "0"))


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 (a free port) recording every POST it gets."""

    def __init__(
        self,
        secret: str | None = None,
        *,
        jwt_secret: str | None = None,
        fail_with: Sequence[int] = (),
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.secret = secret
        self.jwt_secret = jwt_secret
        self.fail_with = list(fail_with)
        self.deliveries: list[Delivery] = []
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                status = receiver._answer(self.path, body, headers)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/webhook"

    def _answer(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        verified: bool | None = None
        authorization = headers.get("authorization", "")
        if authorization.startswith("JWT ") and "x-hub-signature" not in headers:
            if self.jwt_secret is not None:
                verified = self._jwt_ok(authorization, path)
        elif self.secret is not None:
            verified = verify_signature(body, headers.get("x-hub-signature"), self.secret)
        with self._cond:
            if verified is False:
                status = 401
            elif self.fail_with:
                status = self.fail_with.pop(0)
            else:
                status = 200
            self.deliveries.append(
                Delivery(path, body, headers, status, verified, time.monotonic())
            )
            self._cond.notify_all()
        return status

    def _jwt_ok(self, authorization: str, path: str) -> bool:
        assert self.jwt_secret is not None
        try:
            claims = jwt_decode(authorization[4:].strip(), self.jwt_secret)
        except ValueError:
            return False
        host, port = self._server.server_address[:2]
        return claims.get("qsh") == query_string_hash("POST", f"http://{host!s}:{port}{path}")

    def start(self) -> WebhookReceiver:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="webhook-receiver",
                daemon=True,
            )
            self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Delivery]:
        with self._cond:
            return iter(list(self.deliveries))

    @property
    def accepted(self) -> list[Delivery]:
        """Deliveries answered 2xx."""
        with self._cond:
            return [d for d in self.deliveries if 200 <= d.status < 300]

    def wait_for(self, n: int, timeout: float = 5.0, *, accepted: bool = False) -> list[Delivery]:
        """Block until at least ``n`` deliveries (2xx-answered ones with ``accepted``) arrived;
        returns them all. Raises ``TimeoutError`` naming how many came."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = (
                    [d for d in self.deliveries if 200 <= d.status < 300]
                    if accepted
                    else list(self.deliveries)
                )
                if len(got) >= n:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"expected {n} webhook deliveries, got {len(got)}")
                self._cond.wait(left)
