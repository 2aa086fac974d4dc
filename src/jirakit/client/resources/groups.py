"""Groups: create, delete, find, and their members."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

from jirakit.client._call import Call, single
from jirakit.client._paging import IsLastPaging, Paginator
from jirakit.client.models import User
from jirakit.client.resources._base import Resource

if TYPE_CHECKING:
    from jirakit.client._async import AsyncJira
    from jirakit.client._sync import Jira


def _dict(r: Any) -> dict[str, Any]:
    return dict(r.json())


def members_call(group: str, include_inactive: bool) -> Call[Any]:
    params = {"groupname": group, "includeInactiveUsers": include_inactive}
    return Call("GET", "/group/member", params=params)


def add_call(flavour: str, group: str, user: str) -> Call[None]:
    body = {"accountId": user} if flavour == "cloud" else {"name": user}
    return Call("POST", "/group/user", params={"groupname": group}, json=body, parse=lambda r: None)


def remove_call(flavour: str, group: str, user: str) -> Call[None]:
    who = {"accountId": user} if flavour == "cloud" else {"username": user}
    return Call("DELETE", "/group/user", params={"groupname": group, **who}, parse=lambda r: None)


def create_call(name: str) -> Call[dict[str, Any]]:
    return Call("POST", "/group", json={"name": name}, parse=_dict)


def delete_call(name: str, swap_group: str | None) -> Call[None]:
    """``swapGroup``: the group that inherits the comment and worklog restrictions of the
    deleted one (without it, those comments and worklogs become invisible)."""
    params = {"groupname": name, "swapGroup": swap_group}
    return Call("DELETE", "/group", params=params, parse=lambda r: None)


def find_call(query: str, exclude: builtins.list[str] | None, limit: int) -> Call[Any]:
    params: dict[str, Any] = {"query": query, "maxResults": limit, "caseInsensitive": True}
    if exclude:
        params["exclude"] = tuple(exclude)
    return Call(
        "GET",
        "/groups/picker",
        params=params,
        parse=lambda r: [dict(g) for g in r.json().get("groups") or []],
    )


class Groups(Resource):
    """``jira.groups``."""

    _c: Jira

    def members(self, group: str, *, include_inactive: bool = False) -> Paginator[User]:
        """The group's users, paged."""
        call = members_call(group, include_inactive)
        return self._c._paginate(call, IsLastPaging("values", 50), User.parse)

    def add_user(self, group: str, user: str) -> None:
        """Add a user (accountId on Cloud, username on Data Center) to a group."""
        self._c._run(single(add_call(self._c.flavour, group, user)))

    def remove_user(self, group: str, user: str) -> None:
        """Remove a user (accountId on Cloud, username on Data Center) from a group."""
        self._c._run(single(remove_call(self._c.flavour, group, user)))

    def create(self, name: str) -> dict[str, Any]:
        """Create a group; returns Jira's group JSON (``name``, ``groupId``, ``self`` ...).
        A name already in use is a `BadRequest`."""
        return self._c._run(single(create_call(name)))

    def delete(self, name: str, *, swap_group: str | None = None) -> None:
        """Delete a group (`NotFound` when there is none). Comments and worklogs visible
        only to it move to ``swap_group``; without one they become visible to nobody."""
        self._c._run(single(delete_call(name, swap_group)))

    def find(
        self, query: str = "", *, exclude: builtins.list[str] | None = None, limit: int = 50
    ) -> builtins.list[dict[str, Any]]:
        """Groups whose names contain ``query`` (any case), sorted by name, at most
        ``limit``: ``[{"name", "groupId", "html"}, ...]``."""
        return self._c._run(single(find_call(query, exclude, limit)))


class AsyncGroups(Resource):
    """``ajira.groups``."""

    _c: AsyncJira

    def members(self, group: str, *, include_inactive: bool = False) -> Paginator[User]:
        """The group's users (``async for``)."""
        call = members_call(group, include_inactive)
        return self._c._paginate(call, IsLastPaging("values", 50), User.parse)

    async def add_user(self, group: str, user: str) -> None:
        """Add a user (accountId on Cloud, username on Data Center) to a group."""
        await self._c._run(single(add_call(self._c.flavour, group, user)))

    async def remove_user(self, group: str, user: str) -> None:
        """Remove a user (accountId on Cloud, username on Data Center) from a group."""
        await self._c._run(single(remove_call(self._c.flavour, group, user)))

    async def create(self, name: str) -> dict[str, Any]:
        """Create a group; returns Jira's group JSON (``name``, ``groupId``, ``self`` ...).
        A name already in use is a `BadRequest`."""
        return await self._c._run(single(create_call(name)))

    async def delete(self, name: str, *, swap_group: str | None = None) -> None:
        """Delete a group (`NotFound` when there is none). Comments and worklogs visible
        only to it move to ``swap_group``; without one they become visible to nobody."""
        await self._c._run(single(delete_call(name, swap_group)))

    async def find(
        self, query: str = "", *, exclude: builtins.list[str] | None = None, limit: int = 50
    ) -> builtins.list[dict[str, Any]]:
        """Groups whose names contain ``query`` (any case), sorted by name, at most
        ``limit``: ``[{"name", "groupId", "html"}, ...]``."""
        return await self._c._run(single(find_call(query, exclude, limit)))
