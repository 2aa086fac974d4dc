"""Atlassian OAuth 2.0 (3LO), emulated: authorize, tokens, accessible resources, ``/ex/jira``.

On Atlassian these live on three hosts (``auth.atlassian.com``, ``api.atlassian.com`` and
the site); the sandbox serves them all from its own base URL, so a client is configured
with ``auth_url = api_url = <sandbox base URL>``.

- ``GET /authorize``: auto-consent for ``OAuthProvider.account_id``. Checks ``client_id``
  and ``redirect_uri`` (400 JSON if either is wrong: there is nowhere safe to redirect),
  then ``response_type=code``, ``audience=api.atlassian.com``, ``scope`` and ``state``
  (errors are redirected back as ``?error=...&error_description=...&state=...``). Success:
  302 to ``redirect_uri?code=...&state=...``. A refresh token is issued later only if the
  scope contains ``offline_access``, as on Atlassian.
- ``POST /oauth/token`` (JSON body; a form body is accepted too):
  ``grant_type=authorization_code`` (``code``, ``redirect_uri``, client credentials; codes are
  single-use and live 10 minutes) and ``grant_type=refresh_token``. Access tokens live
  ``access_token_ttl`` seconds (3600). Refresh tokens ROTATE on every use. Reusing a
  rotated refresh token within ``reuse_window`` (600 s) of its rotation is tolerated (it
  rotates again); outside the window it REVOKES the whole grant (every access and refresh
  token) and answers 403. A refresh token unused for ``refresh_token_ttl`` (90 days)
  expires. Bad tokens get Atlassian's documented answer: 403
  ``{"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."}``;
  bad client credentials 401 ``{"error": "access_denied", "error_description":
  "Unauthorized"}``.
- ``GET /oauth/token/accessible-resources`` (Bearer access token): the site, and any
  other site added with `OAuthProvider.add_site` (another sandbox, reached through this
  one's ``/ex/jira/{its cloudId}``), ``[{"id": cloudId, "url", "name", "scopes", "avatarUrl"}]``.
- ``/ex/jira/{cloudId}/...`` (`OAuthMiddleware`): the prefix is stripped and the request
  goes to the inner app (``app_root_path`` keeps the prefix, so ``request.base_url`` and the
  ``self`` links in responses carry it, as on ``api.atlassian.com``). An unknown cloudId is
  404. A Bearer token there must be a live access token (else 401 ``{"code": 401,
  "message": "Unauthorized"}``, the gateway's body); the account it belongs to is put in
  ``scope["state"][OAUTH_ACCOUNT_KEY]`` and its scopes in ``scope["state"][OAUTH_SCOPES_KEY]``,
  and the ``Authorization`` header is removed, or replaced by ``authorization_for(account_id)``
  when that callable is given. Other credentials (Basic) pass through unchanged.

Time comes from an injectable `Clock`; tokens are opaque random strings.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import uuid
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route, Router

from jirakit.sandbox.clock import Clock, SystemClock

__all__ = [
    "ACCESS_TOKEN_TTL",
    "AUDIENCE",
    "DEFAULT_CLIENT",
    "OAUTH_ACCOUNT_KEY",
    "OAUTH_SCOPES_KEY",
    "REFRESH_REUSE_WINDOW",
    "REFRESH_TOKEN_TTL",
    "AccessInfo",
    "OAuthClient",
    "OAuthError",
    "OAuthMiddleware",
    "OAuthProvider",
    "OAuthSite",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

AUDIENCE = "api.atlassian.com"
ACCESS_TOKEN_TTL = 3600.0
REFRESH_REUSE_WINDOW = 600.0
REFRESH_TOKEN_TTL = 90 * 24 * 3600.0
AUTH_CODE_TTL = 600.0
OAUTH_ACCOUNT_KEY = "jirakit.oauth_account"
OAUTH_SCOPES_KEY = "jirakit.oauth_scopes"
OAUTH_CLIENT_KEY = "jirakit.oauth_client"  # the app's client_id (the points quota's pool)
DEFAULT_CLOUD_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "https://jirakit.sandbox/"))
AVATAR_URL = "https://site-admin-avatar-cdn.prod.public.atl-paas.net/avatars/240/rocket.png"

_SCOPE_TOKEN = re.compile(r"^[A-Za-z0-9_.:-]+$")
_EX_JIRA = re.compile(r"^/ex/jira/([^/]+)(/.*)?$")
_INVALID_REFRESH = "Unknown or invalid refresh token."


@dataclass(frozen=True)
class OAuthClient:
    """A registered OAuth app. ``redirect_uris`` empty: any http(s) callback is accepted."""

    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...] = ()


DEFAULT_CLIENT = OAuthClient("sandbox-client", "sandbox-secret")


@dataclass(frozen=True)
class OAuthSite:
    """The one Jira site the sandbox is. ``url`` None: the request's base URL."""

    cloud_id: str = DEFAULT_CLOUD_ID
    name: str = "jirakit-sandbox"
    url: str | None = None
    avatar_url: str = AVATAR_URL


