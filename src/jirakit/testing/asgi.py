"""`SyncASGITransport`: call an ASGI app (the sandbox) from blocking httpx code.

httpx ships `ASGITransport` for async clients only. This adapter runs the app on a
private event loop in a background thread, so a blocking `Jira` client (or any
`httpx.Client`) can talk to the in-process sandbox without opening a port.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx


class SyncASGITransport(httpx.BaseTransport):
    """A blocking transport in front of an ASGI app."""

    def __init__(self, app: Any, *, client: tuple[str, int] = ("127.0.0.1", 50000)) -> None:
        self._inner = httpx.ASGITransport(app=app, client=client)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="jirakit-asgi", daemon=True
        )
        self._thread.start()
        self._closed = False

    async def _call(self, request: httpx.Request) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        forwarded = httpx.Request(
            request.method, request.url, headers=request.headers, content=request.content
        )
        response = await self._inner.handle_async_request(forwarded)
        body = await response.aread()
        return response.status_code, response.headers.raw, body

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise httpx.ConnectError("transport closed", request=request)
        request.read()
        future = asyncio.run_coroutine_threadsafe(self._call(request), self._loop)
        status, headers, body = future.result()
        return httpx.Response(status, headers=headers, content=body, request=request)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()
