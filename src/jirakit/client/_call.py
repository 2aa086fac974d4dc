"""A request described as data, and operations written once as generators of them.

Every resource method builds `Call` objects; multi-step operations (resolve a transition
by name, then post it) are *flows*: generators that yield calls and receive their results.
The sync client drives a flow with blocking I/O, the async client with ``await``; the
logic exists once. This is the same trick as httpx's auth flows.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

import httpx
import orjson

from jirakit.errors import JiraError

T = TypeVar("T")
R = TypeVar("R")

Api = Literal["platform", "agile", "absolute"]


def _json_body(response: httpx.Response) -> Any:
    """The body as JSON: parsed by orjson (a 100-issue bulkfetch is megabytes: several
    times faster than the standard library); a body orjson refuses (not UTF-8, or not
    JSON) goes through httpx, which decodes by the declared charset and raises the usual
    error."""
    if not response.content:
        return None
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.json()


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One HTTP request and how to read its answer.

    ``path`` is a template relative to the API root (``/issue/{key}``) whose placeholders
    are filled from ``path_params`` (URL-quoted); with ``api="absolute"`` it is a full URL.
    ``idempotent`` overrides the method's default for retries (e.g. read-only POSTs).
    ``follow_redirects`` lets httpx follow them (attachment downloads answer 303 to a
    media URL); httpx drops ``Authorization`` when a redirect leaves the origin.
    ``stream`` leaves a successful body unread for ``parse``; with ``sink`` the send loop
    hands the body to ``sink`` in chunks of at most ``STREAM_CHUNK`` bytes as they arrive
    (never holding it whole), closes the response, then calls ``parse`` (headers only).
    A transfer cut short after the body started is raised, never retried: the sink
    already has part of it. With ``capture``, the `JiraError` the call still ends with
    once the retry policy is done is sent into the flow as the call's result instead of
    being raised (bulk create keeps what earlier requests made).
    """

    method: str
    path: str
    path_params: Mapping[str, str | int] = field(default_factory=dict)
    params: Mapping[str, Any] | None = None
    json: Any = None
    content: bytes | None = None
    files: Any = None
    headers: Mapping[str, str] | None = None
    api: Api = "platform"
    idempotent: bool | None = None
    parse: Callable[[httpx.Response], T] = _json_body
    stream: bool = False
    sink: Callable[[bytes], object] | None = None
    follow_redirects: bool = False
    also_ok: tuple[int, ...] = ()
    """Error statuses whose body is still a result (bulk create answers 400 with per-item
    errors)."""
    capture: bool = False


Flow = Generator[Call[Any], Any, R]

STREAM_CHUNK = 64 * 1024
"""The largest piece of a streamed body handed to a `Call`'s ``sink`` at once."""


def single(call: Call[T]) -> Flow[T]:
    """A flow of one call."""
    result: T = yield call
    return result


def captured(call: Call[Any], exc: BaseException) -> bool:
    """Whether ``exc``, which ``call`` ended with, is the call's result (see ``capture``)."""
    return call.capture and isinstance(exc, JiraError)


def drive(flow: Flow[R], execute: Callable[[Call[Any]], Any]) -> R:
    """Run a flow with a blocking executor. When a call fails the flow is closed (its
    ``finally`` blocks run at once, e.g. closing a file it opened) and the error raised,
    unless the call captures it (``Call.capture``): then the error is its result."""
    try:
        call = next(flow)
        while True:
            try:
                response = execute(call)
            except BaseException as exc:
                if not captured(call, exc):
                    flow.close()
                    raise
                response = exc
            call = flow.send(response)
    except StopIteration as stop:
        result: R = stop.value
        return result
