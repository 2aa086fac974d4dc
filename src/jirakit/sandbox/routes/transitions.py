"""Transitions: list (optionally with their screen fields) and perform (workflow-enforced)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jirakit.sandbox import mutations
from jirakit.sandbox.app import ctx
from jirakit.sandbox.views import split_list, transition_view


async def get_transitions(request: Request) -> Response:
    c = ctx(request)
    rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
    with_fields = "transitions.fields" in split_list(c.params("expand"))
    only = c.param("transitionId")
    ts = [
        transition_view(c.store, t, with_fields=with_fields)
        for t in mutations.available_transitions(c.store, rec)
        if only is None or t["id"] == only
    ]
    return c.respond({"expand": "transitions", "transitions": ts})


async def do_transition(request: Request) -> Response:
    c = ctx(request)
    payload = await c.json()
    with c.store.lock:
        rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
        mutations.transition_issue(c.store, rec, payload, c.account_id, c.now(), c.version)
    return c.empty()


ROUTES = [
    Route("/issue/{key}/transitions", get_transitions, methods=["GET"]),
    Route("/issue/{key}/transitions", do_transition, methods=["POST"]),
]
