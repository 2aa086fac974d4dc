"""``/hris/{connection_id}/...``: Jira's people as Unified's HRIS employees and groups."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from jirakit.client import AsyncJira
from jirakit.service import mapping
from jirakit.service.deps import Jira
from jirakit.service.paging import (
    NEXT_CURSOR,
    FieldsQuery,
    Listing,
    RawQuery,
    encode_cursor,
    fields_param,
    page_of,
    wants_raw,
    window,
)
from jirakit.service.problems import Problem
from jirakit.service.schemas.hris import HrisEmployee, HrisGroup

router = APIRouter(prefix="/hris/{connection_id}", tags=["hris"])


async def _aiter(items: list[Any]) -> Any:
    for item in items:
        yield item


@router.get("/employee", response_model=list[HrisEmployee], response_model_exclude_none=True)
async def list_employees(
    jira: Jira,
    params: Listing,
    response: Response,
    group_id: Annotated[str | None, Query(max_length=200)] = None,
    company_id: Annotated[str | None, Query(max_length=100)] = None,
) -> list[dict[str, Any]]:
    offset = params.start

    async def run(j: AsyncJira) -> tuple[list[Any], bool]:
        if group_id:
            group = await _group(j, group_id)
            source: Any = aiter(j.groups.members(str(group["name"])))
        elif params.query:
            source = _aiter(await j.users.find(params.query))
        else:
            source = aiter(j.users.all())
        return await window(source, offset, params.limit)

    users, more = await jira.call(run)
    if more:
        response.headers[NEXT_CURSOR] = encode_cursor({"o": offset + len(users)})
    return [
        mapping.pick_fields(mapping.employee_from_user(u.raw, raw=params.want_raw), params.fields)
        for u in users
        if u.raw.get("accountType", "atlassian") == "atlassian"
    ]


@router.get("/employee/{id}", response_model=HrisEmployee, response_model_exclude_none=True)
async def get_employee(
    jira: Jira, id: str, fields: FieldsQuery = None, raw: RawQuery = None
) -> dict[str, Any]:
    user = await jira.call(lambda j: j.users.get(id))
    wanted = fields_param(fields)
    out = mapping.employee_from_user(user.raw, raw=wants_raw(wanted))
    return mapping.pick_fields(out, wanted)


async def _group(j: AsyncJira, ident: str) -> dict[str, Any]:
    for group in await j.groups.find("", limit=1000):
        if ident in (group.get("groupId"), group.get("name")):
            return group
    raise Problem(404, f"group {ident!r} does not exist")


@router.get("/group", response_model=list[HrisGroup], response_model_exclude_none=True)
async def list_groups(
    jira: Jira,
    params: Listing,
    response: Response,
    type: Annotated[str | None, Query(max_length=50)] = None,
    company_id: Annotated[str | None, Query(max_length=100)] = None,
) -> list[dict[str, Any]]:
    found = await jira.call(lambda j: j.groups.find(params.query or "", limit=1000))
    page = page_of(found, params, response)
    return [
        mapping.pick_fields(mapping.group_from_jira(g, raw=params.want_raw), params.fields)
        for g in page
    ]


@router.get("/group/{id}", response_model=HrisGroup, response_model_exclude_none=True)
async def get_group(
    jira: Jira, id: str, fields: FieldsQuery = None, raw: RawQuery = None
) -> dict[str, Any]:
    async def run(j: AsyncJira) -> tuple[dict[str, Any], list[Any]]:
        group = await _group(j, id)
        return group, await j.groups.members(str(group["name"])).aall()

    group, members = await jira.call(run)
    wanted = fields_param(fields)
    out = mapping.group_from_jira(group, raw=wants_raw(wanted))
    out["user_ids"] = [uid for m in members if (uid := mapping.user_id(m.raw))]
    return mapping.pick_fields(out, wanted)


class GroupCreate(BaseModel):
    name: str


@router.post("/group", response_model=HrisGroup, response_model_exclude_none=True)
async def create_group(jira: Jira, body: GroupCreate) -> dict[str, Any]:
    if not body.name.strip():
        raise Problem(422, "body.name: a group needs a name")
    made = await jira.call(lambda j: j.groups.create(body.name.strip()))
    return mapping.group_from_jira(made)


@router.delete("/group/{id}", status_code=200, response_class=Response)
async def remove_group(jira: Jira, id: str) -> Response:
    async def run(j: AsyncJira) -> None:
        group = await _group(j, id)
        await j.groups.delete(str(group["name"]))

    await jira.call(run)
    return Response(status_code=200)
