"""Users: find, get, and list everyone."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from jirakit.client._call import Call, single
from jirakit.client._paging import IsLastPaging, Paginator
from jirakit.client.models import User
from jirakit.client.resources._base import Resource

if TYPE_CHECKING:
    from jirakit.client._async import AsyncJira
    from jirakit.client._sync import Jira


class ShortPagePaging:
    """startAt paging for endpoints that return a bare array: a short page is the last."""

    def __init__(self, page_size: int = 100) -> None:
        self.page_size = page_size

    def first(self, call: Call[Any]) -> Call[Any]:
        return Call(
            call.method,
            call.path,
            params={**(call.params or {}), "startAt": 0, "maxResults": self.page_size},
        )

    def next(self, call: Call[Any], page: Any) -> Call[Any] | None:
        if not isinstance(page, list) or len(page) < self.page_size:
            return None
        start = int((call.params or {}).get("startAt", 0)) + len(page)
        return Call(call.method, call.path, params={**(call.params or {}), "startAt": start})

    def items(self, page: Any) -> list[Any]:
        return list(page or [])


def find_call(flavour: str, query: str) -> Call[list[User]]:
    params = {"query": query} if flavour == "cloud" else {"username": query}
    return Call(
        "GET", "/user/search", params=params, parse=lambda r: [User.parse(u) for u in r.json()]
    )


def get_call(flavour: str, user_id: str) -> Call[User]:
    params = {"accountId": user_id} if flavour == "cloud" else {"username": user_id}
    return Call("GET", "/user", params=params, parse=lambda r: User.parse(r.json()))


def bulk_call(ids: Sequence[str]) -> Call[Any]:
    return Call("GET", "/user/bulk", params={"accountId": tuple(ids)})


class Users(Resource):
    """``jira.users``."""

    _c: Jira

    def find(self, query: str) -> list[User]:
        """Users whose name or email matches ``query``."""
        return self._c._run(single(find_call(self._c.flavour, query)))

    def get(self, user_id: str) -> User:
        """One user by accountId (Cloud) or username (Data Center)."""
        return self._c._run(single(get_call(self._c.flavour, user_id)))

    def bulk(self, account_ids: Sequence[str]) -> Paginator[User]:
        """Several users by accountId (Cloud)."""
        return self._c._paginate(bulk_call(account_ids), IsLastPaging("values", 100), User.parse)

    def all(self) -> Paginator[User]:
        """Every user of the site (Cloud ``users/search``), apps and inactive users included."""
        call: Call[Any] = Call("GET", "/users/search")
        return self._c._paginate(call, ShortPagePaging(100), User.parse)


class AsyncUsers(Resource):
    """``ajira.users``."""

    _c: AsyncJira

    async def find(self, query: str) -> list[User]:
        """Users whose name or email matches ``query``."""
        return await self._c._run(single(find_call(self._c.flavour, query)))

    async def get(self, user_id: str) -> User:
        """One user by accountId (Cloud) or username (Data Center)."""
        return await self._c._run(single(get_call(self._c.flavour, user_id)))

    def bulk(self, account_ids: Sequence[str]) -> Paginator[User]:
        """Several users by accountId (``async for``)."""
        return self._c._paginate(bulk_call(account_ids), IsLastPaging("values", 100), User.parse)

    def all(self) -> Paginator[User]:
        """Every user of the site (``async for``)."""
        call: Call[Any] = Call("GET", "/users/search")
        return self._c._paginate(call, ShortPagePaging(100), User.parse)
