"""Issues: get, create, edit, delete, bulk create, bulk fetch."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from jirakit.client._call import Call, Flow, single
from jirakit.client._names import (
    Context,
    Rejected,
    fields_flow,
    issue_type_ref,
    priority_ref,
    project_ref_flow,
    rejectable,
    repair_flow,
    user_ref_flow,
)
from jirakit.client._paging import OffsetPaging, Paginator
from jirakit.client._richtext import rich_text
from jirakit.client._unset import UNSET, Unset
from jirakit.client.models import (
    BulkCreateError,
    BulkCreateResult,
    BulkFetchResult,
    CreatedIssue,
    Issue,
)
from jirakit.client.resources._base import Resource

if TYPE_CHECKING:
    from jirakit.client._async import AsyncJira
    from jirakit.client._sync import Jira

BULK_CREATE_CHUNK = 50
BULK_FETCH_CHUNK = 100


def _csv(values: Iterable[str] | str | None) -> str | None:
    if values is None:
        return None
    return values if isinstance(values, str) else ",".join(values)


def get_call(
    key: str, fields: Sequence[str] | str | None, expand: Sequence[str] | str | None
) -> Call[Issue]:
    return Call(
        "GET",
        "/issue/{key}",
        {"key": key},
        params={"fields": _csv(fields), "expand": _csv(expand)},
        parse=lambda r: Issue.parse(r.json()),
    )


def user_ref(user: str, flavour: str) -> dict[str, str]:
    """A user reference: accountId on Cloud, username on Data Center."""
    return {"accountId": user} if flavour == "cloud" else {"name": user}


def create_flow(
    cache: dict[str, Any],
    flavour: str,
    *,
    project: str | None,
    summary: str | None,
    issue_type: str | None,
    description: Any,
    assignee: str | None,
    priority: str | None,
    labels: Sequence[str] | None,
    fields: Mapping[str, Any] | None,
    update: Mapping[str, Any] | None,
) -> Flow[CreatedIssue]:
    """Create with human names resolved (see `jirakit.client._names`); one request when
    nothing needs looking up, and one re-send at most when Jira rejects a name."""
    out: dict[str, Any] = {}
    if project is not None:
        out["project"] = yield from project_ref_flow(cache, flavour, project)
    if summary is not None:
        out["summary"] = summary
    if issue_type is not None:
        out["issuetype"] = issue_type_ref(cache, out.get("project"), issue_type)
    if description is not None:
        out["description"] = rich_text(description, flavour)
    if assignee is not None:
        out["assignee"] = yield from user_ref_flow(cache, flavour, assignee)
    if priority is not None:
        out["priority"] = priority_ref(cache, priority)
    if labels is not None:
        out["labels"] = list(labels)
    shaped = yield from fields_flow(cache, flavour, fields)
    out.update(shaped.values)
    result = yield rejectable(create_call(out, update))
    if isinstance(result, Rejected):
        kind = out.get("issuetype") or {}
        context = Context(project=out.get("project"), issue_type=kind.get("id"))
        body = {"fields": out}
        fixed = yield from repair_flow(cache, flavour, body, result.error, shaped, context)
        result = yield create_call(fixed, update)
    created: CreatedIssue = result
    return created


def edit_flow(
    cache: dict[str, Any],
    flavour: str,
    key: str,
    *,
    summary: str | Unset,
    description: Any,
    assignee: str | Unset | None,
    priority: str | Unset | None,
    labels: Sequence[str] | Unset | None,
    due: date | Unset | None,
    fields: Mapping[str, Any] | None,
    update: Mapping[str, Any] | None,
    notify: bool,
) -> Flow[None]:
    """Only what was passed: UNSET leaves a field alone, None clears it. Names resolve as
    for `create_flow`."""
    out: dict[str, Any] = {}
    if summary is not UNSET:
        out["summary"] = summary
    if description is not UNSET:
        out["description"] = rich_text(description, flavour)
    if assignee is not UNSET:
        out["assignee"] = (
            None if assignee is None else (yield from user_ref_flow(cache, flavour, assignee))
        )
    if priority is not UNSET:
        out["priority"] = None if priority is None else priority_ref(cache, priority)
    if labels is not UNSET:
        out["labels"] = [] if labels is None else list(labels)
    if due is not UNSET:
        out["duedate"] = None if due is None else due.isoformat()
    shaped = yield from fields_flow(cache, flavour, fields)
    out.update(shaped.values)
    body: dict[str, Any] = {"fields": out}
    if update:
        body["update"] = dict(update)
    result = yield rejectable(edit_call(key, body, notify))
    if isinstance(result, Rejected):
        context = Context(issue_key=key)
        body["fields"] = yield from repair_flow(cache, flavour, body, result.error, shaped, context)
        yield edit_call(key, body, notify)


def bulk_create_flow(items: Sequence[Mapping[str, Any]]) -> Flow[BulkCreateResult]:
    created: list[CreatedIssue | None] = [None] * len(items)
    errors: list[BulkCreateError] = []
    for offset in range(0, len(items), BULK_CREATE_CHUNK):
        chunk = items[offset : offset + BULK_CREATE_CHUNK]
        updates = [item if "fields" in item else {"fields": dict(item)} for item in chunk]
        body = yield Call("POST", "/issue/bulk", json={"issueUpdates": updates}, also_ok=(400,))
        failed = {}
        for err in (body or {}).get("errors") or []:
            index = int(err.get("failedElementNumber", -1))
            element = err.get("elementErrors") or {}
            failed[index] = BulkCreateError(
                index=offset + index,
                status=err.get("status"),
                error_messages=list(element.get("errorMessages") or []),
                errors=dict(element.get("errors") or {}),
            )
        errors.extend(failed[i] for i in sorted(failed))
        made = iter((body or {}).get("issues") or [])
        for i in range(len(chunk)):
            if i not in failed:
                raw = next(made, None)
                created[offset + i] = CreatedIssue.parse(raw) if raw is not None else None
    return BulkCreateResult(created, errors)


def bulk_fetch_flow(
    ids: Sequence[str | int],
    fields: Sequence[str] | None,
    expand: Sequence[str] | None,
    properties: Sequence[str] | None,
) -> Flow[BulkFetchResult]:
    issues: list[Issue] = []
    errors: list[str] = []
    for offset in range(0, len(ids), BULK_FETCH_CHUNK):
        body: dict[str, Any] = {"issueIdsOrKeys": [str(i) for i in ids[offset : offset + 100]]}
        if fields is not None:
            body["fields"] = list(fields)
        if expand is not None:
            body["expand"] = list(expand)
        if properties is not None:
            body["properties"] = list(properties)
        page = yield Call("POST", "/issue/bulkfetch", json=body, idempotent=True)
        issues.extend(Issue.parse(raw) for raw in (page or {}).get("issues") or [])
        errors.extend(str(e) for e in (page or {}).get("issueErrors") or [])
    return BulkFetchResult(issues, errors)


def createmeta_call(project: str) -> Call[Any]:
    return Call("GET", "/issue/createmeta/{project}/issuetypes", {"project": project})


def createmeta_fields_call(project: str, issue_type_id: str) -> Call[Any]:
    return Call(
        "GET",
        "/issue/createmeta/{project}/issuetypes/{type}",
        {"project": project, "type": issue_type_id},
    )


def editmeta_call(key: str) -> Call[dict[str, dict[str, Any]]]:
    return Call(
        "GET", "/issue/{key}/editmeta", {"key": key}, parse=lambda r: dict(r.json()["fields"])
    )


class Issues(Resource):
    """``jira.issues``."""

    _c: Jira

    def get(
        self,
        key: str,
        *,
        fields: Sequence[str] | str | None = None,
        expand: Sequence[str] | str | None = None,
    ) -> Issue:
        """One issue by key or id. ``fields`` narrows the fields (``*all`` by default)."""
        return self._c._run(single(get_call(key, fields, expand)))

    def create(
        self,
        *,
        project: str | None = None,
        summary: str | None = None,
        issue_type: str | None = None,
        description: Any = None,
        assignee: str | None = None,
        priority: str | None = None,
        labels: Sequence[str] | None = None,
        fields: Mapping[str, Any] | None = None,
        update: Mapping[str, Any] | None = None,
    ) -> CreatedIssue:
        """Create an issue. ``project`` is a key or name; ``issue_type`` and ``priority``
        are names (or ids); ``assignee`` an email, display name or accountId;
        ``description`` rich text (a ``str`` is Markdown; `Text`, `Wiki` or ADF say
        otherwise). ``fields`` adds the rest by id or display name, values shaped by each
        field's schema (``{"Customer Tier": "Gold"}``). Unknown or ambiguous names raise
        `ConfigurationError` naming the candidates."""
        flow = create_flow(
            self._c._cache,
            self._c.flavour,
            project=project,
            summary=summary,
            issue_type=issue_type,
            description=description,
            assignee=assignee,
            priority=priority,
            labels=labels,
            fields=fields,
            update=update,
        )
        return self._c._run(flow)

    def edit(
        self,
        key: str,
        *,
        summary: str | Unset = UNSET,
        description: Any = UNSET,
        assignee: str | Unset | None = UNSET,
        priority: str | Unset | None = UNSET,
        labels: Sequence[str] | Unset | None = UNSET,
        due: date | Unset | None = UNSET,
        fields: Mapping[str, Any] | None = None,
        update: Mapping[str, Any] | None = None,
        notify: bool = True,
    ) -> None:
        """Edit an issue. Arguments left UNSET are not touched; ``None`` clears a field.
        Names are resolved as for `create` (``fields={"Story Points": 5}``)."""
        flow = edit_flow(
            self._c._cache,
            self._c.flavour,
            key,
            summary=summary,
            description=description,
            assignee=assignee,
            priority=priority,
            labels=labels,
            due=due,
            fields=fields,
            update=update,
            notify=notify,
        )
        self._c._run(flow)

    def delete(self, key: str, *, delete_subtasks: bool = False) -> None:
        """Delete an issue (and its sub-tasks when ``delete_subtasks``)."""
        self._c._run(single(delete_call(key, delete_subtasks)))

    def bulk_create(self, items: Sequence[Mapping[str, Any]]) -> BulkCreateResult:
        """Create many issues, 50 per request. Each item is a ``fields`` mapping (or
        ``{"fields": ..., "update": ...}``). Per-item failures are reported, not raised."""
        return self._c._run(bulk_create_flow(items))

    def bulk_fetch(
        self,
        ids: Sequence[str | int],
        *,
        fields: Sequence[str] | None = None,
        expand: Sequence[str] | None = None,
        properties: Sequence[str] | None = None,
    ) -> BulkFetchResult:
        """Fetch issues by id or key through ``issue/bulkfetch``, 100 per request."""
        return self._c._run(bulk_fetch_flow(ids, fields, expand, properties))

    def createmeta(self, project: str) -> Paginator[dict[str, Any]]:
        """Issue types that can be created in ``project`` (key or id), paged."""
        return self._c._paginate(createmeta_call(project), OffsetPaging("issueTypes", 50), dict)

    def createmeta_fields(self, project: str, issue_type_id: str) -> Paginator[dict[str, Any]]:
        """Fields (required, schema, allowed values) of one issue type's create screen."""
        call = createmeta_fields_call(project, issue_type_id)
        return self._c._paginate(call, OffsetPaging("fields", 50), dict)

    def editmeta(self, key: str) -> dict[str, dict[str, Any]]:
        """Field id -> what can be edited on this issue (operations, allowed values)."""
        return self._c._run(single(editmeta_call(key)))


