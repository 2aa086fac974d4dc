"""Site and project configuration reads: project types and categories, paged versions and
components, project email, avatars and security levels; screens, field configurations and
the schemes; workflows; dashboards; groups in bulk; navigator columns; application
properties; time tracking; labels (``jirakit.sandbox.schemes`` derives the data)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jirakit.sandbox import schemes
from jirakit.sandbox.app import Ctx, ctx
from jirakit.sandbox.errors import JiraHttpError, bad_request
from jirakit.sandbox.store import Json


def _project(c: Ctx, ref: str) -> Json:
    p = c.store.project(ref)
    if p is None or not c.store.can_browse(c.account_id, p["id"]):
        raise JiraHttpError(404, [f"No project could be found with key '{ref}'."])
    return p


def _ids(c: Ctx, name: str = "id") -> set[str]:
    return schemes.any_of(c.params(name))


def _filter_ids(values: list[Json], wanted: set[str], attr: str = "id") -> list[Json]:
    return [v for v in values if not wanted or str(v[attr]) in wanted]


def _int_path(request: Request, name: str) -> int:
    raw = request.path_params[name]
    if not raw.isdigit():
        raise JiraHttpError(404, [f"'{raw}' is not a valid id."])
    return int(raw)


# -- projects --------------------------------------------------------------------------------


async def project_types(request: Request) -> Response:
    c = ctx(request)
    return c.respond([schemes.project_type(k) for k in schemes.PROJECT_TYPES])


async def project_type(request: Request) -> Response:
    c = ctx(request)
    key = request.path_params["typeKey"]
    if key not in schemes.PROJECT_TYPES:
        raise JiraHttpError(404, [f"The project type '{key}' does not exist."])
    return c.respond(schemes.project_type(key))


async def project_categories(request: Request) -> Response:
    c = ctx(request)
    return c.respond(schemes.project_categories())


async def project_category(request: Request) -> Response:
    c = ctx(request)
    cid = request.path_params["id"]
    for cat in schemes.project_categories():
        if cat["id"] == cid:
            return c.respond(cat)
    raise JiraHttpError(404, [f"The project category with ID {cid} does not exist."])


VERSION_ORDER: dict[str, Callable[[Json], Any]] = {
    "sequence": lambda v: int(v["id"]),
    "name": lambda v: str(v["name"]).casefold(),
    "releaseDate": lambda v: v.get("releaseDate") or "9999",
    "startDate": lambda v: v.get("startDate") or "9999",
    "description": lambda v: str(v.get("description") or ""),
}


async def project_versions_page(request: Request) -> Response:
    """``GET /project/{key}/version``: paged, ``query``, ``status``, ``orderBy``."""
    c = ctx(request)
    p = _project(c, request.path_params["key"])
    versions = list(p["versions"])
    query = (c.param("query") or "").casefold()
    if query:
        versions = [
            v
            for v in versions
            if query in str(v["name"]).casefold()
            or query in str(v.get("description") or "").casefold()
        ]
    statuses = schemes.any_of(c.params("status"))
    if statuses:

        def status_of(v: Json) -> str:
            if v.get("archived"):
                return "archived"
            return "released" if v.get("released") else "unreleased"

        versions = [v for v in versions if status_of(v) in statuses]
    order = c.param("orderBy") or "sequence"
    attr = order.lstrip("+-")
    if attr not in VERSION_ORDER:
        raise bad_request(f"Invalid orderBy value: {order}.")
    versions.sort(key=VERSION_ORDER[attr], reverse=order.startswith("-"))
    return c.respond(c.page(versions, f"project/{p['id']}/version", max_cap=50))


async def project_components_page(request: Request) -> Response:
    """``GET /project/{key}/component``: paged, with each component's issue count."""
    c = ctx(request)
    p = _project(c, request.path_params["key"])
    counts: dict[str, int] = {}
    for rec in c.store.iter_project_issues(int(p["id"])):
        for comp in rec.fields.get("components") or ():
            counts[comp["id"]] = counts.get(comp["id"], 0) + 1
    query = (c.param("query") or "").casefold()
    lead = p.get("lead")
    out = []
    for comp in p["components"]:
        if (
            query
            and query not in comp["name"].casefold()
            and query not in str(comp.get("description") or "").casefold()
        ):
            continue
        assignee_type = comp.get("assigneeType", "PROJECT_DEFAULT")
        real = comp.get("lead") if assignee_type == "COMPONENT_LEAD" else lead
        item = {
            **comp,
            "issueCount": counts.get(comp["id"], 0),
            "realAssigneeType": "COMPONENT_LEAD"
            if assignee_type == "COMPONENT_LEAD"
            else "PROJECT_LEAD",
            "isAssigneeTypeValid": real is not None,
        }
        if real is not None:
            item["realAssignee"] = real
        out.append(item)
    order = c.param("orderBy") or "name"
    attr = order.lstrip("+-")
    keys: dict[str, Callable[[Json], Any]] = {
        "name": lambda x: str(x["name"]).casefold(),
        "description": lambda x: str(x.get("description") or ""),
        "issueCount": lambda x: x["issueCount"],
        "lead": lambda x: str((x.get("lead") or {}).get("displayName") or ""),
    }
    if attr not in keys:
        raise bad_request(f"Invalid orderBy value: {order}.")
    out.sort(key=keys[attr], reverse=order.startswith("-"))
    return c.respond(c.page(out, f"project/{p['key']}/component", max_cap=50))


