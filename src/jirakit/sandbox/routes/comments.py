"""Comments: list (paged), get, add, update, delete."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jirakit.sandbox import mutations
from jirakit.sandbox.app import ctx
from jirakit.sandbox.views import comment_view, split_list


async def list_comments(request: Request) -> Response:
    c = ctx(request)
    rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
    start = max(0, c.int_param("startAt", 0))
    size = max(0, min(c.int_param("maxResults", 5000), 5000))
    rendered = "renderedBody" in split_list(c.params("expand"))
    comments = list(rec.comments)
    if (c.param("orderBy") or "") in ("-created", "-Created"):
        comments.reverse()
    page = [
        comment_view(c.store, rec, x, c.version, rendered=rendered)
        for x in comments[start : start + size]
    ]
    return c.respond(
        {"startAt": start, "maxResults": size, "total": len(comments), "comments": page}
    )


async def add_comment(request: Request) -> Response:
    c = ctx(request)
    payload = await c.json()
    with c.store.lock:
        rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
        com = mutations.add_comment(c.store, rec, payload, c.account_id, c.now(), c.version)
    return c.respond(comment_view(c.store, rec, com, c.version), 201)


async def get_comment(request: Request) -> Response:
    c = ctx(request)
    rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
    com = mutations.find_comment(rec, request.path_params["id"])
    rendered = "renderedBody" in split_list(c.params("expand"))
    return c.respond(comment_view(c.store, rec, com, c.version, rendered=rendered))


async def update_comment(request: Request) -> Response:
    c = ctx(request)
    payload = await c.json()
    with c.store.lock:
        rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
        com = mutations.update_comment(
            c.store, rec, request.path_params["id"], payload, c.account_id, c.now(), c.version
        )
    return c.respond(comment_view(c.store, rec, com, c.version))


async def delete_comment(request: Request) -> Response:
    c = ctx(request)
    with c.store.lock:
        rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
        mutations.delete_comment(
            c.store, rec, request.path_params["id"], c.now(), user=c.account_id
        )
    return c.empty()


ROUTES = [
    Route("/issue/{key}/comment", list_comments, methods=["GET"]),
    Route("/issue/{key}/comment", add_comment, methods=["POST"]),
    Route("/issue/{key}/comment/{id}", get_comment, methods=["GET"]),
    Route("/issue/{key}/comment/{id}", update_comment, methods=["PUT"]),
    Route("/issue/{key}/comment/{id}", delete_comment, methods=["DELETE"]),
]
