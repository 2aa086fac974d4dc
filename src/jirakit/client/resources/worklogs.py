"""Worklogs: per issue, and in bulk by change time (``worklog/updated`` + ``worklog/list``)."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from jirakit.client._call import Call, Flow, single
from jirakit.client._paging import OffsetPaging, Paginator
from jirakit.client._richtext import rich_text
from jirakit.client.models import Model, User, parse_datetime
from jirakit.client.resources._base import Resource

if TYPE_CHECKING:
    from jirakit.client._async import AsyncJira
    from jirakit.client._sync import Jira

LIST_CHUNK = 1000


class Worklog(Model):
    required = ("id",)

    @property
    def id(self) -> str:
        return str(self.raw["id"])

    @property
    def issue_id(self) -> str | None:
        return self._str("issueId")

    @property
    def author(self) -> User | None:
        author = self.raw.get("author")
        return User(author) if isinstance(author, Mapping) else None

    @property
    def started(self) -> datetime | None:
        return parse_datetime(self.raw.get("started"))

    @property
    def time_spent_seconds(self) -> int:
        return int(self.raw.get("timeSpentSeconds") or 0)

    @property
    def updated(self) -> datetime | None:
        return parse_datetime(self.raw.get("updated"))


@dataclass(frozen=True, slots=True)
class WorklogChange:
    """A worklog id and when it changed (or was deleted), from ``worklog/updated|deleted``."""

    worklog_id: int
    updated_ms: int


class ChangePaging:
    """``worklog/updated`` pages: ``since`` moves to the page's ``until`` until ``lastPage``."""

    def first(self, call: Call[Any]) -> Call[Any]:
        return call

    def next(self, call: Call[Any], page: Any) -> Call[Any] | None:
        if page.get("lastPage", True) or not page.get("values"):
            return None
        until = page.get("until")
        if until is None or int(until) <= int((call.params or {}).get("since", 0)):
            return None
        return Call(call.method, call.path, params={**(call.params or {}), "since": int(until)})

    def items(self, page: Any) -> list[Any]:
        return list(page.get("values") or [])


def _change(raw: Mapping[str, Any]) -> WorklogChange:
    return WorklogChange(int(raw["worklogId"]), int(raw.get("updatedTime") or 0))


def changes_call(kind: str, since_ms: int) -> Call[Any]:
    return Call("GET", f"/worklog/{kind}", params={"since": since_ms})


def by_ids_flow(ids: Sequence[int]) -> Flow[list[Worklog]]:
    out: list[Worklog] = []
    for offset in range(0, len(ids), LIST_CHUNK):
        chunk = [int(i) for i in ids[offset : offset + LIST_CHUNK]]
        page = yield Call("POST", "/worklog/list", json={"ids": chunk}, idempotent=True)
        out.extend(Worklog.parse(w) for w in page or [])
    return out


def add_call(
    flavour: str, key: str, seconds: int, started: datetime, comment: Any
) -> Call[Worklog]:
    body: dict[str, Any] = {
        "timeSpentSeconds": seconds,
        "started": started.strftime("%Y-%m-%dT%H:%M:%S.000%z"),
    }
    if comment is not None:
        body["comment"] = rich_text(comment, flavour)
    return Call(
        "POST",
        "/issue/{key}/worklog",
        {"key": key},
        json=body,
        parse=lambda r: Worklog.parse(r.json()),
    )


def update_call(
    flavour: str, key: str, worklog_id: str, seconds: int | None, comment: Any
) -> Call[Worklog]:
    body: dict[str, Any] = {}
    if seconds is not None:
        body["timeSpentSeconds"] = seconds
    if comment is not None:
        body["comment"] = rich_text(comment, flavour)
    return Call(
        "PUT",
        "/issue/{key}/worklog/{id}",
        {"key": key, "id": worklog_id},
        json=body,
        parse=lambda r: Worklog.parse(r.json()),
    )


def delete_call(key: str, worklog_id: str) -> Call[None]:
    return Call(
        "DELETE", "/issue/{key}/worklog/{id}", {"key": key, "id": worklog_id}, parse=lambda r: None
    )


def list_call(key: str) -> Call[Any]:
    return Call("GET", "/issue/{key}/worklog", {"key": key})


class Worklogs(Resource):
    """``jira.worklogs``."""

    _c: Jira

    def list(self, key: str) -> Paginator[Worklog]:
        return self._c._paginate(list_call(key), OffsetPaging("worklogs", 1000), Worklog.parse)

    def add(self, key: str, seconds: int, started: datetime, *, comment: Any = None) -> Worklog:
        """Log ``seconds`` of work started at ``started`` (an aware datetime)."""
        return self._c._run(single(add_call(self._c.flavour, key, seconds, started, comment)))

    def update(
        self, key: str, worklog_id: str, *, seconds: int | None = None, comment: Any = None
    ) -> Worklog:
        call = update_call(self._c.flavour, key, worklog_id, seconds, comment)
        return self._c._run(single(call))

    def delete(self, key: str, worklog_id: str) -> None:
        self._c._run(single(delete_call(key, worklog_id)))

    def updated_since(self, since_ms: int) -> Paginator[WorklogChange]:
        """Ids of worklogs changed since ``since_ms`` (epoch milliseconds). Jira leaves out
        the last minute: changes become visible about 60 s after they happen."""
        return self._c._paginate(changes_call("updated", since_ms), ChangePaging(), _change)

    def deleted_since(self, since_ms: int) -> Paginator[WorklogChange]:
        """Ids of worklogs deleted since ``since_ms`` (epoch milliseconds)."""
        return self._c._paginate(changes_call("deleted", since_ms), ChangePaging(), _change)

    def by_ids(self, ids: Sequence[int]) -> builtins.list[Worklog]:
        """Worklogs by id through ``worklog/list``, 1000 per request."""
        return self._c._run(by_ids_flow(ids))


class AsyncWorklogs(Resource):
    """``ajira.worklogs``."""

    _c: AsyncJira

    def list(self, key: str) -> Paginator[Worklog]:
        return self._c._paginate(list_call(key), OffsetPaging("worklogs", 1000), Worklog.parse)

    async def add(
        self, key: str, seconds: int, started: datetime, *, comment: Any = None
    ) -> Worklog:
        """Log ``seconds`` of work started at ``started`` (an aware datetime)."""
        return await self._c._run(single(add_call(self._c.flavour, key, seconds, started, comment)))

    async def update(
        self, key: str, worklog_id: str, *, seconds: int | None = None, comment: Any = None
    ) -> Worklog:
        call = update_call(self._c.flavour, key, worklog_id, seconds, comment)
        return await self._c._run(single(call))

    async def delete(self, key: str, worklog_id: str) -> None:
        await self._c._run(single(delete_call(key, worklog_id)))

    def updated_since(self, since_ms: int) -> Paginator[WorklogChange]:
        """Ids of worklogs changed since ``since_ms`` (``async for``)."""
        return self._c._paginate(changes_call("updated", since_ms), ChangePaging(), _change)

    def deleted_since(self, since_ms: int) -> Paginator[WorklogChange]:
        """Ids of worklogs deleted since ``since_ms`` (``async for``)."""
        return self._c._paginate(changes_call("deleted", since_ms), ChangePaging(), _change)

    async def by_ids(self, ids: Sequence[int]) -> builtins.list[Worklog]:
        """Worklogs by id through ``worklog/list``, 1000 per request."""
        return await self._c._run(by_ids_flow(ids))
