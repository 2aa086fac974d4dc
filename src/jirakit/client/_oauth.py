"""OAuth 2.0 (3LO) for Jira Cloud as an httpx auth flow.

Atlassian specifics this handles:

- authorize at ``https://auth.atlassian.com/authorize`` with ``audience=api.atlassian.com``
  and ``prompt=consent``; ``offline_access`` is always requested so a refresh token comes back;
- the token endpoint takes a JSON body;
- access tokens live an hour: refreshed shortly before expiry, and once more on a 401;
- refresh tokens ROTATE on every use: each new token is handed to ``on_token_update``
  (persist it, or the grant is lost), and concurrent refreshes collapse into one request
  (reusing an old refresh token outside Atlassian's grace window revokes the grant);
- API calls go to ``https://api.atlassian.com/ex/jira/{cloudId}``, the cloudId found
  through ``/oauth/token/accessible-resources``.

Authlib supplies the protocol mechanics (authorization URL, state, token parsing); the
HTTP exchange is yielded from the auth flow itself, so it runs through the client's own
transport: the same seam tests use (a mock, or the sandbox's OAuth endpoints).
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator, Mapping, Sequence
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri

from jirakit.client._call import Call
from jirakit.errors import AuthFlowError, ConfigurationError, parse_error_body

AUTH_URL = "https://auth.atlassian.com"
API_URL = "https://api.atlassian.com"

TokenCallback = Callable[[dict[str, Any]], Any]
Flow = Generator[httpx.Request, httpx.Response, None]


def authorization_url(
    client_id: str,
    redirect_uri: str,
    scopes: Sequence[str],
    *,
    state: str | None = None,
    auth_url: str = AUTH_URL,
) -> tuple[str, str]:
    """The URL to send a user to for consent, and the ``state`` to check on the way back."""
    scope = list(scopes)
    if "offline_access" not in scope:
        scope.append("offline_access")
    state = state or generate_token(32)
    url = prepare_grant_uri(
        f"{auth_url}/authorize",
        client_id,
        "code",
        redirect_uri=redirect_uri,
        scope=" ".join(scope),
        state=state,
        audience="api.atlassian.com",
        prompt="consent",
    )
    return str(url), state


class OAuth2Auth(httpx.Auth):
    """Atlassian OAuth 2.0 (3LO) with rotating refresh tokens.

    Give it a stored token (``{"access_token", "refresh_token", "expires_at"}``) or only a
    ``refresh_token``; it refreshes as needed and calls ``on_token_update(token)`` with
    every new token. ``site`` picks the Jira site (URL, name or cloudId) when the grant
    covers several.
    """

    requires_response_body = True

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        token: Mapping[str, Any] | None = None,
        refresh_token: str | None = None,
        on_token_update: TokenCallback | None = None,
        site: str | None = None,
        auth_url: str = AUTH_URL,
        api_url: str = API_URL,
        leeway: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not client_id or not client_secret:
            raise ConfigurationError("OAuth2Auth needs a client_id and a client_secret")
        token = dict(token or {})
        if refresh_token:
            token["refresh_token"] = refresh_token
        if not token.get("access_token") and not token.get("refresh_token"):
            raise ConfigurationError("OAuth2Auth needs a token or a refresh_token")
        self.client_id = client_id
        self._client_secret = client_secret
        self._on_update = on_token_update
        self.site = site
        self.auth_url = auth_url.rstrip("/")
        self.api_url = api_url.rstrip("/")
        self._leeway = leeway
        self._clock = clock
        self._token: dict[str, Any] = self._normalise(token)
        self._lock = threading.Lock()
        self._alocks: dict[int, asyncio.Lock] = {}
        self.refresh_count = 0

    def __repr__(self) -> str:
        return f"OAuth2Auth(client_id={self.client_id!r}, site={self.site!r}, token='***')"

    # -- tokens ---------------------------------------------------------------------

    @property
    def token(self) -> dict[str, Any]:
        """The current token (persist it; it contains the latest refresh token)."""
        return dict(self._token)

    def _normalise(self, token: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(token)
        if out.get("expires_at") is None and out.get("expires_in") is not None:
            out["expires_at"] = self._clock() + float(out["expires_in"])
        return out

    def _expiring(self) -> bool:
        if not self._token.get("access_token"):
            return True
        expires_at = self._token.get("expires_at")
        return expires_at is not None and float(expires_at) - self._leeway <= self._clock()

    def _token_request(self, body: dict[str, Any]) -> httpx.Request:
        body = {"client_id": self.client_id, "client_secret": self._client_secret, **body}
        return httpx.Request(
            "POST",
            f"{self.auth_url}/oauth/token",
            json=body,
            headers={"Accept": "application/json"},
        )

    def _accept(self, response: httpx.Response) -> dict[str, Any]:
        """Read a token response; keep the old refresh token if none came back."""
        if not response.is_success:
            messages, _ = parse_error_body(response.text)
            detail = "; ".join(messages) or f"HTTP {response.status_code}"
            raise AuthFlowError(
                f"Atlassian refused the token request ({response.status_code}): {detail}. "
                "If the refresh token was revoked or expired, ask the user to authorize again."
            )
        try:
            data = response.json()
        except ValueError as exc:
            raise AuthFlowError("the token endpoint did not return JSON") from exc
        if not isinstance(data, dict) or not data.get("access_token"):
            raise AuthFlowError("the token endpoint returned no access_token")
        token = self._normalise(
            {k: v for k, v in data.items() if k != "expires_at"} | {"expires_at": None}
        )
        if not token.get("refresh_token") and self._token.get("refresh_token"):
            token["refresh_token"] = self._token["refresh_token"]
        return token

    def _refresh_request(self) -> httpx.Request:
        refresh = self._token.get("refresh_token")
        if not refresh:
            raise AuthFlowError("the access token expired and there is no refresh token")
        return self._token_request({"grant_type": "refresh_token", "refresh_token": refresh})

    def _refreshed(self, response: httpx.Response) -> None:
        """Take the answer to a refresh request (its body already read)."""
        self._token = self._accept(response)
        self.refresh_count += 1

    def _code_request(self, code: str, redirect_uri: str) -> httpx.Request:
        return self._token_request(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        )

    def _authorize(self, request: httpx.Request) -> str:
        access = str(self._token["access_token"])
        request.headers["Authorization"] = f"Bearer {access}"
        return access

    # -- sync flow --------------------------------------------------------------------

    def sync_auth_flow(self, request: httpx.Request) -> Flow:
        # httpx reads response bodies for flows only in the methods it owns; having
        # replaced them, we read token responses ourselves.
        if self._expiring():
            with self._lock:
                if self._expiring():
                    answer = yield self._refresh_request()
                    answer.read()
                    self._refreshed(answer)
                    self._notify_sync()
        sent = self._authorize(request)
        response = yield request
        if response.status_code != 401 or not self._token.get("refresh_token"):
            return
        with self._lock:
            if self._token.get("access_token") == sent:
                answer = yield self._refresh_request()
                answer.read()
                self._refreshed(answer)
                self._notify_sync()
        self._authorize(request)
        yield request

    def _notify_sync(self) -> None:
        if self._on_update is None:
            return
        result = self._on_update(self.token)
        if inspect.isawaitable(result):
            raise ConfigurationError("on_token_update is async: use it with AsyncJira only")

    # -- async flow ---------------------------------------------------------------------

    def _alock(self) -> asyncio.Lock:
        loop_id = id(asyncio.get_running_loop())
        lock = self._alocks.get(loop_id)
        if lock is None:
            lock = self._alocks[loop_id] = asyncio.Lock()
        return lock

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if self._expiring():
            async with self._alock():
                if self._expiring():
                    answer = yield self._refresh_request()
                    await answer.aread()
                    self._refreshed(answer)
                    await self._notify_async()
        sent = self._authorize(request)
        response = yield request
        if response.status_code != 401 or not self._token.get("refresh_token"):
            return
        async with self._alock():
            if self._token.get("access_token") == sent:
                answer = yield self._refresh_request()
                await answer.aread()
                self._refreshed(answer)
                await self._notify_async()
        self._authorize(request)
        yield request

    async def _notify_async(self) -> None:
        if self._on_update is None:
            return
        result = self._on_update(self.token)
        if inspect.isawaitable(result):
            await result

    # -- code exchange and site resolution ------------------------------------------------

    @classmethod
    def from_code(
        cls,
        code: str,
        *,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        on_token_update: TokenCallback | None = None,
        site: str | None = None,
        auth_url: str = AUTH_URL,
        api_url: str = API_URL,
        transport: httpx.BaseTransport | None = None,
    ) -> OAuth2Auth:
        """Exchange the authorization code from the redirect for tokens (blocking)."""
        auth = cls._pending(client_id, client_secret, on_token_update, site, auth_url, api_url)
        with httpx.Client(transport=transport, timeout=30.0) as http:
            auth._token = auth._accept(http.send(auth._code_request(code, redirect_uri)))
        auth._notify_sync()
        return auth

    @classmethod
    async def afrom_code(
        cls,
        code: str,
        *,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        on_token_update: TokenCallback | None = None,
        site: str | None = None,
        auth_url: str = AUTH_URL,
        api_url: str = API_URL,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> OAuth2Auth:
        """Exchange the authorization code from the redirect for tokens (async)."""
        auth = cls._pending(client_id, client_secret, on_token_update, site, auth_url, api_url)
        async with httpx.AsyncClient(transport=transport, timeout=30.0) as http:
            response = await http.send(auth._code_request(code, redirect_uri))
            auth._token = auth._accept(response)
        await auth._notify_async()
        return auth

    @classmethod
    def _pending(
        cls,
        client_id: str,
        client_secret: str,
        on_token_update: TokenCallback | None,
        site: str | None,
        auth_url: str,
        api_url: str,
    ) -> OAuth2Auth:
        return cls(
            client_id,
            client_secret,
            token={"access_token": "pending", "expires_at": float("inf")},
            on_token_update=on_token_update,
            site=site,
            auth_url=auth_url,
            api_url=api_url,
        )

    def resolve_site_call(self) -> Call[str]:
        """The request that finds the site's API base URL through accessible-resources."""
        return Call(
            "GET",
            f"{self.api_url}/oauth/token/accessible-resources",
            api="absolute",
            parse=lambda r: self.pick_site(r.json()),
        )

    def pick_site(self, resources: Any) -> str:
        if not isinstance(resources, list) or not resources:
            raise AuthFlowError("this grant gives access to no Jira site")
        chosen = [r for r in resources if _site_matches(r, self.site)] if self.site else resources
        if len(chosen) != 1:
            names = ", ".join(str(r.get("url") or r.get("name")) for r in resources)
            wanted = f"site {self.site!r} not found" if self.site else "several sites"
            raise AuthFlowError(f"{wanted}; pass site= one of: {names}")
        return f"{self.api_url}/ex/jira/{chosen[0]['id']}"


def _site_matches(resource: Mapping[str, Any], site: str | None) -> bool:
    wanted = (site or "").rstrip("/").lower()
    return wanted in {
        str(resource.get("id", "")).lower(),
        str(resource.get("name", "")).lower(),
        str(resource.get("url", "")).rstrip("/").lower(),
    }