async def project_email(request: Request) -> Response:
    """The address the project's notifications come from: the site's ``jira@`` sender."""
    c = ctx(request)
    _project(c, request.path_params["key"])
    host = urlsplit(c.base).hostname or "localhost"
    return c.respond({"emailAddress": f"jira@{host}", "emailAddressStatus": []})


async def project_security_levels(request: Request) -> Response:
    """The levels of the project's issue security scheme the caller may set."""
    c = ctx(request)
    p = _project(c, request.path_params["key"])
    return c.respond({"levels": schemes.security_levels_for(c.store, c.account_id, p)})


async def project_security_scheme(request: Request) -> Response:
    c = ctx(request)
    p = _project(c, request.path_params["key"])
    if not schemes.has_security_scheme(c.store, p):
        raise JiraHttpError(404, ["The project does not have an issue security scheme."])
    return c.respond(schemes.security_scheme())


async def project_notification_scheme(request: Request) -> Response:
    c = ctx(request)
    _project(c, request.path_params["key"])
    expand = schemes.any_of(c.params("expand"))
    return c.respond(schemes.notification_scheme(c.store, expand=bool(expand)))


async def project_avatars(request: Request) -> Response:
    c = ctx(request)
    p = _project(c, request.path_params["key"])
    chosen = schemes.project_avatar_id(p)
    system = [schemes.avatar(a, selected=a == chosen) for a in schemes.SYSTEM_AVATARS]
    custom = (
        []
        if chosen in schemes.SYSTEM_AVATARS
        else [schemes.avatar(chosen, owner=p["id"], selected=True)]
    )
    return c.respond({"system": system, "custom": custom})


async def system_avatars(request: Request) -> Response:
    c = ctx(request)
    kind = request.path_params["type"]
    if kind not in ("project", "issuetype", "priority", "user"):
        raise JiraHttpError(404, [f"The avatar type '{kind}' is not valid."])
    return c.respond({"system": [schemes.avatar(a) for a in schemes.SYSTEM_AVATARS]})


async def security_level(request: Request) -> Response:
    c = ctx(request)
    lid = request.path_params["id"]
    if lid not in {x[0] for x in schemes.SECURITY_LEVELS}:
        raise JiraHttpError(404, [f"The issue security level with ID {lid} does not exist."])
    return c.respond(schemes.security_level(lid))


# -- screens and field configurations ------------------------------------------------------------


async def screens(request: Request) -> Response:
    c = ctx(request)
    values = _filter_ids(schemes.screens(), _ids(c))
    query = (c.param("queryString") or "").casefold()
    values = [s for s in values if query in s["name"].casefold()]
    return c.respond(c.page(values, "screens", max_cap=100))


def _screen(request: Request) -> int:
    sid = _int_path(request, "screenId")
    if sid not in {s[0] for s in schemes.SCREENS}:
        raise JiraHttpError(404, [f"The screen with id '{sid}' does not exist."])
    return sid


async def screen_tabs(request: Request) -> Response:
    c = ctx(request)
    return c.respond([schemes.screen_tab(_screen(request))])


async def screen_tab_fields(request: Request) -> Response:
    c = ctx(request)
    sid = _screen(request)
    if _int_path(request, "tabId") != schemes.screen_tab(sid)["id"]:
        raise JiraHttpError(
            404, [f"The screen tab with id '{request.path_params['tabId']}' does not exist."]
        )
    return c.respond(schemes.screen_fields(c.store, sid))


