"""Connections to customers' Jira sites: credentials, clients, OAuth refresh with a lock.

Every Jira call goes through a jirakit `AsyncJira` (Basic for Cloud API tokens, Bearer
for Data Center PATs and OAuth access tokens). Clients are kept per connection and
credential version, so a refreshed or rotated credential gets a fresh client.

OAuth refresh (`refresh_connection`) is a plain blocking function a job queue can run. It
takes a lease on the connection row by compare-and-set (``UPDATE ... WHERE lock_until <
now``), which works the same on SQLite and Postgres and across processes, so one refresh
happens however many requests or processes notice the expiry. The token exchange runs
through jirakit's `OAuth2Auth`, whose ``on_token_update`` commits the rotated refresh
token before the new access token is used.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Select, or_, select, update
from sqlalchemy.orm import Session

from jirakit import AsyncJira, BasicAuth, BearerAuth, OAuth2Auth
from jirakit._logging import get_logger
from jirakit.client import Flavour
from jirakit.errors import AuthFlowError, ConfigurationError, JiraError, Unauthorized
from jirakit.jobs.budget import Governor, Priority, governs, open_governor
from jirakit.service.models import Connection, new_id, utcnow
from jirakit.service.state import ServiceState

log = get_logger("jirakit.service")

KINDS = ("api_token", "pat", "oauth2")
LOCK_LEASE = 30.0
LOCK_WAIT = 30.0


def normalise_site(url: str) -> str:
    """``https://acme.atlassian.net/`` -> ``https://acme.atlassian.net``; only http(s) URLs
    with a host and no credentials, query or fragment."""
    url = (url or "").strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"site must be an http(s) URL such as https://acme.atlassian.net, got {url!r}"
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigurationError("site must not contain credentials, a query or a fragment")
    return url


def new_connection(session: Session, state: ServiceState, *args: Any, **kwargs: Any) -> Connection:
    """Build and store a connection (credentials encrypted)."""
    conn = build_connection(state, *args, **kwargs)
    session.add(conn)
    session.flush()
    return conn


def build_connection(
    state: ServiceState,
    tenant_id: str,
    kind: str,
    *,
    site: str,
    email: str | None = None,
    token: str | None = None,
    oauth_token: dict[str, Any] | None = None,
    cloud_id: str | None = None,
    scopes: list[str] | None = None,
    external_xref: str | None = None,
    environment: str = "Production",
) -> Connection:
    """A new, unsaved connection (credentials encrypted); `verify` it, then add it."""
    site = normalise_site(site)
    if kind == "api_token":
        if not email or not token:
            raise ConfigurationError("an api_token connection needs an email and an API token")
        creds: dict[str, Any] = {"email": email, "token": token}
        api_base, flavour, expires = site, "cloud", None
    elif kind == "pat":
        if not token:
            raise ConfigurationError("a pat connection needs a personal access token")
        creds = {"token": token}
        api_base, flavour, expires = site, "datacenter", None
    elif kind == "oauth2":
        if not oauth_token or not cloud_id:
            raise ConfigurationError("an oauth2 connection needs a token and a cloud id")
        creds = dict(oauth_token)
        api_base = f"{state.settings.oauth_api_url.rstrip('/')}/ex/jira/{cloud_id}"
        flavour = "cloud"
        expires = _expiry(creds)
    else:
        raise ConfigurationError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    conn = Connection(
        tenant_id=tenant_id,
        kind=kind,
        site=site,
        api_base=api_base,
        flavour=flavour,
        cloud_id=cloud_id,
        credentials=state.vault.encrypt(creds),
        scopes=list(scopes or []),
        token_expires_at=expires,
        external_xref=external_xref,
        environment=environment,
        last_healthy_at=utcnow(),
        created_at=utcnow(),
        updated_at=utcnow(),
        credential_version=1,
        status="healthy",
        is_paused=False,
        extra={"email": email} if email else {},
    )
    conn.id = new_id()
    return conn


def _expiry(token: dict[str, Any]) -> datetime | None:
    at = token.get("expires_at")
    if at is None and token.get("expires_in") is not None:
        at = time.time() + float(token["expires_in"])
    return datetime.fromtimestamp(float(at), UTC) if at is not None else None


def auth_for(conn: Connection, creds: dict[str, Any]) -> httpx.Auth:
    if conn.kind == "api_token":
        return BasicAuth(str(creds["email"]), str(creds["token"]))
    if conn.kind == "pat":
        return BearerAuth(str(creds["token"]))
    # OAuth: the access token is kept fresh by `refresh_connection`; requests only carry it.
    return BearerAuth(str(creds["access_token"]))


async def verify(state: ServiceState, conn: Connection) -> dict[str, Any]:
    """Call ``/myself`` with the connection's credentials; Jira's refusal propagates."""
    creds = state.vault.decrypt(conn.credentials)
    async with AsyncJira(
        conn.api_base,
        auth=auth_for(conn, creds),
        flavour="datacenter" if conn.flavour == "datacenter" else "cloud",
        transport=state.async_transport,
    ) as jira:
        me = await jira.myself()
    return dict(me)


@dataclass(frozen=True)
class Snapshot:
    """What a request needs of a connection, read once (detached from the session)."""

    id: str
    tenant_id: str
    kind: str
    site: str
    api_base: str
    flavour: Flavour
    version: int
    status: str
    expires_at: datetime | None
    paused: bool = False

    @classmethod
    def of(cls, conn: Connection) -> Snapshot:
        return cls(
            conn.id,
            conn.tenant_id,
            conn.kind,
            conn.site,
            conn.api_base,
            "datacenter" if conn.flavour == "datacenter" else "cloud",
            conn.credential_version,
            conn.status,
            conn.token_expires_at,
            bool(conn.is_paused),
        )


def open_service_governor(settings: Any) -> Governor | None:
    """The points-budget governor ``settings`` name (``JIRAKIT_GOVERNOR``...)."""
    try:
        return open_governor(
            settings.governor,
            points=settings.governor_points,
            window=settings.governor_window,
            app=settings.governor_app,
        )
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None
    except Exception as exc:  # an unreachable database: one line, no traceback
        raise ConfigurationError(
            f"cannot open the governor's database: {' '.join(str(exc).split())[:300]}"
        ) from None


def governor_handle(
    state: ServiceState, snap: Snapshot, priority: Priority = Priority.INTERACTIVE
) -> Any:
    """The governor's handle for ``snap``'s tenant at ``priority``, when its requests spend
    the points budget (an OAuth connection) and a governor is configured; else None."""
    governor: Governor | None = state.extra.get("governor")
    if governor is None or not governs(snap.api_base):
        return None
    return governor.handle(snap.tenant_id, priority)


class JiraClients:
    """One `AsyncJira` per (connection, credential version), least recently used evicted.
    Their requests are INTERACTIVE in the points budget: a person waits for them."""

    def __init__(self, state: ServiceState, size: int = 256) -> None:
        self._state = state
        self._size = size
        self._clients: OrderedDict[str, tuple[int, AsyncJira]] = OrderedDict()
        self._touched: dict[str, float] = {}

    def get(self, snap: Snapshot, creds_blob: str | None = None) -> AsyncJira:
        held = self._clients.get(snap.id)
        if held is not None and held[0] == snap.version:
            self._clients.move_to_end(snap.id)
            return held[1]
        blob = creds_blob if creds_blob is not None else self._blob(snap.id)
        conn = Connection(kind=snap.kind)
        jira = AsyncJira(
            snap.api_base,
            auth=auth_for(conn, self._state.vault.decrypt(blob)),
            flavour=snap.flavour,
            transport=self._state.async_transport,
            governor=governor_handle(self._state, snap),
        )
        if held is not None:
            self._state.extra.setdefault("stale_clients", []).append(held[1])
        self._clients[snap.id] = (snap.version, jira)
        while len(self._clients) > self._size:
            _, (_, old) = self._clients.popitem(last=False)
            self._state.extra.setdefault("stale_clients", []).append(old)
        return jira

    def drop(self, connection_id: str) -> None:
        held = self._clients.pop(connection_id, None)
        if held is not None:
            self._state.extra.setdefault("stale_clients", []).append(held[1])

    def _blob(self, connection_id: str) -> str:
        with self._state.sessions() as session:
            blob = session.scalar(
                select(Connection.credentials).where(Connection.id == connection_id)
            )
        if blob is None:
            raise ConfigurationError("the connection was deleted")
        return blob

    def should_touch(self, connection_id: str, every: float = 30.0) -> bool:
        """Record activity at most every ``every`` seconds per connection (one write)."""
        now = time.monotonic()
        if now - self._touched.get(connection_id, -every) < every:
            return False
        self._touched[connection_id] = now
        return True

    async def aclose(self) -> None:
        stale = self._state.extra.pop("stale_clients", [])
        for _, jira in list(self._clients.values()):
            stale.append(jira)
        self._clients.clear()
        for jira in stale:
            await jira.close()


# -- OAuth refresh -------------------------------------------------------------------------


def expiring(expires_at: datetime | None, leeway: float) -> bool:
    return expires_at is not None and expires_at - timedelta(seconds=leeway) <= utcnow()


def _acquire(session: Session, connection_id: str, owner: str) -> bool:
    now = utcnow()
    result = session.execute(
        update(Connection)
        .where(Connection.id == connection_id)
        .where(or_(Connection.lock_until.is_(None), Connection.lock_until < now))
        .values(lock_owner=owner, lock_until=now + timedelta(seconds=LOCK_LEASE))
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def _release(state: ServiceState, connection_id: str, owner: str) -> None:
    with state.sessions() as session, session.begin():
        session.execute(
            update(Connection)
            .where(Connection.id == connection_id, Connection.lock_owner == owner)
            .values(lock_owner=None, lock_until=None)
            .execution_options(synchronize_session=False)
        )


def refresh_connection(
    state: ServiceState,
    connection_id: str,
    *,
    seen_version: int | None = None,
    sleep: Any = time.sleep,
) -> Snapshot:
    """Refresh an OAuth connection's access token if it is expiring (or, with
    ``seen_version``, if it is still that version after a 401). Exactly one caller
    refreshes; the others wait for its result. Raises `AuthFlowError` when Atlassian
    refuses (the connection is then ``needs_reauth``)."""
    owner = secrets.token_hex(8)
    deadline = time.monotonic() + LOCK_WAIT
    leeway = state.settings.refresh_leeway
    while True:
        with state.sessions() as session, session.begin():
            conn = session.get(Connection, connection_id)
            if conn is None:
                raise ConfigurationError("the connection was deleted")
            if conn.kind != "oauth2":
                return Snapshot.of(conn)
            if conn.status == "needs_reauth":
                raise AuthFlowError(
                    "this connection needs authorization again (its refresh token was refused)"
                )
            wanted = (
                conn.credential_version == seen_version
                if seen_version is not None
                else expiring(conn.token_expires_at, leeway)
            )
            if not wanted:
                return Snapshot.of(conn)
            got = _acquire(session, connection_id, owner)
        if got:
            break
        if time.monotonic() > deadline:
            raise AuthFlowError("timed out waiting for another refresh of this connection")
        sleep(0.05)
    try:
        return _refresh_locked(state, connection_id, owner, seen_version)
    finally:
        _release(state, connection_id, owner)


def _refresh_locked(
    state: ServiceState, connection_id: str, owner: str, seen_version: int | None
) -> Snapshot:
    settings = state.settings
    with state.sessions() as session:
        conn = session.get(Connection, connection_id)
        assert conn is not None
        # Checked again under the lock: the check above may have read the row before
        # another caller's refresh was committed (and its lock released), and would
        # refresh a second time (SQLite's driver starts the transaction at the write).
        still = (
            conn.credential_version == seen_version
            if seen_version is not None
            else expiring(conn.token_expires_at, settings.refresh_leeway)
        )
        if not still:
            return Snapshot.of(conn)
        token = state.vault.decrypt(conn.credentials)
        cloud_id = conn.cloud_id

    def persist(new: dict[str, Any]) -> None:
        # Committed before OAuth2Auth sends anything with the new access token.
        with state.sessions() as session, session.begin():
            session.execute(
                update(Connection)
                .where(Connection.id == connection_id, Connection.lock_owner == owner)
                .values(
                    credentials=state.vault.encrypt(new),
                    credential_version=Connection.credential_version + 1,
                    token_expires_at=_expiry(new),
                    status="healthy",
                    last_error=None,
                    last_healthy_at=utcnow(),
                )
                .execution_options(synchronize_session=False)
            )

    if not settings.oauth_client_id or not settings.oauth_client_secret:
        raise ConfigurationError("OAuth is not configured (JIRAKIT_OAUTH_CLIENT_ID/SECRET)")
    auth = OAuth2Auth(
        settings.oauth_client_id,
        settings.oauth_client_secret,
        token={**token, "expires_at": 0},  # due now: the next request refreshes first
        on_token_update=persist,
        auth_url=settings.oauth_auth_url,
        api_url=settings.oauth_api_url,
    )
    try:
        with httpx.Client(auth=auth, transport=state.transport, timeout=30.0) as http:
            response = http.get(
                f"{settings.oauth_api_url.rstrip('/')}/oauth/token/accessible-resources"
            )
    except AuthFlowError as exc:
        mark_needs_reauth(state, connection_id, str(exc))
        raise
    except httpx.HTTPError as exc:
        raise AuthFlowError(
            f"the token endpoint could not be reached: {type(exc).__name__}"
        ) from None
    scopes: list[str] | None = None
    if response.is_success:
        for site in response.json():
            if site.get("id") == cloud_id:
                scopes = list(site.get("scopes") or [])
    with state.sessions() as session, session.begin():
        conn = session.get(Connection, connection_id)
        assert conn is not None
        if scopes is not None:
            conn.scopes = scopes
        log.info("connection refreshed", connection_id=connection_id)
        return Snapshot.of(conn)


def mark_needs_reauth(state: ServiceState, connection_id: str, reason: str) -> None:
    from jirakit.service.outbox import publish

    with state.sessions() as session, session.begin():
        conn = session.get(Connection, connection_id)
        if conn is None or conn.status == "needs_reauth":
            return
        conn.status = "needs_reauth"
        conn.last_error = reason[:500]
        conn.last_unhealthy_at = utcnow()
        tenant_id = conn.tenant_id
    state.extra.get("snapshots", {}).pop(connection_id, None)
    log.warning("connection needs reauth", connection_id=connection_id)
    publish(
        state,
        tenant_id,
        connection_id,
        "connection",
        "needs_reauth",
        {"id": connection_id, "status": "needs_reauth", "last_error": reason[:500]},
    )


def tokens_due(state: ServiceState, now: datetime, limit: int) -> Select[str]:
    """The ids of (at most ``limit``) healthy OAuth connections whose token expires within
    the refresh leeway of ``now``: a query."""
    horizon = now + timedelta(seconds=state.settings.refresh_leeway)
    return (
        select(Connection.id)
        .where(
            Connection.kind == "oauth2",
            Connection.status == "healthy",
            Connection.token_expires_at <= horizon,
        )
        .limit(limit)
    )


def refresh_expiring(state: ServiceState, *, limit: int = 50) -> int:
    """Background job: refresh OAuth connections about to expire. Returns how many."""
    with state.sessions() as session:
        ids = session.scalars(tokens_due(state, utcnow(), limit)).all()
    done = 0
    for connection_id in ids:
        try:
            refresh_connection(state, connection_id)
            done += 1
        except (AuthFlowError, ConfigurationError, JiraError):
            continue
    return done


def is_unauthorized(exc: BaseException) -> bool:
    return isinstance(exc, Unauthorized)
