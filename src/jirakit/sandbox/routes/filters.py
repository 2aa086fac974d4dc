"""Saved filters (``/filter``, search, my, favourite) and ``/jql/autocompletedata``.

A filter's JQL goes through the sandbox's search engine, so a bad query gets the same
400 (Jira's parser and validation messages) as ``search/jql``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jirakit.jql.messages import FUNCTION_NAMES, RESERVED_WORDS
from jirakit.sandbox.app import Ctx, ctx
from jirakit.sandbox.errors import JiraHttpError, bad_request
from jirakit.sandbox.inputs import INVALID_PAYLOAD, body_str
from jirakit.sandbox.store import Json
from jirakit.sandbox.views import user_full

EXPANDABLE = ("sharedUsers", "subscriptions")


def _not_found(raw: str) -> JiraHttpError:
    # Jira answers 400 (its spec lists no 404 here) for a missing or hidden filter
    return bad_request(
        "The selected filter is not available to you, perhaps it has been deleted or had "
        "its permissions changed."
    )


def _require(c: Ctx, raw: str, *, owner: bool = False) -> Json:
    f = c.store.filters.get(raw)
    if f is None:
        raise _not_found(raw)
    if owner and f["owner"] != c.account_id:
        raise bad_request("You do not have permission to edit this filter.")
    return f


def _view(c: Ctx, f: Json, *, jql: bool = True, details: bool = False) -> Json:
    owner = user_full(c.store, f["owner"]) if f["owner"] in c.store.users else None
    out: Json = {
        "self": f"{c.api}/filter/{f['id']}",
        "id": f["id"],
        "name": f["name"],
    }
    if f.get("description"):
        out["description"] = f["description"]
    if owner is not None:
        out["owner"] = {k: owner[k] for k in ("self", "accountId", "displayName", "active")}
    if jql:
        out["jql"] = f["jql"]
    out["viewUrl"] = f"{c.base}/issues/?filter={f['id']}"
    out["searchUrl"] = f"{c.api}/search/jql?jql={f['jql']}"
    out["favourite"] = c.account_id in f["favourites"]
    out["favouritedCount"] = len(f["favourites"])
    out["sharePermissions"] = [_share_view(c, s) for s in f.get("shares", [])]
    out["editPermissions"] = []
    if details:
        out["expand"] = "description,owner,jql,viewUrl,searchUrl,favourite,favouritedCount"
        out["subscriptions"] = []
    else:
        out["subscriptions"] = {"size": 0, "items": [], "max-results": 1000, "start-index": 0}
    return out


def _validated(c: Ctx, body: Any, *, partial: bool) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request("Invalid request payload. Refer to the REST API documentation.")
    out: dict[str, Any] = {}
    if "name" in body or not partial:
        name = body.get("name")
        name = str(name) if isinstance(name, int | float) and not isinstance(name, bool) else name
        if not isinstance(name, str) or not name.strip():
            raise bad_request(errors={"filterName": "You must specify a name for this filter."})
        out["name"] = name.strip()
    if "jql" in body:
        jql = body_str(body, "jql") or ""
        c.state.search.validate(jql, c.account_id)  # 400 with Jira's messages
        out["jql"] = jql
    elif not partial:
        out["jql"] = ""
    if "description" in body:
        out["description"] = body_str(body, "description") or ""
    if "sharePermissions" in body:
        out["shares"] = _shares(c, body["sharePermissions"])
    return out


SHARE_TYPES = ("global", "authenticated", "loggedin", "project", "group")


def _shares(c: Ctx, raw: Any) -> list[Json]:
    """``sharePermissions`` of a new or changed filter, stored by reference: ``global``,
    ``authenticated`` (``loggedin``), ``project`` (``{"project": {"id"}}``), ``group``
    (``{"group": {"name"|"groupId"}}``); what does not exist is a 400."""
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(s, dict) for s in raw):
        raise bad_request(INVALID_PAYLOAD)
    out: list[Json] = []
    for n, share in enumerate(raw, start=1):
        kind = body_str(share, "type")
        if kind not in SHARE_TYPES:
            raise bad_request(errors={"sharePermissions": f"Invalid share type '{kind}'."})
        entry: Json = {"id": n, "type": "authenticated" if kind == "loggedin" else kind}
        if kind == "project":
            ref = share.get("project") if isinstance(share.get("project"), dict) else {}
            project = c.store.project(str(ref.get("id") or ref.get("key") or ""))
            if project is None or not c.store.can_browse(c.account_id, project["id"]):
                raise bad_request(errors={"sharePermissions": "The project does not exist."})
            entry["project"] = project["id"]
        elif kind == "group":
            ref = share.get("group") if isinstance(share.get("group"), dict) else {}
            group = next(
                (
                    g
                    for g in c.store.groups.values()
                    if g["name"] == ref.get("name") or g["groupId"] == ref.get("groupId")
                ),
                None,
            )
            if group is None:
                raise bad_request(errors={"sharePermissions": "The group does not exist."})
            entry["group"] = group["name"]
        out.append(entry)
    return out


def _share_view(c: Ctx, share: Json) -> Json:
    out: Json = {"id": share["id"], "type": share["type"]}
    project = c.store.projects.get(str(share.get("project", "")))
    if project is not None:
        out["project"] = {k: project[k] for k in ("self", "id", "key", "name", "avatarUrls")}
    group = c.store.groups.get(str(share.get("group", "")))
    if group is not None:
        out["group"] = {
            "name": group["name"],
            "groupId": group["groupId"],
            "self": f"{c.api}/group?groupId={group['groupId']}",
        }
    return out


async def filter_permissions(request: Request) -> Response:
    """``GET /filter/{id}/permission``: the filter's share permissions."""
    c = ctx(request)
    f = _require(c, request.path_params["id"])
    return c.respond([_share_view(c, s) for s in f.get("shares", [])])


