"""Errors as problem details (RFC 9457), each carrying the request id.

- our own refusals raise `Problem` (status, title, detail, extra members);
- bad input is 422 with ``errors: [{"loc": "query.limit", "msg": ...}]`` field paths;
- Jira's errors pass through with Jira's status, ``errorMessages`` and ``errors``;
- anything unexpected is a 500 naming only the request id (the log has the rest).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from jirakit._logging import get_logger
from jirakit.errors import AuthFlowError, ConfigurationError, HTTPError, JiraError, RateLimited

log = get_logger("jirakit.service")
_access = logging.getLogger("jirakit.service")

PROBLEM_JSON = "application/problem+json"
REQUEST_ID_HEADER = "X-Request-Id"
request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    410: "Gone",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class ProblemDocument(BaseModel):
    """RFC 9457 problem details, plus ``request_id`` (and Jira's ``errorMessages``/``errors``
    when the problem is Jira's, ``errors`` with field paths for bad input)."""

    model_config = ConfigDict(extra="allow")

    type: str | None = "about:blank"
    title: str | None = None
    status: int | None = None
    detail: str | None = None
    request_id: str | None = None


# Every route may answer a problem; documented once, for all of them.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    "default": {
        "model": ProblemDocument,
        "description": "Problem details (RFC 9457)",
        "content": {PROBLEM_JSON: {}},
    }
}


class Problem(Exception):
    """Raise to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or TITLES.get(status, "Error")
        self.headers = dict(headers or {})
        self.extra = extra


def not_found(what: str, ident: str) -> Problem:
    return Problem(404, f"{what} {ident!r} does not exist")


def invalid(loc: str, msg: str) -> Problem:
    """A 422 about one input (``loc`` such as ``body.name`` or ``query.order``), its
    ``errors`` shaped as FastAPI's own validation errors."""
    return Problem(422, f"{loc}: {msg}", errors=[{"loc": loc, "msg": msg, "type": "value_error"}])


def problem_response(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "request_id": request_id_var.get(),
    }
    body.update(extra)
    return JSONResponse(body, status, headers=dict(headers or {}), media_type=PROBLEM_JSON)


def _loc(parts: Any) -> str:
    return ".".join(str(p) for p in parts)


async def _problem(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(
        exc.status, exc.detail, title=exc.title, headers=exc.headers, **exc.extra
    )


async def _validation(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": _loc(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"loc": "request", "msg": "invalid"}
    detail = f"{first['loc']}: {first['msg']}"
    if len(errors) > 1:
        detail += f" (and {len(errors) - 1} more)"
    return problem_response(422, detail, errors=errors)


async def _http(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "Error")
    return problem_response(exc.status_code, detail, headers=exc.headers)


async def _jira(_request: Request, exc: Exception) -> Response:
    """Jira said no: its status and its messages, and Jira's request id beside ours."""
    assert isinstance(exc, JiraError)
    if isinstance(exc, HTTPError):
        messages = list(exc.error_messages)
        detail = "; ".join([*messages, *(f"{k}: {v}" for k, v in exc.errors.items())])
        headers = {}
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            headers["Retry-After"] = str(max(1, round(exc.retry_after)))
        return problem_response(
            exc.status,
            detail or f"Jira answered {exc.status}",
            title=f"Jira: {TITLES.get(exc.status, 'Error')}",
            headers=headers,
            errorMessages=messages,
            errors=dict(exc.errors),
            jira_request_id=exc.request_id,
        )
    if isinstance(exc, AuthFlowError):
        return problem_response(401, str(exc), title="Jira connection needs authorization")
    if isinstance(exc, ConfigurationError):
        return problem_response(422, str(exc))
    # TransportError and the rest: Jira could not be reached or answered nonsense.
    return problem_response(502, f"Jira could not be reached: {type(exc).__name__}")


async def _unexpected(_request: Request, exc: Exception) -> Response:
    log.error("unhandled error", error=type(exc).__name__, request_id=request_id_var.get())
    return problem_response(500, "unexpected error; quote the request id when reporting it")


def install(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _problem)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(JiraError, _jira)
    app.add_exception_handler(Exception, _unexpected)

    app.add_middleware(RequestIdMiddleware)


class RequestIdMiddleware:
    """Give every request an id (ours, or a sane ``X-Request-Id`` from the caller), echoed
    in the response headers and in every problem document. Plain ASGI: no per-request task."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
        ok = 8 <= len(incoming) <= 100 and all(c.isalnum() or c in "-_." for c in incoming)
        rid = incoming if ok else "req_" + secrets.token_hex(8)
        request_id_var.set(rid)
        structlog.contextvars.bind_contextvars(request_id=rid)  # on every log line
        header = (b"x-request-id", rid.encode())
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if _access.isEnabledFor(logging.INFO):
                log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                )
            structlog.contextvars.unbind_contextvars("request_id")
