"""Header auth flows: Basic (Cloud email + API token) and Bearer (Data Center PAT)."""

from __future__ import annotations

import base64
from collections.abc import Generator

import httpx

from jirakit.errors import ConfigurationError


class BasicAuth(httpx.Auth):
    """Jira Cloud: your Atlassian account email and an API token."""

    def __init__(self, email: str, api_token: str) -> None:
        if not email or not api_token:
            raise ConfigurationError("BasicAuth needs both an email and an API token")
        raw = f"{email}:{api_token}".encode()
        self._header = "Basic " + base64.b64encode(raw).decode("ascii")
        self.email = email

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request

    def __repr__(self) -> str:
        return f"BasicAuth(email={self.email!r}, api_token='***')"


class BearerAuth(httpx.Auth):
    """Jira Data Center / Server: a personal access token."""

    def __init__(self, token: str) -> None:
        if not token:
            raise ConfigurationError("BearerAuth needs a token")
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request

    def __repr__(self) -> str:
        return "BearerAuth(token='***')"
