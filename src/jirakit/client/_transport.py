"""`ShardedAsyncTransport`: many concurrent requests without httpcore's pool overhead.

httpcore's connection pool re-examines every connection on every pool event, so its cost
per request grows with the pool size: at 32 connections it spent most of the client's
CPU in our benchmark (docs/benchmarks.md). Several small pools, each request sent to the
least busy one, keep the same httpx stack and the same connection count at a fraction of
the cost.

`async_transports` decides where the sharded pools go: the Jira site gets them unless a
proxy from the environment applies to it (``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY``,
minus ``NO_PROXY``), in which case httpx's own proxied transport is kept; every other
host (a media redirect, a proxy's targets) keeps httpx's handling of those variables.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.request import getproxies, proxy_bypass

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


def env_proxy(url: str | httpx.URL) -> str | None:
    """The proxy httpx sends requests for ``url`` through, read from the environment as
    httpx reads it (``urllib.request.getproxies``): ``HTTPS_PROXY`` or ``HTTP_PROXY``
    for the URL's scheme, else ``ALL_PROXY``; None when there is none or ``NO_PROXY``
    excludes the host. ``NO_PROXY`` is judged by ``urllib.request.proxy_bypass`` (names
    match the host and its subdomains, with or without a leading dot, as curl does), plus
    what httpx also honours: ``*`` anywhere in the list, IP addresses and networks
    (``10.0.0.0/8``, ``::1``)."""
    target = httpx.URL(url)
    proxies = getproxies()
    proxy = proxies.get(target.scheme) or proxies.get("all")
    if not proxy or _bypassed(target, proxies.get("no", "")):
        return None
    return proxy


def _bypassed(target: httpx.URL, no_proxy: str) -> bool:
    names = [name.strip() for name in no_proxy.split(",") if name.strip()]
    if "*" in names:
        return True
    try:
        address = ipaddress.ip_address(target.host)
    except ValueError:
        netloc = target.host if target.port is None else f"{target.host}:{target.port}"
        return bool(proxy_bypass(netloc))
    for name in names:
        try:
            if address in ipaddress.ip_network(name.strip("[]"), strict=False):
                return True
        except ValueError:
            continue
    return False


def _site_pattern(url: httpx.URL) -> str:
    """An httpx mount pattern for ``url``'s scheme, host (and its subdomains, which the
    same ``NO_PROXY`` name excludes) and port, that outranks every pattern httpx makes from
    ``NO_PROXY``: those are ``all://*name`` (same host length at most, no scheme) or
    ``all://<ip>``, and httpx tries longer hosts first, then longer schemes."""
    try:
        ipaddress.ip_address(url.host)
    except ValueError:
        host = f"*{url.host}"
    else:
        host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{url.scheme}://{host}" + (f":{url.port}" if url.port is not None else "")


def async_transports(
    site: str | None, max_connections: int
) -> tuple[httpx.AsyncBaseTransport | None, dict[str, httpx.AsyncBaseTransport] | None]:
    """``transport=`` and ``mounts=`` for an `httpx.AsyncClient` talking to ``site``
    with up to ``max_connections`` connections.

    Sharding pays from ``PER_SHARD`` connections up. A site reached through a proxy keeps
    httpx's transport (which speaks to the proxy). A site reached directly gets the
    sharded pools: as the client's transport when the environment names no proxy at all
    (a bare ``NO_PROXY`` included); otherwise mounted for the site's origin alone, so
    httpx still builds its proxy mounts for every other host.
    """
    if site is None or max_connections <= PER_SHARD:
        return None, None
    url = httpx.URL(site)
    if env_proxy(url) is not None:
        return None, None
    sharded = ShardedAsyncTransport(max_connections)
    proxies = getproxies()
    if not any(proxies.get(scheme) for scheme in ("http", "https", "all")):
        return sharded, None
    return None, {_site_pattern(url): sharded}
