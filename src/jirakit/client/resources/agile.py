"""Jira Software (Agile): boards, sprints, backlog and epics at ``/rest/agile/1.0``."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from jirakit.client._call import Call, Flow, single
from jirakit.client._paging import IsLastPaging, OffsetPaging, Paginator
from jirakit.client.models import Issue, Model, parse_datetime
from jirakit.client.resources._base import Resource
from jirakit.errors import ConfigurationError

if TYPE_CHECKING:
    from jirakit.client._async import AsyncJira
    from jirakit.client._sync import Jira

MOVE_CHUNK = 50
SprintState = Literal["future", "active", "closed"]


class Board(Model):
    required = ("id",)

    @property
    def id(self) -> int:
        return int(self.raw["id"])

    @property
    def name(self) -> str | None:
        return self._str("name")

    @property
    def type(self) -> str | None:
        """``scrum``, ``kanban`` or ``simple``."""
        return self._str("type")


class Sprint(Model):
    required = ("id",)

    @property
    def id(self) -> int:
        return int(self.raw["id"])

    @property
    def name(self) -> str | None:
        return self._str("name")

    @property
    def state(self) -> str | None:
        return self._str("state")

    @property
    def goal(self) -> str | None:
        return self._str("goal")

    @property
    def board_id(self) -> int | None:
        """The board the sprint was created on (``originBoardId``)."""
        raw = self.raw.get("originBoardId")
        return None if raw is None else int(raw)

    @property
    def start(self) -> datetime | None:
        return parse_datetime(self.raw.get("startDate"))

    @property
    def end(self) -> datetime | None:
        return parse_datetime(self.raw.get("endDate"))

    @property
    def complete(self) -> datetime | None:
        return parse_datetime(self.raw.get("completeDate"))


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def boards_call(project: str | None, board_type: str | None, name: str | None) -> Call[Any]:
    params = {"projectKeyOrId": project, "type": board_type, "name": name}
    return Call("GET", "/board", params=params, api="agile")


def board_issues_call(
    board_id: int, what: str, jql: str | None, fields: Sequence[str] | None
) -> Call[Any]:
    params = {"jql": jql, "fields": list(fields) if fields else None}
    return Call("GET", f"/board/{{id}}/{what}", {"id": board_id}, params=params, api="agile")


def sprints_call(board_id: int, state: Sequence[SprintState] | None) -> Call[Any]:
    params = {"state": ",".join(state) if state else None}
    return Call("GET", "/board/{id}/sprint", {"id": board_id}, params=params, api="agile")


def create_call(
    board_id: int, name: str, start: datetime | None, end: datetime | None, goal: str | None
) -> Call[Sprint]:
    body = {"name": name, "originBoardId": board_id}
    body.update(
        {
            k: v
            for k, v in {"startDate": _iso(start), "endDate": _iso(end), "goal": goal}.items()
            if v
        }
    )
    return Call("POST", "/sprint", json=body, api="agile", parse=lambda r: Sprint.parse(r.json()))


def update_call(sprint_id: int, changes: dict[str, Any]) -> Call[Sprint]:
    return Call(
        "POST",
        "/sprint/{id}",
        {"id": sprint_id},
        json=changes,
        api="agile",
        parse=lambda r: Sprint.parse(r.json()),
    )


def get_call(sprint_id: int) -> Call[Sprint]:
    return Call(
        "GET",
        "/sprint/{id}",
        {"id": sprint_id},
        api="agile",
        parse=lambda r: Sprint.parse(r.json()),
    )


def move_flow(path: str, params: dict[str, int], issues: Sequence[str]) -> Flow[None]:
    """Move issues 50 per request (Jira's limit for sprint/backlog moves)."""
    if not issues:
        raise ConfigurationError("no issues to move")
    for start in range(0, len(issues), MOVE_CHUNK):
        chunk = [str(i) for i in issues[start : start + MOVE_CHUNK]]
        yield Call("POST", path, params, json={"issues": chunk}, api="agile", parse=lambda r: None)


def start_changes(start: datetime, end: datetime, goal: str | None) -> dict[str, Any]:
    changes: dict[str, Any] = {"state": "active", "startDate": _iso(start), "endDate": _iso(end)}
    if goal is not None:
        changes["goal"] = goal
    return changes


def _issues(call: Call[Any]) -> tuple[Call[Any], OffsetPaging]:
    return call, OffsetPaging("issues", 50)


class Boards(Resource):
    """``jira.boards``."""

    _c: Jira

    def list(
        self, *, project: str | None = None, board_type: str | None = None, name: str | None = None
    ) -> Paginator[Board]:
        return self._c._paginate(
            boards_call(project, board_type, name), IsLastPaging(), Board.parse
        )

    def get(self, board_id: int) -> Board:
        call = Call(
            "GET",
            "/board/{id}",
            {"id": board_id},
            api="agile",
            parse=lambda r: Board.parse(r.json()),
        )
        return self._c._run(single(call))

    def configuration(self, board_id: int) -> dict[str, Any]:
        call: Call[Any] = Call("GET", "/board/{id}/configuration", {"id": board_id}, api="agile")
        return dict(self._c._run(single(call)))

    def issues(
        self, board_id: int, *, jql: str | None = None, fields: Sequence[str] | None = None
    ) -> Paginator[Issue]:
        call, strategy = _issues(board_issues_call(board_id, "issue", jql, fields))
        return self._c._paginate(call, strategy, Issue.parse)

    def backlog(
        self, board_id: int, *, jql: str | None = None, fields: Sequence[str] | None = None
    ) -> Paginator[Issue]:
        call, strategy = _issues(board_issues_call(board_id, "backlog", jql, fields))
        return self._c._paginate(call, strategy, Issue.parse)

    def epics(self, board_id: int) -> Paginator[dict[str, Any]]:
        call: Call[Any] = Call("GET", "/board/{id}/epic", {"id": board_id}, api="agile")
        return self._c._paginate(call, IsLastPaging(), dict)


class AsyncBoards(Resource):
    """``ajira.boards``."""

    _c: AsyncJira

    def list(
        self, *, project: str | None = None, board_type: str | None = None, name: str | None = None
    ) -> Paginator[Board]:
        return self._c._paginate(
            boards_call(project, board_type, name), IsLastPaging(), Board.parse
        )

    async def get(self, board_id: int) -> Board:
        call = Call(
            "GET",
            "/board/{id}",
            {"id": board_id},
            api="agile",
            parse=lambda r: Board.parse(r.json()),
        )
        return await self._c._run(single(call))

    async def configuration(self, board_id: int) -> dict[str, Any]:
        call: Call[Any] = Call("GET", "/board/{id}/configuration", {"id": board_id}, api="agile")
        return dict(await self._c._run(single(call)))

    def issues(
        self, board_id: int, *, jql: str | None = None, fields: Sequence[str] | None = None
    ) -> Paginator[Issue]:
        call, strategy = _issues(board_issues_call(board_id, "issue", jql, fields))
        return self._c._paginate(call, strategy, Issue.parse)

    def backlog(
        self, board_id: int, *, jql: str | None = None, fields: Sequence[str] | None = None
    ) -> Paginator[Issue]:
        call, strategy = _issues(board_issues_call(board_id, "backlog", jql, fields))
        return self._c._paginate(call, strategy, Issue.parse)

    def epics(self, board_id: int) -> Paginator[dict[str, Any]]:
        call: Call[Any] = Call("GET", "/board/{id}/epic", {"id": board_id}, api="agile")
        return self._c._paginate(call, IsLastPaging(), dict)


class Sprints(Resource):
    """``jira.sprints``."""

    _c: Jira

    def list(
        self, board_id: int, *, state: Sequence[SprintState] | None = None
    ) -> Paginator[Sprint]:
        return self._c._paginate(sprints_call(board_id, state), IsLastPaging(), Sprint.parse)

    def get(self, sprint_id: int) -> Sprint:
        return self._c._run(single(get_call(sprint_id)))

    def create(
        self,
        board_id: int,
        name: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        goal: str | None = None,
    ) -> Sprint:
        return self._c._run(single(create_call(board_id, name, start, end, goal)))

    def start(
        self, sprint_id: int, *, start: datetime, end: datetime, goal: str | None = None
    ) -> Sprint:
        return self._c._run(single(update_call(sprint_id, start_changes(start, end, goal))))

    def close(self, sprint_id: int) -> Sprint:
        return self._c._run(single(update_call(sprint_id, {"state": "closed"})))

    def issues(
        self, sprint_id: int, *, jql: str | None = None, fields: Sequence[str] | None = None
    ) -> Paginator[Issue]:
        params = {"jql": jql, "fields": builtins.list(fields) if fields else None}
        call: Call[Any] = Call(
            "GET", "/sprint/{id}/issue", {"id": sprint_id}, params=params, api="agile"
        )
        return self._c._paginate(call, OffsetPaging("issues", 50), Issue.parse)

    def move_issues(self, sprint_id: int, issues: Sequence[str]) -> None:
        """Move issues (keys or ids) into a sprint, 50 per request."""
        self._c._run(move_flow("/sprint/{id}/issue", {"id": sprint_id}, issues))

    def move_to_backlog(self, issues: Sequence[str]) -> None:
        """Move issues out of any sprint into the backlog."""
        self._c._run(move_flow("/backlog/issue", {}, issues))


class AsyncSprints(Resource):
    """``ajira.sprints``."""

    _c: AsyncJira

    def list(
        self, board_id: int, *, state: Sequence[SprintState] | None = None
    ) -> Paginator[Sprint]:
        return self._c._paginate(sprints_call(board_id, state), IsLastPaging(), Sprint.parse)

    async def get(self, sprint_id: int) -> Sprint:
        return await self._c._run(single(get_call(sprint_id)))

    async def create(
        self,
        board_id: int,
        name: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        goal: str | None = None,
    ) -> Sprint:
        return await self._c._run(single(create_call(board_id, name, start, end, goal)))

    async def start(
        self, sprint_id: int, *, start: datetime, end: datetime, goal: str | None = None
    ) -> Sprint:
        return await self._c._run(single(update_call(sprint_id, start_changes(start, end, goal))))

    async def close(self, sprint_id: int) -> Sprint:
        return await self._c._run(single(update_call(sprint_id, {"state": "closed"})))

    def issues(
        self, sprint_id: int, *, jql: str | None = None, fields: Sequence[str] | None = None
    ) -> Paginator[Issue]:
        params = {"jql": jql, "fields": builtins.list(fields) if fields else None}
        call: Call[Any] = Call(
            "GET", "/sprint/{id}/issue", {"id": sprint_id}, params=params, api="agile"
        )
        return self._c._paginate(call, OffsetPaging("issues", 50), Issue.parse)

    async def move_issues(self, sprint_id: int, issues: Sequence[str]) -> None:
        """Move issues (keys or ids) into a sprint, 50 per request."""
        await self._c._run(move_flow("/sprint/{id}/issue", {"id": sprint_id}, issues))

    async def move_to_backlog(self, issues: Sequence[str]) -> None:
        """Move issues out of any sprint into the backlog."""
        await self._c._run(move_flow("/backlog/issue", {}, issues))
