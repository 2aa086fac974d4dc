"""``/unified/connection``: customers' Jira connections, their health, and OAuth 3LO.

Three ways in: the CLI (``jirakit connections create``), ``POST /unified/connection``
with Unified's shape (``integration_type: "jira"``, ``auth`` holding an API token, a PAT
or OAuth tokens), and the consent flow: ``GET /unified/integration/auth/{workspace}/jira``
gives the Atlassian consent URL, the customer's browser comes back to
``GET /oauth/callback``, and a grant covering several sites waits for
``POST /unified/connection/oauth/select``.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Query, Response
from fastapi.responses import PlainTextResponse, RedirectResponse
from pydantic import BaseModel
from sqlalchemy import delete, select

from jirakit import AsyncJira, OAuth2Auth, authorization_url
from jirakit.errors import AuthFlowError, ConfigurationError
from jirakit.service import connections as conns
from jirakit.service.deps import Db, State, TenantId, forget_snapshot, owned
from jirakit.service.models import Connection, OAuthState, PendingGrant, utcnow
from jirakit.service.paging import Listing
from jirakit.service.problems import Problem, invalid
from jirakit.service.schemas.unified import (
    PERMISSIONS,
    TASK_CATEGORIES,
    ConnectionCreate,
    ConnectionPublic,
    ConnectionUpdate,
)
from jirakit.service.state import ServiceState

router = APIRouter(tags=["unified"])


def public(conn: Connection) -> dict[str, Any]:
    extra = conn.extra or {}
    status = "paused" if conn.is_paused else conn.status
    auth: dict[str, Any] = {"api_url": conn.site}
    if extra.get("email"):
        auth["emails"] = [extra["email"]]
    return {
        "id": conn.id,
        "integration_type": "jira",
        "integration_name": "Jira",
        "categories": extra.get("categories") or list(TASK_CATEGORIES),
        "permissions": extra.get("permissions") or list(PERMISSIONS),
        "auth": auth,
        "environment": conn.environment,
        "external_xref": conn.external_xref,
        "is_paused": conn.is_paused,
        "created_at": conn.created_at,
        "updated_at": conn.updated_at,
        "last_healthy_at": conn.last_healthy_at,
        "last_unhealthy_at": conn.last_unhealthy_at,
        "last_unhealthy_code": "needs_reauth" if conn.status == "needs_reauth" else None,
        "kind": conn.kind,
        "status": status,
        "site": conn.site,
        "scopes": list(conn.scopes or []),
        "token_expires_at": conn.token_expires_at,
        "last_error": conn.last_error,
        "last_activity_at": conn.last_activity_at,
    }


@router.get(
    "/unified/connection", response_model=list[ConnectionPublic], response_model_exclude_none=True
)
def list_connections(
    db: Db,
    tenant_id: TenantId,
    params: Listing,
    external_xref: Annotated[str | None, Query(max_length=300)] = None,
    env: Annotated[str | None, Query(max_length=100)] = None,
    categories: Annotated[list[str] | None, Query()] = None,
) -> list[dict[str, Any]]:
    query = select(Connection).where(Connection.tenant_id == tenant_id)
    if external_xref:
        query = query.where(Connection.external_xref == external_xref)
    if env:
        query = query.where(Connection.environment == env)
    if params.updated_gte:
        query = query.where(Connection.updated_at >= params.updated_gte)
    column = Connection.created_at if params.sort == "created_at" else Connection.updated_at
    query = query.order_by(column.asc() if params.order == "asc" else column.desc(), Connection.id)
    rows = db.scalars(query.offset(params.offset).limit(params.limit)).all()
    return [public(c) for c in rows]


@router.get(
    "/unified/connection/{id}", response_model=ConnectionPublic, response_model_exclude_none=True
)
def get_connection(db: Db, tenant_id: TenantId, id: str) -> dict[str, Any]:
    return public(owned(db, Connection, tenant_id, id, "connection"))


async def _oauth_site(
    state: ServiceState, token: dict[str, Any], site: str | None
) -> tuple[str, str, list[str], dict[str, Any]]:
    """(site URL, cloudId, scopes, token) for OAuth tokens handed to us directly. The token
    returned is the latest: checking may have refreshed (and so rotated) it."""
    auth = _oauth(state, token, site)
    async with AsyncJira(auth=auth, transport=state.async_transport) as jira:
        await jira.myself()
        base = jira.base_url or ""
    cloud_id = base.rsplit("/", 1)[-1]
    sites = await _resources(state, auth)
    chosen = next((s for s in sites if s.get("id") == cloud_id), {})
    url = str(chosen.get("url") or site or base)
    return url, cloud_id, list(chosen.get("scopes") or []), auth.token


def _oauth(state: ServiceState, token: dict[str, Any], site: str | None = None) -> OAuth2Auth:
    s = state.settings
    if not s.oauth_client_id or not s.oauth_client_secret:
        raise Problem(
            422,
            "OAuth connections need the service's OAuth app: set JIRAKIT_OAUTH_CLIENT_ID and "
            "JIRAKIT_OAUTH_CLIENT_SECRET",
        )
    return OAuth2Auth(
        s.oauth_client_id,
        s.oauth_client_secret,
        token=token,
        site=site,
        auth_url=s.oauth_auth_url,
        api_url=s.oauth_api_url,
    )


async def _resources(state: ServiceState, auth: OAuth2Auth) -> list[dict[str, Any]]:
    url = f"{state.settings.oauth_api_url.rstrip('/')}/oauth/token/accessible-resources"
    async with httpx.AsyncClient(auth=auth, transport=state.async_transport, timeout=30.0) as http:
        response = await http.get(url)
    if not response.is_success:
        raise Problem(502, f"Atlassian refused to list the grant's sites ({response.status_code})")
    data = response.json()
    return [dict(r) for r in data] if isinstance(data, list) else []


@router.post(
    "/unified/connection", response_model=ConnectionPublic, response_model_exclude_none=True
)
async def create_connection(
    state: State, tenant_id: TenantId, body: ConnectionCreate
) -> dict[str, Any]:
    if body.integration_type.lower() != "jira":
        raise invalid("body.integration_type", 'this service connects Jira only: use "jira"')
    auth = body.auth
    if auth is None:
        raise invalid("body.auth", "give the credentials: {token, emails, api_url} or OAuth tokens")
    kind = body.kind or (
        "oauth2" if auth.access_token or auth.refresh_token
        else "api_token" if auth.emails else "pat"
    )  # fmt: skip
    email = auth.emails[0] if auth.emails else None
    secret = auth.token or auth.key
    site = auth.api_url
    common: dict[str, Any] = {
        "external_xref": body.external_xref,
        "environment": body.environment or "Production",
    }
    try:
        if kind == "oauth2":
            token = {
                k: v for k, v in {
                    "access_token": auth.access_token,
                    "refresh_token": auth.refresh_token,
                    "expires_in": auth.expires_in,
                    "expires_at": auth.expiry_date.timestamp() if auth.expiry_date else None,
                }.items() if v is not None
            }  # fmt: skip
            site_url, cloud_id, scopes, token = await _oauth_site(state, token, site)
            conn = conns.build_connection(
                state, tenant_id, kind, site=site_url, oauth_token=token, cloud_id=cloud_id,
                scopes=scopes, **common,
            )  # fmt: skip
        else:
            if not site:
                raise invalid(
                    "body.auth.api_url", "give the Jira site URL (https://acme.atlassian.net)"
                )
            if not secret:
                raise invalid("body.auth.token", "give the API token (Cloud) or PAT (Data Center)")
            if kind == "api_token" and not email:
                raise invalid("body.auth.emails", "a Cloud API token needs the account's email")
            conn = conns.build_connection(
                state, tenant_id, kind, site=site, email=email, token=secret, **common
            )
            await conns.verify(state, conn)
    except ConfigurationError as exc:
        raise invalid("body.auth", str(exc)) from None
    conn.extra = dict(conn.extra) | {"categories": body.categories, "permissions": body.permissions}
    with state.sessions() as session, session.begin():
        session.add(conn)
    return public(conn)


@router.put(
    "/unified/connection/{id}", response_model=ConnectionPublic, response_model_exclude_none=True
)
def update_connection(
    state: State, db: Db, tenant_id: TenantId, id: str, body: ConnectionUpdate
) -> dict[str, Any]:
    forget_snapshot(state, id)
    return _update(db, tenant_id, id, body)


@router.patch(
    "/unified/connection/{id}", response_model=ConnectionPublic, response_model_exclude_none=True
)
def patch_connection(
    state: State, db: Db, tenant_id: TenantId, id: str, body: ConnectionUpdate
) -> dict[str, Any]:
    forget_snapshot(state, id)
    return _update(db, tenant_id, id, body)


def _update(db: Any, tenant_id: str, id: str, body: ConnectionUpdate) -> dict[str, Any]:
    conn: Connection = owned(db, Connection, tenant_id, id, "connection")
    set_ = body.model_fields_set
    if "external_xref" in set_:
        conn.external_xref = body.external_xref
    if "is_paused" in set_ and body.is_paused is not None:
        conn.is_paused = body.is_paused
    if "environment" in set_ and body.environment:
        conn.environment = body.environment
    if "auth" in set_ and body.auth is not None:
        raise invalid(
            "body.auth", "credentials cannot be changed in place: create a new connection"
        )
    conn.updated_at = utcnow()
    db.commit()
    return public(conn)


@router.delete("/unified/connection/{id}", status_code=200, response_class=Response)
def remove_connection(state: State, db: Db, tenant_id: TenantId, id: str) -> Response:
    """Remove the connection and its encrypted credentials for good (and its webhooks)."""
    conn: Connection = owned(db, Connection, tenant_id, id, "connection")
    db.delete(conn)
    db.commit()
    state.extra["clients"].drop(id)
    forget_snapshot(state, id)
    return Response(status_code=200)


# -- OAuth 2.0 (3LO) ------------------------------------------------------------------------


@router.get("/unified/integration/auth/{workspace_id}/{integration_type}", response_model=None)
def oauth_start(
    state: State,
    db: Db,
    tenant_id: TenantId,
    workspace_id: str,
    integration_type: str,
    success_redirect: Annotated[str | None, Query(max_length=1000)] = None,
    external_xref: Annotated[str | None, Query(max_length=300)] = None,
    subdomain: Annotated[str | None, Query(max_length=300, description="Preferred site")] = None,
    scopes: Annotated[list[str] | None, Query()] = None,
    redirect: Annotated[bool, Query()] = False,
) -> Response:
    """The Atlassian consent URL (text/plain, or a 302 with ``redirect=true``), with a
    ``state`` bound to this tenant that lives ``JIRAKIT_OAUTH_STATE_TTL`` seconds."""
    if integration_type.lower() != "jira":
        raise Problem(404, f"integration {integration_type!r} does not exist; use jira")
    s = state.settings
    if not s.oauth_configured:
        raise Problem(
            422,
            "OAuth is not configured: set JIRAKIT_OAUTH_CLIENT_ID, JIRAKIT_OAUTH_CLIENT_SECRET "
            "and JIRAKIT_OAUTH_REDIRECT_URI",
        )
    if success_redirect and not success_redirect.startswith(("https://", "http://")):
        raise invalid("query.success_redirect", "must be an http(s) URL")
    wanted = [
        w for item in scopes or [] for w in item.replace(",", " ").split()
    ] or s.oauth_scopes.split()
    url, token = authorization_url(
        str(s.oauth_client_id),
        str(s.oauth_redirect_uri),
        wanted,
        state=secrets.token_urlsafe(32),
        auth_url=s.oauth_auth_url.rstrip("/"),
    )
    db.add(
        OAuthState(
            state=token,
            tenant_id=tenant_id,
            site=subdomain,
            success_redirect=success_redirect,
            external_xref=external_xref,
            expires_at=utcnow() + timedelta(seconds=s.oauth_state_ttl),
        )
    )
    db.execute(delete(OAuthState).where(OAuthState.expires_at < utcnow()))
    db.commit()
    if redirect:
        return RedirectResponse(url, status_code=302)
    return PlainTextResponse(url)


def _pick(sites: list[dict[str, Any]], wanted: str | None) -> dict[str, Any] | None:
    if len(sites) == 1 and not wanted:
        return sites[0]
    want = (wanted or "").rstrip("/").lower()
    for site in sites:
        if want and want in {
            str(site.get("id", "")).lower(),
            str(site.get("name", "")).lower(),
            str(site.get("url", "")).rstrip("/").lower(),
        }:
            return site
    return None


@router.get("/oauth/callback", response_model=None)
async def oauth_callback(
    state: State,
    code: Annotated[str | None, Query(max_length=2000)] = None,
    state_: Annotated[str | None, Query(alias="state", max_length=200)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
    error_description: Annotated[str | None, Query(max_length=1000)] = None,
) -> Any:
    """Where Atlassian sends the customer back: exchange the code, read the grant's sites,
    store the connection (or ask which site, when there are several)."""
    if not state_:
        raise invalid("query.state", "missing state")
    with state.sessions() as session, session.begin():
        pending = session.get(OAuthState, state_)
        if pending is not None:
            session.delete(pending)  # single use
    if pending is None or pending.expires_at < utcnow():
        raise Problem(400, "unknown or expired state: start the authorization again")
    if error:
        raise Problem(
            400, f"Atlassian refused the authorization: {error} {error_description or ''}".strip()
        )
    if not code:
        raise invalid("query.code", "missing code")
    s = state.settings
    try:
        auth = await OAuth2Auth.afrom_code(
            code,
            client_id=str(s.oauth_client_id),
            client_secret=str(s.oauth_client_secret),
            redirect_uri=str(s.oauth_redirect_uri),
            auth_url=s.oauth_auth_url,
            api_url=s.oauth_api_url,
            transport=state.async_transport,
        )
    except AuthFlowError as exc:
        raise Problem(400, f"the authorization code was refused: {exc}") from None
    token = auth.token
    sites = await _resources(state, auth)
    if not sites:
        raise Problem(400, "the grant gives access to no Jira site")
    chosen = _pick(sites, pending.site)
    if chosen is None:
        with state.sessions() as session, session.begin():
            grant = PendingGrant(
                tenant_id=pending.tenant_id,
                credentials=state.vault.encrypt(token),
                sites=[{k: site.get(k) for k in ("id", "url", "name", "scopes")} for site in sites],
                external_xref=pending.external_xref,
                expires_at=utcnow() + timedelta(seconds=s.oauth_state_ttl),
            )
            session.add(grant)
            session.flush()
            grant_id = grant.id
        body = {
            "pending_id": grant_id,
            "sites": [{k: x.get(k) for k in ("id", "url", "name")} for x in sites],
        }
        if pending.success_redirect:
            return RedirectResponse(_with(pending.success_redirect, pending_id=grant_id), 302)
        return body
    conn = _store_oauth(state, pending.tenant_id, token, chosen, pending.external_xref)
    if pending.success_redirect:
        return RedirectResponse(_with(pending.success_redirect, id=conn.id), 302)
    return public(conn)


def _with(url: str, **params: str) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)


def _store_oauth(
    state: ServiceState,
    tenant_id: str,
    token: dict[str, Any],
    site: dict[str, Any],
    xref: str | None,
) -> Connection:
    with state.sessions() as session, session.begin():
        conn = conns.new_connection(
            session, state, tenant_id, "oauth2",
            site=str(site.get("url")), oauth_token=token, cloud_id=str(site.get("id")),
            scopes=list(site.get("scopes") or []), external_xref=xref,
        )  # fmt: skip
        session.flush()
        session.expunge(conn)
    return conn


class SiteChoice(BaseModel):
    pending_id: str
    site: str


@router.post(
    "/unified/connection/oauth/select",
    response_model=ConnectionPublic,
    response_model_exclude_none=True,
)
def oauth_select(state: State, tenant_id: TenantId, body: SiteChoice) -> dict[str, Any]:
    """Finish a consent whose grant covers several sites: pick one (id, URL or name)."""
    with state.sessions() as session, session.begin():
        grant = session.scalar(
            select(PendingGrant).where(
                PendingGrant.id == body.pending_id, PendingGrant.tenant_id == tenant_id
            )
        )
        if grant is None or grant.expires_at < utcnow():
            raise Problem(404, f"pending authorization {body.pending_id!r} does not exist")
        chosen = _pick(grant.sites, body.site)
        if chosen is None:
            names = ", ".join(str(x.get("url")) for x in grant.sites)
            raise invalid("body.site", f"not one of the granted sites: {names}")
        token = state.vault.decrypt(grant.credentials)
        xref = grant.external_xref
        session.delete(grant)
    return public(_store_oauth(state, tenant_id, token, chosen, xref))


@router.post(
    "/unified/connection/{id}/refresh",
    response_model=ConnectionPublic,
    response_model_exclude_none=True,
)
async def refresh(state: State, db: Db, tenant_id: TenantId, id: str) -> dict[str, Any]:
    """jirakit: refresh an OAuth connection's access token now (once, under the lock)."""
    from anyio import to_thread

    conn: Connection = owned(db, Connection, tenant_id, id, "connection")
    if conn.kind != "oauth2":
        raise Problem(422, "only oauth2 connections have tokens to refresh")
    version = conn.credential_version
    forget_snapshot(state, id)
    try:
        await to_thread.run_sync(lambda: conns.refresh_connection(state, id, seen_version=version))
    except AuthFlowError as exc:
        raise Problem(
            409, f"refresh refused: {exc}", title="Connection needs reauthorization"
        ) from None
    db.expire_all()
    return public(owned(db, Connection, tenant_id, id, "connection"))
