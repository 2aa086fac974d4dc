"""Users who may be assigned, permissions, permission schemes, application roles and project
roles (``jirakit.sandbox.schemes`` derives them from the seeded org)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jirakit.sandbox import schemes
from jirakit.sandbox.app import Ctx, ctx
from jirakit.sandbox.errors import JiraHttpError, bad_request, issue_not_found
from jirakit.sandbox.store import Json


def _project(c: Ctx, ref: str) -> Json:
    p = c.store.project(ref)
    if p is None or not c.store.can_browse(c.account_id, p["id"]):
        raise JiraHttpError(404, [f"No project could be found with key '{ref}'."])
    return p


def _matches(user: Json, query: str) -> bool:
    if not query:
        return True
    q = query.lower()
    hay = f"{user['displayName']} {user.get('emailAddress', '')} {user.get('name', '')}".lower()
    return q in hay or any(w.startswith(q) for w in hay.replace("@", " ").split())


def _assignable(c: Ctx, project: Json) -> list[Json]:
    out = []
    for aid, user in c.store.users.items():
        if not user.get("active", True) or user.get("accountType", "atlassian") != "atlassian":
            continue
        if schemes.has_permission(c.store, aid, "ASSIGNABLE_USER", project):
            out.append(user)
    return out


def _user_page(c: Ctx, users: list[Json]) -> Response:
    start = max(0, c.int_param("startAt", 0))
    size = max(0, min(c.int_param("maxResults", 50), 1000))
    return c.respond(users[start : start + size])


async def assignable_search(request: Request) -> Response:
    """``GET /user/assignable/search``: by ``project``, ``issueKey`` or ``issueId``."""
    c = ctx(request)
    project: Json | None = None
    issue_ref = c.param("issueKey") or c.param("issueId")
    if issue_ref:
        rec = c.store.issue(issue_ref)
        if rec is None or not c.store.can_browse(c.account_id, rec.project_id):
            raise issue_not_found()
        project = c.store.projects[str(rec.project_id)]
    elif c.param("project"):
        project = _project(c, c.param("project") or "")
    else:
        raise bad_request(
            "One of the following parameters must be provided: issueKey, issueId or project."
        )
    query = c.param("query") or c.param("username") or ""
    account = c.param("accountId")
    users = [
        u
        for u in _assignable(c, project)
        if _matches(u, query) and (not account or u["accountId"] == account)
    ]
    return _user_page(c, users)


async def assignable_multi(request: Request) -> Response:
    """``GET /user/assignable/multiProjectSearch``: assignable in every one of ``projectKeys``."""
    c = ctx(request)
    keys = schemes.any_of(c.params("projectKeys"))
    if not keys:
        raise bad_request("The projectKeys parameter is required.")
    projects = [_project(c, k) for k in sorted(keys)]
    query = c.param("query") or c.param("username") or ""
    account = c.param("accountId")
    sets = [{u["accountId"] for u in _assignable(c, p)} for p in projects]
    common = set.intersection(*sets)
    users = [
        u
        for aid, u in c.store.users.items()
        if aid in common and _matches(u, query) and (not account or aid == account)
    ]
    return _user_page(c, users)


async def my_permissions(request: Request) -> Response:
    """``GET /mypermissions?permissions=A,B`` (required on Cloud) in a project or issue
    context, or across all projects without one."""
    c = ctx(request)
    wanted = schemes.any_of(c.params("permissions"))
    if not wanted:
        if c.config.flavour == "cloud":
            raise bad_request("The 'permissions' query parameter is required.")
        wanted = set(schemes.PERMISSION)
    unknown = sorted(k for k in wanted if k not in schemes.PERMISSION)
    if unknown:
        raise bad_request(f"Invalid permission key: {unknown[0]}.")
    project: Json | None = None
    issue_ref = c.param("issueKey") or c.param("issueId")
    if issue_ref:
        rec = c.store.issue(issue_ref)
        if rec is None or not c.store.can_browse(c.account_id, rec.project_id):
            raise JiraHttpError(404, [f"The issue '{issue_ref}' was not found."])
        project = c.store.projects[str(rec.project_id)]
    elif c.param("projectKey") or c.param("projectId"):
        ref = c.param("projectKey") or c.param("projectId") or ""
        project = c.store.project(ref)
        if project is None or not c.store.can_browse(c.account_id, project["id"]):
            raise JiraHttpError(404, [f"No project could be found with key '{ref}'."])
    perms = {
        key: schemes.permission_view(
            key, have=schemes.has_permission(c.store, c.account_id, key, project)
        )
        for key, *_ in schemes.PERMISSIONS
        if key in wanted
    }
    return c.respond({"permissions": perms})


async def all_permissions(request: Request) -> Response:
    c = ctx(request)
    return c.respond(
        {"permissions": {key: schemes.permission_view(key) for key, *_ in schemes.PERMISSIONS}}
    )


def _expand(c: Ctx) -> set[str]:
    return schemes.any_of(c.params("expand"))


async def permission_schemes(request: Request) -> Response:
    c = ctx(request)
    expand = _expand(c)
    scheme = schemes.permission_scheme(expand=bool(expand & {"permissions", "all"}))
    return c.respond({"permissionSchemes": [scheme]})


def _scheme_id(request: Request) -> None:
    raw = request.path_params["schemeId"]
    if raw != str(schemes.PERMISSION_SCHEME_ID):
        raise JiraHttpError(404, [f"A permission scheme with the ID {raw} does not exist."])


async def permission_scheme(request: Request) -> Response:
    c = ctx(request)
    _scheme_id(request)
    return c.respond(schemes.permission_scheme(expand=bool(_expand(c) & {"permissions", "all"})))


async def permission_scheme_grants(request: Request) -> Response:
    c = ctx(request)
    _scheme_id(request)
    return c.respond(
        {
            "permissions": schemes.permission_grants(),
            "expand": "user,group,permissions,projectRole,field,all",
        }
    )


async def project_permission_scheme(request: Request) -> Response:
    c = ctx(request)
    _project(c, request.path_params["key"])
    return c.respond(schemes.permission_scheme(expand=bool(_expand(c) & {"permissions", "all"})))


async def application_roles(request: Request) -> Response:
    c = ctx(request)
    return c.respond(schemes.application_roles(c.store))


async def application_role(request: Request) -> Response:
    c = ctx(request)
    key = request.path_params["key"]
    for role in schemes.application_roles(c.store):
        if role["key"] == key:
            return c.respond(role)
    raise JiraHttpError(404, [f"The application role with key '{key}' does not exist."])


# -- project roles -------------------------------------------------------------------------


async def roles(request: Request) -> Response:
    """``GET /role``: the site's project roles with their default actors."""
    c = ctx(request)
    return c.respond([schemes.role_view(c.store, r, None) for r in schemes.ROLES])


