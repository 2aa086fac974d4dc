"""`ShardedAsyncTransport`: many concurrent requests without httpcore's pool overhead.

httpcore's connection pool re-examines every connection on every pool event, so its cost
per request grows with the pool size: at 32 connections it spent most of the client's
CPU in our benchmark (docs/benchmarks.md). Several small pools, each request sent to the
least busy one, keep the same httpx stack and the same connection count at a fraction of
the cost.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

PER_SHARD = 4


class _Release(httpx.AsyncByteStream):
    """Gives the shard back when the response body is closed."""

    def __init__(self, inner: httpx.AsyncByteStream, release: Callable[[], None]) -> None:
        self._inner = inner
        self._release: Callable[[], None] | None = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            if self._release is not None:
                self._release()
                self._release = None


class ShardedAsyncTransport(httpx.AsyncBaseTransport):
    """``max_connections`` spread over pools of ``per_shard`` connections."""

    def __init__(self, max_connections: int, *, per_shard: int = PER_SHARD, **kwargs: Any) -> None:
        count = max(1, math.ceil(max_connections / per_shard))
        limits = httpx.Limits(max_connections=per_shard, max_keepalive_connections=per_shard)
        self._shards = [httpx.AsyncHTTPTransport(limits=limits, **kwargs) for _ in range(count)]
        self._busy = [0] * count

    @property
    def shards(self) -> int:
        return len(self._shards)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        index = min(range(len(self._shards)), key=self._busy.__getitem__)
        self._busy[index] += 1

        def release() -> None:
            self._busy[index] -= 1

        try:
            response = await self._shards[index].handle_async_request(request)
        except BaseException:
            release()
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _Release(response.stream, release)
        return response

    async def aclose(self) -> None:
        for shard in self._shards:
            await shard.aclose()
