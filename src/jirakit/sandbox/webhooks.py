"""Webhooks: registrations (admin and dynamic) and a delivery engine posting real payloads.

Registrations
    *Admin* webhooks (``/rest/webhooks/1.0/webhook``): a name, a URL, events, an optional
    JQL filter (``filters["issue-related-events-section"]``, full JQL), an optional
    ``secret`` and ``enabled``. *Dynamic* webhooks (``/rest/api/{2,3}/webhook``) belong to
    an app, share one URL per app, accept only Atlassian's JQL subset (`dynamic_jql_problems`)
    and expire 30 days after registration or their last refresh (sandbox clock).

Delivery
    `WebhookEngine` subscribes to the store's event bus. Inside the callback (store lock
    held) it only *matches* registrations (event name, JQL on the issue as it is now,
    ``fieldIdsFilter``) and renders the body; the POST happens on a background thread with
    its own ``httpx.Client`` (started lazily, stopped by `WebhookEngine.close`). Bodies have
    the shapes of Jira Cloud's webhooks (REST v2 representation: ``timestamp``,
    ``webhookEvent``, ``issue_event_type_name``, ``user``, ``issue``, ``changelog``,
    ``comment``, ``worklog``, ``issueLink``, ``attachment``, ``project``, ``version``,
    ``sprint`` (+ ``oldValue``), ``board``; dynamic deliveries add
    ``matchedWebhookIds``). The JQL filter applies to issue-related events only (those
    about an issue: issue, comment, worklog, attachment, issue link); project, version,
    sprint and board events reach every registration subscribed to them.
    Comment events also reach ``jira:issue_updated`` subscribers as ``issue_commented`` /
    ``issue_comment_edited`` / ``issue_comment_deleted``, as on Jira.

Headers
    ``Content-Type: application/json``, ``User-Agent: Atlassian Webhook HTTP Client``,
    ``X-Atlassian-Webhook-Identifier`` (the same on every retry and duplicate),
    ``X-Atlassian-Webhook-Flow: Primary`` (``Secondary`` for the issue deletions a project
    deletion cascades to), ``X-Atlassian-Webhook-Retry: N`` on retries only
    (absent on the first attempt, as on Jira), ``X-Hub-Signature: sha256=<hex HMAC-SHA256
    of the raw body>`` for admin webhooks with a secret, and for dynamic webhooks
    ``Authorization: JWT <token>``: HS256 signed with the app's shared secret, claims
    ``iss`` (the site's client key), ``aud`` (the app key), ``sub`` (the acting accountId),
    ``iat``, ``exp`` (``iat`` + 180 s, sandbox clock) and ``qsh`` (the Connect query-string
    hash of ``POST`` and the target URL, `query_string_hash`).

Retries
    Like Jira: on 408, 409, 425, 429, 5xx and connection errors/timeouts, up to
    ``max_attempts`` attempts with exponential backoff (``backoff * 2**n`` seconds, capped).
    A delivery that never succeeded is recorded for ``GET /webhook/failed``.

Faults (seeded, reproducible): ``duplicates`` is the probability that a delivered webhook
is sent once more, byte for byte; ``reorder`` the probability that a delivery is held back
until the next one has gone out (at most ``hold_limit`` seconds; `WebhookEngine.flush`
releases it at once).
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import itertools
import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from jirakit.jql.ast import And, Clause, Function, Not, Operator, Or, Query, ValueList
from jirakit.jql.errors import JqlError
from jirakit.jql.evaluator import compile as compile_jql
from jirakit.sandbox.clock import Clock, to_ms
from jirakit.sandbox.events import Event
from jirakit.sandbox.search import LazyFields, SearchEngine, parse_jql
from jirakit.sandbox.store import API, BASE, IssueRecord, Json, Store
from jirakit.sandbox.views import (
    attachment_view,
    comment_view,
    history_view,
    issue_view,
    nested_issue,
    to_json_bytes,
    worklog_view,
)

__all__ = [
    "DYNAMIC_EVENTS",
    "DYNAMIC_TTL_MS",
    "FailedDelivery",
    "Registration",
    "WebhookEngine",
    "dynamic_jql_problems",
    "jwt_decode",
    "jwt_encode",
    "query_string_hash",
    "sign",
]

log = logging.getLogger(__name__)

DYNAMIC_TTL_MS = 30 * 24 * 3600 * 1000
DYNAMIC_EVENTS = (
    "jira:issue_created",
    "jira:issue_updated",
    "jira:issue_deleted",
    "comment_created",
    "comment_updated",
    "comment_deleted",
    "issue_property_set",
    "issue_property_deleted",
)
RETRY_STATUSES = frozenset({408, 409, 425, 429})
JWT_TTL_S = 180
USER_AGENT = "Atlassian Webhook HTTP Client"

# Dynamic webhooks' JQL subset (developer.atlassian.com, "Registering a webhook via the
# REST API"): these fields, these operators, AND / OR.
DYNAMIC_FIELDS = frozenset(
    {"issuekey", "key", "project", "issuetype", "type", "status", "assignee", "reporter"}
)
DYNAMIC_OPERATORS = frozenset({Operator.EQUALS, Operator.NOT_EQUALS, Operator.IN, Operator.NOT_IN})
_COMMENT_AS_UPDATE = {
    "comment_created": "issue_commented",
    "comment_updated": "issue_comment_edited",
    "comment_deleted": "issue_comment_deleted",
}
_WORK_FIELDS = frozenset({"WorklogId", "timespent", "timeestimate", "timeoriginalestimate"})


# -- signing -------------------------------------------------------------------------------


def sign(body: bytes, secret: str) -> str:
    """The ``X-Hub-Signature`` value for ``body``: ``sha256=<hex HMAC-SHA256>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_encode(claims: Mapping[str, Any], secret: str) -> str:
    """An HS256 JWT (compact serialisation) of ``claims``."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(dict(claims), separators=(",", ":")).encode())
    mac = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(mac)}"


def jwt_decode(token: str, secret: str) -> dict[str, Any]:
    """Verify an HS256 JWT's signature (constant time) and return its claims.

    Raises ``ValueError`` on a malformed token, another algorithm or a bad signature.
    Checking ``exp``/``iat``/``qsh`` is the caller's job (see `query_string_hash`)."""
    try:
        header_b64, payload_b64, mac_b64 = token.split(".")
        header = json.loads(_unb64(header_b64))
        mac = _unb64(mac_b64)
        claims = json.loads(_unb64(payload_b64))
    except (ValueError, TypeError) as exc:
        raise ValueError("malformed JWT") from exc
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise ValueError("JWT algorithm must be HS256")
    expected = hmac.new(
        secret.encode(), f"{header_b64}.{payload_b64}".encode(), hashlib.sha256
    ).digest()
    if not hmac.compare_digest(mac, expected):
        raise ValueError("bad JWT signature")
    if not isinstance(claims, dict):
        raise ValueError("JWT claims must be an object")
    return claims


