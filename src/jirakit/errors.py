"""Every error jirakit raises, in one hierarchy.

::

    JiraError
    ├── ConfigurationError           bad arguments given to jirakit itself
    ├── AuthFlowError                OAuth 2.0 flow failed (bad code, revoked grant, no site)
    ├── InvalidTransition            transitions.do(to=...) found no such transition
    ├── PaginationError              the server sent the same page token twice
    ├── ResponseDecodeError          a 2xx body that is not the JSON we expected
    ├── TransportError               no response at all (wraps httpx errors)
    │   ├── ConnectError             could not connect; the request was never sent
    │   └── TimeoutError             connect/read/write/pool timeout
    └── HTTPError                    the server answered with a 4xx/5xx status
        ├── BadRequest               400
        ├── Unauthorized             401
        ├── Forbidden                403
        ├── NotFound                 404
        ├── Conflict                 409
        ├── Gone                     410 (e.g. the removed /rest/api/3/search)
        ├── PayloadTooLarge          413
        ├── RateLimited              429, with ``retry_after`` seconds
        └── ServerError              5xx

An `HTTPError` is chosen by `error_for_response` alone; it carries the status, the
headers, Jira's ``errorMessages`` and ``errors``, and the request id (``X-AREQUESTID``),
and its ``str()`` leads with the request id and Jira's message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus

import httpx

__all__ = [
    "AuthFlowError",
    "BadRequest",
    "ConfigurationError",
    "Conflict",
    "ConnectError",
    "Forbidden",
    "Gone",
    "HTTPError",
    "InvalidTransition",
    "JiraError",
    "NotFound",
    "PaginationError",
    "PayloadTooLarge",
    "RateLimited",
    "ResponseDecodeError",
    "ServerError",
    "TimeoutError",
    "TransportError",
    "Unauthorized",
    "error_for_response",
]


class JiraError(Exception):
    """Root of every error raised by jirakit."""


class ConfigurationError(JiraError, ValueError):
    """jirakit was called with arguments it cannot use."""


class AuthFlowError(JiraError):
    """The OAuth 2.0 flow failed: bad authorization code, revoked grant, no accessible site."""


class InvalidTransition(JiraError, ValueError):
    """No transition from the issue's current status leads where you asked."""

    def __init__(self, issue: str, wanted: str, available: list[str]) -> None:
        self.issue = issue
        self.wanted = wanted
        self.available = available
        names = ", ".join(repr(a) for a in available) or "none"
        super().__init__(
            f"Issue {issue} has no transition to {wanted!r}; available transitions: {names}"
        )


class PaginationError(JiraError):
    """The server handed back a page token it had already given: the paging would loop."""


class ResponseDecodeError(JiraError):
    """A successful response whose body is not the JSON shape we expected. ``unreadable``
    is True when the body is not JSON at all (typically cut short in transit: worth a retry).
    """

    def __init__(
        self, message: str, *, request_id: str | None = None, unreadable: bool = False
    ) -> None:
        self.request_id = request_id
        self.unreadable = unreadable
        super().__init__(f"[{request_id}] {message}" if request_id else message)


class TransportError(JiraError):
    """No response was received (connection failure, timeout, protocol error)."""

    def __init__(self, message: str, *, method: str = "", url: str = "") -> None:
        self.method = method
        self.url = url
        super().__init__(f"{message} ({method} {url})" if method else message)


class ConnectError(TransportError):
    """The connection could not be made: the request never reached the server."""


class TimeoutError(TransportError):
    """A timeout: connecting, reading, writing or waiting for a pooled connection."""

    def __init__(self, message: str, *, method: str = "", url: str = "", phase: str = "") -> None:
        self.phase = phase
        super().__init__(message, method=method, url=url)


