"""Issues: create, get, edit, delete, createmeta, editmeta, bulkfetch, changelogs,
watchers and votes."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jirakit.sandbox import mutations
from jirakit.sandbox.app import Ctx, JiraJSON, ctx, render_json
from jirakit.sandbox.errors import JiraHttpError, bad_request
from jirakit.sandbox.inputs import INVALID_PAYLOAD, body_int, body_str, body_str_list, read_body
from jirakit.sandbox.store import API, IssueRecord
from jirakit.sandbox.views import (
    ViewCache,
    create_meta_fields,
    edit_meta_fields,
    history_view,
    issue_view,
    join_json,
    split_list,
    worklog_view,
)


async def create_issue(request: Request) -> Response:
    c = ctx(request)
    payload = await c.json()
    with c.store.lock:
        rec = mutations.create_issue(c.store, payload, c.account_id, c.now(), c.version)
        update = payload.get("update") if isinstance(payload, dict) else None
        if update:
            mutations.edit_issue(c.store, rec, {"update": update}, c.account_id, c.now(), c.version)
    return c.respond({"id": rec.sid, "key": rec.key, "self": f"{API}/issue/{rec.id}"}, 201)


async def bulk_create(request: Request) -> Response:
    """``POST /issue/bulk``: up to 50 issues; each failure reported by its input index."""
    c = ctx(request)
    body = await c.json()
    updates = body.get("issueUpdates") if isinstance(body, dict) else None
    if not isinstance(updates, list):
        raise bad_request(
            "Invalid request payload. Refer to the REST API documentation and try again."
        )
    if len(updates) > 50:
        raise bad_request("The number of issues to create must not exceed 50.")
    created: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    with c.store.lock:
        for n, payload in enumerate(updates):
            try:
                rec = mutations.create_issue(c.store, payload, c.account_id, c.now(), c.version)
                update = payload.get("update") if isinstance(payload, dict) else None
                if update:
                    mutations.edit_issue(
                        c.store, rec, {"update": update}, c.account_id, c.now(), c.version
                    )
            except JiraHttpError as exc:
                errors.append(
                    {"status": exc.status, "elementErrors": exc.body(), "failedElementNumber": n}
                )
                continue
            created.append({"id": rec.sid, "key": rec.key, "self": f"{API}/issue/{rec.id}"})
    status = 201 if created or not updates else 400
    return c.respond({"issues": created, "errors": errors}, status)


async def get_issue(request: Request) -> Response:
    c = ctx(request)
    rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
    fields = split_list(c.params("fields")) or None
    expand = split_list(c.params("expand"))
    cache: ViewCache = c.state.views
    selected = cache.select(fields, "*all")
    (text,) = c.issue_jsons([rec], selected, expand)
    return c.respond_bytes(text)


async def edit_issue(request: Request) -> Response:
    c = ctx(request)
    payload = await c.json()
    with c.store.lock:
        rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
        mutations.edit_issue(c.store, rec, payload, c.account_id, c.now(), c.version)
    if c.bool_param("returnIssue", False):
        return c.respond(issue_view(c.store, rec, version=c.version, viewer=c.account_id))
    return c.empty()


async def assign_issue(request: Request) -> Response:
    c = ctx(request)
    body = await c.json()
    if not isinstance(body, dict):
        raise bad_request(
            "Invalid request payload. Refer to the REST API documentation and try again."
        )
    with c.store.lock:
        rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
        mutations.edit_issue(
            c.store, rec, {"fields": {"assignee": body}}, c.account_id, c.now(), c.version
        )
    return c.empty()


async def delete_issue(request: Request) -> Response:
    c = ctx(request)
    with c.store.lock:
        rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
        mutations.delete_issue(
            c.store, rec, c.bool_param("deleteSubtasks", False), c.now(), user=c.account_id
        )
    return c.empty()


def _project_for_meta(c: Ctx, ref: str) -> dict[str, Any]:
    p = c.store.project(ref)
    if p is None or not c.store.can_browse(c.account_id, p["id"]):
        raise bad_request(f"No project could be found with key '{ref}'.")
    return p


async def createmeta_issuetypes(request: Request) -> Response:
    c = ctx(request)
    p = _project_for_meta(c, request.path_params["project"])
    types = [c.store.issuetypes[t] for t in c.store.project_issuetypes[p["id"]]]
    start = max(0, c.int_param("startAt", 0))
    size = max(1, min(c.int_param("maxResults", 50), 200))
    page = types[start : start + size]
    return c.respond(
        {"maxResults": size, "startAt": start, "total": len(types), "issueTypes": page}
    )


async def createmeta_fields(request: Request) -> Response:
    c = ctx(request)
    p = _project_for_meta(c, request.path_params["project"])
    tid = request.path_params["issuetype"]
    if tid not in c.store.project_issuetypes[p["id"]]:
        raise bad_request("The issue type ID is invalid or not available for this project.")
    metas = create_meta_fields(c.store, p, c.store.issuetypes[tid])
    start = max(0, c.int_param("startAt", 0))
    size = max(1, min(c.int_param("maxResults", 50), 200))
    return c.respond(
        {
            "maxResults": size,
            "startAt": start,
            "total": len(metas),
            "fields": metas[start : start + size],
        }
    )


async def editmeta(request: Request) -> Response:
    c = ctx(request)
    rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
    return c.respond({"fields": edit_meta_fields(c.store, rec)})


async def bulkfetch(request: Request) -> Response:
    c = ctx(request)
    body = await c.json()
    if not isinstance(body, dict) or not isinstance(body.get("issueIdsOrKeys"), list):
        raise bad_request("issueIdsOrKeys must be provided.")
    refs = body_str_list(body, "issueIdsOrKeys")
    if not refs or len(refs) > 100:
        raise bad_request("The number of issues must be between 1 and 100.")
    fields = split_list(body_str_list(body, "fields")) or ["*navigable"]
    expand = split_list(_str_or_list(body, "expand"))
    cache: ViewCache = c.state.views
    selected = cache.select(fields, "*navigable")
    recs: list[IssueRecord] = []
    errors: list[dict[str, Any]] = []
    seen: set[int] = set()
    for ref in refs:
        rec = c.store.issue(ref)
        if rec is None or not c.store.can_browse(c.account_id, rec.project_id):
            errors.append(
                {
                    "id": ref,
                    "errorMessage": "Issue does not exist or you do not have permission to see it.",
                }
            )
            continue
        if rec.id in seen:
            continue
        seen.add(rec.id)
        recs.append(rec)
    recs.sort(key=lambda r: r.id)  # the spec: "Issues will be returned in ascending id order"
    with c.store.lock:
        # Embedded changelog/comments capped as in search/jql (see views.SEARCH_*_CAP).
        issues = c.issue_jsons(recs, selected, expand, caps=True)
    # the issues' URLs are final: only the errors are rendered with marker substitution
    tail = render_json(errors, c.base, c.api)
    body = join_json(b'{"issues":[', issues, b'],"issueErrors":' + tail + b"}")
    return Response(body, media_type=JiraJSON.media_type)


async def issue_changelog(request: Request) -> Response:
    c = ctx(request)
    rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
    values = [history_view(c.store, h) for h in rec.histories]
    return c.respond(c.page(values, f"issue/{rec.key}/changelog", max_cap=100))


def _str_or_list(body: Any, key: str) -> list[str]:
    """A member given as one comma-separated string or as a list of strings."""
    value = body.get(key) if isinstance(body, dict) else None
    if isinstance(value, str):
        return [value]
    return body_str_list(body, key)


def _cl_token(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode()


async def changelog_bulkfetch(request: Request) -> Response:
    c = ctx(request)
    body = await c.json()
    if not isinstance(body, dict) or not isinstance(body.get("issueIdsOrKeys"), list):
        raise bad_request("issueIdsOrKeys must be provided.")
    refs = body_str_list(body, "issueIdsOrKeys")
    if not refs or len(refs) > 1000:
        raise bad_request("The number of issues must be between 1 and 1000.")
    field_ids = set(body_str_list(body, "fieldIds"))
    if len(field_ids) > 10:
        raise bad_request("The number of fieldIds must not exceed 10.")
    size = body_int(body, "maxResults", 1000) or 1000
    size = max(1, min(size, 10000))
    pos = (0, 0)
    token = body_str(body, "nextPageToken")
    if token:
        try:
            st = json.loads(base64.urlsafe_b64decode(token))
            pos = (int(st["i"]), int(st["h"]))
        except (ValueError, KeyError, TypeError, IndexError, RecursionError):
            raise bad_request("Invalid nextPageToken.") from None
        if min(pos) < 0:
            raise bad_request("Invalid nextPageToken.")
    recs: list[IssueRecord] = []
    for ref in refs:
        rec = c.store.issue(ref)
        if rec is not None and rec not in recs and c.store.can_browse(c.account_id, rec.project_id):
            recs.append(rec)
    out: list[dict[str, Any]] = []
    count = 0
    i, h = pos
    next_token = None
    while i < len(recs):
        rec = recs[i]
        histories = []
        while h < len(rec.histories):
            hist = rec.histories[h]
            h += 1
            if field_ids:
                items = tuple(it for it in hist.items if it[2] in field_ids)
                if not items:
                    continue
                hist = type(hist)(hist.id, hist.author, hist.created, items)
            if count >= size:
                h -= 1
                next_token = _cl_token({"i": i, "h": h})
                break
            histories.append(history_view(c.store, hist))
            count += 1
        if histories:
            out.append({"issueId": rec.sid, "changeHistories": histories})
        if next_token:
            break
        i, h = i + 1, 0
    result: dict[str, Any] = {"issueChangeLogs": out}
    if next_token:
        result["nextPageToken"] = next_token
    return c.respond(result)


async def watchers(request: Request) -> Response:
    c = ctx(request)
    rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
    users = [c.store.users[a] for a in rec.watchers if a in c.store.users]
    return c.respond(
        {
            "self": f"{API}/issue/{rec.key}/watchers",
            "isWatching": c.account_id in rec.watchers,
            "watchCount": len(users),
            "watchers": users,
        }
    )


async def add_watcher(request: Request) -> Response:
    c = ctx(request)
    body = await c.json()
    if body is None:
        aid = c.account_id  # no body: the caller watches
    elif isinstance(body, str | int | float) and not isinstance(body, bool):
        aid = str(body)  # a JSON string (Jackson reads a number as its text too)
    else:
        raise bad_request(INVALID_PAYLOAD)
    if aid not in c.store.users:
        raise bad_request(errors={"accountId": "The user does not exist."})
    with c.store.lock:
        rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
        if aid not in rec.watchers:
            rec.watchers = [*rec.watchers, aid]
            c.store.changed()
    return c.empty()


async def votes(request: Request) -> Response:
    c = ctx(request)
    rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
    return c.respond(
        {
            "self": f"{API}/issue/{rec.key}/votes",
            "votes": len(rec.voters),
            "hasVoted": c.account_id in rec.voters,
            "voters": [c.store.users[a] for a in rec.voters if a in c.store.users],
        }
    )


async def list_worklogs(request: Request) -> Response:
    c = ctx(request)
    rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
    start = max(0, c.int_param("startAt", 0))
    size = max(1, min(c.int_param("maxResults", 5000), 5000))
    logs = [worklog_view(c.store, rec, w, c.version) for w in rec.worklogs]
    return c.respond(
        {
            "startAt": start,
            "maxResults": size,
            "total": len(logs),
            "worklogs": logs[start : start + size],
        }
    )


async def createmeta(request: Request) -> Response:
    """``GET /issue/createmeta`` (deprecated, still in the spec, and what pycontribs calls
    on Cloud): projects the caller can create in, narrowed by ``projectKeys``/``projectIds``
    and ``issuetypeIds``/``issuetypeNames``; ``expand=projects.issuetypes.fields`` adds
    each issue type's fields keyed by field id."""
    c = ctx(request)
    keys = {k.upper() for k in _csv(c.params("projectKeys"))}
    ids = set(_csv(c.params("projectIds")))
    type_ids = set(_csv(c.params("issuetypeIds")))
    type_names = {n.casefold() for n in _csv(c.params("issuetypeNames"))}
    with_fields = "projects.issuetypes.fields" in split_list(c.params("expand"))
    projects = []
    for pid, p in c.store.projects.items():
        if (keys or ids) and p["key"] not in keys and pid not in ids:
            continue
        if not c.store.can_browse(c.account_id, pid):
            continue
        types = []
        for tid in c.store.project_issuetypes[pid]:
            t = c.store.issuetypes[tid]
            if (
                (type_ids or type_names)
                and tid not in type_ids
                and t["name"].casefold() not in type_names
            ):
                continue
            item: dict[str, Any] = {**t, "expand": "fields"}
            if with_fields:
                metas = create_meta_fields(c.store, p, t)
                item["fields"] = {m.pop("fieldId"): m for m in metas}
            types.append(item)
        projects.append(
            {
                "expand": "issuetypes",
                "self": p["self"],
                "id": pid,
                "key": p["key"],
                "name": p["name"],
                "avatarUrls": p["avatarUrls"],
                "issuetypes": types,
            }
        )
    return c.respond({"expand": "projects", "projects": projects})


