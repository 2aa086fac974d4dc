"""`AsyncJira`: the asyncio client. Only the send loop lives here; see `_base` for the rest."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from jirakit.client._base import MAX_REDIRECTS, BaseJira
from jirakit.client._bulk import AsyncBulk
from jirakit.client._call import STREAM_CHUNK, Call, Flow, captured, single
from jirakit.client._paging import PageStrategy, Paginator
from jirakit.client._ratelimit import first_estimate
from jirakit.client._transport import async_transports
from jirakit.client.models import ServerInfo, User
from jirakit.client.resources.agile import AsyncBoards, AsyncSprints
from jirakit.client.resources.attachments import AsyncAttachments
from jirakit.client.resources.changelogs import AsyncChangelogs
from jirakit.client.resources.comments import AsyncComments
from jirakit.client.resources.fields import AsyncFields
from jirakit.client.resources.filters import AsyncFilters
from jirakit.client.resources.groups import AsyncGroups
from jirakit.client.resources.issues import AsyncIssues
from jirakit.client.resources.links import AsyncLinks, AsyncWatchers
from jirakit.client.resources.meta import AsyncMeta
from jirakit.client.resources.projects import AsyncProjects
from jirakit.client.resources.search import AsyncSearch
from jirakit.client.resources.transitions import AsyncTransitions
from jirakit.client.resources.users import AsyncUsers
from jirakit.client.resources.webhooks import AsyncWebhooks
from jirakit.client.resources.worklogs import AsyncWorklogs
from jirakit.errors import HTTPError, JiraError, ResponseDecodeError, TransportError

R = TypeVar("R")
T = TypeVar("T")


class AsyncJira(BaseJira):
    """A Jira REST client for asyncio; use it as ``async with AsyncJira(...) as jira:``.

    At most ``rate_limit.max_concurrency`` requests are in flight at once.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        **options: Any,
    ) -> None:
        super().__init__(base_url, **options)
        self._sleep = sleep
        mounts = None
        if transport is None:
            # Sharded pools for the site unless a proxy from the environment applies to it
            # (an OAuth client's site is on its API host, known before it is resolved).
            site = self._base_url or getattr(self.auth, "api_url", None)
            transport, mounts = async_transports(site, self.config.rate_limit.max_concurrency)
        self._http = httpx.AsyncClient(
            auth=self.auth,
            transport=transport,
            mounts=mounts,
            timeout=self.config.timeout,
            headers=self.default_headers,
            follow_redirects=False,
            max_redirects=MAX_REDIRECTS,
            limits=httpx.Limits(max_connections=self.config.rate_limit.max_concurrency),
        )
        self._slots = asyncio.Semaphore(self.config.rate_limit.max_concurrency)
        self._site_lock = asyncio.Lock()
        self.issues = AsyncIssues(self)
        self.search = AsyncSearch(self)
        self.bulk = AsyncBulk(self)
        self.comments = AsyncComments(self)
        self.transitions = AsyncTransitions(self)
        self.projects = AsyncProjects(self)
        self.fields = AsyncFields(self)
        self.changelogs = AsyncChangelogs(self)
        self.worklogs = AsyncWorklogs(self)
        self.users = AsyncUsers(self)
        self.meta = AsyncMeta(self)
        self.boards = AsyncBoards(self)
        self.sprints = AsyncSprints(self)
        self.webhooks = AsyncWebhooks(self)
        self.links = AsyncLinks(self)
        self.watchers = AsyncWatchers(self)
        self.groups = AsyncGroups(self)
        self.filters = AsyncFilters(self)
        self.attachments = AsyncAttachments(self)

    # -- lifecycle ------------------------------------------------------------------

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- top-level resources ------------------------------------------------------------

    async def myself(self) -> User:
        """The user these credentials act as."""
        call = Call("GET", "/myself", parse=lambda r: User.parse(r.json()))
        return await self._run(single(call))

    async def server_info(self) -> ServerInfo:
        """Version, deployment type and server time of the site."""
        call = Call("GET", "/serverInfo", parse=lambda r: ServerInfo.parse(r.json()))
        return await self._run(single(call))

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Any endpoint not covered by a resource, relative to the API root."""
        return await self._run(single(Call(method, path, **kwargs)))

    # -- the send loop ----------------------------------------------------------------

    async def _run(self, flow: Flow[R]) -> R:
        try:
            call = next(flow)
            while True:
                try:
                    response = await self._execute(call)
                except BaseException as exc:
                    if not captured(call, exc):
                        flow.close()  # the flow's cleanup (``finally``) runs now
                        raise
                    response = exc
                call = flow.send(response)
        except StopIteration as stop:
            result: R = stop.value
            return result

    def _paginate(
        self,
        call: Call[Any],
        strategy: PageStrategy,
        convert: Callable[[Any], T],
        *,
        limit: int | None = None,
    ) -> Paginator[T]:
        return Paginator(call, strategy, convert, afetch=self._execute, limit=limit)

    async def _resolve_site(self) -> None:
        async with self._site_lock:
            if self._base_url is None:
                site_call = self.auth.resolve_site_call()  # type: ignore[union-attr]
                self._base_url = await self._execute(site_call)

    async def _drain(
        self, sink: Callable[[bytes], object], response: httpx.Response, request: httpx.Request
    ) -> None:
        """Hand a streamed body to ``sink`` chunk by chunk, then close the response."""
        try:
            async for chunk in response.aiter_bytes(STREAM_CHUNK):
                sink(chunk)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, request) from exc
        finally:
            await response.aclose()

    async def _execute(self, call: Call[Any]) -> Any:
        if self._base_url is None and call.api != "absolute":
            await self._resolve_site()
        bucket = self.bucket(call)
        request = self._http.build_request(
            call.method, self.url(call), **self._request_kwargs(call)
        )
        attempt, waited = 0, 0.0
        while True:
            attempt += 1
            estimate = self._points.estimate(
                bucket,
                first_estimate(call.method, call.params, call.json),
                cautious=self.governor is not None,
            )
            now = self._clock()
            throttle = max(self._pacer.reserve(bucket, now), self._points_wait(call, estimate, now))
            if throttle > 0:
                self.stats.throttled_seconds += throttle
                await self._sleep(throttle)
            if self.governor is not None:
                while (wait := await self.governor.aacquire(estimate)) > 0:
                    self.stats.throttled_seconds += wait
                    throttle += wait
                    await self._sleep(wait)
            error: JiraError
            async with self._slots:
                started = self._clock()
                log = partial(
                    self._log, call, bucket, attempt=attempt, started=started, throttled=throttle
                )
                try:
                    response = await self._http.send(
                        request, stream=call.stream, follow_redirects=call.follow_redirects
                    )
                    if call.stream and not (
                        response.is_success or response.status_code in call.also_ok
                    ):
                        await response.aread()  # small error body: read it, free the connection
                except httpx.HTTPError as exc:
                    error = self._transport_error(exc, request)
                    self.stats.count(None)
                    status, request_id = None, None
                else:
                    budget = self._observe(response, bucket)
                    if self.governor is not None:
                        await self.governor.asettle(estimate, budget)
                    status, request_id = response.status_code, response.headers.get("x-arequestid")
                    try:
                        if call.sink is not None and response.is_success:
                            await self._drain(call.sink, response, request)
                        result = self._finish(call, response)
                    except TransportError as exc:  # cut short mid-body: the sink has part of it
                        log(status=status, request_id=request_id, error=exc)
                        raise
                    except (HTTPError, ResponseDecodeError) as exc:
                        error = exc
                    else:
                        log(status=status, request_id=request_id)
                        return result
            decision = self._decide(error, attempt, call, waited)
            log(status=status, request_id=request_id, error=error, decision=decision)
            if not decision.retry:
                raise error
            waited += decision.delay
            await self._sleep(decision.delay)


__all__ = ["AsyncJira"]