def query_string_hash(method: str, url: str) -> str:
    """Atlassian Connect's ``qsh``: SHA-256 of ``METHOD&<path>&<sorted query>``."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/") or "/"
    path = path.replace("&", "%26")
    pairs: dict[str, list[str]] = {}
    for item in parts.query.split("&") if parts.query else ():
        name, _, value = item.partition("=")
        if name and name != "jwt":
            pairs.setdefault(quote(name, safe="~"), []).append(quote(value, safe="~"))
    query = "&".join(f"{k}={','.join(sorted(v))}" for k, v in sorted(pairs.items()))
    canonical = f"{method.upper()}&{path}&{query}"
    return hashlib.sha256(canonical.encode()).hexdigest()


# -- JQL -----------------------------------------------------------------------------------


def dynamic_jql_problems(query: Query) -> list[str]:
    """Why ``query`` is outside the dynamic-webhook JQL subset (empty list: it is inside)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, And | Or):
            for c in node.clauses:
                walk(c)
        elif isinstance(node, Not):
            found.append("The operator NOT is unsupported")
            walk(node.clause)
        elif isinstance(node, Clause):
            f = node.field
            ok = (
                f.name.casefold() in DYNAMIC_FIELDS
                or f.property_key is not None
                or f.cf_id is not None
            )
            if not ok:
                found.append(f"The clause {f.name} is unsupported")
            if node.operator not in DYNAMIC_OPERATORS:
                found.append(f"The operator {node.operator.value.upper()} is unsupported")
            operands = (
                node.operand.items if isinstance(node.operand, ValueList) else (node.operand,)
            )
            for op in operands:
                if isinstance(op, Function):
                    found.append(f"The function {op.name} is unsupported")

    if query.where is not None:
        walk(query.where)
    if query.order_by:
        found.append("The ORDER BY clause is unsupported")
    return list(dict.fromkeys(found))


