"""Pagination strategies for Jira's three paging styles, and one iterator for both worlds.

- `OffsetPaging`: ``startAt`` / ``maxResults`` / ``total`` (classic REST lists, comments,
  Data Center ``/search``).
- `IsLastPaging`: ``startAt`` / ``maxResults`` / ``isLast`` + ``values`` (``project/search``,
  Agile lists).
- `TokenPaging`: ``nextPageToken`` (``search/jql``, ``changelog/bulkfetch``); a missing token
  means done; a token seen twice raises `PaginationError` instead of looping forever.

A strategy only turns "the page I just got" into "the next call, or None": it holds no I/O.
`Paginator` yields items for ``for`` (built by the sync client) and ``async for`` (built by
the async client).
"""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import Any, Generic, Protocol, TypeVar

from jirakit.client._call import Call
from jirakit.errors import PaginationError, ResponseDecodeError

T = TypeVar("T")
Page = Mapping[str, Any]


class PageStrategy(Protocol):
    def first(self, call: Call[Any]) -> Call[Any]: ...

    def next(self, call: Call[Any], page: Any) -> Call[Any] | None: ...

    def items(self, page: Any) -> list[Any]: ...


def _with(call: Call[Any], where: str, **values: Any) -> Call[Any]:
    if where == "json":
        body = dict(call.json or {})
        body.update(values)
        return dataclasses.replace(call, json=body)
    params = dict(call.params or {})
    params.update(values)
    return dataclasses.replace(call, params=params)


def _list(page: Any, key: str | None) -> list[Any]:
    if key is None:
        if isinstance(page, list):
            return page
        raise ResponseDecodeError(f"expected a JSON array, got {type(page).__name__}")
    if not isinstance(page, Mapping):
        raise ResponseDecodeError(f"expected a JSON object with {key!r}")
    value = page.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ResponseDecodeError(f"expected {key!r} to be a list")
    return value


@dataclasses.dataclass(frozen=True, slots=True)
class OffsetPaging:
    """startAt/maxResults/total. Stops on the last page, an empty page, or at ``total``."""

    key: str
    page_size: int = 50
    where: str = "params"

    def first(self, call: Call[Any]) -> Call[Any]:
        return _with(call, self.where, startAt=0, maxResults=self.page_size)

    def next(self, call: Call[Any], page: Any) -> Call[Any] | None:
        items = _list(page, self.key)
        if not items:
            return None
        start = int(page.get("startAt", _current(call, self.where, "startAt")))
        following = start + len(items)
        total = page.get("total")
        if total is not None and following >= int(total):
            return None
        if following <= _current(call, self.where, "startAt"):
            raise PaginationError(f"the server did not advance past startAt={start}")
        return _with(call, self.where, startAt=following)

    def items(self, page: Any) -> list[Any]:
        return _list(page, self.key)


@dataclasses.dataclass(frozen=True, slots=True)
class IsLastPaging:
    """startAt/maxResults/isLast with ``values`` (project search, Agile lists)."""

    key: str = "values"
    page_size: int = 50

    def first(self, call: Call[Any]) -> Call[Any]:
        return _with(call, "params", startAt=0, maxResults=self.page_size)

    def next(self, call: Call[Any], page: Any) -> Call[Any] | None:
        items = _list(page, self.key)
        if page.get("isLast", True) or not items:
            return None
        start = int(page.get("startAt", _current(call, "params", "startAt")))
        return _with(call, "params", startAt=start + len(items))

    def items(self, page: Any) -> list[Any]:
        return _list(page, self.key)


@dataclasses.dataclass(slots=True)
class TokenPaging:
    """nextPageToken paging. Tokens go in the query (GET) or the JSON body (POST)."""

    key: str
    page_size: int = 100
    where: str = "params"
    size_param: str | None = "maxResults"
    seen: set[str] = dataclasses.field(default_factory=set)

    def first(self, call: Call[Any]) -> Call[Any]:
        self.seen.clear()
        if self.size_param is None:
            return call
        return _with(call, self.where, **{self.size_param: self.page_size})

    def next(self, call: Call[Any], page: Any) -> Call[Any] | None:
        token = page.get("nextPageToken") if isinstance(page, Mapping) else None
        if not token or page.get("isLast") is True:
            return None
        if token in self.seen:
            raise PaginationError("the server returned the same nextPageToken twice")
        self.seen.add(token)
        return _with(call, self.where, nextPageToken=token)

    def items(self, page: Any) -> list[Any]:
        return _list(page, self.key)


def _current(call: Call[Any], where: str, name: str) -> int:
    source = call.json if where == "json" else call.params
    return int((source or {}).get(name, 0))


class Paginator(Generic[T]):
    """Items across pages. Iterate with ``for`` (from `Jira`) or ``async for`` (from
    `AsyncJira`); ``limit`` stops after that many items. ``.pages`` counts pages fetched."""

    def __init__(
        self,
        call: Call[Any],
        strategy: PageStrategy,
        convert: Callable[[Any], T],
        *,
        fetch: Callable[[Call[Any]], Any] | None = None,
        afetch: Callable[[Call[Any]], Awaitable[Any]] | None = None,
        limit: int | None = None,
    ) -> None:
        self._call = call
        self._strategy = strategy
        self._convert = convert
        self._fetch = fetch
        self._afetch = afetch
        self._limit = limit
        self.pages = 0

    def __iter__(self) -> Iterator[T]:
        if self._fetch is None:
            raise TypeError("this paginator comes from AsyncJira: use `async for`")
        produced = 0
        call: Call[Any] | None = self._strategy.first(self._call)
        while call is not None:
            page = self._fetch(call)
            self.pages += 1
            for raw in self._strategy.items(page):
                yield self._convert(raw)
                produced += 1
                if self._limit is not None and produced >= self._limit:
                    return
            call = self._strategy.next(call, page)

    async def _aiterate(self) -> AsyncIterator[T]:
        assert self._afetch is not None
        produced = 0
        call: Call[Any] | None = self._strategy.first(self._call)
        while call is not None:
            page = await self._afetch(call)
            self.pages += 1
            for raw in self._strategy.items(page):
                yield self._convert(raw)
                produced += 1
                if self._limit is not None and produced >= self._limit:
                    return
            call = self._strategy.next(call, page)

    def __aiter__(self) -> AsyncIterator[T]:
        if self._afetch is None:
            raise TypeError("this paginator comes from Jira (sync): use `for`")
        return self._aiterate()

    def all(self) -> builtins.list[T]:
        """All items (sync only)."""
        return builtins.list(self)

    async def aall(self) -> builtins.list[T]:
        """All items (async only)."""
        return [item async for item in self]
