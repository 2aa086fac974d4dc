"""Users and groups: /user, /user/search, /users/search, /user/bulk, /group/member,
/groups/picker, group changes."""

from __future__ import annotations

from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jirakit.sandbox.app import Ctx, ctx
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


def _same_group(g: dict[str, str], name: object, gid: object) -> bool:
    """Whether ``g`` is the group named ``name`` (Jira Cloud compares group names
    case-insensitively) or with id ``gid``."""
    if isinstance(name, str) and name and g["name"].casefold() == name.casefold():
        return True
    return isinstance(gid, str) and bool(gid) and g["groupId"] == gid


def _lookup_group(c: Ctx, name: str | None, gid: str | None) -> dict[str, str] | None:
    return next((g for g in c.store.groups.values() if _same_group(g, name, gid)), None)


async def group_members(request: Request) -> Response:
    c = ctx(request)
    name = c.param("groupname")
    gid = c.param("groupId")
    group = _lookup_group(c, name, gid)
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
    """``GET /groups/picker``: groups whose names contain ``query`` (case-sensitive unless
    ``caseInsensitive=true``), sorted by name, minus ``exclude``/``excludeId``; ``html``
    marks the match with ``<b>``."""
    c = ctx(request)
    query = c.param("query") or ""
    fold = c.bool_param("caseInsensitive", False)
    size = max(0, c.int_param("maxResults", 20))
    excluded = set(c.params("exclude")) | set(c.params("excludeId"))

    def at(name: str) -> int:
        return name.lower().find(query.lower()) if fold else name.find(query)

    groups = sorted(
        (
            g
            for g in c.store.groups.values()
            if at(g["name"]) >= 0 and not {g["name"], g["groupId"]} & excluded
        ),
        key=lambda g: str(g["name"]).lower(),
    )

    def html(name: str) -> str:
        i = at(name)
        if not query:
            return escape(name)
        end = i + len(query)
        return f"{escape(name[:i])}<b>{escape(name[i:end])}</b>{escape(name[end:])}"

    shown = groups[:size]
    return c.respond(
        {
            "header": f"Showing {len(shown)} of {len(groups)} matching groups",
            "total": len(groups),
            "groups": [
                {"name": g["name"], "html": html(g["name"]), "labels": [], "groupId": g["groupId"]}
                for g in shown
            ],
        }
    )


def _group(c: object, *, required: bool = True) -> dict[str, str]:
    from jirakit.sandbox.app import Ctx

    assert isinstance(c, Ctx)
    name, gid = c.param("groupname"), c.param("groupId")
    if not name and not gid:
        raise bad_request("You must specify a group name or group ID.")
    group = _lookup_group(c, name, gid)
    if group is None:
        raise JiraHttpError(404, ["Specified group does not exist."])
    return dict(group)


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


GROUP_EXISTS = "A group or user with this name already exists."


async def create_group(request: Request) -> Response:
    c = ctx(request)
    body = await c.json()
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise bad_request(errors={"name": "You must specify a group name."})
    with c.store.lock:
        if _lookup_group(c, name, None) is not None:
            raise bad_request(GROUP_EXISTS)
        c.store.groups[name] = {"name": name, "groupId": _new_group_id(c)}
        c.store.group_members[name] = []
        c.store.changed()
        c.state.search.invalidate_meta()
        return c.respond(_group_view(c, name), 201)


def _new_group_id(c: Ctx) -> str:
    """A group id never given before: from the store's counter (persisted with it), so
    deleting a group cannot hand its id to the next one."""
    while True:
        n = c.store.next_id("group")
        gid = f"{n:08x}-0000-4000-8000-{n:012x}"
        if _lookup_group(c, None, gid) is None:
            return gid


def _swap_group(c: Ctx, group: dict[str, str]) -> dict[str, str] | None:
    """The group named by ``swapGroup``/``swapGroupId``, if any (400 when unknown)."""
    name, gid = c.param("swapGroup"), c.param("swapGroupId")
    if not name and not gid:
        return None
    swap = _lookup_group(c, name, gid)
    if swap is None:
        raise bad_request(f"The group '{name or gid}' to transfer restrictions to does not exist.")
    if swap["name"] == group["name"]:
        raise bad_request("You cannot swap a group with itself.")
    return dict(swap)


def _transfer_restrictions(c: Ctx, old: dict[str, str], new: dict[str, str] | None) -> None:
    """Comments and worklogs visible only to ``old`` become visible to ``new`` (Jira's
    swap group); without one they keep pointing at the deleted group (seen by nobody)."""
    if new is None:
        return

    def moved(entry: dict[str, Any]) -> dict[str, Any]:
        seen = entry.get("visibility")
        if not isinstance(seen, dict) or seen.get("type") != "group":
            return entry
        if not _same_group(old, seen.get("value"), seen.get("identifier")):
            return entry
        swapped = {"type": "group", "value": new["name"], "identifier": new["groupId"]}
        return {**entry, "visibility": swapped}

    for rec in c.store.issues.values():
        comments = [moved(x) for x in rec.comments]
        if any(a is not b for a, b in zip(comments, rec.comments, strict=True)):
            rec.comments = comments
        worklogs = [moved(x) for x in rec.worklogs]
        if any(a is not b for a, b in zip(worklogs, rec.worklogs, strict=True)):
            rec.worklogs = worklogs


async def delete_group(request: Request) -> Response:
    """``DELETE /group?groupname=|groupId=`` (``swapGroup``/``swapGroupId``: who inherits
    the deleted group's comment and worklog restrictions)."""
    c = ctx(request)
    with c.store.lock:
        group = _group(c)
        if group["name"] in ("jira-administrators", "site-admins"):
            raise bad_request("You cannot delete a group that grants you administrative rights.")
        swap = _swap_group(c, group)
        _transfer_restrictions(c, group, swap)
        del c.store.groups[group["name"]]
        c.store.group_members.pop(group["name"], None)
        for pid, groups in list(c.store.project_access.items()):
            c.store.project_access[pid] = [g for g in groups if not _same_group(group, g, None)]
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