# -- state ---------------------------------------------------------------------------------


@dataclass
class Registration:
    """One webhook. ``kind`` is ``"admin"`` or ``"dynamic"``; ``base`` the site URL the
    registering request used (payload links are written against it)."""

    id: int
    kind: str
    url: str
    events: tuple[str, ...]
    jql: str = ""
    name: str = ""
    secret: str | None = None
    enabled: bool = True
    exclude_body: bool = False
    expires_ms: int | None = None
    field_ids: tuple[str, ...] | None = None
    property_keys: tuple[str, ...] | None = None
    app: str = ""
    owner: str = ""
    base: str = ""
    updated_ms: int = 0

    def active(self, now_ms: int) -> bool:
        return self.enabled and (self.expires_ms is None or now_ms < self.expires_ms)


@dataclass(frozen=True)
class FailedDelivery:
    """A delivery that never got a 2xx (``GET /rest/api/3/webhook/failed``)."""

    id: str  # the X-Atlassian-Webhook-Identifier
    url: str
    body: str
    failure_time_ms: int
    app: str | None  # the app of a dynamic webhook, None for admin webhooks
    webhook_ids: tuple[int, ...]


@dataclass
class Delivery:
    identifier: str
    url: str
    body: bytes
    webhook_ids: tuple[int, ...]
    secret: str | None = None  # X-Hub-Signature key (admin)
    jwt: Mapping[str, Any] | None = None  # claims to sign (dynamic), iat/exp set per attempt
    app: str | None = None
    attempt: int = 0
    duplicate: bool = False
    hold: bool = False
    flow: str = "Primary"  # X-Atlassian-Webhook-Flow: Secondary for cascading changes


@dataclass
class Sent:
    """One attempt the engine made (for tests: ``engine.log``)."""

    identifier: str
    url: str
    attempt: int
    status: int | None  # None: connection error
    duplicate: bool = False


@dataclass
class _Queue:
    heap: list[tuple[float, int, Delivery]] = field(default_factory=list)
    held: list[tuple[float, Delivery]] = field(default_factory=list)  # (release at, delivery)
    in_flight: int = 0


