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


def statuses_call(key: str) -> Call[list[dict[str, Any]]]:
    return Call("GET", "/project/{key}/statuses", {"key": key}, parse=lambda r: list(r.json()))


def _dict(r: Any) -> dict[str, Any]:
    return dict(r.json())


def create_call(
    flavour: str,
    key: str,
    name: str,
    lead: str,
    project_type: str,
    assignee_type: str,
    description: str | None,
) -> Call[dict[str, Any]]:
    body: dict[str, Any] = {
        "key": key,
        "name": name,
        "projectTypeKey": project_type,
        "assigneeType": assignee_type,
        ("leadAccountId" if flavour == "cloud" else "lead"): lead,
    }
    if description is not None:
        body["description"] = description
    return Call("POST", "/project", json=body, parse=_dict)


def update_call(key: str, changes: dict[str, Any]) -> Call[Project]:
    return Call(
        "PUT", "/project/{key}", {"key": key}, json=changes, parse=lambda r: Project.parse(r.json())
    )


def create_component_call(
    project: str,
    name: str,
    description: str | None,
    lead: str | None,
    assignee_type: str | None,
) -> Call[dict[str, Any]]:
    body: dict[str, Any] = {"project": project, "name": name}
    if description is not None:
        body["description"] = description
    if lead is not None:
        body["leadAccountId"] = lead
    if assignee_type is not None:
        body["assigneeType"] = assignee_type
    return Call("POST", "/component", json=body, parse=_dict)


def create_version_call(
    project: str,
    name: str,
    description: str | None,
    start_date: str | None,
    release_date: str | None,
    released: bool,
) -> Call[dict[str, Any]]:
    body: dict[str, Any] = {"project": project, "name": name, "released": released}
    for attr, value in (
        ("description", description),
        ("startDate", start_date),
        ("releaseDate", release_date),
    ):
        if value is not None:
            body[attr] = value
    return Call("POST", "/version", json=body, parse=_dict)


def release_version_call(version_id: str, release_date: str | None) -> Call[dict[str, Any]]:
    body: dict[str, Any] = {"released": True}
    if release_date is not None:
        body["releaseDate"] = release_date
    return Call("PUT", "/version/{id}", {"id": version_id}, json=body, parse=_dict)


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

    def statuses(self, key: str) -> builtins.list[dict[str, Any]]:
        """The project's issue types, each with the statuses its workflow uses:
        ``[{"id", "name", "subtask", "statuses": [...]}, ...]``."""
        return self._c._run(single(statuses_call(key)))

    def create(
        self,
        key: str,
        name: str,
        *,
        lead: str,
        project_type: str = "software",
        assignee_type: str = "UNASSIGNED",
        description: str | None = None,
    ) -> dict[str, Any]:
        """Create a project (``lead``: accountId on Cloud, username on Data Center);
        returns ``{"id", "key", "self"}``."""
        call = create_call(
            self._c.flavour, key, name, lead, project_type, assignee_type, description
        )
        return self._c._run(single(call))

    def update(self, key: str, **changes: Any) -> Project:
        """Change ``name``, ``description``, ``leadAccountId``, ``assigneeType``, ``url``."""
        return self._c._run(single(update_call(key, changes)))

    def create_component(
        self,
        project: str,
        name: str,
        *,
        description: str | None = None,
        lead: str | None = None,
        assignee_type: str | None = None,
    ) -> dict[str, Any]:
        call = create_component_call(project, name, description, lead, assignee_type)
        return self._c._run(single(call))

    def create_version(
        self,
        project: str,
        name: str,
        *,
        description: str | None = None,
        start_date: str | None = None,
        release_date: str | None = None,
        released: bool = False,
    ) -> dict[str, Any]:
        """Dates are ``YYYY-MM-DD``."""
        call = create_version_call(project, name, description, start_date, release_date, released)
        return self._c._run(single(call))

    def release_version(
        self, version_id: str, *, release_date: str | None = None
    ) -> dict[str, Any]:
        """Mark a version released (on ``release_date``, default today)."""
        return self._c._run(single(release_version_call(version_id, release_date)))


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

    async def statuses(self, key: str) -> builtins.list[dict[str, Any]]:
        """The project's issue types, each with the statuses its workflow uses:
        ``[{"id", "name", "subtask", "statuses": [...]}, ...]``."""
        return await self._c._run(single(statuses_call(key)))

    async def create(
        self,
        key: str,
        name: str,
        *,
        lead: str,
        project_type: str = "software",
        assignee_type: str = "UNASSIGNED",
        description: str | None = None,
    ) -> dict[str, Any]:
        """Create a project (``lead``: accountId on Cloud, username on Data Center);
        returns ``{"id", "key", "self"}``."""
        call = create_call(
            self._c.flavour, key, name, lead, project_type, assignee_type, description
        )
        return await self._c._run(single(call))

    async def update(self, key: str, **changes: Any) -> Project:
        """Change ``name``, ``description``, ``leadAccountId``, ``assigneeType``, ``url``."""
        return await self._c._run(single(update_call(key, changes)))

    async def create_component(
        self,
        project: str,
        name: str,
        *,
        description: str | None = None,
        lead: str | None = None,
        assignee_type: str | None = None,
    ) -> dict[str, Any]:
        call = create_component_call(project, name, description, lead, assignee_type)
        return await self._c._run(single(call))

    async def create_version(
        self,
        project: str,
        name: str,
        *,
        description: str | None = None,
        start_date: str | None = None,
        release_date: str | None = None,
        released: bool = False,
    ) -> dict[str, Any]:
        """Dates are ``YYYY-MM-DD``."""
        call = create_version_call(project, name, description, start_date, release_date, released)
        return await self._c._run(single(call))

    async def release_version(
        self, version_id: str, *, release_date: str | None = None
    ) -> dict[str, Any]:
        """Mark a version released (on ``release_date``, default today)."""
        return await self._c._run(single(release_version_call(version_id, release_date)))
