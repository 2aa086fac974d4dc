"""FastAPI dependencies, as ``Annotated`` aliases (the full-stack template's ``deps.py``).

``TenantId`` authenticates the API key; ``Db`` is a session for the request; ``Jira``
(via `JiraConn`) is the connection's client, found only among the caller's connections:
another tenant's id answers 404, as a missing one does.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Annotated, Any

from anyio import to_thread
from fastapi import Depends, Path, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from jirakit.client import AsyncJira
from jirakit.errors import AuthFlowError, Unauthorized
from jirakit.service.connections import (
    JiraClients,
    Snapshot,
    expiring,
    refresh_connection,
)
from jirakit.service.crypto import hash_api_key
from jirakit.service.models import Connection, utcnow
from jirakit.service.problems import Problem
from jirakit.service.ratelimit import SharedTenantLimiter, TenantLimiter, UnknownTenant
from jirakit.service.state import ServiceState
from jirakit.service.tenants import tenant_for_key


async def get_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.service
    return state


State = Annotated[ServiceState, Depends(get_state)]


def get_db(state: State) -> Iterator[Session]:
    with state.sessions() as session:
        yield session


Db = Annotated[Session, Depends(get_db)]


def api_key_of(request: Request) -> str | None:
    header = request.headers.get("authorization", "").strip()
    if not header:
        return None
    scheme, _, rest = header.partition(" ")
    if rest and scheme.lower() == "bearer":
        return rest.strip()
    # Unified's SDK sends the key as given, without a scheme.
    return header if " " not in header else None


KEY_CACHE_SECONDS = 10.0
"""How long a process trusts an API key it has looked up: a key deleted from the database
(revoked) stops working on every process within this time."""


async def tenant_of_key(state: ServiceState, key: str) -> str | None:
    """The tenant an API key belongs to, or None; looked up by its hash, and remembered
    for `KEY_CACHE_SECONDS`."""
    cache: dict[str, tuple[str, float]] = state.extra.setdefault("key_cache", {})
    hashed = hash_api_key(key)
    now = time.monotonic()
    known = cache.get(hashed)
    if known is not None and known[1] > now:
        return known[0]

    def lookup() -> str | None:
        with state.sessions() as session:
            return tenant_for_key(session, key)

    tenant_id = await to_thread.run_sync(lookup)
    if tenant_id is None:
        cache.pop(hashed, None)
        return None
    if len(cache) > 10_000:
        cache.clear()
    cache[hashed] = (tenant_id, now + KEY_CACHE_SECONDS)
    return tenant_id


async def get_tenant_id(request: Request, state: State) -> str:
    key = api_key_of(request)
    if not key:
        raise Problem(
            401,
            "send your API key as `Authorization: Bearer KEY`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    tenant_id = await tenant_of_key(state, key)
    if tenant_id is None:
        raise Problem(401, "unknown API key", headers={"WWW-Authenticate": "Bearer"})
    limiter: TenantLimiter | SharedTenantLimiter = state.extra["limiter"]
    if limiter.blocking:  # the shared buckets: a round trip to Postgres
        try:
            wait = await to_thread.run_sync(limiter.take, tenant_id)
        except UnknownTenant:
            state.extra.get("key_cache", {}).pop(hash_api_key(key), None)
            raise Problem(401, "unknown API key", headers={"WWW-Authenticate": "Bearer"}) from None
    else:
        wait = limiter.take(tenant_id)
    if wait > 0:
        raise Problem(
            429,
            "rate limit for this API key exceeded; retry after the given seconds",
            headers={"Retry-After": str(max(1, round(wait + 0.5)))},
        )
    return tenant_id


TenantId = Annotated[str, Depends(get_tenant_id)]


WAITED_HEADER = "X-Jirakit-Waited"
"""Seconds the request's Jira calls waited for rate limits: the points budget's governor,
pacing and 429 retries (an upper bound when other requests share the connection's client)."""
WAITED_KEY = "jirakit_jira_waited"


class WaitedHeader:
    """Pure ASGI middleware: ``WAITED_HEADER`` on every answer whose request called Jira
    (routes may return their own `Response`, so a dependency cannot set it)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def add(message: Any) -> None:
            if message["type"] == "http.response.start":
                waited = scope.get("state", {}).get(WAITED_KEY)
                if waited is not None:
                    headers = list(message.get("headers", []))
                    headers.append((WAITED_HEADER.lower().encode(), f"{waited:.3f}".encode()))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, add)


class JiraConn:
    """The caller's connection and a ready client; ``call`` retries once after a 401 on
    an OAuth connection, with a locked refresh in between, and reports in ``WAITED_HEADER``
    how long its Jira calls waited for rate limits."""

    def __init__(
        self, state: ServiceState, snap: Snapshot, scope_state: dict[str, Any] | None = None
    ) -> None:
        self.state = state
        self.snap = snap
        self.clients: JiraClients = state.extra["clients"]
        self.scope_state = scope_state
        self.waited = 0.0

    @property
    def id(self) -> str:
        return self.snap.id

    @property
    def site(self) -> str:
        return self.snap.site

    @property
    def jira(self) -> AsyncJira:
        return self.clients.get(self.snap)

    async def call(self, fn: Any) -> Any:
        try:
            return await self._timed(fn)
        except Unauthorized:
            if self.snap.kind != "oauth2":
                raise
        await self._refresh(seen_version=self.snap.version)
        return await self._timed(fn)

    async def _timed(self, fn: Any) -> Any:
        jira = self.jira
        before = jira.stats.throttled_seconds + jira.stats.retry_wait_seconds
        try:
            return await fn(jira)
        finally:
            after = jira.stats.throttled_seconds + jira.stats.retry_wait_seconds
            self.waited += max(0.0, after - before)
            if self.scope_state is not None:
                self.scope_state[WAITED_KEY] = self.waited

    async def _refresh(self, seen_version: int | None = None) -> None:
        forget_snapshot(self.state, self.snap.id)
        try:
            self.snap = await to_thread.run_sync(
                lambda: refresh_connection(self.state, self.snap.id, seen_version=seen_version)
            )
        except AuthFlowError as exc:
            raise Problem(
                409,
                f"connection {self.snap.id} needs the customer to authorize again: {exc}",
                title="Connection needs reauthorization",
            ) from None


# Connection snapshots are kept this long in memory, so a request reads the database only
# when its connection was not seen in the last seconds. Changes made through this process
# (delete, pause, refresh) drop the entry at once; other processes see them after at most
# this long (a refreshed token is picked up sooner: a 401 re-reads the row).
SNAPSHOT_TTL = 2.0


def _load(state: ServiceState, tenant_id: str, connection_id: str) -> Snapshot:
    with state.sessions() as session:
        conn = session.scalar(
            select(Connection).where(
                Connection.id == connection_id, Connection.tenant_id == tenant_id
            )
        )
        if conn is None:
            raise Problem(404, f"connection {connection_id!r} does not exist")
        return Snapshot.of(conn)


def _touch(state: ServiceState, connection_id: str) -> None:
    with state.sessions() as session, session.begin():
        conn = session.get(Connection, connection_id)
        if conn is not None:
            conn.last_activity_at = utcnow()


def forget_snapshot(state: ServiceState, connection_id: str) -> None:
    cache: dict[str, tuple[float, Snapshot]] = state.extra.setdefault("snapshots", {})
    cache.pop(connection_id, None)


async def get_connection(
    state: State,
    tenant_id: TenantId,
    connection_id: Annotated[str, Path(description="ID of the connection")],
) -> Snapshot:
    cache: dict[str, tuple[float, Snapshot]] = state.extra.setdefault("snapshots", {})
    held = cache.get(connection_id)
    now = time.monotonic()
    if held is not None and now - held[0] < SNAPSHOT_TTL and held[1].tenant_id == tenant_id:
        snap = held[1]
    else:
        snap = await to_thread.run_sync(_load, state, tenant_id, connection_id)
        if len(cache) > 10_000:
            cache.clear()
        cache[connection_id] = (now, snap)
    clients: JiraClients = state.extra["clients"]
    if clients.should_touch(snap.id):
        await to_thread.run_sync(_touch, state, snap.id)
    if snap.status != "healthy" or snap.paused:
        reason = "is paused" if snap.paused else "needs the customer to authorize again"
        raise Problem(409, f"connection {connection_id} {reason}", title="Connection not usable")
    return snap


async def get_jira(
    state: State, snap: Annotated[Snapshot, Depends(get_connection)], request: Request
) -> JiraConn:
    conn = JiraConn(state, snap, request.scope.setdefault("state", {}))
    if snap.kind == "oauth2" and expiring(snap.expires_at, state.settings.refresh_leeway):
        await conn._refresh()
    return conn


Jira = Annotated[JiraConn, Depends(get_jira)]


def owned(session: Session, model: Any, tenant_id: str, ident: str, what: str) -> Any:
    """A row of ``model`` by id, only if it is the tenant's (404 otherwise, never 403)."""
    row = session.scalar(select(model).where(model.id == ident, model.tenant_id == tenant_id))
    if row is None:
        raise Problem(404, f"{what} {ident!r} does not exist")
    return row