async def role(request: Request) -> Response:
    c = ctx(request)
    ref = request.path_params["id"]
    r = schemes.role_by_ref(ref) if ref.isdigit() else None
    if r is None:
        raise JiraHttpError(404, [f"The project role with ID {ref} does not exist."])
    return c.respond(schemes.role_view(c.store, r, None))


async def project_roles(request: Request) -> Response:
    """``GET /project/{key}/role``: role name -> URL of the project's role."""
    c = ctx(request)
    p = _project(c, request.path_params["key"])
    return c.respond({r.name: f"{c.api}/project/{p['id']}/role/{r.id}" for r in schemes.ROLES})


async def project_role(request: Request) -> Response:
    c = ctx(request)
    p = _project(c, request.path_params["key"])
    ref = request.path_params["id"]
    r = schemes.role_by_ref(ref) if ref.isdigit() else None
    if r is None:
        raise JiraHttpError(404, ["Can not retrieve a role actor for a null project role."])
    view = schemes.role_view(c.store, r, p)
    if c.bool_param("excludeInactiveUsers", False):
        view["actors"] = [
            a
            for a in view["actors"]
            if "actorUser" not in a or c.store.users[a["actorUser"]["accountId"]].get("active")
        ]
    return c.respond(view)


async def project_role_details(request: Request) -> Response:
    c = ctx(request)
    p = _project(c, request.path_params["key"])
    current = c.bool_param("currentMember", False)
    out: list[Any] = []
    for r in schemes.ROLES:
        if current and c.account_id not in schemes.role_members(c.store, r, p):
            continue
        view = schemes.role_view(c.store, r, p, actors=False)
        view.pop("translatedName", None)
        out.append(view)
    return c.respond(out)


ROUTES = [
    Route("/user/assignable/search", assignable_search),
    Route("/user/assignable/multiProjectSearch", assignable_multi),
    Route("/mypermissions", my_permissions),
    Route("/permissions", all_permissions),
    Route("/permissionscheme", permission_schemes),
    Route("/permissionscheme/{schemeId}", permission_scheme),
    Route("/permissionscheme/{schemeId}/permission", permission_scheme_grants),
    Route("/applicationrole", application_roles),
    Route("/applicationrole/{key}", application_role),
    Route("/role", roles),
    Route("/role/{id}", role),
    Route("/project/{key}/permissionscheme", project_permission_scheme),
    Route("/project/{key}/role", project_roles),
    Route("/project/{key}/role/{id}", project_role),
    Route("/project/{key}/roledetails", project_role_details),
]
