"""Projects."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from jirakit.client._call import Call, single
from jirakit.client._paging import IsLastPaging, PageStrategy, Paginator
from jirakit.client.models import Project
from jirakit.client.resources._base import Resource

if TYPE_CHECKING:
    from jirakit.client._async import AsyncJira
    from jirakit.client._sync import Jira


class _WholeList:
    """A one-page "paging" for endpoints that return a bare JSON array."""

    def first(self, call: Call[Any]) -> Call[Any]:
        return call

    def next(self, call: Call[Any], page: Any) -> Call[Any] | None:
        return None

    def items(self, page: Any) -> list[Any]:
        return list(page or [])


def list_call(flavour: str, query: str | None) -> tuple[Call[Any], PageStrategy]:
    if flavour == "datacenter":
        return Call("GET", "/project"), _WholeList()
    return Call("GET", "/project/search", params={"query": query}), IsLastPaging("values", 50)


def get_call(key: str, expand: Sequence[str] | None) -> Call[Project]:
    params = {"expand": list(expand) if expand else None}
    return Call(
        "GET",
        "/project/{key}",
        {"key": key},
        params=params,
        parse=lambda r: Project.parse(r.json()),
    )


def components_call(key: str) -> Call[list[dict[str, Any]]]:
    return Call("GET", "/project/{key}/components", {"key": key}, parse=lambda r: list(r.json()))


def versions_call(key: str) -> Call[list[dict[str, Any]]]:
    return Call("GET", "/project/{key}/versions", {"key": key}, parse=lambda r: list(r.json()))


class Projects(Resource):
    """``jira.projects``."""

    _c: Jira

    def list(self, *, query: str | None = None) -> Paginator[Project]:
        """Projects visible to you (Cloud: ``project/search``, paged)."""
        call, strategy = list_call(self._c.flavour, query)
        return self._c._paginate(call, strategy, Project.parse)

    def get(self, key: str, *, expand: Sequence[str] | None = None) -> Project:
        return self._c._run(single(get_call(key, expand)))

    def components(self, key: str) -> builtins.list[dict[str, Any]]:
        return self._c._run(single(components_call(key)))

    def versions(self, key: str) -> builtins.list[dict[str, Any]]:
        return self._c._run(single(versions_call(key)))


class AsyncProjects(Resource):
    """``ajira.projects``."""

    _c: AsyncJira

    def list(self, *, query: str | None = None) -> Paginator[Project]:
        """Projects visible to you (``async for``)."""
        call, strategy = list_call(self._c.flavour, query)
        return self._c._paginate(call, strategy, Project.parse)

    async def get(self, key: str, *, expand: Sequence[str] | None = None) -> Project:
        return await self._c._run(single(get_call(key, expand)))

    async def components(self, key: str) -> builtins.list[dict[str, Any]]:
        return await self._c._run(single(components_call(key)))

    async def versions(self, key: str) -> builtins.list[dict[str, Any]]:
        return await self._c._run(single(versions_call(key)))