class HTTPError(JiraError):
    """Jira answered with an error status."""

    status: int

    def __init__(
        self,
        status: int,
        *,
        error_messages: list[str] | None = None,
        errors: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        method: str = "",
        url: str = "",
        body: str = "",
    ) -> None:
        self.status = status
        self.error_messages: list[str] = list(error_messages or [])
        self.errors: dict[str, str] = dict(errors or {})
        self.headers: dict[str, str] = {k.lower(): v for k, v in (headers or {}).items()}
        self.method = method
        self.url = url
        self.body = body
        super().__init__(self._render())

    @property
    def request_id(self) -> str | None:
        """Jira's request id (``X-AREQUESTID``), the thing Atlassian support asks for."""
        return self.headers.get("x-arequestid")

    @property
    def message(self) -> str:
        """Jira's own words: ``errorMessages`` then ``errors`` as ``field: message``."""
        parts = [*self.error_messages, *(f"{k}: {v}" for k, v in self.errors.items())]
        if parts:
            return "; ".join(parts)
        return self.body.strip()[:200] or _reason(self.status)

    def _render(self) -> str:
        head = f"[{self.request_id}] " if self.request_id else ""
        where = f" ({self.method} {self.url})" if self.method else ""
        return f"{head}{self.status} {self.message}{where}"


class BadRequest(HTTPError):
    """400: the request is invalid (bad JQL, missing or invalid fields...)."""


class Unauthorized(HTTPError):
    """401: the credentials are missing, wrong or expired."""


class Forbidden(HTTPError):
    """403: authenticated, but not allowed."""


class NotFound(HTTPError):
    """404: the resource does not exist, or you do not have permission to see it."""


class Conflict(HTTPError):
    """409: the request conflicts with the resource's current state."""


class Gone(HTTPError):
    """410: the API was removed (e.g. ``/rest/api/3/search`` on Jira Cloud)."""


class PayloadTooLarge(HTTPError):
    """413: the request body is too large."""


class RateLimited(HTTPError):
    """429: too many requests. ``retry_after`` is the server's requested wait, in seconds."""

    @property
    def retry_after(self) -> float | None:
        return retry_after_seconds(self.headers)


class ServerError(HTTPError):
    """5xx: Jira failed. 503 may carry ``Retry-After``."""

    @property
    def retry_after(self) -> float | None:
        return retry_after_seconds(self.headers)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "HTTP error"


_BY_STATUS: dict[int, type[HTTPError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    413: PayloadTooLarge,
    429: RateLimited,
}


def error_class_for_status(status: int) -> type[HTTPError]:
    """The one place where a status picks an error class."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ServerError
    return HTTPError


def error_for_response(response: httpx.Response) -> HTTPError:
    """Build the error for a 4xx/5xx response, parsing Jira's error body when present."""
    text = _safe_text(response)
    messages, errors = parse_error_body(text)
    cls = error_class_for_status(response.status_code)
    return cls(
        response.status_code,
        error_messages=messages,
        errors=errors,
        headers=dict(response.headers),
        method=response.request.method if _has_request(response) else "",
        url=_redacted_url(response) if _has_request(response) else "",
        body=text if not (messages or errors) else "",
    )


def parse_error_body(text: str) -> tuple[list[str], dict[str, str]]:
    """Jira's ``{"errorMessages": [...], "errors": {...}}``, tolerating other shapes
    (``{"message": ...}`` from the gateway, OAuth's ``{"error": ..., "error_description": ...}``)."""
    try:
        data = json.loads(text) if text else None
    except ValueError:
        return [], {}
    if not isinstance(data, dict):
        return [], {}
    messages = [str(m) for m in data.get("errorMessages") or [] if m]
    raw_errors = data.get("errors")
    errors = {str(k): str(v) for k, v in raw_errors.items()} if isinstance(raw_errors, dict) else {}
    if not messages and not errors:
        for key in ("message", "error_description", "error"):
            if isinstance(data.get(key), str):
                messages.append(data[key])
                break
    return messages, errors


def retry_after_seconds(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """The wait asked for by ``Retry-After`` (seconds or an HTTP date), in seconds."""
    value = _header(headers, "retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _safe_text(response: httpx.Response) -> str:
    try:
        return response.text
    except (httpx.ResponseNotRead, UnicodeDecodeError):
        return ""


def _has_request(response: httpx.Response) -> bool:
    try:
        response.request  # noqa: B018 - property raises when unset
    except RuntimeError:
        return False
    return True


def _redacted_url(response: httpx.Response) -> str:
    url = response.request.url
    return str(url.copy_with(query=None)) if url.query else str(url)