def _name_taken(c: Ctx, name: str, but: str | None = None) -> bool:
    return any(
        f["name"].casefold() == name.casefold() and f["owner"] == c.account_id and f["id"] != but
        for f in c.store.filters.values()
    )


async def create_filter(request: Request) -> Response:
    c = ctx(request)
    body = await c.json()
    values = _validated(c, body, partial=False)
    with c.store.lock:
        if _name_taken(c, values["name"]):
            raise bad_request(errors={"filterName": "Filter with same name already exists."})
        fid = str(c.store.next_id("filter"))
        favourite = bool(body.get("favourite")) if isinstance(body, dict) else False
        f: Json = {
            "id": fid,
            "name": values["name"],
            "jql": values["jql"],
            "description": values.get("description", ""),
            "owner": c.account_id,
            "favourites": [c.account_id] if favourite else [],
        }
        if values.get("shares"):
            f["shares"] = values["shares"]
        c.store.filters[fid] = f
        c.store.changed()
        return c.respond(_view(c, f))


async def get_filter(request: Request) -> Response:
    c = ctx(request)
    return c.respond(_view(c, _require(c, request.path_params["id"])))


async def update_filter(request: Request) -> Response:
    c = ctx(request)
    body = await c.json()
    values = _validated(c, body, partial=True)
    with c.store.lock:
        f = _require(c, request.path_params["id"], owner=True)
        if "name" in values and _name_taken(c, values["name"], but=f["id"]):
            raise bad_request(errors={"filterName": "Filter with same name already exists."})
        new = {**f, **values}
        if isinstance(body, dict) and "favourite" in body:
            favs = [a for a in f["favourites"] if a != c.account_id]
            new["favourites"] = [*favs, c.account_id] if body["favourite"] else favs
        c.store.filters[f["id"]] = new
        c.store.changed()
        return c.respond(_view(c, new))


async def delete_filter(request: Request) -> Response:
    c = ctx(request)
    with c.store.lock:
        f = _require(c, request.path_params["id"], owner=True)
        del c.store.filters[f["id"]]
        c.store.changed()
    return c.empty()


async def search_filters(request: Request) -> Response:
    c = ctx(request)
    name = (c.param("filterName") or "").casefold()
    owner = c.param("accountId")
    ids = {i for raw in c.params("id") for i in raw.split(",")}
    expand = {e.strip() for e in (c.param("expand") or "").split(",")}
    found = [
        f
        for f in c.store.filters.values()
        if (not name or name in f["name"].casefold())
        and (not owner or f["owner"] == owner)
        and (not ids or f["id"] in ids)
    ]
    order = c.param("orderBy") or "name"
    attr = order.lstrip("+-")
    if attr in ("id", "name", "description"):
        found.sort(
            key=lambda f: int(f["id"]) if attr == "id" else str(f.get(attr, "")).casefold(),
            reverse=order.startswith("-"),
        )
    values = [_view(c, f, jql="jql" in expand, details=True) for f in found]
    return c.respond(c.page(values, "filter/search", max_cap=100))