async def screen_schemes(request: Request) -> Response:
    c = ctx(request)
    values = _filter_ids(schemes.screen_schemes(), _ids(c))
    return c.respond(c.page(values, "screenscheme", max_cap=100))


async def field_configurations(request: Request) -> Response:
    c = ctx(request)
    values = _filter_ids(schemes.field_configurations(), _ids(c))
    if c.bool_param("isDefault", False):
        values = [v for v in values if v["isDefault"]]
    return c.respond(c.page(values, "fieldconfiguration"))


async def field_configuration_items(request: Request) -> Response:
    c = ctx(request)
    fid = _int_path(request, "id")
    if fid not in {f["id"] for f in schemes.field_configurations()}:
        raise JiraHttpError(404, [f"The field configuration {fid} does not exist."])
    return c.respond(
        c.page(schemes.field_configuration_items(c.store), f"fieldconfiguration/{fid}/fields")
    )


# -- issue type schemes and issue type screen schemes -------------------------------------------


async def issue_type_schemes(request: Request) -> Response:
    c = ctx(request)
    values = _filter_ids(schemes.issue_type_schemes(c.store), _ids(c))
    return c.respond(c.page(values, "issuetypescheme"))


async def issue_type_scheme_mapping(request: Request) -> Response:
    c = ctx(request)
    wanted = _ids(c, "issueTypeSchemeId")
    items = [
        {"issueTypeSchemeId": s["id"], "issueTypeId": t}
        for s in schemes.issue_type_schemes(c.store)
        if not wanted or s["id"] in wanted
        for t in schemes.issue_type_scheme_types(c.store, s["id"])
    ]
    return c.respond(c.page(items, "issuetypescheme/mapping"))


def _projects_by(c: Ctx, key: Callable[[Json], str]) -> dict[str, list[str]]:
    wanted = _ids(c, "projectId")
    if not wanted:
        raise bad_request("The projectId parameter is required.")
    out: dict[str, list[str]] = {}
    for pid in sorted(wanted):
        p = c.store.projects.get(pid)
        if p is not None and c.store.can_browse(c.account_id, pid):
            out.setdefault(key(p), []).append(pid)
    return out


async def issue_type_scheme_projects(request: Request) -> Response:
    c = ctx(request)
    groups = _projects_by(c, lambda p: schemes.issue_type_scheme_of(c.store, p))
    by_id = {s["id"]: s for s in schemes.issue_type_schemes(c.store)}
    values = [{"issueTypeScheme": by_id[sid], "projectIds": pids} for sid, pids in groups.items()]
    return c.respond(c.page(values, "issuetypescheme/project"))


async def issue_type_screen_schemes(request: Request) -> Response:
    c = ctx(request)
    values = _filter_ids(schemes.issue_type_screen_schemes(), _ids(c))
    return c.respond(c.page(values, "issuetypescreenscheme"))


async def issue_type_screen_scheme_mapping(request: Request) -> Response:
    c = ctx(request)
    wanted = _ids(c, "issueTypeScreenSchemeId")
    items = [{"issueTypeScreenSchemeId": "1", "issueTypeId": "default", "screenSchemeId": "1"}]
    values = [i for i in items if not wanted or i["issueTypeScreenSchemeId"] in wanted]
    return c.respond(c.page(values, "issuetypescreenscheme/mapping"))


async def issue_type_screen_scheme_projects(request: Request) -> Response:
    c = ctx(request)
    groups = _projects_by(c, lambda p: "1")
    scheme = schemes.issue_type_screen_schemes()[0]
    values = [{"issueTypeScreenScheme": scheme, "projectIds": pids} for pids in groups.values()]
    return c.respond(c.page(values, "issuetypescreenscheme/project"))


# -- notification, security and workflow schemes; workflows -----------------------------------


async def notification_schemes(request: Request) -> Response:
    c = ctx(request)
    expand = bool(schemes.any_of(c.params("expand")))
    values = _filter_ids([schemes.notification_scheme(c.store, expand=expand)], _ids(c))
    return c.respond(c.page(values, "notificationscheme"))


async def notification_scheme(request: Request) -> Response:
    c = ctx(request)
    if _int_path(request, "id") != 10000:
        raise JiraHttpError(
            404, [f"The notification scheme {request.path_params['id']} does not exist."]
        )
    expand = bool(schemes.any_of(c.params("expand")))
    return c.respond(schemes.notification_scheme(c.store, expand=expand))


