"""``/passthrough/{connection_id}/{path}``: any Jira REST call, with the connection's
credentials, the client's pacing and retries, and nothing else.

Only Jira REST paths (``rest/...``) on the connection's own site: no scheme, host, port,
``..``, backslash, percent-escape, query or fragment can leave it (the final URL is also
checked against the site's origin and API root). The answer is Jira's, status and body,
4xx included; 429s and 5xx are retried by the client first.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi import APIRouter, Request, Response

from jirakit.client import AsyncJira
from jirakit.service.deps import Jira
from jirakit.service.problems import Problem

router = APIRouter(prefix="/passthrough/{connection_id}", tags=["passthrough"])

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
_SAFE = re.compile(r"^rest/[A-Za-z0-9._~!$&'()*+,;=:@/-]*$")
_FORWARD_HEADERS = ("content-type", "x-arequestid", "retry-after", "location")
MAX_BODY = 10 * 1024 * 1024
CLIENT_ERRORS = tuple(range(400, 429)) + tuple(range(430, 500))


def safe_url(api_base: str, path: str) -> str:
    """The Jira URL for ``path``, or a 400 problem when it could leave the site's REST API."""
    bad = (
        not _SAFE.match(path)
        or "//" in path
        or any(part in ("..", ".") for part in path.split("/"))
        or ":" in path.split("/", 1)[0]
    )
    if bad:
        raise Problem(
            400,
            "passthrough paths are Jira REST paths on the connection's site, such as "
            "rest/api/3/myself (no scheme, host, '..', '%' escapes, '?' or '#')",
        )
    base = httpx.URL(api_base.rstrip("/") + "/")
    url = base.join(path)
    if (url.scheme, url.host, url.port) != (base.scheme, base.host, base.port) or not (
        url.path.startswith(base.path + "rest/")
    ):
        raise Problem(400, "passthrough path leaves the connection's site")
    return str(url)


async def _forward(jira: Jira, request: Request, path: str) -> Response:
    raw_path = request.scope.get("raw_path", b"").decode("latin-1")
    if "%25" in raw_path.lower() or "\\" in path:
        raise Problem(400, "passthrough paths may not contain escaped '%' or backslashes")
    url = safe_url(jira.snap.api_base, path)
    body = await request.body()
    if len(body) > MAX_BODY:
        raise Problem(413, f"request bodies are limited to {MAX_BODY} bytes")
    headers = {"Accept": request.headers.get("accept", "application/json")}
    if body:
        headers["Content-Type"] = request.headers.get("content-type", "application/json")

    async def run(j: AsyncJira) -> httpx.Response:
        answer: httpx.Response = await j.request(
            request.method,
            url,
            api="absolute",
            params=dict(request.query_params),
            content=body or None,
            headers=headers,
            parse=lambda r: r,
            also_ok=CLIENT_ERRORS,
        )
        return answer

    answer = await jira.call(run)
    out = {k: v for k, v in answer.headers.items() if k.lower() in _FORWARD_HEADERS}
    if answer.status_code in (204, 304):
        return Response(status_code=answer.status_code, headers=out)
    return Response(answer.content, status_code=answer.status_code, headers=out)


async def passthrough(jira: Jira, request: Request, path: str) -> Any:
    """Forward the call to Jira (see the module's docstring)."""
    return await _forward(jira, request, path)


for _method in METHODS:
    router.add_api_route(
        "/{path:path}",
        passthrough,
        methods=[_method],
        name=f"passthrough_{_method.lower()}",
        response_model=None,
    )
