"""Seeded, reproducible latency and faults, as a pure ASGI middleware.

Fault spec syntax (``--faults``)::

    429=0.05,500=0.01,502=0.01,503=0.02,reset=0.01,slow=0.05:2000,truncate=0.01

A comma-separated list of ``NAME=PROBABILITY`` items (spaces ignored, each name at most
once). A probability is a number in [0, 1] or a percentage (``5%``). Names:

- ``429``: Jira's 429: body, ``Retry-After: 1``, ``X-RateLimit-*``, ``RateLimit-Reason``;
- ``500``: 500 with a Jira error body;
- ``502``: 502 with an HTML body, as from a proxy in front of Jira;
- ``503``: 503 with a Jira error body; half of them carry ``Retry-After: 1``;
- ``reset``: the request IS processed, then the connection drops before any response byte
  (a POST may have taken effect although the client saw no response);
- ``truncate``: the request is processed; the response declares its full
  ``Content-Length`` but only the first half of the body is sent;
- ``slow=P:MS``: the response is delayed by MS milliseconds.

``429``/``500``/``502``/``503``/``reset``/``truncate`` are exclusive (at most one per
request; their probabilities must add up to at most 1); ``slow`` and the latency range are
drawn independently and add to any of them. The status faults answer without reaching the
app. Faults apply only to paths under ``/rest/`` (never OAuth or health endpoints).

Reproducibility: every faultable request draws the same fixed number of values from one
``random.Random(seed)``, so the same seed and the same request sequence give the same
faults, latencies and delays.

What the client sees for ``reset`` and ``truncate``:

- served by uvicorn: ``reset`` closes the connection without a response
  (``httpx.RemoteProtocolError: Server disconnected without sending a response.``);
  ``truncate`` sends the headers and half the body, then closes
  (``httpx.RemoteProtocolError: peer closed connection without sending complete message
  body``). uvicorn logs these as errors; `FaultLogFilter` silences them.
- in-process through ``httpx.ASGITransport``: ``reset`` raises `InjectedConnectionReset`
  (a subclass of ``httpx.RemoteProtocolError``, so clients take the same path as over a
  network) out of the request; ``truncate`` returns a response whose body is half the JSON
  (``response.json()`` fails).
"""

from __future__ import annotations

import json
import logging
import random
import re
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any

import anyio
import httpx

from jirakit.sandbox.clock import Clock, SystemClock
from jirakit.sandbox.limits import request_ids, send_rate_limited

__all__ = [
    "FaultLogFilter",
    "FaultMiddleware",
    "FaultPlan",
    "FaultSpec",
    "FaultSpecError",
    "InjectedConnectionReset",
    "InjectedFault",
    "InjectedTruncation",
    "parse_latency",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]

# name in the spec -> FaultSpec field; exclusive faults first, in draw order.
_EXCLUSIVE: tuple[tuple[str, str], ...] = (
    ("429", "p429"),
    ("500", "p500"),
    ("502", "p502"),
    ("503", "p503"),
    ("reset", "reset"),
    ("truncate", "truncate"),
)
_NAMES = {name for name, _ in _EXCLUSIVE} | {"slow"}
_NUMBER = re.compile(r"^\d+(?:\.\d*)?$|^\.\d+$")


class FaultSpecError(ValueError):
    """A fault spec or latency range that does not parse; the message names the bad token."""


def _probability(token: str, text: str) -> float:
    raw = text.strip()
    percent = raw.endswith("%")
    if percent:
        raw = raw[:-1].strip()
    if not _NUMBER.match(raw):
        raise FaultSpecError(
            f"bad fault spec token {token!r}: {text.strip()!r} is not a probability "
            "(a number in [0, 1] or a percentage like 5%)"
        )
    value = float(raw) / (100.0 if percent else 1.0)
    if value > 1.0:
        raise FaultSpecError(
            f"bad fault spec token {token!r}: probability {text.strip()} is above 1"
        )
    return value


