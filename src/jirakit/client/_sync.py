"""`Jira`: the blocking client. Only the send loop lives here; see `_base` for the rest."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from jirakit.client._base import MAX_REDIRECTS, BaseJira
from jirakit.client._bulk import Bulk
from jirakit.client._call import STREAM_CHUNK, Call, Flow, drive, single
from jirakit.client._paging import PageStrategy, Paginator
from jirakit.client._ratelimit import first_estimate
from jirakit.client.models import ServerInfo, User
from jirakit.client.resources.agile import Boards, Sprints
from jirakit.client.resources.attachments import Attachments
from jirakit.client.resources.changelogs import Changelogs
from jirakit.client.resources.comments import Comments
from jirakit.client.resources.fields import Fields
from jirakit.client.resources.filters import Filters
from jirakit.client.resources.groups import Groups
from jirakit.client.resources.issues import Issues
from jirakit.client.resources.links import Links, Watchers
from jirakit.client.resources.meta import Meta
from jirakit.client.resources.projects import Projects
from jirakit.client.resources.search import Search
from jirakit.client.resources.transitions import Transitions
from jirakit.client.resources.users import Users
from jirakit.client.resources.webhooks import Webhooks
from jirakit.client.resources.worklogs import Worklogs
from jirakit.errors import HTTPError, JiraError, ResponseDecodeError, TransportError

R = TypeVar("R")
T = TypeVar("T")


class Jira(BaseJira):
    """A Jira REST client (blocking).

    >>> jira = Jira("https://acme.atlassian.net", auth=BasicAuth("me@acme.com", token))
    >>> jira.issues.get("PROJ-1").summary

    ``transport=`` replaces the network (``httpx.MockTransport``, the sandbox, ...).
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        **options: Any,
    ) -> None:
        super().__init__(base_url, **options)
        self._sleep = sleep
        self._http = httpx.Client(
            auth=self.auth,
            transport=transport,
            timeout=self.config.timeout,
            headers=self.default_headers,
            follow_redirects=False,
            max_redirects=MAX_REDIRECTS,
        )
        self.issues = Issues(self)
        self.search = Search(self)
        self.bulk = Bulk(self)
        self.comments = Comments(self)
        self.transitions = Transitions(self)
        self.projects = Projects(self)
        self.fields = Fields(self)
        self.changelogs = Changelogs(self)
        self.worklogs = Worklogs(self)
        self.users = Users(self)
        self.meta = Meta(self)
        self.boards = Boards(self)
        self.sprints = Sprints(self)
        self.webhooks = Webhooks(self)
        self.links = Links(self)
        self.watchers = Watchers(self)
        self.groups = Groups(self)
        self.filters = Filters(self)
        self.attachments = Attachments(self)

    # -- lifecycle ------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- top-level resources ------------------------------------------------------------

    def myself(self) -> User:
        """The user these credentials act as."""
        return self._run(single(Call("GET", "/myself", parse=lambda r: User.parse(r.json()))))

    def server_info(self) -> ServerInfo:
        """Version, deployment type and server time of the site."""
        call = Call("GET", "/serverInfo", parse=lambda r: ServerInfo.parse(r.json()))
        return self._run(single(call))

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Any endpoint not covered by a resource: ``jira.request("GET", "/dashboard")``,
        relative to the API root, with the same auth, retries, pacing and errors."""
        return self._run(single(Call(method, path, **kwargs)))

    # -- the send loop ----------------------------------------------------------------

    def _run(self, flow: Flow[R]) -> R:
        return drive(flow, self._execute)

    def _paginate(
        self,
        call: Call[Any],
        strategy: PageStrategy,
        convert: Callable[[Any], T],
        *,
        limit: int | None = None,
    ) -> Paginator[T]:
        return Paginator(call, strategy, convert, fetch=self._execute, limit=limit)

    def _drain(
        self, sink: Callable[[bytes], object], response: httpx.Response, request: httpx.Request
    ) -> None:
        """Hand a streamed body to ``sink`` chunk by chunk, then close the response."""
        try:
            for chunk in response.iter_bytes(STREAM_CHUNK):
                sink(chunk)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, request) from exc
        finally:
            response.close()

    def _execute(self, call: Call[Any]) -> Any:
        if self._base_url is None and call.api != "absolute":
            self._base_url = self._execute(self.auth.resolve_site_call())  # type: ignore[union-attr]
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
                self._sleep(throttle)
            if self.governor is not None:
                while (wait := self.governor.acquire(estimate)) > 0:
                    self.stats.throttled_seconds += wait
                    throttle += wait
                    self._sleep(wait)
            started = self._clock()
            log = partial(
                self._log, call, bucket, attempt=attempt, started=started, throttled=throttle
            )
            error: JiraError
            try:
                response = self._http.send(
                    request, stream=call.stream, follow_redirects=call.follow_redirects
                )
                if call.stream and not (
                    response.is_success or response.status_code in call.also_ok
                ):
                    response.read()  # an error body is small: read it, free the connection
            except httpx.HTTPError as exc:
                error = self._transport_error(exc, request)
                self.stats.count(None)
                status, request_id = None, None
            else:
                budget = self._observe(response, bucket)
                if self.governor is not None:
                    self.governor.settle(estimate, budget)
                status, request_id = response.status_code, response.headers.get("x-arequestid")
                try:
                    if call.sink is not None and response.is_success:
                        self._drain(call.sink, response, request)
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
            self._sleep(decision.delay)


__all__ = ["Jira", "TransportError"]
