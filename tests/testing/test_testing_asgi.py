"""The blocking ASGI transport carries requests and bodies both ways."""

from __future__ import annotations

import json

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from jirakit.testing.asgi import SyncASGITransport


async def echo(request: Request) -> JSONResponse:
    body = await request.body()
    return JSONResponse(
        {
            "method": request.method,
            "path": request.url.path,
            "q": request.url.query,
            "body": body.decode(),
            "auth": request.headers.get("authorization"),
        },
        status_code=201,
        headers={"X-AREQUESTID": "r-1"},
    )


APP = Starlette(routes=[Route("/{path:path}", echo, methods=["GET", "POST", "PUT", "DELETE"])])


def test_round_trip_through_a_private_loop():
    transport = SyncASGITransport(APP)
    with httpx.Client(transport=transport, base_url="http://sandbox") as client:
        response = client.post(
            "/rest/api/3/issue?x=1", json={"a": 1}, headers={"Authorization": "Basic z"}
        )
        assert response.status_code == 201
        assert response.headers["x-arequestid"] == "r-1"
        data = response.json()
        assert data == {
            "method": "POST",
            "path": "/rest/api/3/issue",
            "q": "x=1",
            "body": json.dumps({"a": 1}, separators=(",", ":")),
            "auth": "Basic z",
        }
        assert client.get("/again").json()["method"] == "GET"
    transport.close()
    assert not transport._thread.is_alive()
