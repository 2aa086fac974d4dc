"""Projects: /project, /project/search, /project/{key}, statuses, components, versions."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jirakit.sandbox.app import Ctx, ctx
from jirakit.sandbox.errors import JiraHttpError
from jirakit.sandbox.store import Json

SHORT = (
    "expand",
    "self",
    "id",
    "key",
    "name",
    "avatarUrls",
    "projectTypeKey",
    "simplified",
    "style",
    "isPrivate",
    "properties",
    "projectCategory",  # when the project has one, as go-jira's recorded /project list shows
)


def _require(c: Ctx, ref: str) -> Json:
    p = c.store.project(ref)
    if p is None or not c.store.can_browse(c.account_id, p["id"]):
        raise JiraHttpError(404, [f"No project could be found with key '{ref}'."])
    return p


def _short(p: Json) -> Json:
    return {k: p[k] for k in SHORT if k in p}


async def list_projects(request: Request) -> Response:
    c = ctx(request)
    visible = [p for p in c.store.projects.values() if c.store.can_browse(c.account_id, p["id"])]
    return c.respond([_short(p) for p in visible])


async def search_projects(request: Request) -> Response:
    c = ctx(request)
    query = (c.param("query") or "").lower()
    keys: set[str] = set()
    for k in c.params("keys"):
        keys.update(x.strip().upper() for x in k.split(","))
    type_key = c.param("typeKey")
    found = []
    for p in c.store.projects.values():
        if not c.store.can_browse(c.account_id, p["id"]):
            continue
        if query and query not in p["name"].lower() and query not in p["key"].lower():
            continue
        if keys and p["key"] not in keys:
            continue
        if type_key and p["projectTypeKey"] not in type_key.split(","):
            continue
        found.append(_short(p))
    order = c.param("orderBy") or "key"
    desc = order.startswith("-")
    attr = order.lstrip("+-")
    if attr in ("key", "name", "id"):
        found.sort(key=lambda p: int(p["id"]) if attr == "id" else p[attr], reverse=desc)
    return c.respond(c.page(found, "project/search", max_cap=100))


async def get_project(request: Request) -> Response:
    c = ctx(request)
    p = _require(c, request.path_params["key"])
    return c.respond(p)


async def project_statuses(request: Request) -> Response:
    c = ctx(request)
    p = _require(c, request.path_params["key"])
    wf = c.store.workflows[c.store.project_workflow[p["id"]]]
    ids: list[str] = []
    for t in wf["transitions"]:
        for sid in (*t["from"], t["to"]):
            if sid not in ids:
                ids.append(sid)
    ordered = [s for s in c.store.statuses if s in ids]
    out: list[Any] = []
    for tid in c.store.project_issuetypes[p["id"]]:
        t = c.store.issuetypes[tid]
        out.append(
            {
                "self": t["self"],
                "id": tid,
                "name": t["name"],
                "subtask": t["subtask"],
                "statuses": [c.store.statuses[s] for s in ordered],
            }
        )
    return c.respond(out)


async def project_components(request: Request) -> Response:
    c = ctx(request)
    p = _require(c, request.path_params["key"])
    return c.respond(p["components"])


async def project_versions(request: Request) -> Response:
    c = ctx(request)
    p = _require(c, request.path_params["key"])
    return c.respond(p["versions"])


async def component(request: Request) -> Response:
    c = ctx(request)
    comp = c.store.components.get(request.path_params["id"])
    if comp is None:
        raise JiraHttpError(
            404, [f"The component with id {request.path_params['id']} does not exist."]
        )
    return c.respond(comp)


async def version(request: Request) -> Response:
    c = ctx(request)
    v = c.store.versions.get(request.path_params["id"])
    if v is None:
        raise JiraHttpError(404, [f"Could not find version for id '{request.path_params['id']}'"])
    return c.respond(v)


ROUTES = [
    Route("/project", list_projects),
    Route("/project/search", search_projects),
    Route("/project/{key}", get_project),
    Route("/project/{key}/statuses", project_statuses),
    Route("/project/{key}/components", project_components),
    Route("/project/{key}/versions", project_versions),
    Route("/component/{id}", component),
    Route("/version/{id}", version),
]