async def security_schemes(request: Request) -> Response:
    c = ctx(request)
    return c.respond({"issueSecuritySchemes": [schemes.security_scheme()]})


async def security_scheme(request: Request) -> Response:
    c = ctx(request)
    if _int_path(request, "id") != schemes.SECURITY_SCHEME_ID:
        raise JiraHttpError(
            404, [f"The issue security scheme {request.path_params['id']} does not exist."]
        )
    return c.respond(schemes.security_scheme())


async def workflow_schemes(request: Request) -> Response:
    c = ctx(request)
    return c.respond(c.page(schemes.workflow_schemes(c.store), "workflowscheme"))


async def workflow_scheme(request: Request) -> Response:
    c = ctx(request)
    sid = _int_path(request, "id")
    for s in schemes.workflow_schemes(c.store):
        if s["id"] == sid:
            return c.respond(s)
    raise JiraHttpError(404, [f"The workflow scheme {sid} does not exist."])


async def workflow_scheme_projects(request: Request) -> Response:
    c = ctx(request)
    wanted = _ids(c, "projectId")
    if not wanted:
        raise bad_request("The projectId parameter is required.")
    groups: dict[int, list[str]] = {}
    found: dict[int, Json] = {}
    for pid in sorted(wanted):
        p = c.store.projects.get(pid)
        if p is None or not c.store.can_browse(c.account_id, pid):
            continue
        scheme = schemes.workflow_scheme_of(c.store, p)
        if scheme is not None:
            found[scheme["id"]] = scheme
            groups.setdefault(scheme["id"], []).append(pid)
    return c.respond(
        {
            "values": [
                {"projectIds": pids, "workflowScheme": found[sid]} for sid, pids in groups.items()
            ]
        }
    )


async def workflow_search(request: Request) -> Response:
    c = ctx(request)
    names = schemes.any_of(c.params("workflowName"))
    expand = schemes.any_of(c.params("expand"))
    query = (c.param("queryString") or "").casefold()
    values = []
    for key in sorted(c.store.workflows):
        name = schemes.workflow_name(key)
        if names and name not in names:
            continue
        if query and query not in name.casefold():
            continue
        values.append(schemes.workflow_view(c.store, key, expand))
    return c.respond(c.page(values, "workflow/search"))


# -- dashboards, groups, columns, properties, time tracking, labels ----------------------------


async def dashboards(request: Request) -> Response:
    """``GET /dashboard``: the dashboards the caller can see (``filter=my|favourite``)."""
    c = ctx(request)
    values = schemes.visible_dashboards(c.store, c.account_id)
    kind = c.param("filter")
    if kind == "my":
        values = [d for d in values if d.get("owner", {}).get("accountId") == c.account_id]
    elif kind == "favourite":
        values = [d for d in values if d["isFavourite"]]
    elif kind:
        raise bad_request(f"Invalid filter value: {kind}.")
    start = max(0, c.int_param("startAt", 0))
    size = max(0, min(c.int_param("maxResults", 20), 1000))
    out: Json = {
        "startAt": start,
        "maxResults": size,
        "total": len(values),
        "dashboards": values[start : start + size],
    }
    if start + size < len(values):
        out["next"] = f"{c.api}/dashboard?startAt={start + size}&maxResults={size}"
    if start > 0:
        out["prev"] = f"{c.api}/dashboard?startAt={max(0, start - size)}&maxResults={size}"
    return c.respond(out)


async def dashboard(request: Request) -> Response:
    c = ctx(request)
    did = request.path_params["id"]
    for d in schemes.visible_dashboards(c.store, c.account_id):
        if d["id"] == did:
            return c.respond(d)
    raise JiraHttpError(404, [f"The dashboard with id '{did}' does not exist."])


async def dashboard_search(request: Request) -> Response:
    c = ctx(request)
    values = schemes.visible_dashboards(c.store, c.account_id)
    name = (c.param("dashboardName") or "").casefold()
    owner = c.param("accountId")
    if name:
        values = [d for d in values if name in d["name"].casefold()]
    if owner:
        values = [d for d in values if d.get("owner", {}).get("accountId") == owner]
    return c.respond(c.page(values, "dashboard/search", max_cap=100))