async def my_filters(request: Request) -> Response:
    c = ctx(request)
    include_favs = c.bool_param("includeFavourites", False)
    mine = [
        _view(c, f)
        for f in c.store.filters.values()
        if f["owner"] == c.account_id or (include_favs and c.account_id in f["favourites"])
    ]
    return c.respond(mine)


async def favourite_filters(request: Request) -> Response:
    c = ctx(request)
    favs = [_view(c, f) for f in c.store.filters.values() if c.account_id in f["favourites"]]
    return c.respond(favs)


# -- jql/autocompletedata --------------------------------------------------------------------

_TYPES = {
    "string": "java.lang.String",
    "number": "java.lang.Number",
    "date": "java.util.Date",
    "datetime": "java.util.Date",
    "user": "com.atlassian.jira.user.ApplicationUser",
    "option": "com.atlassian.jira.issue.customfields.option.Option",
    "project": "com.atlassian.jira.project.Project",
    "status": "com.atlassian.jira.issue.status.Status",
    "priority": "com.atlassian.jira.issue.priority.Priority",
    "issuetype": "com.atlassian.jira.issue.issuetype.IssueType",
    "version": "com.atlassian.jira.project.version.Version",
    "component": "com.atlassian.jira.bc.project.component.ProjectComponent",
}


def _operators(schema: Json) -> list[str]:
    kind = schema.get("items") if schema.get("type") == "array" else schema.get("type")
    if kind in ("string",) and schema.get("system") not in ("labels",):
        return ["~", "!~", "is", "is not"]
    ops = ["=", "!=", "in", "not in", "is", "is not"]
    if kind in ("number", "date", "datetime", "version"):
        ops += ["<", "<=", ">", ">="]
    if schema.get("system") in ("status", "assignee", "reporter", "priority", "resolution"):
        ops += ["was", "was in", "was not", "was not in", "changed"]
    return ops


async def autocomplete_data(request: Request) -> Response:
    c = ctx(request)
    fields = []
    for f in c.store.fields:
        if not f.get("searchable", True):
            continue
        schema = f.get("schema") or {}
        kind = schema.get("items") if schema.get("type") == "array" else schema.get("type")
        names = f.get("clauseNames") or [f["id"]]
        entry: Json = {
            "value": names[-1] if f.get("custom") else names[0],
            "displayName": f["name"] if not f.get("custom") else f"{names[-1]} - {names[0]}",
            "orderable": str(bool(f.get("orderable", True))).lower(),
            "searchable": "true",
            "operators": _operators(schema),
            "types": [_TYPES.get(str(kind), "java.lang.String")],
        }
        if f.get("custom"):
            entry["cfid"] = names[0]
        fields.append(entry)
    functions = [
        {
            "value": name,
            "displayName": name,
            "types": ["java.lang.String"],
            **({"isList": "true"} if name.endswith("Sprints()") or "Versions" in name else {}),
        }
        for name in FUNCTION_NAMES
    ]
    return c.respond(
        {
            "visibleFieldNames": fields,
            "visibleFunctionNames": functions,
            "jqlReservedWords": sorted(RESERVED_WORDS),
        }
    )


ROUTES = [
    Route("/filter", create_filter, methods=["POST"]),
    Route("/filter/search", search_filters, methods=["GET"]),
    Route("/filter/my", my_filters, methods=["GET"]),
    Route("/filter/favourite", favourite_filters, methods=["GET"]),
    Route("/filter/{id}", get_filter, methods=["GET"]),
    Route("/filter/{id}/permission", filter_permissions, methods=["GET"]),
    Route("/filter/{id}", update_filter, methods=["PUT"]),
    Route("/filter/{id}", delete_filter, methods=["DELETE"]),
    Route("/jql/autocompletedata", autocomplete_data, methods=["GET"]),
]
