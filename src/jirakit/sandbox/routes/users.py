"""Users and groups: /user, /user/search, /user/bulk, /group/member, /groups/picker."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jirakit.sandbox.app import ctx
from jirakit.sandbox.errors import JiraHttpError, bad_request
from jirakit.sandbox.views import user_full


def _find(c: object, request: Request) -> str:
    from jirakit.sandbox.app import Ctx

    assert isinstance(c, Ctx)
    aid = c.param("accountId")
    if aid:
        if aid in c.store.users:
            return aid
        raise JiraHttpError(
            404, ["Specified user does not exist or you do not have required permissions"]
        )
    name = c.param("username") or c.param("key")
    if name:
        for u in c.store.users.values():
            if u.get("name") == name or u.get("key") == name:
                return str(u["accountId"])
        raise JiraHttpError(404, [f"The user named '{name}' does not exist"])
    raise bad_request("The query parameter 'accountId' is required.")


async def get_user(request: Request) -> Response:
    c = ctx(request)
    aid = _find(c, request)
    return c.respond(user_full(c.store, aid, expand_groups="groups" in (c.param("expand") or "")))


async def search_users(request: Request) -> Response:
    c = ctx(request)
    query = (c.param("query") or c.param("username") or "").lower()
    aid = c.param("accountId")
    if not query and not aid and c.version == 3:
        raise bad_request("The query parameter 'query' is required.")
    start = max(0, c.int_param("startAt", 0))
    size = max(0, min(c.int_param("maxResults", 50), 1000))
    found = []
    for u in c.store.users.values():
        if aid and u["accountId"] != aid:
            continue
        hay = f"{u['displayName']} {u.get('emailAddress', '')} {u.get('name', '')}".lower()
        if (
            not query
            or query == "."
            or any(w.startswith(query) for w in hay.replace("@", " ").split())
            or query in hay
            or query == u["accountId"].lower()
        ):
            found.append(u)
    return c.respond(found[start : start + size])


async def bulk_users(request: Request) -> Response:
    c = ctx(request)
    ids = c.params("accountId")
    if not ids:
        raise bad_request("The query parameter 'accountId' is required.")
    users = [c.store.users[a] for a in ids if a in c.store.users]
    return c.respond(c.page(users, "user/bulk", max_cap=200))


async def group_members(request: Request) -> Response:
    c = ctx(request)
    name = c.param("groupname")
    gid = c.param("groupId")
    group = None
    for g in c.store.groups.values():
        if (name and g["name"] == name) or (gid and g["groupId"] == gid):
            group = g
    if group is None:
        if not name and not gid:
            raise bad_request("You must specify a group name or group ID.")
        raise JiraHttpError(404, ["Group not found."])
    include_inactive = c.bool_param("includeInactiveUsers", False)
    members = [c.store.users[a] for a in c.store.group_members[group["name"]]]
    if not include_inactive:
        members = [m for m in members if m["active"]]
    page = c.page(members, f"group/member?groupId={group['groupId']}", max_cap=50)
    page["self"] = page["self"].replace("?maxResults", "&maxResults")
    if "nextPage" in page:
        page["nextPage"] = page["nextPage"].replace("?maxResults", "&maxResults")
    return c.respond(page)


async def groups_picker(request: Request) -> Response:
    c = ctx(request)
    query = (c.param("query") or "").lower()
    size = c.int_param("maxResults", 20)
    groups = [g for g in c.store.groups.values() if query in g["name"].lower()]
    return c.respond(
        {
            "header": f"Showing {min(size, len(groups))} of {len(groups)} matching groups",
            "total": len(groups),
            "groups": [
                {"name": g["name"], "html": g["name"], "labels": [], "groupId": g["groupId"]}
                for g in groups[:size]
            ],
        }
    )


ROUTES = [
    Route("/user", get_user),
    Route("/user/search", search_users),
    Route("/user/bulk", bulk_users),
    Route("/group/member", group_members),
    Route("/groups/picker", groups_picker),
]