class WebhookEngine:
    """Webhook registrations of one site and their delivery (see the module docstring).

    ``transport`` (an ``httpx.BaseTransport``) replaces the network, ``sleep``-free: retry
    delays are waited on a condition with ``time.monotonic``, scaled by ``backoff``.
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        search: SearchEngine,
        *,
        app_key: str = "sandbox-client",
        app_secret: str = "sandbox-secret",
        client_key: str = "jirakit-sandbox",
        duplicates: float = 0.0,
        reorder: float = 0.0,
        seed: int = 0,
        max_attempts: int = 5,
        backoff: float = 1.0,
        backoff_cap: float = 60.0,
        hold_limit: float = 2.0,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not 0.0 <= duplicates <= 1.0 or not 0.0 <= reorder <= 1.0:
            raise ValueError("webhook duplicates/reorder are probabilities in [0, 1]")
        if max_attempts < 1 or backoff < 0:
            raise ValueError("max_attempts must be >= 1 and backoff >= 0")
        self.store = store
        self.clock = clock
        self.search = search
        self.app_key = app_key
        self.app_secret = app_secret
        self.client_key = client_key
        self.duplicates = duplicates
        self.reorder = reorder
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.backoff_cap = backoff_cap
        self.hold_limit = hold_limit
        self.timeout = timeout
        self.transport = transport
        self.registrations: dict[int, Registration] = {}
        self.failed: list[FailedDelivery] = []
        self.log: list[Sent] = []
        self._rng = random.Random(seed)
        self._ids = itertools.count(1)
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._q = _Queue()
        self._thread: threading.Thread | None = None
        self._stop = False
        self._last_failure_ms = 0
        self._unsubscribe: Callable[[], None] | None = store.events.subscribe(self._on_event)

    # -- registrations ---------------------------------------------------------------

    def now_ms(self) -> int:
        return to_ms(self.clock.now())

    def add(self, reg: Registration) -> Registration:
        with self._cond:
            self.registrations[reg.id] = reg
        return reg

    def next_id(self) -> int:
        with self._cond:
            return next(self._ids)

    def remove(self, ids: Iterable[int]) -> None:
        with self._cond:
            for i in ids:
                self.registrations.pop(i, None)

    def update(self, reg: Registration, **changes: Any) -> None:
        with self._cond:
            for attr, value in changes.items():
                setattr(reg, attr, value)

    def refresh(self, ids: Iterable[int], app: str) -> int:
        """Extend the app's dynamic webhooks ``ids`` by 30 days; the new expiry (epoch ms)."""
        expires = self.now_ms() + DYNAMIC_TTL_MS
        wanted = set(ids)
        with self._cond:
            for reg in self.registrations.values():
                if reg.id in wanted and reg.kind == "dynamic" and reg.app == app:
                    reg.expires_ms = expires
        return expires

    def failures(self, app: str | None) -> list[FailedDelivery]:
        """Recorded failures of ``app``'s dynamic webhooks, oldest first."""
        with self._cond:
            found = [f for f in self.failed if f.app == app]
        return sorted(found, key=lambda f: f.failure_time_ms)

    def of_kind(self, kind: str, app: str | None = None) -> list[Registration]:
        with self._cond:
            regs = [r for r in self.registrations.values() if r.kind == kind]
        return sorted((r for r in regs if app is None or r.app == app), key=lambda r: r.id)

    # -- matching (event bus callback: store lock held, no I/O) ------------------------

    def _on_event(self, event: Event) -> None:
        if not self.registrations:
            return
        now_ms = self.now_ms()
        with self._cond:
            regs = [r for r in self.registrations.values() if r.active(now_ms)]
        if not regs:
            return
        rec = self._record(event)
        matches: list[tuple[Registration, str]] = []  # (registration, webhookEvent to send)
        for reg in regs:
            names = self._subscribed_as(reg, event)
            if not names:
                continue
            if rec is not None and reg.jql and not self._jql_matches(reg, rec):
                continue
            matches.extend((reg, name) for name in names)
        if not matches:
            return
        bodies: dict[tuple[str, str], Json] = {}
        deliveries: list[Delivery] = []
        dynamic: dict[tuple[str, str, str], list[Registration]] = {}
        flow = "Secondary" if event.data.get("secondary") else "Primary"
        for reg, name in matches:
            if reg.kind == "dynamic":
                dynamic.setdefault((reg.app, reg.url, name), []).append(reg)
                continue
            body = self._body(bodies, event, rec, name, reg.base)
            data = b"" if reg.exclude_body else to_json_bytes(body)
            deliveries.append(
                Delivery(self._identifier(), reg.url, data, (reg.id,), secret=reg.secret, flow=flow)
            )
        for (app, url, name), group in dynamic.items():
            body = dict(self._body(bodies, event, rec, name, group[0].base))
            body["matchedWebhookIds"] = [r.id for r in group]
            claims = {"iss": self.client_key, "aud": app, "sub": event.user or ""}
            deliveries.append(
                Delivery(
                    self._identifier(),
                    url,
                    to_json_bytes(body),
                    tuple(r.id for r in group),
                    jwt=claims,
                    app=app,
                    flow=flow,
                )
            )
        self._enqueue(deliveries)

    def _identifier(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _record(self, event: Event) -> IssueRecord | None:
        record = event.data.get("record")  # jira:issue_deleted: no longer in the store
        if isinstance(record, IssueRecord):
            return record
        if event.issue_id is None:
            return None
        rec = self.store.issues.get(event.issue_id)
        if rec is None:
            dead = self.store.tombstones.get(event.issue_id)
            rec = dead.record if dead is not None else None
        return rec

    @staticmethod
    def _subscribed_as(reg: Registration, event: Event) -> list[str]:
        names: list[str] = []
        if event.name in reg.events and not (
            reg.field_ids is not None
            and event.name == "jira:issue_updated"
            and not _touches(event, reg.field_ids)
        ):
            names.append(event.name)
        if (
            event.name in _COMMENT_AS_UPDATE
            and "jira:issue_updated" in reg.events
            and reg.field_ids is None
        ):
            names.append("jira:issue_updated")
        return names

    def _jql_matches(self, reg: Registration, rec: IssueRecord) -> bool:
        try:
            query = parse_jql(reg.jql)
            ctx = self.search.context(reg.owner or None)
            pred = compile_jql(query, ctx)
            view = {
                "id": rec.sid,
                "key": rec.key,
                "fields": LazyFields(self.store, rec, rec.fields),
            }
            return bool(pred(view))
        except JqlError:
            return False

    def _body(
        self,
        cache: dict[tuple[str, str], Json],
        event: Event,
        rec: IssueRecord | None,
        name: str,
        base: str,
    ) -> Json:
        key = (name, base)
        if key not in cache:
            raw = build_payload(self.store, event, rec, name)
            text = to_json_bytes(raw).replace(API.encode(), f"{base}/rest/api/2".encode())
            cache[key] = json.loads(text.replace(BASE.encode(), base.encode()))
        return cache[key]

    # -- queue -----------------------------------------------------------------------

    def _enqueue(self, deliveries: Sequence[Delivery]) -> None:
        now = time.monotonic()
        with self._cond:
            for d in deliveries:
                dup, hold = self._rng.random(), self._rng.random()
                d.duplicate = dup < self.duplicates
                d.hold = hold < self.reorder
                heapq.heappush(self._q.heap, (now, next(self._seq), d))
            self._ensure_thread()
            self._cond.notify_all()

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop = False
            self._thread = threading.Thread(
                target=self._run, name="jirakit-sandbox-webhooks", daemon=True
            )
            self._thread.start()

    def pending(self) -> int:
        with self._cond:
            return len(self._q.heap) + len(self._q.held) + self._q.in_flight

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued delivery (retries included) is done; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            if self._q.held:  # nothing left to overtake them: send them now
                self._q.held = [(0.0, h) for _, h in self._q.held]
                self._cond.notify_all()
            while self._q.heap or self._q.held or self._q.in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the worker thread (queued deliveries stay queued; it restarts when needed)."""
        with self._cond:
            self._stop = True
            thread = self._thread
            self._cond.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        with self._cond:
            self._thread = None

    def close(self, timeout: float = 5.0) -> None:
        """Stop delivering for good: unsubscribe, stop the worker, drop what is queued."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.stop(timeout)
        with self._cond:
            self._q = _Queue()
            self._cond.notify_all()

    # -- worker ----------------------------------------------------------------------

    def _next(self) -> Delivery | None:
        """The next delivery due, or None when stopping. A delivery picked for reordering
        is parked until the one after it has gone out (or ``hold_limit`` seconds)."""
        with self._cond:
            while True:
                if self._stop:
                    return None
                now = time.monotonic()
                q = self._q
                if q.heap and q.heap[0][0] <= now:
                    _, _, d = heapq.heappop(q.heap)
                    if d.hold:
                        d.hold = False
                        q.held.append((now + self.hold_limit, d))
                        continue
                    q.in_flight += 1
                    return d
                if q.held and q.held[0][0] <= now:
                    _, d = q.held.pop(0)
                    q.in_flight += 1
                    return d
                waits = [q.heap[0][0]] if q.heap else []
                if q.held:
                    waits.append(q.held[0][0])
                self._cond.wait(max(0.0, min(waits) - now) if waits else None)

    def _run(self) -> None:
        client = httpx.Client(timeout=self.timeout, transport=self.transport)
        try:
            while True:
                d = self._next()
                if d is None:
                    return
                try:
                    ok, retry = self._attempt(client, d)
                    if ok and d.duplicate:
                        d.duplicate = False
                        self._attempt(client, d, duplicate=True)
                finally:
                    self._finish(d, ok, retry)
        except Exception:  # pragma: no cover - a bug here must not kill silently
            log.exception("webhook worker crashed")
        finally:
            client.close()

    def _attempt(
        self, client: httpx.Client, d: Delivery, *, duplicate: bool = False
    ) -> tuple[bool, bool]:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Atlassian-Webhook-Identifier": d.identifier,
            "X-Atlassian-Webhook-Flow": d.flow,
        }
        if d.attempt:
            headers["X-Atlassian-Webhook-Retry"] = str(d.attempt)
        if d.secret:
            headers["X-Hub-Signature"] = sign(d.body, d.secret)
        if d.jwt is not None:
            iat = int(self.clock.now().timestamp())
            claims = {
                **d.jwt,
                "iat": iat,
                "exp": iat + JWT_TTL_S,
                "qsh": query_string_hash("POST", d.url),
            }
            headers["Authorization"] = f"JWT {jwt_encode(claims, self.app_secret)}"
        status: int | None
        try:
            response = client.post(d.url, content=d.body, headers=headers)
            status = response.status_code
        except httpx.HTTPError:
            status = None
        with self._cond:
            self.log.append(Sent(d.identifier, d.url, d.attempt, status, duplicate))
        if status is not None and 200 <= status < 300:
            return True, False
        retryable = status is None or status in RETRY_STATUSES or status >= 500
        return False, retryable

    def _finish(self, d: Delivery, ok: bool, retry: bool) -> None:
        with self._cond:
            self._q.in_flight -= 1
            # the parked ones go right after this one: that is the reordering
            self._q.held = [(0.0, h) for _, h in self._q.held]
            if not ok:
                if retry and d.attempt + 1 < self.max_attempts and not self._stop:
                    delay = min(self.backoff * (2**d.attempt), self.backoff_cap)
                    d.attempt += 1
                    heapq.heappush(self._q.heap, (time.monotonic() + delay, next(self._seq), d))
                else:
                    failure_ms = max(self.now_ms(), self._last_failure_ms + 1)
                    self._last_failure_ms = failure_ms
                    self.failed.append(
                        FailedDelivery(
                            d.identifier,
                            d.url,
                            d.body.decode("utf-8"),
                            failure_ms,
                            d.app,
                            d.webhook_ids,
                        )
                    )
            self._cond.notify_all()