@dataclass(frozen=True)
class FaultSpec:
    """Fault probabilities per request (see the module docstring for the syntax)."""

    p429: float = 0.0
    p500: float = 0.0
    p502: float = 0.0
    p503: float = 0.0
    reset: float = 0.0
    truncate: float = 0.0
    slow: float = 0.0
    slow_ms: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "slow_ms":
                if value < 0:
                    raise FaultSpecError(f"slow delay must be >= 0 ms, not {value}")
            elif not 0.0 <= value <= 1.0:
                raise FaultSpecError(f"{f.name} must be a probability in [0, 1], not {value}")
        if self.exclusive_total > 1.0 + 1e-9:
            raise FaultSpecError(
                "the probabilities of 429, 500, 502, 503, reset and truncate add up to "
                f"{self.exclusive_total:g}, more than 1"
            )

    @property
    def exclusive_total(self) -> float:
        return float(sum(getattr(self, attr) for _, attr in _EXCLUSIVE))

    @property
    def empty(self) -> bool:
        return self.exclusive_total == 0.0 and self.slow == 0.0

    @classmethod
    def parse(cls, text: str) -> FaultSpec:
        """Parse ``"429=0.05,503=2%,slow=0.05:2000"``; an empty string means no faults."""
        values: dict[str, float] = {}
        seen: set[str] = set()
        for raw in text.split(","):
            token = raw.strip()
            if not token:
                continue
            name, eq, value = token.partition("=")
            name = name.strip().lower()
            if not eq:
                raise FaultSpecError(f"bad fault spec token {token!r}: expected NAME=PROBABILITY")
            if name not in _NAMES:
                raise FaultSpecError(
                    f"bad fault spec token {token!r}: unknown fault {name!r} "
                    f"(expected one of {', '.join(sorted(_NAMES))})"
                )
            if name in seen:
                raise FaultSpecError(f"bad fault spec token {token!r}: {name!r} given twice")
            seen.add(name)
            if name == "slow":
                prob, colon, ms = value.partition(":")
                if not colon or not _NUMBER.match(ms.strip()):
                    raise FaultSpecError(
                        f"bad fault spec token {token!r}: expected slow=PROBABILITY:MILLISECONDS"
                    )
                values["slow"] = _probability(token, prob)
                values["slow_ms"] = float(ms.strip())
            else:
                values[dict(_EXCLUSIVE)[name]] = _probability(token, value)
        try:
            return cls(**values)
        except FaultSpecError as exc:
            raise FaultSpecError(f"bad fault spec {text!r}: {exc}") from None

    def __str__(self) -> str:
        parts = [f"{name}={getattr(self, attr):g}" for name, attr in _EXCLUSIVE]
        parts = [p for p in parts if not p.endswith("=0")]
        if self.slow:
            parts.append(f"slow={self.slow:g}:{self.slow_ms:g}")
        return ",".join(parts)


def parse_latency(text: str) -> tuple[float, float]:
    """``"50-150"`` -> ``(50.0, 150.0)`` milliseconds; ``"100"`` -> ``(100.0, 100.0)``."""
    raw = text.strip().removesuffix("ms")
    low, dash, high = raw.partition("-")
    low, high = low.strip(), (high.strip() if dash else low.strip())
    if not _NUMBER.match(low) or not _NUMBER.match(high):
        raise FaultSpecError(f"bad latency {text!r}: expected MIN_MS-MAX_MS (e.g. 50-150) or MS")
    lo, hi = float(low), float(high)
    if lo > hi:
        raise FaultSpecError(
            f"bad latency {text!r}: the minimum {lo:g} is above the maximum {hi:g}"
        )
    return lo, hi


class InjectedFault(Exception):
    """Marker for exceptions the fault middleware raises on purpose."""


class InjectedConnectionReset(InjectedFault, httpx.RemoteProtocolError):
    """The connection dropped without a response (fault ``reset``)."""


class InjectedTruncation(InjectedFault, httpx.RemoteProtocolError):
    """The server refused to end a body shorter than its Content-Length (fault ``truncate``)."""


