"""``/task/{connection_id}/...``: Unified's Task API over Jira issues, projects, comments
and changelogs."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from jirakit.client import AsyncJira
from jirakit.jql import J
from jirakit.service import mapping
from jirakit.service.deps import Jira
from jirakit.service.paging import (
    NEXT_CURSOR,
    TOTAL_COUNT,
    FieldsQuery,
    Listing,
    ListParams,
    RawQuery,
    encode_cursor,
    fields_param,
    json_response,
    page_of,
    wants_raw,
    window,
)
from jirakit.service.problems import Problem, invalid
from jirakit.service.schemas.task import (
    TaskChange,
    TaskComment,
    TaskCommentCreate,
    TaskCommentUpdate,
    TaskProject,
    TaskTask,
    TaskTaskCreate,
    TaskTaskUpdate,
)

router = APIRouter(prefix="/task/{connection_id}", tags=["task"])

# Unified field -> the Jira fields it is made from (to ask Jira for no more than needed).
JIRA_FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("summary",),
    "notes": ("description",),
    "project_id": ("project",),
    "status": ("status",),
    "priority": ("priority",),
    "tags": ("labels",),
    "assigned_user_ids": ("assignee",),
    "creator_user_id": ("creator", "reporter"),
    "parent_id": ("parent",),
    "has_children": ("subtasks",),
    "due_at": ("duedate",),
    "completed_at": ("resolutiondate",),
    "created_at": ("created",),
    "updated_at": ("updated",),
    "url": (),
    "type": ("issuetype",),
    "attachment_ids": ("attachment",),
    "time_spent": ("timespent",),
    "time_spent_unit": ("timespent",),
}
SORTS = {"updated_at": "updated", "created_at": "created", "name": "summary", "due_at": "duedate",
         "priority": "priority", "id": "key"}  # fmt: skip
CATEGORY_IDS = {"OPENED": 2, "IN_PROGRESS": 4, "COMPLETED": 3}  # Jira's fixed category ids
SEARCH_PAGE = 100


def jira_fields(fields: list[str] | None) -> list[str]:
    if not fields or {"metadata", "story_points", "start_at", "raw"} & set(fields):
        return ["*all"]
    out = {"summary", "updated"}
    for name in fields:
        out.update(JIRA_FIELDS.get(name, ()))
    return sorted(out)


async def field_names(jira: AsyncJira) -> Mapping[str, str]:
    return (await jira.fields.map()).names


def task_jql(
    params: ListParams,
    *,
    project_id: str | None,
    parent_id: str | None,
    user_id: str | None,
    status: str | None,
) -> str:
    clauses: list[Any] = []
    if project_id:
        clauses.append(J.project == project_id)
    if parent_id:
        clauses.append(J.parent == parent_id)
    if user_id:
        clauses.append(J.assignee == user_id)
    if status:
        if status.upper() not in CATEGORY_IDS:
            raise invalid("query.status", "must be OPENED, IN_PROGRESS or COMPLETED")
        clauses.append(J.statusCategory == CATEGORY_IDS[status.upper()])
    if params.query:
        clauses.append(J.text.contains(params.query))
    if params.updated_gte:
        # JQL reads dates in the searching user's zone and to the minute; a relative
        # offset is zone-free, and the exact instant is checked on the results.
        minutes = int((datetime.now(UTC) - params.updated_gte).total_seconds() // 60) + 1
        clauses.append(J.updated >= f"-{max(minutes, 0)}m")
    if not clauses:
        clauses.append(J.project.is_not_empty())  # search/jql refuses unbounded queries
    where = J.all_of(*clauses)
    text = str(where)
    if params.raw.get("jql"):
        text = f"({text}) AND ({params.raw['jql']})"
    sort_key = SORTS.get(params.sort or "updated_at")
    if sort_key is None:
        raise invalid("query.sort", f"must be one of {', '.join(SORTS)}")
    return f"{text} ORDER BY {sort_key} {params.order.upper()}, key {params.order.upper()}"


def _keep(issue: Mapping[str, Any], params: ListParams) -> bool:
    if params.updated_gte is None:
        return True
    updated = mapping.parse_datetime((issue.get("fields") or {}).get("updated"))
    return updated is None or updated >= params.updated_gte


@router.get("/task", response_model=list[TaskTask], response_model_exclude_none=True)
async def list_tasks(
    jira: Jira,
    params: Listing,
    project_id: Annotated[str | None, Query(max_length=100)] = None,
    parent_id: Annotated[str | None, Query(max_length=100)] = None,
    user_id: Annotated[str | None, Query(max_length=200)] = None,
    assigned_user_id: Annotated[str | None, Query(max_length=200)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    jql = task_jql(
        params,
        project_id=project_id,
        parent_id=parent_id,
        user_id=user_id or assigned_user_id,
        status=status,
    )
    fields = jira_fields(params.fields)
    expand = params.raw.get("expand")

    async def run(j: AsyncJira) -> tuple[list[Any], str | None, int | None]:
        names = await field_names(j) if "*all" in fields else {}
        issues: list[Any] = []
        cursor = params.cursor or {}
        expanded = [expand] if expand else None
        if j.flavour == "datacenter":
            start = int(cursor.get("s", params.offset))
            page = await j.search.page(
                jql, fields=fields, expand=expanded,
                max_results=min(params.limit, SEARCH_PAGE), start_at=start,
            )  # fmt: skip
            issues = list(page.issues)
            nxt = start + len(issues)
            more = page.total is not None and nxt < page.total
            token = encode_cursor({"s": nxt}) if more else None
            return [(i, names) for i in issues], token, page.total
        if params.offset or "s" in cursor:
            # Cloud pages by token only: find the window's ids (5,000 a request), then
            # fetch those issues in bulk.
            start = int(cursor.get("s", params.offset))
            ids = [
                i.id
                async for i in j.search.iter(jql, fields=["id"], limit=start + params.limit + 1)
            ]
            window_ids = ids[start : start + params.limit]
            more = len(ids) > start + params.limit
            fetched = (
                await j.issues.bulk_fetch(window_ids, fields=fields, expand=expanded)
                if window_ids
                else None
            )
            by_id = {i.id: i for i in (fetched.issues if fetched else [])}
            issues = [by_id[i] for i in window_ids if i in by_id]
            token = encode_cursor({"s": start + len(window_ids)}) if more else None
            return [(i, names) for i in issues], token, None
        token = cursor.get("t")
        while len(issues) < params.limit:
            page = await j.search.page(
                jql, fields=fields, expand=expanded,
                max_results=min(params.limit - len(issues), SEARCH_PAGE),
                next_page_token=token,
            )  # fmt: skip
            issues.extend(page.issues)
            token = page.next_page_token
            if page.is_last or not token:
                token = None
                break
        return [(i, names) for i in issues], encode_cursor({"t": token}) if token else None, None

    found, next_cursor, total = await jira.call(run)
    headers = {}
    if next_cursor:
        headers[NEXT_CURSOR] = next_cursor
    if total is not None:
        headers[TOTAL_COUNT] = str(total)
    items = [
        mapping.pick_fields(
            mapping.task_from_issue(issue.raw, jira.site, names, raw=params.want_raw),
            params.fields,
        )
        for issue, names in found
        if _keep(issue.raw, params)
    ]
    return json_response(items, headers)


async def _get_task(jira: Jira, task_id: str, fields: list[str] | None) -> dict[str, Any]:
    jfields = jira_fields(fields)

    async def run(j: AsyncJira) -> tuple[Any, Mapping[str, str]]:
        if "*all" in jfields:
            issue, names = await asyncio.gather(
                j.issues.get(task_id, fields=jfields), field_names(j)
            )
            return issue, names
        return await j.issues.get(task_id, fields=jfields), {}

    issue, names = await jira.call(run)
    return mapping.pick_fields(
        mapping.task_from_issue(issue.raw, jira.site, names, raw=wants_raw(fields)), fields
    )


@router.get("/task/{id}", response_model=TaskTask, response_model_exclude_none=True)
async def get_task(
    jira: Jira, id: str, fields: FieldsQuery = None, raw: RawQuery = None
) -> Response:
    return json_response(await _get_task(jira, id, fields_param(fields)))


async def _metadata_fields(j: AsyncJira, body: TaskTaskCreate | TaskTaskUpdate) -> dict[str, Any]:
    """Custom fields from ``metadata`` (by field id, slug or name) and ``story_points``."""
    out: dict[str, Any] = {}
    set_ = body.model_fields_set
    if not body.metadata and "story_points" not in set_ and "start_at" not in set_:
        return out
    names = await field_names(j)
    by_slug: dict[str, str] = {}
    for field_id, name in names.items():
        by_slug.setdefault(mapping.snake(name), field_id)
        by_slug.setdefault(name.casefold(), field_id)
    for index, item in enumerate(body.metadata or []):
        key = item.id or item.slug or item.namespace
        fid: str | None = None
        if key:
            fid = key if key in names else by_slug.get(key) or by_slug.get(key.casefold())
        if fid is None:
            raise invalid(f"body.metadata.{index}", f"no Jira field matches {key!r}")
        out[fid] = item.value
    if "story_points" in set_:
        points = by_slug.get("story points") or by_slug.get("story point estimate")
        if points is None:
            raise invalid("body.story_points", "this Jira site has no story points field")
        out[points] = body.story_points
    if "start_at" in set_:
        start = by_slug.get("start date")
        if start is None:
            raise invalid("body.start_at", "this Jira site has no Start date field")
        out[start] = body.start_at.date().isoformat() if body.start_at else None
    return out


async def _move(j: AsyncJira, key: str, target: str) -> None:
    """Transition the issue to a status of the target category (first match wins)."""
    want = mapping.CATEGORY_BY_STATUS[target]
    issue = await j.issues.get(key, fields=["status"])
    current = ((issue.fields.get("status") or {}).get("statusCategory") or {}).get("key")
    if current == want:
        return
    transitions = await j.transitions.list(key)
    for transition in transitions:
        to = transition.raw.get("to") or {}
        if (to.get("statusCategory") or {}).get("key") == want:
            await j.transitions.do(key, str(transition.raw["id"]))
            return
    available = ", ".join(
        f"{t.raw.get('name')} -> {(t.raw.get('to') or {}).get('name')}" for t in transitions
    )
    raise invalid(
        "body.status",
        f"the Jira workflow has no transition from here to a {target} status"
        + (f" (available: {available})" if available else ""),
    )


def _first(values: list[str] | None) -> str | None:
    return values[0] if values else None


def _due(value: datetime | None) -> Any:
    return None if value is None else value.date()


@router.post("/task", response_model=TaskTask, response_model_exclude_none=True)
async def create_task(
    jira: Jira, body: TaskTaskCreate, fields: FieldsQuery = None, raw: RawQuery = None
) -> dict[str, Any]:
    if not body.project_id:
        raise invalid("body.project_id", "a task needs a project_id (a Jira project id or key)")
    if not body.name:
        raise invalid("body.name", "a task needs a name")

    async def run(j: AsyncJira) -> str:
        extra = await _metadata_fields(j, body)
        if body.parent_id:
            extra["parent"] = {"id": body.parent_id}
        if body.due_at:
            extra["duedate"] = body.due_at.date().isoformat()
        created = await j.issues.create(
            project=body.project_id,
            summary=body.name,
            issue_type=body.type or ("Subtask" if body.parent_id else "Task"),
            description=body.notes,
            assignee=_first(body.assigned_user_ids),
            priority=body.priority,
            labels=body.tags,
            fields=extra or None,
        )
        if body.status and body.status != "OPENED":
            await _move(j, created.key, body.status)
        return created.id

    task_id = await jira.call(run)
    return await _get_task(jira, task_id, fields_param(fields))


async def _update(jira: Jira, task_id: str, body: TaskTaskUpdate) -> None:
    from jirakit.client import UNSET

    set_ = body.model_fields_set

    async def run(j: AsyncJira) -> None:
        extra = await _metadata_fields(j, body)
        if "parent_id" in set_:
            extra["parent"] = {"id": body.parent_id} if body.parent_id else None
        if "type" in set_ and body.type:
            extra["issuetype"] = {"name": body.type}
        editable = {"name", "notes", "assigned_user_ids", "priority", "tags", "due_at"}
        if extra or editable & set_:
            await j.issues.edit(
                task_id,
                summary=body.name if "name" in set_ and body.name else UNSET,
                description=body.notes if "notes" in set_ else UNSET,
                assignee=_first(body.assigned_user_ids) if "assigned_user_ids" in set_ else UNSET,
                priority=body.priority if "priority" in set_ else UNSET,
                labels=body.tags if "tags" in set_ else UNSET,
                due=_due(body.due_at) if "due_at" in set_ else UNSET,
                fields=extra or None,
            )
        if body.status:
            await _move(j, task_id, body.status)

    await jira.call(run)


@router.put("/task/{id}", response_model=TaskTask, response_model_exclude_none=True)
async def update_task(
    jira: Jira, id: str, body: TaskTaskUpdate, fields: FieldsQuery = None, raw: RawQuery = None
) -> dict[str, Any]:
    await _update(jira, id, body)
    return await _get_task(jira, id, fields_param(fields))


@router.patch("/task/{id}", response_model=TaskTask, response_model_exclude_none=True)
async def patch_task(
    jira: Jira, id: str, body: TaskTaskUpdate, fields: FieldsQuery = None, raw: RawQuery = None
) -> dict[str, Any]:
    await _update(jira, id, body)
    return await _get_task(jira, id, fields_param(fields))


@router.delete("/task/{id}", status_code=200, response_class=Response)
async def remove_task(jira: Jira, id: str) -> Response:
    await jira.call(lambda j: j.issues.delete(id, delete_subtasks=True))
    return Response(status_code=200)


# -- projects ------------------------------------------------------------------------------


@router.get("/project", response_model=list[TaskProject], response_model_exclude_none=True)
async def list_projects(
    jira: Jira,
    params: Listing,
    response: Response,
    company_id: Annotated[str | None, Query(max_length=100)] = None,
    parent_id: Annotated[str | None, Query(max_length=100)] = None,
    user_id: Annotated[str | None, Query(max_length=200)] = None,
) -> list[dict[str, Any]]:
    offset = params.start

    async def run(j: AsyncJira) -> tuple[list[Any], bool]:
        return await window(aiter(j.projects.list(query=params.query)), offset, params.limit)

    projects, more = await jira.call(run)
    if more:
        response.headers[NEXT_CURSOR] = encode_cursor({"o": offset + len(projects)})
    items = [mapping.project_from_jira(p.raw, raw=params.want_raw) for p in projects]
    if user_id:
        items = [p for p in items if user_id in (p.get("user_ids") or [])]
    return [mapping.pick_fields(p, params.fields) for p in items]


@router.get("/project/{id}", response_model=TaskProject, response_model_exclude_none=True)
async def get_project(
    jira: Jira, id: str, fields: FieldsQuery = None, raw: RawQuery = None
) -> dict[str, Any]:
    project = await jira.call(lambda j: j.projects.get(id))
    wanted = fields_param(fields)
    out = mapping.project_from_jira(project.raw, raw=wants_raw(wanted))
    return mapping.pick_fields(out, wanted)


# -- comments: ids are "{task id}:{comment id}" (a Jira comment lives under its issue) ------


def split_id(ident: str, what: str) -> tuple[str, str]:
    task_id, sep, own = ident.partition(":")
    if not sep or not task_id or not own:
        raise Problem(404, f"{what} {ident!r} does not exist (ids look like 10001:10100)")
    return task_id, own


def _under_task(item: dict[str, Any], issue_id: str, fields: list[str] | None) -> dict[str, Any]:
    """A comment or a change as answered: its id made "{task id}:{own id}", and only the
    ``fields`` asked for."""
    item["id"] = f"{issue_id}:{item['id']}"
    return mapping.pick_fields(item, fields)


@router.get("/comment", response_model=list[TaskComment], response_model_exclude_none=True)
async def list_comments(
    jira: Jira,
    params: Listing,
    response: Response,
    task_id: Annotated[str | None, Query(max_length=100)] = None,
    parent_id: Annotated[str | None, Query(max_length=100)] = None,
) -> list[dict[str, Any]]:
    task = task_id or parent_id
    if not task:
        raise invalid("query.task_id", "Jira lists comments per task: give task_id")
    offset = params.start

    async def run(j: AsyncJira) -> tuple[str, list[Any], bool]:
        issue = await j.issues.get(task, fields=["summary"])
        order = "created" if params.order == "asc" else "-created"
        found, more = await window(
            aiter(j.comments.list(task, order_by=order)), offset, params.limit
        )
        return issue.id, found, more

    issue_id, comments, more = await jira.call(run)
    if more:
        response.headers[NEXT_CURSOR] = encode_cursor({"o": offset + len(comments)})
    out = []
    for c in comments:
        item = mapping.comment_from_jira(c.raw, issue_id, raw=params.want_raw)
        if (
            params.updated_gte
            and (u := mapping.parse_datetime(c.raw.get("updated")))
            and u < params.updated_gte
        ):
            continue
        out.append(_under_task(item, issue_id, params.fields))
    return out


async def _comment(
    jira: Jira, task_id: str, comment_id: str, fields: list[str] | None
) -> dict[str, Any]:
    async def run(j: AsyncJira) -> tuple[str, Any]:
        issue = await j.issues.get(task_id, fields=["summary"])
        return issue.id, await j.comments.get(task_id, comment_id)

    issue_id, comment = await jira.call(run)
    item = mapping.comment_from_jira(comment.raw, issue_id, raw=wants_raw(fields))
    return _under_task(item, issue_id, fields)


@router.get("/comment/{id}", response_model=TaskComment, response_model_exclude_none=True)
async def get_comment(
    jira: Jira, id: str, fields: FieldsQuery = None, raw: RawQuery = None
) -> dict[str, Any]:
    task_id, comment_id = split_id(id, "comment")
    return await _comment(jira, task_id, comment_id, fields_param(fields))


@router.post("/comment", response_model=TaskComment, response_model_exclude_none=True)
async def create_comment(
    jira: Jira, body: TaskCommentCreate, fields: FieldsQuery = None, raw: RawQuery = None
) -> dict[str, Any]:
    if not body.task_id:
        raise invalid("body.task_id", "a comment needs the task_id it belongs to")
    if not body.text:
        raise invalid("body.text", "a comment needs text")
    task_id = body.task_id
    comment = await jira.call(lambda j: j.comments.add(task_id, body.text))
    return await _comment(jira, task_id, str(comment.raw["id"]), fields_param(fields))


async def _update_comment(
    jira: Jira, id: str, body: TaskCommentUpdate, fields: FieldsQuery
) -> dict[str, Any]:
    task_id, comment_id = split_id(id, "comment")
    if not body.text:
        raise invalid("body.text", "give the comment's new text")
    await jira.call(lambda j: j.comments.update(task_id, comment_id, body.text))
    return await _comment(jira, task_id, comment_id, fields_param(fields))


@router.put("/comment/{id}", response_model=TaskComment, response_model_exclude_none=True)
async def update_comment(
    jira: Jira, id: str, body: TaskCommentUpdate, fields: FieldsQuery = None, raw: RawQuery = None
) -> dict[str, Any]:
    return await _update_comment(jira, id, body, fields)


@router.patch("/comment/{id}", response_model=TaskComment, response_model_exclude_none=True)
async def patch_comment(
    jira: Jira, id: str, body: TaskCommentUpdate, fields: FieldsQuery = None, raw: RawQuery = None
) -> dict[str, Any]:
    return await _update_comment(jira, id, body, fields)


@router.delete("/comment/{id}", status_code=200, response_class=Response)
async def remove_comment(jira: Jira, id: str) -> Response:
    task_id, comment_id = split_id(id, "comment")
    await jira.call(lambda j: j.comments.delete(task_id, comment_id))
    return Response(status_code=200)


# -- changes: a task's changelog, ids "{task id}:{history id}" ------------------------------


async def _histories(jira: Jira, task_id: str) -> tuple[str, list[Any]]:
    """The task's issue id and its whole changelog."""

    async def run(j: AsyncJira) -> tuple[str, list[Any]]:
        issue = await j.issues.get(task_id, fields=["summary"])
        return issue.id, await j.changelogs.list(task_id).aall()

    issue_id, histories = await jira.call(run)
    return issue_id, histories