def _touches(event: Event, field_ids: Sequence[str]) -> bool:
    history = event.data.get("history")
    if history is None:
        return False
    wanted = set(field_ids)
    return any(item[2] in wanted or item[0] in wanted for item in history.items)


# -- payloads --------------------------------------------------------------------------------


def _event_type(event: Event, name: str) -> str | None:
    if name == "jira:issue_created":
        return "issue_created"
    if name == "jira:issue_updated":
        if event.name in _COMMENT_AS_UPDATE:
            return _COMMENT_AS_UPDATE[event.name]
        history = event.data.get("history")
        fields = {i[2] for i in history.items} if history is not None else set()
        if fields and fields <= _WORK_FIELDS:
            return "issue_work_logged"
        if fields == {"assignee"}:
            return "issue_assigned"
        if "status" in fields:
            return "issue_generic"
        return "issue_updated"
    return None


def _full_issue(store: Store, rec: IssueRecord) -> Json:
    try:
        view = issue_view(store, rec, version=2, default_fields="*all")
    except (KeyError, LookupError):  # a deleted issue whose relatives are gone
        return nested_issue(store, rec)
    view.pop("expand", None)
    return view


def _created_items(store: Store, rec: IssueRecord) -> list[Json]:
    from jirakit.sandbox.mutations import change_items

    items: list[Json] = []
    for fid in ("assignee", "description", "priority", "reporter", "status", "summary"):
        value = rec.fields.get(fid)
        if value is None:
            continue
        for i in change_items(store, fid, None, value):
            items.append(
                {
                    "field": "Status" if fid == "status" else i[0],
                    "fieldtype": i[1],
                    "fieldId": i[2],
                    "from": None,
                    "fromString": None,
                    "to": i[5],
                    "toString": i[6],
                }
            )
    return items


