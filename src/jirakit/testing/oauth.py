"""An OAuth 2.0 (3LO) grant from the sandbox in two requests, for tests and benchmarks.

    token = sandbox_grant("http://127.0.0.1:8080")              # a served sandbox
    token = sandbox_grant("http://sandbox.test", transport=httpx.ASGITransport(app=...))
    jira = Jira(token.api_url, auth=BearerAuth(token.access_token))

It walks the real flow (``GET /authorize`` with auto-consent, then ``POST /oauth/token``
with the code), so the requests are metered as the app's, like Jira's.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx

__all__ = ["SandboxGrant", "sandbox_grant"]

CALLBACK = "http://localhost:9/callback"


@dataclass(frozen=True)
class SandboxGrant:
    access_token: str
    refresh_token: str | None
    cloud_id: str
    api_url: str  # ``<base>/ex/jira/<cloudId>``: the site as an OAuth app reaches it

    def __repr__(self) -> str:
        return f"SandboxGrant(cloud_id={self.cloud_id!r}, api_url={self.api_url!r})"


def sandbox_grant(
    base_url: str,
    *,
    client_id: str = "sandbox-client",
    client_secret: str = "sandbox-secret",
    scope: str = "read:jira-work write:jira-work offline_access",
    transport: httpx.BaseTransport | None = None,
) -> SandboxGrant:
    """Consent, exchange the code, and find the site: a live grant for ``client_id``."""
    base = base_url.rstrip("/")
    http = httpx.Client(base_url=base, transport=transport, timeout=10.0)
    try:
        consent = http.get(
            "/authorize",
            params={
                "client_id": client_id,
                "redirect_uri": CALLBACK,
                "response_type": "code",
                "audience": "api.atlassian.com",
                "scope": scope,
                "state": "jirakit-testing",
            },
        )
        if consent.status_code != 302:
            raise RuntimeError(f"the sandbox refused consent: {consent.status_code} {consent.text}")
        code = parse_qs(urlsplit(consent.headers["location"]).query)["code"][0]
        token = http.post(
            "/oauth/token",
            json={
                "grant_type": "authorization_code",
                "client_id": client_id,
                "client_secret": client_secret,
                "code": code,
                "redirect_uri": CALLBACK,
            },
        )
        token.raise_for_status()
        data = token.json()
        sites = http.get(
            "/oauth/token/accessible-resources",
            headers={"Authorization": f"Bearer {data['access_token']}"},
        )
        sites.raise_for_status()
        cloud_id = str(sites.json()[0]["id"])
    finally:
        if transport is None:  # closing the client would close a transport lent to it
            http.close()
    return SandboxGrant(
        data["access_token"], data.get("refresh_token"), cloud_id, f"{base}/ex/jira/{cloud_id}"
    )
