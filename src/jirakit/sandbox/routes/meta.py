"""Site-level metadata: myself, serverInfo, fields, priorities, resolutions, issue types,
statuses and status categories."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jirakit.sandbox.app import ctx
from jirakit.sandbox.clock import jira_time
from jirakit.sandbox.errors import JiraHttpError
from jirakit.sandbox.views import user_full


async def myself(request: Request) -> Response:
    c = ctx(request)
    expand = c.param("expand", "") or ""
    return c.respond(user_full(c.store, c.account_id, expand_groups="groups" in expand))


async def server_info(request: Request) -> Response:
    c = ctx(request)
    cloud = c.config.flavour == "cloud"
    data = {
        "baseUrl": c.base,
        "displayUrl": c.base,
        "version": "1001.0.0-SNAPSHOT" if cloud else "9.12.4",
        "versionNumbers": [1001, 0, 0] if cloud else [9, 12, 4],
        "deploymentType": "Cloud" if cloud else "Server",
        "buildNumber": 100287 if cloud else 9120004,
        "buildDate": "2026-01-01T00:00:00.000+0000",
        "serverTime": jira_time(c.now()),
        "scmInfo": "0" * 40,
        "serverTitle": c.store.site.get("serverTitle", "Jira"),
        "defaultLocale": {"locale": "en_US"},
        "serverTimeZone": "Etc/UTC",
    }
    if cloud:
        data.pop("defaultLocale")
        data.pop("serverTimeZone")
    return c.respond(data)


async def fields(request: Request) -> Response:
    c = ctx(request)
    return c.respond(c.store.fields)


async def priorities(request: Request) -> Response:
    c = ctx(request)
    return c.respond(list(c.store.priorities.values()))


async def priority(request: Request) -> Response:
    c = ctx(request)
    p = c.store.priorities.get(request.path_params["id"])
    if p is None:
        raise JiraHttpError(404, [f"Priority with ID {request.path_params['id']} not found."])
    return c.respond(p)


async def priority_search(request: Request) -> Response:
    c = ctx(request)
    values = list(c.store.priorities.values())
    return c.respond(c.page(values, "priority/search"))


async def resolutions(request: Request) -> Response:
    c = ctx(request)
    return c.respond(list(c.store.resolutions.values()))


async def resolution(request: Request) -> Response:
    c = ctx(request)
    r = c.store.resolutions.get(request.path_params["id"])
    if r is None:
        raise JiraHttpError(
            404, [f"The resolution with ID {request.path_params['id']} does not exist."]
        )
    return c.respond(r)


async def resolution_search(request: Request) -> Response:
    c = ctx(request)
    values = [{**r, "default": r["id"] == "10000"} for r in c.store.resolutions.values()]
    return c.respond(c.page(values, "resolution/search"))


async def issuetypes(request: Request) -> Response:
    c = ctx(request)
    return c.respond(list(c.store.issuetypes.values()))


async def issuetype(request: Request) -> Response:
    c = ctx(request)
    t = c.store.issuetypes.get(request.path_params["id"])
    if t is None:
        raise JiraHttpError(404, ["The issue type selected is invalid."])
    return c.respond(t)


async def statuses(request: Request) -> Response:
    c = ctx(request)
    return c.respond(list(c.store.statuses.values()))


async def status(request: Request) -> Response:
    c = ctx(request)
    ref = request.path_params["idOrName"]
    for s in c.store.statuses.values():
        if s["id"] == ref or s["name"].lower() == ref.lower():
            return c.respond(s)
    raise JiraHttpError(404, [f"The status with ID or name '{ref}' does not exist."])


async def status_categories(request: Request) -> Response:
    c = ctx(request)
    return c.respond(list(c.store.status_categories.values()))


ROUTES = [
    Route("/myself", myself),
    Route("/serverInfo", server_info),
    Route("/field", fields),
    Route("/priority", priorities),
    Route("/priority/search", priority_search),
    Route("/priority/{id}", priority),
    Route("/resolution", resolutions),
    Route("/resolution/search", resolution_search),
    Route("/resolution/{id}", resolution),
    Route("/issuetype", issuetypes),
    Route("/issuetype/{id}", issuetype),
    Route("/status", statuses),
    Route("/status/{idOrName}", status),
    Route("/statuscategory", status_categories),
]