def build_payload(store: Store, event: Event, rec: IssueRecord | None, name: str) -> Json:
    """The webhook body for ``event`` sent as ``name`` (URLs keep the store's markers)."""
    out: Json = {"timestamp": event.timestamp_ms, "webhookEvent": name}
    etype = _event_type(event, name)
    if etype is not None:
        out["issue_event_type_name"] = etype
    user = store.users.get(event.user or "")
    comment = event.data.get("comment")
    if name.startswith("comment_") and comment is not None and rec is not None:
        out["comment"] = comment_view(store, rec, comment, 2)
        out["issue"] = nested_issue(store, rec)
        out["issue"]["fields"].update({k: rec.fields.get(k) for k in ("project", "assignee")})
        return out
    if name.startswith("worklog_") and rec is not None:
        out["worklog"] = worklog_view(store, rec, event.data["worklog"], 2)
        return out
    if name.startswith("issuelink_"):
        out["issueLink"] = _link_payload(store, event, rec)
        return out
    entity = _entity_payload(store, event, name)
    if entity is not None:  # attachment, project, version, board and sprint events
        out.update(entity)
        return out
    if user is not None:
        out["user"] = user
    if rec is not None:
        out["issue"] = _full_issue(store, rec)
    if name == "jira:issue_created" and rec is not None:
        out["changelog"] = {
            "id": str(store.next_id("history")),
            "items": _created_items(store, rec),
        }
    elif name == "jira:issue_updated":
        history = event.data.get("history")
        if history is not None:
            h = history_view(store, history)
            out["changelog"] = {"id": h["id"], "items": h["items"]}
        elif comment is not None and rec is not None:
            out["comment"] = comment_view(store, rec, comment, 2)
    return out


