"""Users and groups: /user, /user/search, /users/search, /user/bulk, /group/member,
/groups/picker, group changes."""

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


async def all_users(request: Request) -> Response:
    """``GET /users/search`` (Cloud): every user, apps and inactive ones included, paged by
    startAt/maxResults over a bare array (a short page is the last)."""
    c = ctx(request)
    start = max(0, c.int_param("startAt", 0))
    size = max(0, min(c.int_param("maxResults", 50), 1000))
    users = sorted(c.store.users.values(), key=lambda u: str(u["accountId"]))
    return c.respond(users[start : start + size])


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


def _group(c: object, *, required: bool = True) -> dict[str, str]:
    from jirakit.sandbox.app import Ctx

    assert isinstance(c, Ctx)
    name, gid = c.param("groupname"), c.param("groupId")
    if not name and not gid:
        raise bad_request("You must specify a group name or group ID.")
    for g in c.store.groups.values():
        if (name and g["name"] == name) or (gid and g["groupId"] == gid):
            return dict(g)
    raise JiraHttpError(404, ["Specified group does not exist."])


def _group_view(c: object, name: str) -> dict[str, object]:
    from jirakit.sandbox.app import Ctx

    assert isinstance(c, Ctx)
    g = c.store.groups[name]
    members = c.store.group_members.get(name, [])
    return {
        "name": name,
        "groupId": g["groupId"],
        "self": f"{c.api}/group?groupId={g['groupId']}",
        "users": {
            "size": len(members),
            "items": [],
            "max-results": 50,
            "start-index": 0,
            "end-index": 0,
        },
        "expand": "users",
    }


async def add_group_user(request: Request) -> Response:
    c = ctx(request)
    body = await c.json()
    aid = body.get("accountId") or body.get("name") if isinstance(body, dict) else None
    with c.store.lock:
        group = _group(c)
        user = c.store.users.get(str(aid)) if aid else None
        if user is None and aid:
            user = c.store.user_by_login(str(aid))
        if user is None:
            raise bad_request(errors={"accountId": "The user does not exist."})
        members = c.store.group_members.setdefault(group["name"], [])
        if user["accountId"] in members:
            raise bad_request(
                f"Cannot add user. '{user['displayName']}' is already a member of '{group['name']}'"
            )
        c.store.group_members[group["name"]] = [*members, user["accountId"]]
        c.store.changed()
        c.state.search.invalidate_meta()
        return c.respond(_group_view(c, group["name"]), 201)


async def remove_group_user(request: Request) -> Response:
    c = ctx(request)
    aid = c.param("accountId") or c.param("username")
    if not aid:
        raise bad_request("The accountId query parameter needs to be provided.")
    with c.store.lock:
        group = _group(c)
        user = c.store.users.get(aid) or c.store.user_by_login(aid)
        members = c.store.group_members.get(group["name"], [])
        if user is None or user["accountId"] not in members:
            raise bad_request(f"Cannot remove user '{aid}' from group '{group['name']}'.")
        c.store.group_members[group["name"]] = [m for m in members if m != user["accountId"]]
        c.store.changed()
        c.state.search.invalidate_meta()
    return c.empty(200)


async def create_group(request: Request) -> Response:
    c = ctx(request)
    body = await c.json()
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise bad_request(errors={"name": "You must specify a group name."})
    with c.store.lock:
        if name in c.store.groups:
            raise bad_request(errors={"name": "A group with that name already exists."})
        n = len(c.store.groups) + 1
        c.store.groups[name] = {"name": name, "groupId": f"{n:08x}-0000-4000-8000-{n:012x}"}
        c.store.group_members[name] = []
        c.store.changed()
        c.state.search.invalidate_meta()
        return c.respond(_group_view(c, name), 201)


async def delete_group(request: Request) -> Response:
    c = ctx(request)
    with c.store.lock:
        group = _group(c)
        if group["name"] in ("jira-administrators", "site-admins"):
            raise bad_request("You cannot delete a group that grants you administrative rights.")
        del c.store.groups[group["name"]]
        c.store.group_members.pop(group["name"], None)
        for pid, groups in list(c.store.project_access.items()):
            c.store.project_access[pid] = [g for g in groups if g != group["name"]]
        c.store.changed()
        c.state.search.invalidate_meta()
    return c.empty(200)


ROUTES = [
    Route("/group", create_group, methods=["POST"]),
    Route("/group", delete_group, methods=["DELETE"]),
    Route("/group/user", add_group_user, methods=["POST"]),
    Route("/group/user", remove_group_user, methods=["DELETE"]),
    Route("/user", get_user),
    Route("/user/search", search_users),
    Route("/users/search", all_users),
    Route("/users", all_users),
    Route("/user/bulk", bulk_users),
    Route("/group/member", group_members),
    Route("/groups/picker", groups_picker),
]
