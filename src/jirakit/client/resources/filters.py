"""Saved filters and server-side JQL services (parse, autocomplete data)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from jirakit.client._call import Call, single
from jirakit.client._paging import IsLastPaging, Paginator
from jirakit.client.resources._base import Resource

if TYPE_CHECKING:
    from jirakit.client._async import AsyncJira
    from jirakit.client._sync import Jira

Validation = Literal["strict", "warn", "none"]


def _json(r: Any) -> dict[str, Any]:
    return dict(r.json())


def create_call(
    name: str, jql: str, description: str | None, favourite: bool
) -> Call[dict[str, Any]]:
    body: dict[str, Any] = {"name": name, "jql": jql, "favourite": favourite}
    if description is not None:
        body["description"] = description
    return Call("POST", "/filter", json=body, parse=_json)


def update_call(filter_id: str, changes: dict[str, Any]) -> Call[dict[str, Any]]:
    return Call("PUT", "/filter/{id}", {"id": filter_id}, json=changes, parse=_json)


def get_call(filter_id: str) -> Call[dict[str, Any]]:
    return Call("GET", "/filter/{id}", {"id": filter_id}, parse=_json)


def delete_call(filter_id: str) -> Call[None]:
    return Call("DELETE", "/filter/{id}", {"id": filter_id}, parse=lambda r: None)


def search_call(name: str | None) -> Call[Any]:
    return Call("GET", "/filter/search", params={"filterName": name, "expand": "jql"})


def mine_call(include_favourites: bool) -> Call[builtins.list[dict[str, Any]]]:
    return Call(
        "GET",
        "/filter/my",
        params={"includeFavourites": include_favourites},
        parse=lambda r: [dict(f) for f in r.json()],
    )


def favourites_call() -> Call[builtins.list[dict[str, Any]]]:
    return Call("GET", "/filter/favourite", parse=lambda r: [dict(f) for f in r.json()])


def parse_call(
    queries: Sequence[str], validation: Validation
) -> Call[builtins.list[dict[str, Any]]]:
    return Call(
        "POST",
        "/jql/parse",
        params={"validation": validation},
        json={"queries": list(queries)},
        idempotent=True,
        parse=lambda r: list(r.json()["queries"]),
    )


def autocomplete_call() -> Call[dict[str, Any]]:
    return Call("GET", "/jql/autocompletedata", parse=_json)


class Filters(Resource):
    """``jira.filters``: saved filters, and ``parse``/``autocomplete`` for JQL."""

    _c: Jira

    def create(
        self, name: str, jql: str, *, description: str | None = None, favourite: bool = False
    ) -> dict[str, Any]:
        return self._c._run(single(create_call(name, jql, description, favourite)))

    def get(self, filter_id: str) -> dict[str, Any]:
        return self._c._run(single(get_call(filter_id)))

    def update(self, filter_id: str, **changes: Any) -> dict[str, Any]:
        """Change ``name``, ``jql``, ``description`` … of a filter."""
        return self._c._run(single(update_call(filter_id, changes)))

    def delete(self, filter_id: str) -> None:
        self._c._run(single(delete_call(filter_id)))

    def search(self, name: str | None = None) -> Paginator[dict[str, Any]]:
        return self._c._paginate(search_call(name), IsLastPaging("values", 50), dict)

    def mine(self, *, include_favourites: bool = False) -> builtins.list[dict[str, Any]]:
        """Filters you own (and, with ``include_favourites``, those you starred)."""
        return self._c._run(single(mine_call(include_favourites)))

    def favourites(self) -> builtins.list[dict[str, Any]]:
        """Filters you starred."""
        return self._c._run(single(favourites_call()))

    def parse_jql(
        self, queries: Sequence[str], *, validation: Validation = "strict"
    ) -> builtins.list[dict[str, Any]]:
        """Jira's own parse of each query: its structure, or its ``errors``."""
        return self._c._run(single(parse_call(queries, validation)))

    def autocomplete(self) -> dict[str, Any]:
        """Field names, operators and functions JQL accepts on this site."""
        return self._c._run(single(autocomplete_call()))


class AsyncFilters(Resource):
    """``ajira.filters``."""

    _c: AsyncJira

    async def create(
        self, name: str, jql: str, *, description: str | None = None, favourite: bool = False
    ) -> dict[str, Any]:
        return await self._c._run(single(create_call(name, jql, description, favourite)))

    async def get(self, filter_id: str) -> dict[str, Any]:
        return await self._c._run(single(get_call(filter_id)))

    async def update(self, filter_id: str, **changes: Any) -> dict[str, Any]:
        """Change ``name``, ``jql``, ``description`` … of a filter."""
        return await self._c._run(single(update_call(filter_id, changes)))

    async def delete(self, filter_id: str) -> None:
        await self._c._run(single(delete_call(filter_id)))

    def search(self, name: str | None = None) -> Paginator[dict[str, Any]]:
        return self._c._paginate(search_call(name), IsLastPaging("values", 50), dict)

    async def mine(self, *, include_favourites: bool = False) -> builtins.list[dict[str, Any]]:
        """Filters you own (and, with ``include_favourites``, those you starred)."""
        return await self._c._run(single(mine_call(include_favourites)))

    async def favourites(self) -> builtins.list[dict[str, Any]]:
        """Filters you starred."""
        return await self._c._run(single(favourites_call()))

    async def parse_jql(
        self, queries: Sequence[str], *, validation: Validation = "strict"
    ) -> builtins.list[dict[str, Any]]:
        """Jira's own parse of each query: its structure, or its ``errors``."""
        return await self._c._run(single(parse_call(queries, validation)))

    async def autocomplete(self) -> dict[str, Any]:
        """Field names, operators and functions JQL accepts on this site."""
        return await self._c._run(single(autocomplete_call()))