@router.get("/change", response_model=list[TaskChange], response_model_exclude_none=True)
async def list_changes(
    jira: Jira,
    params: Listing,
    response: Response,
    task_id: Annotated[str | None, Query(max_length=100)] = None,
    project_id: Annotated[str | None, Query(max_length=100)] = None,
) -> list[dict[str, Any]]:
    if not task_id:
        raise invalid("query.task_id", "Jira lists changes per task: give task_id")
    issue_id, histories = await _histories(jira, task_id)
    histories.sort(key=lambda h: str(h.get("created") or ""), reverse=params.order == "desc")
    if params.updated_gte:
        histories = [
            h for h in histories
            if (c := mapping.parse_datetime(h.get("created"))) is None or c >= params.updated_gte
        ]  # fmt: skip
    response.headers[TOTAL_COUNT] = str(len(histories))
    return [
        _under_task(
            mapping.change_from_history(h, issue_id, raw=params.want_raw), issue_id, params.fields
        )
        for h in page_of(histories, params, response)
    ]


@router.get("/change/{id}", response_model=TaskChange, response_model_exclude_none=True)
async def get_change(
    jira: Jira, id: str, fields: FieldsQuery = None, raw: RawQuery = None
) -> dict[str, Any]:
    task_id, history_id = split_id(id, "change")
    issue_id, histories = await _histories(jira, task_id)
    for h in histories:
        if str(h.get("id")) == history_id:
            wanted = fields_param(fields)
            item = mapping.change_from_history(h, issue_id, raw=wants_raw(wanted))
            return _under_task(item, issue_id, wanted)
    raise Problem(404, f"change {id!r} does not exist")