class FaultLogFilter(logging.Filter):
    """Drops log records about injected faults (uvicorn logs them as app exceptions).

    ``logging.getLogger("uvicorn.error").addFilter(FaultLogFilter())``
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, InjectedFault)


@dataclass(frozen=True)
class FaultPlan:
    """What happens to one request: ``fault`` (None, "429", "500", "502", "503", "reset",
    "truncate"), the added delay, and whether a 503 carries ``Retry-After``."""

    fault: str | None
    delay_ms: float
    retry_after: bool


_BODY_500 = {"errorMessages": ["Internal server error"], "errors": {}}
_BODY_503 = {
    "errorMessages": ["The service is temporarily unavailable. Please try again later."],
    "errors": {},
}
_BODY_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)
# A header no HTTP/1.1 server will serialise: uvicorn marks the response as started, then
# fails before writing a byte, and closes the connection.
_POISON = [(b"x-jirakit-fault reset", b"connection\r\nreset")]


class FaultMiddleware:
    """Injects latency and the faults of ``spec`` into ``/rest/`` requests, reproducibly.

    ``latency``: ``(min_ms, max_ms)`` added uniformly to every faultable request.
    ``sleep`` is injectable so tests can record delays instead of waiting.
    ``injected`` counts the faults sent, by name.
    """

    def __init__(
        self,
        app: ASGIApp,
        spec: FaultSpec,
        *,
        seed: int,
        latency: tuple[float, float] | None = None,
        clock: Clock | None = None,
        sleep: Sleep = anyio.sleep,
        paths: tuple[str, ...] = ("/rest/",),
    ) -> None:
        if latency is not None and not 0 <= latency[0] <= latency[1]:
            raise FaultSpecError(f"bad latency {latency!r}: need 0 <= min <= max")
        self.app = app
        self.spec = spec
        self.seed = seed
        self.latency = latency
        self.clock: Clock = clock or SystemClock()
        self.paths = paths
        self._sleep = sleep
        self._rng = random.Random(seed)
        self.injected: Counter[str] = Counter()
        self._request_id = request_ids()

    def next_plan(self) -> FaultPlan:
        """Draw the plan of the next faultable request (always four draws)."""
        u_fault, u_slow, u_latency, u_retry = (self._rng.random() for _ in range(4))
        fault: str | None = None
        edge = 0.0
        for name, attr in _EXCLUSIVE:
            edge += getattr(self.spec, attr)
            if u_fault < edge:
                fault = name
                break
        delay = self.spec.slow_ms if u_slow < self.spec.slow else 0.0
        if self.latency is not None:
            low, high = self.latency
            delay += low + (high - low) * u_latency
        return FaultPlan(fault, delay, u_retry < 0.5)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith(self.paths):
            await self.app(scope, receive, send)
            return
        plan = self.next_plan()
        if plan.delay_ms > 0:
            await self._sleep(plan.delay_ms / 1000.0)
        if plan.fault is None:
            await self.app(scope, receive, send)
            return
        if plan.fault == "truncate":
            await self._truncate(scope, receive, send)
            return
        self.injected[plan.fault] += 1
        if plan.fault == "reset":
            await self._reset(scope, receive, send)
        elif plan.fault == "429":
            now = self.clock.now()
            await send_rate_limited(
                send,
                retry_after=1,
                limit=1,
                reset=now + timedelta(seconds=1),
                request_id=self._request_id(),
            )
        elif plan.fault == "502":
            await self._send(send, 502, _BODY_502, b"text/html")
        elif plan.fault == "503":
            extra = [(b"retry-after", b"1")] if plan.retry_after else []
            await self._send(send, 503, json.dumps(_BODY_503).encode(), extra=extra)
        else:
            await self._send(send, 500, json.dumps(_BODY_500).encode())

    async def _send(
        self,
        send: Send,
        status: int,
        body: bytes,
        content_type: bytes = b"application/json;charset=UTF-8",
        extra: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        headers = [
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode()),
            (b"x-arequestid", self._request_id()),
            *(extra or []),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _reset(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def discard(message: Message) -> None:
            return None

        await self.app(scope, receive, discard)
        try:
            await send({"type": "http.response.start", "status": 500, "headers": _POISON})
        except Exception as exc:  # the server refused the poisoned start: good
            raise InjectedConnectionReset(
                "Server disconnected without sending a response. (injected fault: reset)"
            ) from exc
        raise InjectedConnectionReset(
            "Server disconnected without sending a response. (injected fault: reset)"
        )

    async def _truncate(self, scope: Scope, receive: Receive, send: Send) -> None:
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(bytes(message.get("body", b"")))

        await self.app(scope, receive, capture)
        if start is None:
            return
        body = b"".join(chunks)
        if len(body) < 2:  # nothing to cut: send it whole
            await send(start)
            await send({"type": "http.response.body", "body": body, "more_body": False})
            return
        self.injected["truncate"] += 1
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        try:
            await send(
                {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": False}
            )
        except Exception as exc:  # the server noticed the short body: it drops the connection
            raise InjectedTruncation(
                "peer closed connection without sending complete message body "
                "(injected fault: truncate)"
            ) from exc