def _entity_payload(store: Store, event: Event, name: str) -> Json | None:
    """The body of an event about one object other than an issue or comment: Jira sends the
    object alone (REST v2 representation), without ``user`` or ``issue``."""
    data = event.data
    if name.startswith("attachment_") and isinstance(data.get("attachment"), dict):
        return {"attachment": attachment_view(store, data["attachment"])}
    if name.startswith("project_") and isinstance(data.get("project"), dict):
        return {"project": project_payload(data["project"])}
    if name.startswith("jira:version_") and isinstance(data.get("version"), dict):
        today = datetime.fromtimestamp(event.timestamp_ms / 1000, UTC).date()
        return {"version": version_payload(data["version"], today)}
    if name.startswith("board_") and isinstance(data.get("board"), dict):
        return {"board": data["board"]}
    if isinstance(data.get("sprint"), dict):  # Agile: sprint_created|started|...
        out: Json = {"sprint": data["sprint"]}
        if name == "sprint_updated" and isinstance(data.get("old"), dict):
            out["oldValue"] = data["old"]
        return out
    return None


_ASSIGNEE_TYPE_KEYS = {
    "PROJECT_LEAD": "admin.assignee.type.projectlead",
    "UNASSIGNED": "admin.assignee.type.unassigned",
}


def project_payload(project: Json) -> Json:
    """A project as project webhooks carry it: ``projectLead`` (not ``lead``) and the
    assignee type as Jira's message key (``admin.assignee.type.unassigned``)."""
    out: Json = {
        "self": project["self"],
        "id": int(project["id"]),
        "key": project["key"],
        "name": project["name"],
        "avatarUrls": project.get("avatarUrls", {}),
    }
    if isinstance(project.get("projectCategory"), dict):
        out["projectCategory"] = project["projectCategory"]
    if isinstance(project.get("lead"), dict):
        out["projectLead"] = project["lead"]
    assignee = str(project.get("assigneeType") or "UNASSIGNED")
    out["assigneeType"] = _ASSIGNEE_TYPE_KEYS.get(assignee, _ASSIGNEE_TYPE_KEYS["UNASSIGNED"])
    return out