def _csv(values: list[str]) -> list[str]:
    return [v.strip() for raw in values for v in raw.split(",") if v.strip()]


# -- issue properties --------------------------------------------------------------------------

PROPERTY_MAX_BYTES = 32768  # Jira: "The property value must not exceed 32768 bytes."


def _property_key(raw: str) -> str:
    if not raw or len(raw) > 255:
        raise bad_request("The property key must not be empty and not longer than 255 characters.")
    return raw


async def issue_property_keys(request: Request) -> Response:
    c = ctx(request)
    rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
    props = c.store.issue_properties.get(rec.sid, {})
    keys = [
        {"key": k, "self": f"{API}/issue/{rec.id}/properties/{quote(k, safe='')}"}
        for k in sorted(props)
    ]
    return c.respond({"keys": keys})


async def get_issue_property(request: Request) -> Response:
    c = ctx(request)
    rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
    key = request.path_params["propertyKey"]
    props = c.store.issue_properties.get(rec.sid, {})
    if key not in props:
        raise JiraHttpError(404, [f"The property with key '{key}' does not exist."])
    return c.respond({"key": key, "value": props[key]})


async def set_issue_property(request: Request) -> Response:
    """``PUT /issue/{key}/properties/{propertyKey}``: any JSON value, at most 32 KiB;
    201 when created, 200 when replaced."""
    c = ctx(request)
    key = _property_key(request.path_params["propertyKey"])
    raw = await read_body(request)
    if not raw.strip():
        raise bad_request("The property value must not be empty.")
    if len(raw) > PROPERTY_MAX_BYTES:
        raise bad_request(f"The property value must not exceed {PROPERTY_MAX_BYTES} bytes.")
    value = await c.json()
    with c.store.lock:
        rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
        props = dict(c.store.issue_properties.get(rec.sid, {}))
        created = key not in props
        props[key] = value
        c.store.issue_properties[rec.sid] = props
        c.store.changed()
    return c.empty(201 if created else 200)


