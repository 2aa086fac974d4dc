"""The Starlette app: routing, auth, request ids, Jira-shaped errors and JSON rendering.

Route modules (``jirakit.sandbox.routes.*``) each export ``ROUTES`` relative to
``/rest/api/{2,3}``; they are mounted under both versions. Handlers get a `Ctx` through
`ctx(request)`. Extension points for later work (rate limits, latency, faults, OAuth) are
the ``middleware`` list passed to `create_app` and `SandboxConfig`.
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount

from jirakit.sandbox.errors import NOT_AUTHENTICATED, JiraHttpError, bad_request
from jirakit.sandbox.inputs import read_json
from jirakit.sandbox.store import API, BASE, IssueRecord, Store

if TYPE_CHECKING:
    from jirakit.sandbox.clock import Clock
    from jirakit.sandbox.search import SearchEngine
    from jirakit.sandbox.views import ViewCache

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class SandboxConfig:
    """Behaviour switches of one sandbox (frozen; later: rate limits, latency, faults)."""

    flavour: str = "cloud"
    search_lag: float = 0.0
    legacy_search: bool = False
    base_url: str | None = None  # force the base URL written into responses


@dataclass
class SandboxState:
    """What handlers reach through ``request.app.state.sandbox``."""

    store: Store
    clock: Clock
    config: SandboxConfig
    search: SearchEngine
    views: ViewCache
    media_secret: bytes = b"jirakit-sandbox-media"  # signs attachment download links
    media_base: str | None = None  # where attachment bytes are served (default: this site)


class Ctx:
    """Per-request helper: store, caller, API version, base URL, JSON in and out."""

    __slots__ = ("_base", "account_id", "request", "state", "version")

    def __init__(self, request: Request) -> None:
        self.request = request
        self.state: SandboxState = request.app.state.sandbox
        self.account_id: str = request.scope.get("state", {}).get("account_id", "")
        path: str = request.scope["path"]
        self.version = 2 if path.startswith(("/rest/api/2/", "/rest/api/latest/")) else 3
        self._base: str | None = None

    @property
    def store(self) -> Store:
        return self.state.store

    @property
    def config(self) -> SandboxConfig:
        return self.state.config

    def now(self) -> datetime:
        return self.state.clock.now()

    @property
    def base(self) -> str:
        if self._base is None:
            forced = self.config.base_url
            self._base = forced.rstrip("/") if forced else str(self.request.base_url).rstrip("/")
        return self._base

    @property
    def api(self) -> str:
        return f"{self.base}/rest/api/{self.version}"

    def param(self, name: str, default: str | None = None) -> str | None:
        return self.request.query_params.get(name, default)

    def params(self, name: str) -> list[str]:
        return self.request.query_params.getlist(name)

    def int_param(self, name: str, default: int) -> int:
        """An integer query parameter; like Jira's binding of a Java ``long``, anything
        else (or beyond 64 bits) is a 400."""
        raw = self.request.query_params.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            value = None
        if value is None or not -(2**63) <= value < 2**63:
            raise bad_request(f"The '{name}' parameter must be an integer.")
        return value

    def bool_param(self, name: str, default: bool) -> bool:
        raw = self.request.query_params.get(name)
        return default if raw is None else raw.lower() == "true"

    async def json(self) -> Any:
        """The JSON body, or Jira's 400/413/415 (see `jirakit.sandbox.inputs`)."""
        return await read_json(self.request)

    def page(self, values: Sequence[Any], path: str, *, max_cap: int = 1000) -> dict[str, Any]:
        """A ``PageBean`` (startAt/maxResults/total/isLast/values) over ``values``."""
        start = max(0, self.int_param("startAt", 0))
        size = max(1, min(self.int_param("maxResults", 50), max_cap))
        out: dict[str, Any] = {
            "self": f"{self.api}/{path}?maxResults={size}&startAt={start}",
            "maxResults": size,
            "startAt": start,
            "total": len(values),
            "isLast": start + size >= len(values),
            "values": list(values[start : start + size]),
        }
        if start + size < len(values):
            out["nextPage"] = f"{self.api}/{path}?maxResults={size}&startAt={start + size}"
        return out

    def issue_jsons(
        self,
        recs: Sequence[IssueRecord],
        selected: list[str],
        expand: Sequence[str],
        *,
        caps: bool = False,
    ) -> list[bytes]:
        """The issues' JSON as this request sees them (its API version, caller, URLs and
        clock), from the view cache; ``caps``: embedded changelog and comments capped as
        ``search/jql`` does."""
        return self.state.views.issue_jsons(
            recs,
            version=self.version,
            selected=selected,
            expand=expand,
            viewer=self.account_id,
            base=self.base,
            api=self.api,
            caps=caps,
            now=self.now(),
        )

    def respond(
        self, data: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> Response:
        return JiraJSON(data, status, self.base, self.api, headers)

    def respond_bytes(self, body: bytes, status: int = 200) -> Response:
        """A response from already-rendered UTF-8 JSON (URL markers are replaced if any)."""
        if b"@@" in body:
            body = body.replace(API.encode(), self.api.encode()).replace(
                BASE.encode(), self.base.encode()
            )
        return Response(body, status, media_type=JiraJSON.media_type)

    def empty(self, status: int = 204) -> Response:
        return Response(status_code=status)


def ctx(request: Request) -> Ctx:
    return Ctx(request)


def render_json(data: Any, base: str, api: str) -> bytes:
    from jirakit.sandbox.views import to_json_bytes

    body = to_json_bytes(data)
    if b"@@" in body:
        body = body.replace(API.encode(), api.encode()).replace(BASE.encode(), base.encode())
    return body


class JiraJSON(Response):
    """JSON with the store's URL markers replaced by this request's base URL."""

    media_type = "application/json;charset=UTF-8"

    def __init__(
        self,
        content: Any,
        status_code: int = 200,
        base: str = "",
        api: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        self._base, self._api = base, api
        super().__init__(content, status_code, headers)

    def render(self, content: Any) -> bytes:
        return render_json(content, self._base, self._api)


def error_response(exc: JiraHttpError) -> Response:
    body = json.dumps(exc.body(), ensure_ascii=False, separators=(",", ":")).encode()
    return Response(
        body, exc.status, exc.headers or None, media_type="application/json;charset=UTF-8"
    )


async def _jira_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, JiraHttpError)
    return error_response(exc)


async def _unexpected(request: Request, exc: Exception) -> Response:
    """A bug in the sandbox still answers in Jira's error shape (and is re-raised by
    Starlette afterwards, so servers log it and in-process tests see it)."""
    return error_response(JiraHttpError(500, [f"Internal server error: {type(exc).__name__}"]))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        msg = "null for uri: " + str(request.url)
        return error_response(JiraHttpError(404, [msg]))
    if exc.status_code == 405:
        return Response(status_code=405, headers=exc.headers)
    return error_response(JiraHttpError(exc.status_code, [str(exc.detail)]))


OAUTH_ACCOUNT_KEY = "jirakit.oauth_account"  # scope["state"] key set by the OAuth middleware


class AuthMiddleware:
    """Request ids (``X-AREQUESTID``) and authentication (Basic, Bearer PAT in Data Center)."""

    OPEN_PATHS = ("/rest/api/2/serverInfo", "/rest/api/3/serverInfo", "/status", "/media/")

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state
        self._ids = itertools.count(1)
        self._accounts: dict[str, str] = {}  # login -> accountId (credentials checked each time)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        n = next(self._ids)
        request_id = f"{n % 1440}x{n}x1"
        account_id = self.authenticate(scope)
        extra = [(b"x-arequestid", request_id.encode())]
        if account_id:
            extra.append((b"x-aaccountid", account_id.encode()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        if account_id is None and not scope["path"].startswith(self.OPEN_PATHS):
            resp = error_response(JiraHttpError(401, [NOT_AUTHENTICATED]))
            await resp(scope, receive, send_with_headers)
            return
        scope.setdefault("state", {})["account_id"] = account_id or ""
        await self.app(scope, receive, send_with_headers)

    def authenticate(self, scope: Scope) -> str | None:
        # An outer OAuth middleware (``jirakit.sandbox.oauth``) vouches for its account.
        delegated = scope.get("state", {}).get(OAUTH_ACCOUNT_KEY)
        if isinstance(delegated, str) and delegated in self.state.store.users:
            return delegated
        header = b""
        for k, v in scope.get("headers", ()):
            if k == b"authorization":
                header = v
                break
        if not header:
            return None
        store = self.state.store
        scheme, _, cred = header.decode("latin-1").partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            try:
                login, _, secret = base64.b64decode(cred.strip()).decode().partition(":")
            except ValueError:  # not base64, not ASCII, not UTF-8: not credentials
                return None
            if store.tokens.get(login.lower()) != secret and store.tokens.get(login) != secret:
                return None
            account = self._accounts.get(login)
            if account is None or account not in store.users:
                user = store.user_by_login(login)  # a scan: remember the answer
                if user is None:
                    return None
                account = self._accounts[login] = str(user["accountId"])
            return account
        if scheme == "bearer" and self.state.config.flavour == "datacenter":
            return store.pats.get(cred.strip())
        return None


def create_app(
    state: SandboxState,
    *,
    middleware: Sequence[Middleware] = (),
) -> Starlette:
    """Build the ASGI app over ``state``. ``middleware`` runs outside auth (faults, limits)."""
    from jirakit.sandbox.routes import (
        agile_routes,
        api_routes,
        media_routes,
        webhook_admin_routes,
    )

    api = api_routes()
    routes: list[BaseRoute] = []
    if state.config.flavour == "cloud":
        routes.append(Mount("/rest/api/3", routes=api))
    routes += [Mount("/rest/api/2", routes=api), Mount("/rest/api/latest", routes=api)]
    routes += agile_routes()
    routes.append(Mount("/rest/webhooks/1.0", routes=webhook_admin_routes()))
    routes += media_routes()
    app = Starlette(
        routes=routes,
        middleware=[*middleware, Middleware(AuthMiddleware, state=state)],
        exception_handlers={
            JiraHttpError: _jira_error,
            HTTPException: _http_error,
            Exception: _unexpected,
        },
    )
    app.state.sandbox = state
    return app