def _user_date(iso: str) -> str:
    """Jira's ``userReleaseDate`` style: ``30/Nov/24`` (English month, as the default locale)."""
    d = date.fromisoformat(iso)
    return f"{d.day:02d}/{_MONTHS[d.month - 1]}/{d.year % 100:02d}"


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def version_payload(version: Json, today: date) -> Json:
    """A version as version webhooks carry it (``overdue``, ``userStartDate``,
    ``userReleaseDate`` computed as of ``today``)."""
    out: Json = {
        "self": version["self"],
        "id": str(version["id"]),
        "description": version.get("description", ""),
        "name": version["name"],
        "archived": bool(version.get("archived")),
        "released": bool(version.get("released")),
    }
    start, release = version.get("startDate"), version.get("releaseDate")
    if start:
        out["startDate"] = start
    if release:
        out["releaseDate"] = release
    out["overdue"] = bool(
        release and not out["released"] and date.fromisoformat(str(release)) < today
    )
    if start:
        out["userStartDate"] = _user_date(str(start))
    if release:
        out["userReleaseDate"] = _user_date(str(release))
    out["projectId"] = int(version["projectId"])
    return out


def _link_payload(store: Store, event: Event, rec: IssueRecord | None) -> Json:
    lid = int(event.data.get("link") or 0)
    link = store.links.get(lid)
    if link is None:  # already removed (issuelink_deleted): the entry the event kept
        entry = event.data.get("entry")
        if not isinstance(entry, tuple | list) or len(entry) != 3:
            return {"id": lid, "sourceIssueId": rec.id if rec else None}
        link = (str(entry[0]), int(entry[1]), int(entry[2]))
    type_id, outward, inward = link
    t = store.link_types.get(str(type_id)) or {}
    return {
        "id": lid,
        "sourceIssueId": outward,
        "destinationIssueId": inward,
        "issueLinkType": {
            "id": int(t.get("id", type_id)),
            "name": t.get("name"),
            "outwardName": t.get("outward"),
            "inwardName": t.get("inward"),
            "isSubTaskLinkType": False,
            "isSystemLinkType": False,
        },
        "sequence": 0,
        "systemLink": False,
    }
