"""Every error jirakit raises, in one hierarchy.

::

    JiraError
    ├── ConfigurationError           bad arguments given to jirakit itself
    ├── AuthFlowError                OAuth 2.0 flow failed (bad code, revoked grant, no site)
    ├── InvalidTransition            transitions.do(to=...) found no such transition
    ├── PaginationError              the server sent the same page token twice
    ├── ResponseDecodeError          a 2xx body that is not the JSON we expected
    │   └── NotJSONResponse          a 2xx body that is not JSON at all (an HTML login
    │                                or proxy page ...): never retried
    ├── TransportError               no response at all (wraps httpx errors)
    │   ├── ConnectError             could not connect; the request was never sent
    │   ├── TimeoutError             connect/read/write/pool timeout
    │   └── TooManyRedirects         redirected again and again (a loop): never retried
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

import base64
import binascii
import json
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from urllib.parse import urlsplit

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
    "NotJSONResponse",
    "PaginationError",
    "PayloadTooLarge",
    "RateLimited",
    "ResponseDecodeError",
    "ServerError",
    "TimeoutError",
    "TooManyRedirects",
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
    is True when the body is not valid JSON but may be JSON cut short in transit (worth
    reading again); a body that is not JSON at all is the subclass `NotJSONResponse`.
    """

    def __init__(
        self, message: str, *, request_id: str | None = None, unreadable: bool = False
    ) -> None:
        self.request_id = request_id
        self.unreadable = unreadable
        super().__init__(f"[{request_id}] {message}" if request_id else message)


class NotJSONResponse(ResponseDecodeError):
    """A successful status whose body is not JSON at all: an HTML page (a corporate proxy,
    a single sign-on or login page, a maintenance page) or other text answered instead of
    Jira. It will not change on a retry, so it is never retried.

    ``status``, ``content_type``, ``request_id``, ``method`` and ``url`` (without its query)
    say what answered; ``body_start`` holds the first `BODY_START` bytes of the body as
    text, with the request's credentials masked.
    """

    BODY_START = 200

    def __init__(
        self,
        *,
        status: int,
        content_type: str,
        body_start: str,
        method: str = "",
        url: str = "",
        request_id: str | None = None,
    ) -> None:
        self.status = status
        self.content_type = content_type
        self.body_start = body_start
        self.method = method
        self.url = url
        where = f"{method} {url} answered" if method else "Jira answered"
        super().__init__(
            f"{where} {status} with {content_type or 'no Content-Type'}, not JSON: a proxy, "
            "login (single sign-on) or maintenance page usually sends this, not Jira; check "
            f"the site URL and any proxy in between. The body starts: {body_start!r}",
            request_id=request_id,
            unreadable=False,
        )

    @classmethod
    def from_response(cls, response: httpx.Response) -> NotJSONResponse:
        request = response.request if _has_request(response) else None
        return cls(
            status=response.status_code,
            content_type=response.headers.get("content-type", ""),
            body_start=body_start(response.content, request, limit=cls.BODY_START),
            method=request.method if request is not None else "",
            url=public_url(request.url) if request is not None else "",
            request_id=response.headers.get("x-arequestid"),
        )


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


class TooManyRedirects(TransportError):
    """The answer redirected again and again: ``redirects`` were followed and the last
    pointed to ``location`` (without its query, which may carry a signed token). Almost
    always a redirect loop (e.g. a login page sending the client back and forth), which a
    retry would only repeat, so it is never retried."""

    def __init__(self, *, method: str, url: str, location: str, redirects: int) -> None:
        self.location = location
        self.redirects = redirects
        super().__init__(
            f"{method} {url} was redirected {redirects} times without reaching an answer, "
            f"the last time to {location}: a redirect loop? Not retried."
        )
        self.method = method  # after: TransportError's own message format is not wanted
        self.url = url


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
        body = self.body.strip()
        if body[:1] == "<":  # a gateway's or proxy's HTML page, not Jira's answer
            title = _HTML_TITLE.search(body)
            text = title.group(1) if title else _HTML_TAG.sub(" ", body)
            said = " ".join(text.split())[:120] or _reason(self.status)
            return f"{said} (an HTML page: a proxy or gateway answered, not Jira)"
        return " ".join(body[:200].split()) or _reason(self.status)

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


_HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)
_HTML_TAG = re.compile(r"<[^>]*>")


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


# -- bodies that are not JSON ---------------------------------------------------------------

_NOT_JSON_TYPES = frozenset({"text/html", "application/xhtml+xml", "text/xml", "application/xml"})
# How a JSON value, or any piece of one cut short, begins: a bracket, a quote, a number,
# or (a start of) true / false / null not followed by more letters.
_JSON_START = re.compile(
    rb'[{\["0-9-]|(?:t(?:r(?:ue?)?)?|f(?:a(?:l(?:se?)?)?)?|n(?:u(?:ll?)?)?)(?!\w)'
)
_MASK = "***"


def clearly_not_json(content_type: str, body: bytes) -> bool:
    """True when ``body`` cannot be JSON, not even JSON cut short in transit: it is served
    as HTML or XML, or it does not begin the way a JSON value begins (JSON cut short still
    does; an HTML page starts with ``<``, a gateway's text with a word)."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media in _NOT_JSON_TYPES:
        return True
    head = body[:64].removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    return bool(head) and _JSON_START.match(head) is None


def body_start(body: bytes, request: httpx.Request | None, *, limit: int) -> str:
    """The first ``limit`` bytes of ``body`` as text, with every credential the request
    carried (``Authorization``, ``Cookie``, query values) masked, and anything that looks
    like an ``Authorization`` header value too: a login page may echo them back."""
    # Mask over a wider window than we keep, so a secret cut at the edge is still found.
    text = body[: limit * 8].decode("utf-8", errors="replace")
    for secret in sorted(set(_secrets(request)), key=len, reverse=True):
        text = text.replace(secret, _MASK)
    text = _AUTH_VALUE.sub(lambda m: f"{m.group(1)} {_MASK}", text)
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


_AUTH_VALUE = re.compile(r"\b(Basic|Bearer)\s+[A-Za-z0-9._~+/=-]+", re.I)


def _secrets(request: httpx.Request | None) -> Iterator[str]:
    """Strings from ``request`` that must never be shown (at least 4 characters long)."""
    if request is None:
        return
    found: list[str] = []
    for name in ("authorization", "proxy-authorization"):
        value = request.headers.get(name)
        if not value:
            continue
        scheme, _, credential = value.partition(" ")
        found += [value, credential or scheme]
        if scheme.lower() == "basic" and credential:
            try:
                decoded = base64.b64decode(credential, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            found += [decoded, decoded.partition(":")[2]]
    for cookie in request.headers.get_list("cookie"):
        for pair in cookie.split(";"):
            found.append(pair.strip().partition("=")[2])
    found += [value for _, value in request.url.params.multi_items()]
    if request.url.password:
        found.append(request.url.password)
    yield from (s for s in found if len(s) >= 4)


def public_url(url: httpx.URL) -> str:
    """``url`` fit for an error message: no query (it may carry a token or a signature),
    no fragment, no credentials."""
    return str(url.copy_with(query=None, fragment=None, username=None, password=None))


def redact_url(url: str) -> str:
    """``url`` without its password (for messages and logs): ``postgresql://u:pw@h/db`` is
    ``postgresql://u@h/db``."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # not a URL we can take apart: say nothing of it
        return "<the URL given>"
    if password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[-1]
    return parts._replace(netloc=(parts.username or "") + "@" + host).geturl()
