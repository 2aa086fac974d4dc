"""Issues: get, create, edit, delete, bulk create, bulk fetch."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import httpx

from jirakit.client._call import Call, Flow, single
from jirakit.client._names import (
    Context,
    Rejected,
    batch_cache,
    draft_flow,
    fields_flow,
    find_issue_types_flow,
    keep_learned,
    options_by_id_flow,
    priorities_flow,
    priority_ref,
    project_by_name_flow,
    project_ref_flow,
    rejectable,
    repair_flow,
    user_ref_flow,
)
from jirakit.client._paging import OffsetPaging, Paginator
from jirakit.client._retry import never_sent
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
from jirakit.errors import (
    ConfigurationError,
    HTTPError,
    JiraError,
    ResponseDecodeError,
    TransportError,
)

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
    draft = yield from draft_flow(
        cache,
        flavour,
        project=project,
        summary=summary,
        issue_type=issue_type,
        description=description,
        assignee=assignee,
        priority=priority,
        labels=labels,
        fields=fields,
    )
    out = draft.fields
    result = yield rejectable(create_call(out, update))
    if isinstance(result, Rejected):
        body = {"fields": out}
        fixed = yield from repair_flow(
            cache, flavour, body, result.error, draft.shaped, draft.context
        )
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


# Keys of a bulk_create item: create()'s arguments; Jira's own issueUpdate extras; the
# rest are fields by id or display name.
CREATE_ARGS = frozenset(
    {"project", "summary", "issue_type", "description", "assignee", "priority", "labels"}
)
ISSUE_UPDATE_EXTRAS = frozenset({"transition", "properties", "historyMetadata"})


@dataclass(slots=True)
class _Pending:
    index: int
    args: dict[str, Any]
    fields: dict[str, Any]
    update: Mapping[str, Any] | None
    extras: dict[str, Any]


def _pending(index: int, item: Mapping[str, Any]) -> _Pending:
    """Split one bulk item into create() arguments, fields, ``update`` and extras."""
    if not isinstance(item, Mapping):
        raise ConfigurationError(f"expected a mapping of fields, got {type(item).__name__}")
    given = item.get("fields")
    if given is not None and not isinstance(given, Mapping):
        raise ConfigurationError(f"fields: expected a mapping, got {type(given).__name__}")
    update = item.get("update")
    if update is not None and not isinstance(update, Mapping):
        raise ConfigurationError(f"update: expected a mapping, got {type(update).__name__}")
    args = {k: v for k, v in item.items() if k in CREATE_ARGS}
    extras = {k: v for k, v in item.items() if k in ISSUE_UPDATE_EXTRAS}
    skip = CREATE_ARGS | ISSUE_UPDATE_EXTRAS | {"fields", "update"}
    fields = {k: v for k, v in item.items() if k not in skip}
    fields.update(given or {})
    # Jira's own spelling in fields= names the same things as create()'s arguments: take
    # them as such, so projects and issue types resolve once for the batch either way.
    for field_id, arg in (("project", "project"), ("issuetype", "issue_type")):
        if field_id in fields and args.get(arg) is None:
            args[arg] = fields.pop(field_id)
    return _Pending(index, args, fields, update, extras)


def _unresolved(index: int, exc: ConfigurationError) -> BulkCreateError:
    return BulkCreateError(
        index=index, status=None, error_messages=[str(exc)], errors={}, sent=False
    )


def _cut_short(
    failed: Sequence[tuple[int, Any]], unsent: Sequence[tuple[int, Any]], exc: JiraError
) -> list[BulkCreateError]:
    """Errors for the items of a request that failed as a whole (``failed``) and of the
    requests not sent after it (``unsent``), each carrying ``exc``."""
    status = exc.status if isinstance(exc, HTTPError) else None
    if status is not None and status < 500:
        reached, fate = True, "Jira refused its request as a whole, so it was not created"
    elif isinstance(exc, HTTPError | ResponseDecodeError) or (
        isinstance(exc, TransportError) and not never_sent(exc)
    ):
        reached = True
        fate = (
            "its request reached Jira, so the issue may or may not have been created: "
            "look for it before sending the item again"
        )
    else:  # no connection, or no request made at all (e.g. the OAuth flow failed)
        reached, fate = False, "its request never reached Jira, so it was not created"
    out = [
        BulkCreateError(index, status, [f"{fate} ({exc})"], {}, sent=reached, exception=exc)
        for index, _ in failed
    ]
    note = f"not sent: an earlier request of the batch failed ({exc})"
    out += [
        BulkCreateError(index, None, [note], {}, sent=False, exception=exc) for index, _ in unsent
    ]
    return out


def _by_name(value: Any) -> bool:
    return isinstance(value, str) and not value.strip().isdigit()


def _project_ident(ref: Any) -> str | None:
    if isinstance(ref, Mapping):
        ident = ref.get("key") or ref.get("id")
        return str(ident) if ident else None
    return None


def bulk_create_flow(
    cache: dict[str, Any], flavour: str, items: Sequence[Mapping[str, Any]]
) -> Flow[BulkCreateResult]:
    """Create many issues from human names, 50 per request.

    Names are resolved once for the whole batch through the client's cached metadata:
    each distinct project, user and field name is looked up once (a failed lookup too),
    the issue types of each project and the priorities are read once, and issue types,
    priorities and select options are sent by id. An item whose names cannot be resolved,
    or whose values have the wrong type, is not sent: it gets a `BulkCreateError`
    (``status=None``, ``sent=False``) naming the candidates, at its input index, like the
    items Jira itself rejects (400).

    When a request fails as a whole (5xx, 401, 403, 429 after retries, a transport
    error), sending stops and the result is still returned: the issues made by earlier
    requests stay in ``created``, and every item of the failed request and of the ones
    not sent gets an error carrying the exception (``error.exception``, ``error.sent``).
    A failure while looking names up, before anything is created, is raised."""
    scope = batch_cache(cache)
    try:
        return (yield from _bulk_create_flow(scope, flavour, items))
    finally:
        keep_learned(cache, scope)


def _bulk_create_flow(
    cache: dict[str, Any], flavour: str, items: Sequence[Mapping[str, Any]]
) -> Flow[BulkCreateResult]:
    created: list[CreatedIssue | None] = [None] * len(items)
    errors: dict[int, BulkCreateError] = {}
    pending: list[_Pending] = []
    for index, item in enumerate(items):
        try:
            todo = _pending(index, item)
            if isinstance(todo.args.get("project"), str):
                todo.args["project"] = yield from project_ref_flow(
                    cache, flavour, todo.args["project"]
                )
            pending.append(todo)
        except ConfigurationError as exc:
            errors[index] = _unresolved(index, exc)

    # Batch metadata: issue types per project, priorities; each read once.
    refs: dict[str, dict[str, Any]] = {}
    for todo in pending:
        ident = _project_ident(todo.args.get("project"))
        if ident is not None and _by_name(todo.args.get("issue_type")):
            refs.setdefault(ident, dict(todo.args["project"]))
    unknown: dict[str, ConfigurationError] = {}
    moved: dict[str, dict[str, str]] = {}
    for ident, ref in refs.items():
        if (yield from find_issue_types_flow(cache, ref)) is not None:
            continue
        try:  # no project with that key or id: perhaps it is a name, else say which exist
            found = yield from project_by_name_flow(cache, flavour, ident)
            if (yield from find_issue_types_flow(cache, found)) is None:
                raise ConfigurationError(f"no issue types can be created in project {ident}")
            moved[ident] = found
        except ConfigurationError as exc:
            unknown[ident] = exc
    if any(_by_name(todo.args.get("priority")) for todo in pending):
        yield from priorities_flow(cache)

    ready: list[tuple[int, dict[str, Any]]] = []
    for todo in pending:
        try:
            ident = _project_ident(todo.args.get("project"))
            if ident in unknown:
                raise unknown[ident]
            if ident in moved:
                todo.args["project"] = moved[ident]
            draft = yield from draft_flow(cache, flavour, fields=todo.fields, **todo.args)
            payload: dict[str, Any] = {"fields": (yield from options_by_id_flow(cache, draft))}
        except ConfigurationError as exc:
            errors[todo.index] = _unresolved(todo.index, exc)
            continue
        if todo.update:
            payload["update"] = dict(todo.update)
        payload.update(todo.extras)
        ready.append((todo.index, payload))

    for offset in range(0, len(ready), BULK_CREATE_CHUNK):
        chunk = ready[offset : offset + BULK_CREATE_CHUNK]
        answer = yield Call(
            "POST",
            "/issue/bulk",
            json={"issueUpdates": [payload for _, payload in chunk]},
            also_ok=(400,),
            parse=_status_and_body,
            capture=True,
        )
        if isinstance(answer, JiraError):  # stop: keep what was made, say what was not
            rest = ready[offset + len(chunk) :]
            errors.update((e.index, e) for e in _cut_short(chunk, rest, answer))
            break
        status, body = answer
        body = body if isinstance(body, Mapping) else {}
        failed: set[int] = set()
        for err in body.get("errors") or []:
            n = int(err.get("failedElementNumber", -1))
            if not 0 <= n < len(chunk):
                continue
            element = err.get("elementErrors") or {}
            index = chunk[n][0]
            failed.add(n)
            errors[index] = BulkCreateError(
                index=index,
                status=err.get("status") or status,
                error_messages=list(element.get("errorMessages") or []),
                errors=dict(element.get("errors") or {}),
            )
        if status >= 400 and not failed:
            # the request as a whole was refused (no per-item errors): every item failed
            for n, (index, _) in enumerate(chunk):
                failed.add(n)
                errors[index] = BulkCreateError(
                    index=index,
                    status=status,
                    error_messages=list(body.get("errorMessages") or []),
                    errors=dict(body.get("errors") or {}),
                )
        made = iter(body.get("issues") or [])
        for n, (index, _) in enumerate(chunk):
            if n not in failed:
                raw = next(made, None)
                created[index] = CreatedIssue.parse(raw) if raw is not None else None
    return BulkCreateResult(created, [errors[i] for i in sorted(errors)])


def _status_and_body(response: httpx.Response) -> tuple[int, Any]:
    return response.status_code, (response.json() if response.content else None)


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
        """Create many issues, 50 per request; per-item failures are reported by input
        index (``result.errors``), never raised for the batch.

        Each item takes `create`'s arguments (``project``, ``summary``, ``issue_type``,
        ``description``, ``assignee``, ``priority``, ``labels``, ``fields``, ``update``)
        with the same human names; any other key is a field by id or display name, so
        Jira's own ``{"fields": ..., "update": ...}`` and plain fields mappings work too.
        Names are resolved once for the whole batch; an item whose names match nothing
        (or several things) is not sent and its error names the candidates.

        A request that fails as a whole (5xx, 401/403, a transport error) stops the
        batch without raising: the issues already made stay in ``result.created`` and
        each item of the failed request and of the unsent ones gets an error carrying
        the exception (``error.exception``). ``error.sent`` says whether its request
        reached Jira: if so (and Jira did not refuse it), the issue may or may not have
        been created, so look for it before sending the item again. Failures while
        names are looked up, before anything is created, are raised."""
        return self._c._run(bulk_create_flow(self._c._cache, self._c.flavour, items))

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
        """Create many issues, 50 per request; per-item failures are reported by input
        index (``result.errors``), never raised for the batch.

        Each item takes `create`'s arguments (``project``, ``summary``, ``issue_type``,
        ``description``, ``assignee``, ``priority``, ``labels``, ``fields``, ``update``)
        with the same human names; any other key is a field by id or display name, so
        Jira's own ``{"fields": ..., "update": ...}`` and plain fields mappings work too.
        Names are resolved once for the whole batch; an item whose names match nothing
        (or several things) is not sent and its error names the candidates.

        A request that fails as a whole (5xx, 401/403, a transport error) stops the
        batch without raising: the issues already made stay in ``result.created`` and
        each item of the failed request and of the unsent ones gets an error carrying
        the exception (``error.exception``). ``error.sent`` says whether its request
        reached Jira: if so (and Jira did not refuse it), the issue may or may not have
        been created, so look for it before sending the item again. Failures while
        names are looked up, before anything is created, are raised."""
        return await self._c._run(bulk_create_flow(self._c._cache, self._c.flavour, items))

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
