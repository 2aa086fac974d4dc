"""Groups and their members."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jirakit.client._call import Call, single
from jirakit.client._paging import IsLastPaging, Paginator
from jirakit.client.models import User
from jirakit.client.resources._base import Resource

if TYPE_CHECKING:
    from jirakit.client._async import AsyncJira
    from jirakit.client._sync import Jira


def members_call(group: str, include_inactive: bool) -> Call[Any]:
    params = {"groupname": group, "includeInactiveUsers": include_inactive}
    return Call("GET", "/group/member", params=params)


def add_call(flavour: str, group: str, user: str) -> Call[None]:
    body = {"accountId": user} if flavour == "cloud" else {"name": user}
    return Call("POST", "/group/user", params={"groupname": group}, json=body, parse=lambda r: None)


def remove_call(flavour: str, group: str, user: str) -> Call[None]:
    who = {"accountId": user} if flavour == "cloud" else {"username": user}
    return Call("DELETE", "/group/user", params={"groupname": group, **who}, parse=lambda r: None)


class Groups(Resource):
    """``jira.groups``."""

    _c: Jira

    def members(self, group: str, *, include_inactive: bool = False) -> Paginator[User]:
        call = members_call(group, include_inactive)
        return self._c._paginate(call, IsLastPaging("values", 50), User.parse)

    def add_user(self, group: str, user: str) -> None:
        """Add a user (accountId on Cloud, username on Data Center) to a group."""
        self._c._run(single(add_call(self._c.flavour, group, user)))

    def remove_user(self, group: str, user: str) -> None:
        self._c._run(single(remove_call(self._c.flavour, group, user)))


class AsyncGroups(Resource):
    """``ajira.groups``."""

    _c: AsyncJira

    def members(self, group: str, *, include_inactive: bool = False) -> Paginator[User]:
        call = members_call(group, include_inactive)
        return self._c._paginate(call, IsLastPaging("values", 50), User.parse)

    async def add_user(self, group: str, user: str) -> None:
        """Add a user (accountId on Cloud, username on Data Center) to a group."""
        await self._c._run(single(add_call(self._c.flavour, group, user)))

    async def remove_user(self, group: str, user: str) -> None:
        await self._c._run(single(remove_call(self._c.flavour, group, user)))
