"""JQL search: Cloud's ``search/jql`` (nextPageToken) or Data Center's ``/search``
(startAt/total), chosen by the client's flavour."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from jirakit.client._call import Call, single
from jirakit.client._paging import OffsetPaging, PageStrategy, Paginator, TokenPaging
from jirakit.client.models import Issue, SearchPage
from jirakit.client.resources._base import Resource

if TYPE_CHECKING:
    from jirakit.client._async import AsyncJira
    from jirakit.client._sync import Jira

# Beyond this the query goes in a POST body rather than the URL.
LONG_QUERY = 1500


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
    ) -> Paginator[Issue]:
        """Every matching issue, page after page. Cloud's ``search/jql`` returns only ids
        unless ``fields`` asks for more (e.g. ``["*all"]`` or ``["summary", "status"]``)."""
        call, strategy = search_call(self._c.flavour, jql, fields, expand, page_size=page_size)
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
    ) -> Paginator[Issue]:
        """Every matching issue, page after page (``async for``)."""
        call, strategy = search_call(self._c.flavour, jql, fields, expand, page_size=page_size)
        return self._c._paginate(call, strategy, Issue.parse, limit=limit)

    async def count(self, jql: str) -> int:
        """How many issues match (Cloud: approximate-count, which lags like search)."""
        return await self._c._run(single(count_call(self._c.flavour, jql)))