class OAuthError(Exception):
    """An OAuth error answer: ``{"error": ..., "error_description": ...}`` with a status."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(status, error, description)
        self.status = status
        self.error = error
        self.description = description

    def response(self) -> Response:
        return JSONResponse(
            {"error": self.error, "error_description": self.description},
            self.status,
            headers={"Cache-Control": "no-store"},
        )


@dataclass
class _Grant:
    id: str
    client_id: str
    account_id: str
    scopes: tuple[str, ...]
    revoked: bool = False
    access: set[str] = field(default_factory=set)
    refresh: set[str] = field(default_factory=set)


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    account_id: str
    expires_at: float


@dataclass
class _Refresh:
    grant: _Grant
    issued_at: float
    rotated_at: float | None = None


@dataclass
class _Access:
    grant: _Grant
    expires_at: float


@dataclass(frozen=True)
class AccessInfo:
    """What a live access token grants."""

    account_id: str
    scopes: tuple[str, ...]
    client_id: str


class OAuthProvider:
    """The authorization server's state: clients, codes, grants and tokens (thread-safe)."""

    def __init__(
        self,
        *,
        account_id: str,
        clients: Sequence[OAuthClient] = (DEFAULT_CLIENT,),
        site: OAuthSite | None = None,
        clock: Clock | None = None,
        access_token_ttl: float = ACCESS_TOKEN_TTL,
        reuse_window: float = REFRESH_REUSE_WINDOW,
        refresh_token_ttl: float = REFRESH_TOKEN_TTL,
    ) -> None:
        if access_token_ttl <= 0 or reuse_window < 0 or refresh_token_ttl <= 0:
            raise ValueError("token lifetimes must be > 0 (the reuse window >= 0)")
        self.account_id = account_id
        self.clients = {c.client_id: c for c in clients}
        self.site = site or OAuthSite()
        self.clock: Clock = clock or SystemClock()
        self.access_token_ttl = access_token_ttl
        self.reuse_window = reuse_window
        self.refresh_token_ttl = refresh_token_ttl
        # Other sites the same grants reach (another Sandbox's app each), by cloudId: an
        # Atlassian account's consent may cover several sites (`add_site`).
        self.other_sites: dict[str, tuple[OAuthSite, ASGIApp]] = {}
        self._codes: dict[str, _Code] = {}
        self._grants: dict[str, _Grant] = {}
        self._refresh: dict[str, _Refresh] = {}
        self._access: dict[str, _Access] = {}
        self._lock = threading.Lock()

    def _now(self) -> float:
        return self.clock.now().timestamp()

    # -- authorize -----------------------------------------------------------------

    def _client_for_redirect(self, client_id: str, redirect_uri: str) -> OAuthClient:
        client = self.clients.get(client_id)
        if client is None:
            raise OAuthError(400, "invalid_request", f"Unknown client_id: {client_id!r}")
        parts = urlsplit(redirect_uri)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise OAuthError(400, "invalid_request", "redirect_uri must be an absolute http(s) URL")
        if client.redirect_uris and redirect_uri not in client.redirect_uris:
            raise OAuthError(
                400, "invalid_request", "redirect_uri does not match the app's callback URL"
            )
        return client

    def authorize(self, params: Mapping[str, str]) -> str:
        """The URL to redirect to after auto-consent (a code, or an error for the client).

        Raises `OAuthError` when the client or the redirect URI is wrong.
        """
        redirect_uri = params.get("redirect_uri", "")
        self._client_for_redirect(params.get("client_id", ""), redirect_uri)
        state = params.get("state")
        scopes = tuple(params.get("scope", "").split())
        problem = None
        if params.get("response_type") != "code":
            problem = ("unsupported_response_type", "response_type must be 'code'")
        elif params.get("audience") != AUDIENCE:
            problem = ("invalid_request", f"audience must be '{AUDIENCE}'")
        elif not scopes or not all(_SCOPE_TOKEN.match(s) for s in scopes):
            problem = ("invalid_scope", "scope must list one or more scopes")
        elif not state:
            problem = ("invalid_request", "state is required")
        if problem is not None:
            query = {"error": problem[0], "error_description": problem[1]}
            if state:
                query["state"] = state
            return _with_query(redirect_uri, query)
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Code(
                params["client_id"],
                redirect_uri,
                scopes,
                self.account_id,
                self._now() + AUTH_CODE_TTL,
            )
        return _with_query(redirect_uri, {"code": code, "state": state or ""})

    # -- tokens ----------------------------------------------------------------------

    def token(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Answer a token request body; raises `OAuthError`."""
        grant_type = body.get("grant_type")
        client = self.clients.get(str(body.get("client_id", "")))
        if client is None or not secrets.compare_digest(
            str(body.get("client_secret", "")), client.client_secret
        ):
            raise OAuthError(401, "access_denied", "Unauthorized")
        if grant_type == "authorization_code":
            return self._exchange_code(client, body)
        if grant_type == "refresh_token":
            return self._refresh_grant(client, str(body.get("refresh_token", "")))
        raise OAuthError(400, "unsupported_grant_type", f"Unsupported grant type: {grant_type!r}")

    def _exchange_code(self, client: OAuthClient, body: Mapping[str, Any]) -> dict[str, Any]:
        now = self._now()
        with self._lock:
            code = self._codes.pop(str(body.get("code", "")), None)
            if code is None or code.expires_at <= now or code.client_id != client.client_id:
                raise OAuthError(403, "invalid_grant", "Invalid authorization code")
            if str(body.get("redirect_uri", "")) != code.redirect_uri:
                raise OAuthError(403, "invalid_grant", "redirect_uri does not match")
            grant = _Grant(secrets.token_hex(8), client.client_id, code.account_id, code.scopes)
            self._grants[grant.id] = grant
            return self._issue(grant, now)

    def _refresh_grant(self, client: OAuthClient, token: str) -> dict[str, Any]:
        now = self._now()
        with self._lock:
            record = self._refresh.get(token)
            if record is None or record.grant.revoked or record.grant.client_id != client.client_id:
                raise OAuthError(403, "invalid_grant", _INVALID_REFRESH)
            if record.rotated_at is None:
                if now - record.issued_at > self.refresh_token_ttl:
                    raise OAuthError(403, "invalid_grant", _INVALID_REFRESH)
                record.rotated_at = now
            elif now - record.rotated_at > self.reuse_window:
                self._revoke(record.grant)
                raise OAuthError(403, "invalid_grant", _INVALID_REFRESH)
            return self._issue(record.grant, now)

    def _issue(self, grant: _Grant, now: float) -> dict[str, Any]:
        access = secrets.token_urlsafe(32)
        self._access[access] = _Access(grant, now + self.access_token_ttl)
        grant.access.add(access)
        out: dict[str, Any] = {
            "access_token": access,
            "expires_in": int(self.access_token_ttl),
            "token_type": "Bearer",
            "scope": " ".join(grant.scopes),
        }
        if "offline_access" in grant.scopes:
            refresh = secrets.token_urlsafe(32)
            self._refresh[refresh] = _Refresh(grant, now)
            grant.refresh.add(refresh)
            out["refresh_token"] = refresh
        return out

    def _revoke(self, grant: _Grant) -> None:
        grant.revoked = True
        for token in grant.access:
            self._access.pop(token, None)
        for token in grant.refresh:
            self._refresh.pop(token, None)
        grant.access.clear()
        grant.refresh.clear()

    def revoke_all(self) -> None:
        """Revoke every grant (as when a user removes the app)."""
        with self._lock:
            for grant in self._grants.values():
                self._revoke(grant)

    def access(self, token: str) -> AccessInfo | None:
        """The grant behind a live access token, or None (unknown, expired or revoked)."""
        with self._lock:
            record = self._access.get(token)
            if record is None or record.grant.revoked:
                return None
            if record.expires_at <= self._now():
                self._access.pop(token, None)
                record.grant.access.discard(token)
                return None
            g = record.grant
            return AccessInfo(g.account_id, g.scopes, g.client_id)

    def add_site(self, site: OAuthSite, app: ASGIApp) -> None:
        """Let every grant reach another site as well, served by ``app`` (another
        Sandbox's app, whose store knows this provider's account: same seed, same
        accounts) at ``/ex/jira/{site.cloud_id}``, and listed in accessible-resources:
        the customer whose consent covers several sites, who must pick one. ``site.url``
        is required (the other sandbox's own URL, as Atlassian lists each site's)."""
        if not site.url:
            raise ValueError("another site needs its url")
        if site.cloud_id == self.site.cloud_id:
            raise ValueError(f"cloudId {site.cloud_id} is this provider's own site")
        self.other_sites[site.cloud_id] = (site, app)

    def accessible_resources(self, info: AccessInfo, base_url: str) -> list[dict[str, Any]]:
        scopes = [s for s in info.scopes if s != "offline_access"]
        sites = [self.site, *(site for site, _ in self.other_sites.values())]
        return [
            {
                "id": site.cloud_id,
                "url": (site.url or base_url).rstrip("/"),
                "name": site.name,
                "scopes": scopes,
                "avatarUrl": site.avatar_url,
            }
            for site in sites
        ]

    # -- HTTP ------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        """``/authorize``, ``/oauth/token`` and ``/oauth/token/accessible-resources``."""
        return [
            Route("/authorize", self._authorize_endpoint, methods=["GET"]),
            Route("/oauth/token", self._token_endpoint, methods=["POST"]),
            Route(
                "/oauth/token/accessible-resources",
                self._resources_endpoint,
                methods=["GET"],
            ),
        ]

    async def _authorize_endpoint(self, request: Request) -> Response:
        try:
            url = self.authorize(dict(request.query_params))
        except OAuthError as exc:
            return exc.response()
        return RedirectResponse(url, status_code=302)

    async def _token_endpoint(self, request: Request) -> Response:
        raw = await request.body()
        content_type = request.headers.get("content-type", "")
        body: Any
        try:
            if "application/x-www-form-urlencoded" in content_type:
                body = dict(parse_qsl(raw.decode()))
            else:
                body = json.loads(raw) if raw.strip() else {}
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            return OAuthError(400, "invalid_request", "The request body is not valid").response()
        try:
            data = self.token(body)
        except OAuthError as exc:
            return exc.response()
        return JSONResponse(data, headers={"Cache-Control": "no-store"})

    async def _resources_endpoint(self, request: Request) -> Response:
        info = self.access(_bearer(request.headers.get("authorization", "")) or "")
        if info is None:
            return _unauthorized()
        base = str(request.base_url).rstrip("/")
        return JSONResponse(self.accessible_resources(info, base))


class OAuthMiddleware:
    """Serves the OAuth endpoints and routes ``/ex/jira/{cloudId}/...`` to ``app``.

    ``authorization_for(account_id)``: when given, the ``Authorization`` header of an
    OAuth-authenticated request is replaced by its result (a credential the inner app
    accepts, e.g. that user's Basic header); otherwise the header is removed and the app
    reads ``scope["state"][OAUTH_ACCOUNT_KEY]``.
    """

    def __init__(
        self,
        app: ASGIApp,
        provider: OAuthProvider,
        *,
        authorization_for: Callable[[str], str | None] | None = None,
    ) -> None:
        self.app = app
        self.provider = provider
        self.authorization_for = authorization_for
        self.router = Router(routes=provider.routes())
        self._paths = frozenset({"/authorize", "/oauth/token", "/oauth/token/accessible-resources"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope["path"])
        if path in self._paths:
            await self.router(scope, receive, send)
            return
        match = _EX_JIRA.match(path)
        if match is None:
            await self.app(scope, receive, send)
            return
        cloud_id, rest = match.group(1), match.group(2) or "/"
        target = self.app
        if cloud_id != self.provider.site.cloud_id:
            other = self.provider.other_sites.get(cloud_id)
            if other is None:
                body = {"errorMessages": [f"Site not found: {cloud_id}"], "errors": {}}
                await JSONResponse(body, 404)(scope, receive, send)
                return
            target = other[1]
        prefix = f"/ex/jira/{cloud_id}"
        inner = dict(scope)
        inner["path"] = rest
        raw = scope.get("raw_path")
        if isinstance(raw, bytes) and raw.startswith(prefix.encode()):
            inner["raw_path"] = raw[len(prefix) :] or b"/"
        inner["app_root_path"] = (
            str(scope.get("app_root_path", scope.get("root_path", ""))) + prefix
        )
        headers = list(scope.get("headers", ()))
        auth = next((v for k, v in headers if k == b"authorization"), None)
        token = _bearer(auth.decode("latin-1")) if auth is not None else None
        if token is not None:
            info = self.provider.access(token)
            if info is None:
                await _unauthorized()(scope, receive, send)
                return
            headers = [(k, v) for k, v in headers if k != b"authorization"]
            replacement = (
                self.authorization_for(info.account_id) if self.authorization_for else None
            )
            if replacement:
                headers.append((b"authorization", replacement.encode("latin-1")))
            inner["headers"] = headers
            inner["state"] = {
                **(scope.get("state") or {}),
                OAUTH_ACCOUNT_KEY: info.account_id,
                OAUTH_SCOPES_KEY: info.scopes,
                OAUTH_CLIENT_KEY: info.client_id,
            }
        await target(inner, receive, send)


def _bearer(header: str) -> str | None:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _unauthorized() -> Response:
    return JSONResponse(
        {"code": 401, "message": "Unauthorized"},
        401,
        headers={"WWW-Authenticate": 'Bearer realm="api.atlassian.com"'},
    )


def _with_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))
