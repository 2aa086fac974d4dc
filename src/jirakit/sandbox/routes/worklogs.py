"""Worklogs: add, get, update, delete on an issue; ``worklog/updated``, ``worklog/deleted``
(since, honouring Jira's one-minute exclusion) and ``worklog/list``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jirakit.sandbox import mutations
from jirakit.sandbox.app import Ctx, ctx
from jirakit.sandbox.clock import parse_jira_time, to_ms
from jirakit.sandbox.errors import bad_request
from jirakit.sandbox.inputs import body_int_list
from jirakit.sandbox.store import API
from jirakit.sandbox.views import worklog_view

PAGE = 1000
RECENT_MS = 60_000  # changes of the last minute are not listed yet, as on Jira


def _adjust(c: Ctx) -> dict[str, Any]:
    adjust = c.param("adjustEstimate", "auto") or "auto"
    if adjust not in ("auto", "leave", "new", "manual"):
        raise bad_request(errors={"adjustEstimate": f"Invalid value for adjustEstimate: {adjust}"})
    return {"adjust": adjust, "new_estimate": c.param("newEstimate")}


async def add_worklog(request: Request) -> Response:
    c = ctx(request)
    payload = await c.json()
    opts = _adjust(c)
    with c.store.lock:
        rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
        w = mutations.add_worklog(
            c.store, rec, payload, c.account_id, c.now(), c.version, by=c.param("reduceBy"), **opts
        )
    return c.respond(worklog_view(c.store, rec, w, c.version), 201)


async def get_worklog(request: Request) -> Response:
    c = ctx(request)
    rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
    w = mutations.find_worklog(rec, request.path_params["id"])
    return c.respond(worklog_view(c.store, rec, w, c.version))


async def update_worklog(request: Request) -> Response:
    c = ctx(request)
    payload = await c.json()
    opts = _adjust(c)
    with c.store.lock:
        rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
        w = mutations.update_worklog(
            c.store,
            rec,
            request.path_params["id"],
            payload,
            c.account_id,
            c.now(),
            c.version,
            **opts,
        )
    return c.respond(worklog_view(c.store, rec, w, c.version))


async def delete_worklog(request: Request) -> Response:
    c = ctx(request)
    opts = _adjust(c)
    with c.store.lock:
        rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
        mutations.delete_worklog(
            c.store,
            rec,
            request.path_params["id"],
            c.account_id,
            c.now(),
            by=c.param("increaseBy"),
            **opts,
        )
    return c.empty()


def _changed(c: Ctx, entries: list[tuple[int, int]], path: str) -> Response:
    since = c.int_param("since", 0)
    cutoff = to_ms(c.now()) - RECENT_MS
    picked = sorted(e for e in ((ms, wid) for wid, ms in entries) if since <= e[0] < cutoff)[:PAGE]
    last = len(picked) < PAGE
    until = picked[-1][0] if picked else since
    out: dict[str, Any] = {
        "values": [{"worklogId": wid, "updatedTime": ms, "properties": []} for ms, wid in picked],
        "since": since,
        "until": until,
        "self": f"{API}/{path}?since={since}",
        "lastPage": last,
    }
    if not last:
        out["nextPage"] = f"{API}/{path}?since={until}"
    return c.respond(out)


async def updated_worklogs(request: Request) -> Response:
    c = ctx(request)
    entries = [
        (int(w["id"]), to_ms(parse_jira_time(w["updated"])))
        for rec in c.store.issues.values()
        for w in rec.worklogs
    ]
    return _changed(c, entries, "worklog/updated")


async def deleted_worklogs(request: Request) -> Response:
    c = ctx(request)
    entries = [(wid, ms) for wid, ms in c.store.deleted_worklogs]
    return _changed(c, entries, "worklog/deleted")


async def list_worklogs(request: Request) -> Response:
    c = ctx(request)
    body = await c.json()
    if not isinstance(body, dict) or not isinstance(body.get("ids"), list) or not body["ids"]:
        raise bad_request("Worklog IDs must be provided.")
    ids = body_int_list(body, "ids")
    if len(ids) > 1000:
        raise bad_request("The number of worklog IDs must not exceed 1000.")
    wanted = {str(i) for i in ids}
    out = [
        worklog_view(c.store, rec, w, c.version)
        for rec in c.store.issues.values()
        for w in rec.worklogs
        if w["id"] in wanted
    ]
    return c.respond(out)


ROUTES = [
    Route("/issue/{key}/worklog", add_worklog, methods=["POST"]),
    Route("/issue/{key}/worklog/{id}", get_worklog, methods=["GET"]),
    Route("/issue/{key}/worklog/{id}", update_worklog, methods=["PUT"]),
    Route("/issue/{key}/worklog/{id}", delete_worklog, methods=["DELETE"]),
    Route("/worklog/updated", updated_worklogs),
    Route("/worklog/deleted", deleted_worklogs),
    Route("/worklog/list", list_worklogs, methods=["POST"]),
]
