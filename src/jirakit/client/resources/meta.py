"""Small site-wide lists: statuses, status categories, priorities, resolutions, issue types."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jirakit.client._call import Call, single
from jirakit.client.models import Named, Status
from jirakit.client.resources._base import Resource

if TYPE_CHECKING:
    from jirakit.client._async import AsyncJira
    from jirakit.client._sync import Jira


def _named(path: str) -> Call[list[Named]]:
    return Call("GET", path, parse=lambda r: [Named.parse(x) for x in r.json()])


def statuses_call() -> Call[list[Status]]:
    return Call("GET", "/status", parse=lambda r: [Status.parse(x) for x in r.json()])


def categories_call() -> Call[list[dict[str, Any]]]:
    return Call("GET", "/statuscategory", parse=lambda r: [dict(x) for x in r.json()])


class Meta(Resource):
    """``jira.meta``: the site's statuses, priorities, resolutions and issue types."""

    _c: Jira

    def statuses(self) -> list[Status]:
        return self._c._run(single(statuses_call()))

    def status_categories(self) -> list[dict[str, Any]]:
        return self._c._run(single(categories_call()))

    def priorities(self) -> list[Named]:
        return self._c._run(single(_named("/priority")))

    def resolutions(self) -> list[Named]:
        return self._c._run(single(_named("/resolution")))

    def issue_types(self) -> list[Named]:
        return self._c._run(single(_named("/issuetype")))


class AsyncMeta(Resource):
    """``ajira.meta``."""

    _c: AsyncJira

    async def statuses(self) -> list[Status]:
        return await self._c._run(single(statuses_call()))

    async def status_categories(self) -> list[dict[str, Any]]:
        return await self._c._run(single(categories_call()))

    async def priorities(self) -> list[Named]:
        return await self._c._run(single(_named("/priority")))

    async def resolutions(self) -> list[Named]:
        return await self._c._run(single(_named("/resolution")))

    async def issue_types(self) -> list[Named]:
        return await self._c._run(single(_named("/issuetype")))
