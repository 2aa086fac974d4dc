"""Issue links and link types; watchers and votes changes."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jirakit.sandbox import mutations
from jirakit.sandbox.app import Ctx, ctx
from jirakit.sandbox.errors import JiraHttpError, bad_request
from jirakit.sandbox.store import IssueRecord
from jirakit.sandbox.views import full_link_view


def _link_type(c: Ctx, raw: Any) -> str:
    if isinstance(raw, dict):
        for t in c.store.link_types.values():
            if (
                str(raw.get("id")) == t["id"]
                or (raw.get("name") or "").lower() == t["name"].lower()
            ):
                return str(t["id"])
    name = raw.get("name") if isinstance(raw, dict) else raw
    raise JiraHttpError(404, [f"No issue link type with name '{name}' found."])


def _end(c: Ctx, raw: Any) -> IssueRecord:
    ref = (raw.get("key") or raw.get("id")) if isinstance(raw, dict) else None
    rec = c.store.issue(str(ref)) if ref else None
    if rec is None or not c.store.can_browse(c.account_id, rec.project_id):
        raise JiraHttpError(404, ["Issue Does Not Exist"])
    return rec


async def create_link(request: Request) -> Response:
    c = ctx(request)
    body = await c.json()
    if not isinstance(body, dict) or not all(
        k in body for k in ("type", "inwardIssue", "outwardIssue")
    ):
        raise bad_request(
            "Invalid request payload. Refer to the REST API documentation and try again."
        )
    with c.store.lock:
        type_id = _link_type(c, body["type"])
        source, target = _end(c, body["inwardIssue"]), _end(c, body["outwardIssue"])
        if source.id == target.id:
            raise bad_request("You cannot link an issue to itself.")
        lid = c.store.add_link(type_id, source.id, target.id)
        now = c.now()
        mutations.emit(c.store, "issuelink_created", source, c.account_id, now, link=lid)
        for rec in (source, target):
            mutations.touch(c.store, rec, now)
        comment = body.get("comment")
        if isinstance(comment, dict) and comment.get("body") is not None:
            mutations.add_comment(c.store, source, comment, c.account_id, now, c.version)
    return c.empty(201)


def _require_link(c: Ctx, raw: str) -> int:
    if raw.isdigit() and int(raw) in c.store.links:
        return int(raw)
    raise JiraHttpError(404, [f"No issue link with id '{raw}' exists."])


async def get_link(request: Request) -> Response:
    c = ctx(request)
    lid = _require_link(c, request.path_params["id"])
    _, a, b = c.store.links[lid]
    if not all(c.store.can_browse(c.account_id, c.store.issues[i].project_id) for i in (a, b)):
        raise JiraHttpError(404, [f"No issue link with id '{lid}' exists."])
    return c.respond(full_link_view(c.store, lid))


async def delete_link(request: Request) -> Response:
    c = ctx(request)
    with c.store.lock:
        lid = _require_link(c, request.path_params["id"])
        _, a, b = c.store.links[lid]
        c.store.remove_link(lid)
        mutations.emit(
            c.store, "issuelink_deleted", c.store.issues.get(a), c.account_id, c.now(), link=lid
        )
        for iid in (a, b):
            if iid in c.store.issues:
                mutations.touch(c.store, c.store.issues[iid], c.now())
    return c.empty()


async def link_types(request: Request) -> Response:
    c = ctx(request)
    return c.respond({"issueLinkTypes": list(c.store.link_types.values())})


async def link_type(request: Request) -> Response:
    c = ctx(request)
    t = c.store.link_types.get(request.path_params["id"])
    if t is None:
        raise JiraHttpError(
            404, [f"No issue link type with id '{request.path_params['id']}' found."]
        )
    return c.respond(t)


async def remove_watcher(request: Request) -> Response:
    c = ctx(request)
    aid = c.param("accountId") or c.param("username")
    if not aid:
        raise bad_request("The accountId query parameter needs to be provided.")
    with c.store.lock:
        rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
        user = c.store.users.get(aid) or c.store.user_by_login(aid)
        if user is None:
            raise bad_request(errors={"accountId": "The user does not exist."})
        rec.watchers = [w for w in rec.watchers if w != user["accountId"]]
        c.store.changed()
    return c.empty()


async def vote(request: Request) -> Response:
    c = ctx(request)
    with c.store.lock:
        rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
        if rec.fields.get("reporter", {}).get("accountId") == c.account_id:
            raise bad_request("You cannot vote for an issue you have reported.")
        if c.account_id not in rec.voters:
            rec.voters = sorted([*rec.voters, c.account_id])
            c.store.changed()
    return c.empty()


async def unvote(request: Request) -> Response:
    c = ctx(request)
    with c.store.lock:
        rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
        rec.voters = [v for v in rec.voters if v != c.account_id]
        c.store.changed()
    return c.empty()


ROUTES = [
    Route("/issueLink", create_link, methods=["POST"]),
    Route("/issueLink/{id}", get_link, methods=["GET"]),
    Route("/issueLink/{id}", delete_link, methods=["DELETE"]),
    Route("/issueLinkType", link_types),
    Route("/issueLinkType/{id}", link_type),
    Route("/issue/{key}/watchers", remove_watcher, methods=["DELETE"]),
    Route("/issue/{key}/votes", vote, methods=["POST"]),
    Route("/issue/{key}/votes", unvote, methods=["DELETE"]),
]