async def groups_bulk(request: Request) -> Response:
    c = ctx(request)
    ids = _ids(c, "groupId")
    names = {n.casefold() for n in _ids(c, "groupName")}
    values = [
        {"name": g["name"], "groupId": g["groupId"]}
        for g in sorted(c.store.groups.values(), key=lambda g: str(g["name"]).casefold())
        if (not ids and not names) or g["groupId"] in ids or g["name"].casefold() in names
    ]
    return c.respond(c.page(values, "group/bulk"))


async def columns(request: Request) -> Response:
    c = ctx(request)
    return c.respond([{"label": label, "value": value} for label, value in schemes.COLUMNS])


async def application_properties(request: Request) -> Response:
    c = ctx(request)
    props = schemes.application_properties(c.store)
    key = c.param("key")
    if key:
        found = [p for p in props if p["key"] == key]
        if not found:
            raise JiraHttpError(404, [f"The property with key '{key}' does not exist."])
        return c.respond(found)
    prefix = c.param("keyFilter")
    if prefix:
        props = [p for p in props if p["key"].startswith(prefix.rstrip("*."))]
    return c.respond(props)


async def advanced_settings(request: Request) -> Response:
    c = ctx(request)
    keep = ("jira.title", "jira.option.voting", "jira.option.watching", "jira.default.timezone")
    return c.respond([p for p in schemes.application_properties(c.store) if p["key"] in keep])


async def time_tracking(request: Request) -> Response:
    c = ctx(request)
    return c.respond(schemes.TIME_TRACKING_PROVIDER)


async def time_tracking_list(request: Request) -> Response:
    c = ctx(request)
    return c.respond([schemes.TIME_TRACKING_PROVIDER])


async def time_tracking_options(request: Request) -> Response:
    c = ctx(request)
    return c.respond(schemes.TIME_TRACKING_OPTIONS)


async def labels(request: Request) -> Response:
    c = ctx(request)
    return c.respond(c.page(schemes.labels(c.store), "label", max_cap=1000))


ROUTES = [
    Route("/project/type", project_types),
    Route("/project/type/accessible", project_types),
    Route("/project/type/{typeKey}", project_type),
    Route("/project/type/{typeKey}/accessible", project_type),
    Route("/projectCategory", project_categories),
    Route("/projectCategory/{id}", project_category),
    Route("/project/{key}/version", project_versions_page),
    Route("/project/{key}/component", project_components_page),
    Route("/project/{key}/email", project_email),
    Route("/project/{key}/securitylevel", project_security_levels),
    Route("/project/{key}/issuesecuritylevelscheme", project_security_scheme),
    Route("/project/{key}/notificationscheme", project_notification_scheme),
    Route("/project/{key}/avatars", project_avatars),
    Route("/avatar/{type}/system", system_avatars),
    Route("/securitylevel/{id}", security_level),
    Route("/screens", screens),
    Route("/screens/{screenId}/tabs", screen_tabs),
    Route("/screens/{screenId}/tabs/{tabId}/fields", screen_tab_fields),
    Route("/screenscheme", screen_schemes),
    Route("/fieldconfiguration", field_configurations),
    Route("/fieldconfiguration/{id}/fields", field_configuration_items),
    Route("/issuetypescheme", issue_type_schemes),
    Route("/issuetypescheme/mapping", issue_type_scheme_mapping),
    Route("/issuetypescheme/project", issue_type_scheme_projects),
    Route("/issuetypescreenscheme", issue_type_screen_schemes),
    Route("/issuetypescreenscheme/mapping", issue_type_screen_scheme_mapping),
    Route("/issuetypescreenscheme/project", issue_type_screen_scheme_projects),
    Route("/notificationscheme", notification_schemes),
    Route("/notificationscheme/{id}", notification_scheme),
    Route("/issuesecurityschemes", security_schemes),
    Route("/issuesecurityschemes/{id}", security_scheme),
    Route("/workflowscheme", workflow_schemes),
    Route("/workflowscheme/project", workflow_scheme_projects),
    Route("/workflowscheme/{id}", workflow_scheme),
    Route("/workflow/search", workflow_search),
    Route("/dashboard", dashboards),
    Route("/dashboard/search", dashboard_search),
    Route("/dashboard/{id}", dashboard),
    Route("/group/bulk", groups_bulk),
    Route("/settings/columns", columns),
    Route("/application-properties", application_properties),
    Route("/application-properties/advanced-settings", advanced_settings),
    Route("/configuration/timetracking", time_tracking),
    Route("/configuration/timetracking/list", time_tracking_list),
    Route("/configuration/timetracking/options", time_tracking_options),
    Route("/label", labels),
]