async def delete_issue_property(request: Request) -> Response:
    c = ctx(request)
    key = request.path_params["propertyKey"]
    with c.store.lock:
        rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
        props = dict(c.store.issue_properties.get(rec.sid, {}))
        if key not in props:
            raise JiraHttpError(404, [f"The property with key '{key}' does not exist."])
        del props[key]
        if props:
            c.store.issue_properties[rec.sid] = props
        else:
            c.store.issue_properties.pop(rec.sid, None)
        c.store.changed()
    return c.empty()


def _not_allowed(request: Request) -> None:
    raise JiraHttpError(405, ["Method not allowed"])


ROUTES = [
    Route("/issue", create_issue, methods=["POST"]),
    Route("/issue/bulkfetch", bulkfetch, methods=["POST"]),
    Route("/issue/bulk", bulk_create, methods=["POST"]),
    Route("/issue/createmeta", createmeta),
    Route("/issue/createmeta/{project}/issuetypes", createmeta_issuetypes),
    Route("/issue/createmeta/{project}/issuetypes/{issuetype}", createmeta_fields),
    Route("/issue/{key}", get_issue, methods=["GET"]),
    Route("/issue/{key}", edit_issue, methods=["PUT"]),
    Route("/issue/{key}", delete_issue, methods=["DELETE"]),
    Route("/issue/{key}/assignee", assign_issue, methods=["PUT"]),
    Route("/issue/{key}/editmeta", editmeta),
    Route("/issue/{key}/changelog", issue_changelog),
    Route("/changelog/bulkfetch", changelog_bulkfetch, methods=["POST"]),
    Route("/issue/{key}/watchers", watchers, methods=["GET"]),
    Route("/issue/{key}/watchers", add_watcher, methods=["POST"]),
    Route("/issue/{key}/votes", votes),
    Route("/issue/{key}/properties", issue_property_keys),
    Route("/issue/{key}/properties/{propertyKey}", get_issue_property, methods=["GET"]),
    Route("/issue/{key}/properties/{propertyKey}", set_issue_property, methods=["PUT"]),
    Route("/issue/{key}/properties/{propertyKey}", delete_issue_property, methods=["DELETE"]),
    Route("/issue/{key}/worklog", list_worklogs, methods=["GET"]),
]
