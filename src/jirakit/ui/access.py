"""Who may look, and the protections every page gets.

- `OpenAccess`: no login, for a dashboard bound to the loopback interface (one user on
  their own machine). Requests must then name a loopback host, so that a web page
  elsewhere cannot reach the dashboard by pointing a name of its own at 127.0.0.1 (DNS
  rebinding).
- `TokenAccess`: a shared token, for a dashboard others can reach. The browser logs in
  with a form and gets a session cookie (``HttpOnly``, ``SameSite=Strict``, ``Secure``
  over https, scoped to the app's path); scripts send ``Authorization: Bearer <token>``.
  The service brings an authenticator of its own (tenant API keys and its login
  sessions) through the same `Access` protocol.

Sessions live in this process's memory (`SessionStore`): a cookie holds only a random
id, logging out revokes it, and a restart logs everyone out. Every session, a login
page's too, carries a CSRF token; every form that changes something posts it back
(``csrf_token``) and `check_csrf` refuses the request otherwise.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jirakit.ui.providers import Viewer

__all__ = [
    "COOKIE",
    "LOOPBACK_HOSTS",
    "Access",
    "OpenAccess",
    "SecurityHeaders",
    "Session",
    "SessionStore",
    "TokenAccess",
    "check_csrf",
    "host_allowed",
]

COOKIE = "jirakit_session"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# The shortest shared token accepted: long enough that guessing is hopeless.
MIN_TOKEN = 16
# Content-Security-Policy: only this origin's scripts and styles; Vega runs without eval
# (vega-embed's expression interpreter), charts are inline SVG.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


@dataclass
class Session:
    id: str
    csrf: str
    viewer: Viewer | None = None
    created: float = field(default_factory=time.monotonic)
    # What the last form did, said once on the next page (a POST answers with a redirect).
    flash: list[str] = field(default_factory=list)
    seen: float = field(default_factory=time.monotonic)


class SessionStore:
    """Sessions by random id, in memory, bounded: idle ones expire after ``idle``
    seconds, and past ``limit`` the least recently used go first (a flood of login
    page visits cannot grow it without bound)."""

    def __init__(self, *, idle: float = 12 * 3600, limit: int = 10_000) -> None:
        self.idle = idle
        self.limit = limit
        self._lock = threading.Lock()
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def new(self, viewer: Viewer | None = None) -> Session:
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), viewer)
        with self._lock:
            self._sessions[session.id] = session
            while len(self._sessions) > self.limit:
                self._sessions.popitem(last=False)
        return session

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        now = time.monotonic()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if now - session.seen > self.idle:
                del self._sessions[session_id]
                return None
            session.seen = now
            self._sessions.move_to_end(session_id)
            return session

    def drop(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)


class Access(Protocol):
    """How a request is told who it comes from."""

    @property
    def login_required(self) -> bool: ...

    def viewer(self, request: Request, session: Session | None) -> Viewer | None:
        """The viewer of an authenticated request (a session that logged in, or a
        credential in the request itself), else None."""
        ...

    def login(self, secret: str) -> Viewer | None:
        """The viewer a login form's secret stands for, else None."""
        ...


class OpenAccess:
    """Everyone who reaches the dashboard is its one user (loopback only)."""

    login_required = False

    def viewer(self, request: Request, session: Session | None) -> Viewer | None:
        return Viewer()

    def login(self, secret: str) -> Viewer | None:
        return Viewer()


class TokenAccess:
    """One shared token: typed into the login form, or sent as a Bearer credential."""

    login_required = True

    def __init__(self, token: str) -> None:
        if len(token) < MIN_TOKEN:
            raise ValueError(
                f"the dashboard token must be at least {MIN_TOKEN} characters (e.g. the "
                "output of: python -c 'import secrets; print(secrets.token_urlsafe())')"
            )
        self._token = token.encode()

    def _matches(self, secret: str) -> bool:
        return hmac.compare_digest(secret.encode(), self._token)

    def viewer(self, request: Request, session: Session | None) -> Viewer | None:
        header = request.headers.get("authorization", "")
        scheme, _, credential = header.partition(" ")
        if scheme.lower() == "bearer" and credential and self._matches(credential.strip()):
            return Viewer()
        return session.viewer if session is not None else None

    def login(self, secret: str) -> Viewer | None:
        return Viewer() if self._matches(secret) else None


def check_csrf(session: Session | None, submitted: str | None) -> bool:
    """The form's (or the ``X-CSRF-Token`` header's) token is this session's."""
    if session is None or not submitted:
        return False
    return hmac.compare_digest(session.csrf.encode(), submitted.encode())


def set_session_cookie(response: Response, request: Request, session: Session) -> None:
    response.set_cookie(
        COOKIE,
        session.id,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path=(request.scope.get("root_path") or "") + "/",
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        COOKIE,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path=(request.scope.get("root_path") or "") + "/",
    )


def host_allowed(host_header: str, allowed: Iterable[str]) -> bool:
    """Whether a ``Host`` header (``name``, ``name:port``, ``[v6]:port``) names one of
    ``allowed``."""
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host in {h.lower() for h in allowed}


class SecurityHeaders:
    """Adds the security headers to every response (pure ASGI: streaming is kept), and
    answers 421 to a request whose ``Host`` is not allowed (when ``hosts`` is given)."""

    def __init__(self, app: ASGIApp, *, hosts: Iterable[str] | None = None) -> None:
        self.app = app
        self.hosts = None if hosts is None else frozenset(hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.hosts is not None:
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
            if not host_allowed(host, self.hosts):
                response = Response(
                    "This dashboard answers only on the loopback interface (127.0.0.1, "
                    "localhost); open it there, or start it with a token to reach it by "
                    "another name.",
                    status_code=421,
                    media_type="text/plain",
                )
                await response(scope, receive, send)
                return
        static = "/static/" in scope.get("path", "")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                extra = {
                    b"content-security-policy": CSP.encode(),
                    b"x-content-type-options": b"nosniff",
                    b"referrer-policy": b"same-origin",
                    b"x-frame-options": b"DENY",
                    b"cross-origin-opener-policy": b"same-origin",
                    b"permissions-policy": b"camera=(), microphone=(), geolocation=()",
                }
                if not static:
                    extra[b"cache-control"] = b"no-store"
                headers.extend((k, v) for k, v in extra.items() if k not in names)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
