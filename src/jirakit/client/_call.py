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

T = TypeVar("T")
R = TypeVar("R")

Api = Literal["platform", "agile", "absolute"]


def _json_body(response: httpx.Response) -> Any:
    if not response.content:
        return None
    return response.json()


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One HTTP request and how to read its answer.

    ``path`` is a template relative to the API root (``/issue/{key}``) whose placeholders
    are filled from ``path_params`` (URL-quoted); with ``api="absolute"`` it is a full URL.
    ``idempotent`` overrides the method's default for retries (e.g. read-only POSTs).
    ``follow_redirects`` lets httpx follow them (attachment downloads answer 303 to a
    media URL); httpx drops ``Authorization`` when a redirect leaves the origin.
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
    follow_redirects: bool = False
    also_ok: tuple[int, ...] = ()
    """Error statuses whose body is still a result (bulk create answers 400 with per-item
    errors)."""


Flow = Generator[Call[Any], Any, R]


def single(call: Call[T]) -> Flow[T]:
    """A flow of one call."""
    result: T = yield call
    return result


def drive(flow: Flow[R], execute: Callable[[Call[Any]], Any]) -> R:
    """Run a flow with a blocking executor. When a call fails the flow is closed (its
    ``finally`` blocks run at once, e.g. closing a file it opened) and the error raised."""
    try:
        call = next(flow)
        while True:
            try:
                response = execute(call)
            except BaseException:
                flow.close()
                raise
            call = flow.send(response)
    except StopIteration as stop:
        result: R = stop.value
        return result