class AsyncIssues(Resource):
    """``ajira.issues``."""

    _c: AsyncJira

    async def get(
        self,
        key: str,
        *,
        fields: Sequence[str] | str | None = None,
        expand: Sequence[str] | str | None = None,
    ) -> Issue:
        """One issue by key or id. ``fields`` narrows the fields (``*all`` by default)."""
        return await self._c._run(single(get_call(key, fields, expand)))

    async def create(
        self,
        *,
        project: str | None = None,
        summary: str | None = None,
        issue_type: str | None = None,
        description: Any = None,
        assignee: str | None = None,
        priority: str | None = None,
        labels: Sequence[str] | None = None,
        fields: Mapping[str, Any] | None = None,
        update: Mapping[str, Any] | None = None,
    ) -> CreatedIssue:
        """Create an issue. ``project`` is a key or name; ``issue_type`` and ``priority``
        are names (or ids); ``assignee`` an email, display name or accountId;
        ``description`` rich text (a ``str`` is Markdown; `Text`, `Wiki` or ADF say
        otherwise). ``fields`` adds the rest by id or display name, values shaped by each
        field's schema (``{"Customer Tier": "Gold"}``). Unknown or ambiguous names raise
        `ConfigurationError` naming the candidates."""
        flow = create_flow(
            self._c._cache,
            self._c.flavour,
            project=project,
            summary=summary,
            issue_type=issue_type,
            description=description,
            assignee=assignee,
            priority=priority,
            labels=labels,
            fields=fields,
            update=update,
        )
        return await self._c._run(flow)

    async def edit(
        self,
        key: str,
        *,
        summary: str | Unset = UNSET,
        description: Any = UNSET,
        assignee: str | Unset | None = UNSET,
        priority: str | Unset | None = UNSET,
        labels: Sequence[str] | Unset | None = UNSET,
        due: date | Unset | None = UNSET,
        fields: Mapping[str, Any] | None = None,
        update: Mapping[str, Any] | None = None,
        notify: bool = True,
    ) -> None:
        """Edit an issue. Arguments left UNSET are not touched; ``None`` clears a field.
        Names are resolved as for `create` (``fields={"Story Points": 5}``)."""
        flow = edit_flow(
            self._c._cache,
            self._c.flavour,
            key,
            summary=summary,
            description=description,
            assignee=assignee,
            priority=priority,
            labels=labels,
            due=due,
            fields=fields,
            update=update,
            notify=notify,
        )
        await self._c._run(flow)

    async def delete(self, key: str, *, delete_subtasks: bool = False) -> None:
        """Delete an issue (and its sub-tasks when ``delete_subtasks``)."""
        await self._c._run(single(delete_call(key, delete_subtasks)))

    async def bulk_create(self, items: Sequence[Mapping[str, Any]]) -> BulkCreateResult:
        """Create many issues, 50 per request. Each item is a ``fields`` mapping (or
        ``{"fields": ..., "update": ...}``). Per-item failures are reported, not raised."""
        return await self._c._run(bulk_create_flow(items))

    async def bulk_fetch(
        self,
        ids: Sequence[str | int],
        *,
        fields: Sequence[str] | None = None,
        expand: Sequence[str] | None = None,
        properties: Sequence[str] | None = None,
    ) -> BulkFetchResult:
        """Fetch issues by id or key through ``issue/bulkfetch``, 100 per request."""
        return await self._c._run(bulk_fetch_flow(ids, fields, expand, properties))

    def createmeta(self, project: str) -> Paginator[dict[str, Any]]:
        """Issue types that can be created in ``project`` (key or id), paged."""
        return self._c._paginate(createmeta_call(project), OffsetPaging("issueTypes", 50), dict)

    def createmeta_fields(self, project: str, issue_type_id: str) -> Paginator[dict[str, Any]]:
        """Fields (required, schema, allowed values) of one issue type's create screen."""
        call = createmeta_fields_call(project, issue_type_id)
        return self._c._paginate(call, OffsetPaging("fields", 50), dict)

    async def editmeta(self, key: str) -> dict[str, dict[str, Any]]:
        """Field id -> what can be edited on this issue (operations, allowed values)."""
        return await self._c._run(single(editmeta_call(key)))


def create_call(fields: Mapping[str, Any], update: Mapping[str, Any] | None) -> Call[CreatedIssue]:
    body: dict[str, Any] = {"fields": dict(fields)}
    if update:
        body["update"] = dict(update)
    return Call("POST", "/issue", json=body, parse=lambda r: CreatedIssue.parse(r.json()))


def edit_call(key: str, body: Mapping[str, Any], notify: bool) -> Call[None]:
    params = None if notify else {"notifyUsers": False}
    return Call("PUT", "/issue/{key}", {"key": key}, params=params, json=body, parse=_none)


def delete_call(key: str, delete_subtasks: bool) -> Call[None]:
    params = {"deleteSubtasks": True} if delete_subtasks else None
    return Call("DELETE", "/issue/{key}", {"key": key}, params=params, parse=_none)


def _none(_response: Any) -> None:
    return None
