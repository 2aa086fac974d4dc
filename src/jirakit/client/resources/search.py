"""JQL search: Cloud's ``search/jql`` (nextPageToken) or Data Center's ``/search``
(startAt/total), chosen by the client's flavour."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from jirakit.client._call import Call, single
from jirakit.client._paging import OffsetPaging, PageStrategy, Paginator, TokenPaging
from jirakit.client.models import Issue, SearchPage
from jirakit.client.resources._base import Resource
from jirakit.errors import ConfigurationError

if TYPE_CHECKING:
    from jirakit.client._async import AsyncJira
    from jirakit.client._sync import Jira

# Beyond this the query goes in a POST body rather than the URL.
LONG_QUERY = 1500
# Cloud pages id/key-only searches up to 5000 issues; issue/bulkfetch reads 100 at a time.
ID_PAGE = 5000
BULK_FETCH = 100
ID_FIELDS = frozenset({"id", "key", "issuekey"})


def search_call(
    flavour: str,
    jql: str,
    fields: Sequence[str] | None,
    expand: Sequence[str] | None,
    extra: dict[str, Any] | None = None,
    page_size: int = 100,
) -> tuple[Call[Any], PageStrategy]:
    """The first search request and how to page it, for either flavour."""
    fields_list = list(fields) if fields is not None else None
    if flavour == "datacenter":
        params: dict[str, Any] = {"jql": jql, "fields": fields_list, "expand": expand}
        params.update(extra or {})
        return Call("GET", "/search", params=params), OffsetPaging("issues", page_size)
    if len(jql) > LONG_QUERY:
        body: dict[str, Any] = {"jql": jql}
        if fields_list is not None:
            body["fields"] = fields_list
        if expand:
            body["expand"] = ",".join(expand)
        body.update(extra or {})
        call: Call[Any] = Call("POST", "/search/jql", json=body, idempotent=True)
        return call, TokenPaging("issues", page_size, where="json")
    params = {"jql": jql, "fields": fields_list, "expand": expand}
    params.update(extra or {})
    return Call("GET", "/search/jql", params=params), TokenPaging("issues", page_size)


class TwoPhasePaging:
    """Search paging that switches to ids + ``issue/bulkfetch`` when that is cheaper.

    ``auto``: the first page is fetched as usual. If it is the last one, that was the
    cheapest possible. Otherwise it shows how many full issues the server really gives per
    page (``k``: at most ``page_size``, and Jira returns fewer for heavy fields and
    expands). With ``k`` at or above a bulkfetch (100) paging stays cheapest. Below it, the
    ids are fetched (``fields=id``, 5000 per page), which gives the number ``R`` of issues
    still to read, and the rest is read the cheaper way: ``ceil(R / 100)`` bulkfetches or
    ``ceil(R / k)`` more pages from where paging stopped. With a ``limit``, ``R`` is what
    the limit still lets through, and a switch must beat paging counting the ids page
    (``1 + ceil(R / 100) < ceil(R / k)``). ``always``: ids first, then
    bulkfetch. Issues come out in the search's order either way; ones deleted between the
    two phases are skipped.
    """

    def __init__(
        self,
        full: Call[Any],
        ids: Call[Any],
        page_size: int,
        fields: Sequence[str],
        expand: Sequence[str] | None,
        *,
        always: bool,
        limit: int | None = None,
    ) -> None:
        self._full = TokenPaging("issues", page_size, where="json" if full.json else "params")
        self._ids = TokenPaging("issues", ID_PAGE, where="json" if ids.json else "params")
        self._ids_call = ids
        self._fields = list(fields)
        self._expand = list(expand) if expand else None
        self._always = always
        self._limit = limit
        self._reset()

    def _reset(self) -> None:
        self.phase = "ids" if self._always else "full"
        self.switched = self._always
        self.page_items = 0
        self._yielded: set[str] = set()
        self._produced = 0
        self._pending: list[str] = []
        self._batch: list[str] = []
        self._id_next: Call[Any] | None = None
        self._resume: Call[Any] | None = None

    # -- PageStrategy -----------------------------------------------------------------

    def first(self, call: Call[Any]) -> Call[Any]:
        self._reset()
        if self._always:
            return self._ids.first(self._ids_call)
        return self._full.first(call)

    def items(self, page: Any) -> list[Any]:
        if self.phase == "full":
            found = self._full.items(page)
            self.page_items = max(self.page_items, len(found))
            self._yielded.update(str(i.get("id")) for i in found if isinstance(i, Mapping))
            self._produced += len(found)
            return found
        if self.phase == "ids":
            ids = [str(i["id"]) for i in self._ids.items(page) if isinstance(i, Mapping)]
            self._pending.extend(i for i in ids if i not in self._yielded)
            if self._limit is not None:
                del self._pending[max(0, self._limit - self._produced) :]
            return []
        by_id = {
            str(i.get("id")): i for i in (page or {}).get("issues") or [] if isinstance(i, Mapping)
        }
        found = [by_id[i] for i in self._batch if i in by_id]
        self._produced += len(found)
        return found

    def next(self, call: Call[Any], page: Any) -> Call[Any] | None:
        if self.phase == "full":
            following = self._full.next(call, page)
            if following is None or self.switched or self.page_items >= BULK_FETCH:
                return following
            wanted = self._wanted()
            if wanted is not None and not self._switching_is_cheaper(wanted):
                return following
            self.switched = True
            self._resume = following
            self.phase = "ids"
            return self._ids.first(self._ids_call)
        if self.phase == "ids":
            self._id_next = self._ids.next(call, page)
            if self._resume is not None:
                resume, self._resume = self._resume, None
                if self._id_next is None and self._paging_is_cheaper(len(self._pending)):
                    self.phase = "full"
                    return resume
        return self._advance()

    def _wanted(self) -> int | None:
        """How many more issues ``limit`` lets through (None: no limit)."""
        if self._limit is None:
            return None
        return max(0, self._limit - self._produced - len(self._pending))

    def _switching_is_cheaper(self, remaining: int) -> bool:
        k = max(1, self.page_items)
        return 1 + math.ceil(remaining / BULK_FETCH) < math.ceil(remaining / k)

    def _paging_is_cheaper(self, remaining: int) -> bool:
        k = max(1, self.page_items)
        return math.ceil(remaining / k) <= math.ceil(remaining / BULK_FETCH)

    def _advance(self) -> Call[Any] | None:
        if self._pending:
            self._batch, self._pending = self._pending[:BULK_FETCH], self._pending[BULK_FETCH:]
            self.phase = "bulk"
            body: dict[str, Any] = {"issueIdsOrKeys": list(self._batch), "fields": self._fields}
            if self._expand:
                body["expand"] = self._expand
            return Call("POST", "/issue/bulkfetch", json=body, idempotent=True)
        if self._id_next is not None and self._wanted() != 0:
            following, self._id_next = self._id_next, None
            self.phase = "ids"
            return following
        return None


def iter_plan(
    flavour: str,
    jql: str,
    fields: Sequence[str] | None,
    expand: Sequence[str] | None,
    page_size: int,
    two_phase: bool | None,
    limit: int | None = None,
) -> tuple[Call[Any], PageStrategy]:
    """The first call and paging for `Search.iter` (see `TwoPhasePaging`)."""
    call, strategy = search_call(flavour, jql, fields, expand, page_size=page_size)
    if two_phase is False:
        return call, strategy
    light = fields is None or set(fields) <= ID_FIELDS
    if flavour != "cloud" or light:
        if two_phase:
            raise ConfigurationError(
                "two-phase search needs Cloud's issue/bulkfetch and fields beyond id/key"
            )
        return call, strategy
    ids_call, _ = search_call(flavour, jql, ["id"], None)
    assert fields is not None
    paging = TwoPhasePaging(
        call, ids_call, page_size, fields, expand, always=bool(two_phase), limit=limit
    )
    return call, paging


def to_page(raw: Any) -> SearchPage:
    issues = [Issue.parse(i) for i in raw.get("issues") or []]
    token = raw.get("nextPageToken")
    total = raw.get("total")
    if "isLast" in raw:
        is_last = bool(raw["isLast"])
    elif total is not None:
        is_last = int(raw.get("startAt", 0)) + len(issues) >= int(total)
    else:
        is_last = not token
    return SearchPage(issues, token, is_last, total, raw.get("names") or {}, raw)


def page_call(
    flavour: str,
    jql: str,
    fields: Sequence[str] | None,
    expand: Sequence[str] | None,
    max_results: int,
    next_page_token: str | None,
    start_at: int,
) -> Call[SearchPage]:
    extra: dict[str, Any] = {"maxResults": max_results}
    if flavour == "datacenter":
        extra["startAt"] = start_at
    elif next_page_token:
        extra["nextPageToken"] = next_page_token
    call, _ = search_call(flavour, jql, fields, expand, extra)
    return Call(
        call.method,
        call.path,
        params=call.params,
        json=call.json,
        idempotent=call.idempotent,
        parse=lambda r: to_page(r.json()),
    )


def count_call(flavour: str, jql: str) -> Call[int]:
    if flavour == "datacenter":
        params = {"jql": jql, "maxResults": 0, "fields": "id"}
        return Call("GET", "/search", params=params, parse=lambda r: int(r.json()["total"]))
    return Call(
        "POST",
        "/search/approximate-count",
        json={"jql": jql},
        idempotent=True,
        parse=lambda r: int(r.json()["count"]),
    )


class Search(Resource):
    """``jira.search``."""

    _c: Jira

    def page(
        self,
        jql: str,
        *,
        fields: Sequence[str] | None = None,
        expand: Sequence[str] | None = None,
        max_results: int = 50,
        next_page_token: str | None = None,
        start_at: int = 0,
    ) -> SearchPage:
        """One page of results. On Cloud, pass the previous page's ``next_page_token``; on
        Data Center, ``start_at``."""
        call = page_call(
            self._c.flavour, jql, fields, expand, max_results, next_page_token, start_at
        )
        return self._c._run(single(call))

    def iter(
        self,
        jql: str,
        *,
        fields: Sequence[str] | None = None,
        expand: Sequence[str] | None = None,
        page_size: int = 100,
        limit: int | None = None,
        two_phase: bool | None = None,
    ) -> Paginator[Issue]:
        """Every matching issue, page after page. Cloud's ``search/jql`` returns only ids
        unless ``fields`` asks for more (e.g. ``["*all"]`` or ``["summary", "status"]``).

        On Cloud, with fields beyond id/key, the search switches to two-phase fetching (ids
        5000 per page, then ``issue/bulkfetch`` 100 at a time) when that takes fewer
        requests (see `TwoPhasePaging`); ``two_phase=True`` forces it, ``False`` never.
        Results and their order are the same either way."""
        call, strategy = iter_plan(
            self._c.flavour, jql, fields, expand, page_size, two_phase, limit
        )
        return self._c._paginate(call, strategy, Issue.parse, limit=limit)

    def count(self, jql: str) -> int:
        """How many issues match (Cloud: approximate-count, which lags like search)."""
        return self._c._run(single(count_call(self._c.flavour, jql)))


class AsyncSearch(Resource):
    """``ajira.search``."""

    _c: AsyncJira

    async def page(
        self,
        jql: str,
        *,
        fields: Sequence[str] | None = None,
        expand: Sequence[str] | None = None,
        max_results: int = 50,
        next_page_token: str | None = None,
        start_at: int = 0,
    ) -> SearchPage:
        """One page of results. On Cloud, pass the previous page's ``next_page_token``; on
        Data Center, ``start_at``."""
        call = page_call(
            self._c.flavour, jql, fields, expand, max_results, next_page_token, start_at
        )
        return await self._c._run(single(call))

    def iter(
        self,
        jql: str,
        *,
        fields: Sequence[str] | None = None,
        expand: Sequence[str] | None = None,
        page_size: int = 100,
        limit: int | None = None,
        two_phase: bool | None = None,
    ) -> Paginator[Issue]:
        """Every matching issue, page after page (``async for``); two-phase fetching as
        for `Search.iter`."""
        call, strategy = iter_plan(
            self._c.flavour, jql, fields, expand, page_size, two_phase, limit
        )
        return self._c._paginate(call, strategy, Issue.parse, limit=limit)

    async def count(self, jql: str) -> int:
        """How many issues match (Cloud: approximate-count, which lags like search)."""
        return await self._c._run(single(count_call(self._c.flavour, jql)))
