"""Administration: create/update/delete/archive/restore projects, components and
versions; custom field contexts and their options.

Project and version changes publish Jira's events (``project_created|updated|
soft_deleted|deleted|archived|restored_deleted|restored_archived``,
``jira:version_created|updated|released|unreleased|deleted``), delivered by webhooks.

Components, versions and select options are shared objects (issues point at them), so
renaming one renames it everywhere, as in Jira. Every change drops the search engine's
cached metadata (JQL resolves names through it).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jirakit.sandbox import mutations, schemes
from jirakit.sandbox.app import Ctx, ctx
from jirakit.sandbox.builders import add_project
from jirakit.sandbox.clock import jira_time
from jirakit.sandbox.errors import JiraHttpError, bad_request
from jirakit.sandbox.store import API, Json

KEY_RE = re.compile(r"^[A-Z][A-Z0-9]+$")
PROJECT_TYPES = {
    "software": ["10000", "10001", "10002", "10003", "10004"],
    "business": ["10002", "10004"],
}
ASSIGNEE_TYPES = ("PROJECT_LEAD", "UNASSIGNED")
COMPONENT_ASSIGNEE_TYPES = ("PROJECT_DEFAULT", "COMPONENT_LEAD", "PROJECT_LEAD", "UNASSIGNED")


def _changed(c: Ctx) -> None:
    c.store.changed()
    c.state.search.invalidate_meta()


def _emit(c: Ctx, name: str, **data: Any) -> None:
    """Publish a site event (no issue): ``project_*``, ``jira:version_*``."""
    mutations.emit(c.store, name, None, c.account_id, c.now(), **data)


async def _body(c: Ctx) -> dict[str, Any]:
    body = await c.json()
    if not isinstance(body, dict):
        raise bad_request("Invalid request payload. Refer to the REST API documentation.")
    return body


def _lead(c: Ctx, body: dict[str, Any], errors: dict[str, str], field: str) -> Json | None:
    raw = body.get("leadAccountId") or body.get("lead")
    if raw is None:
        return None
    user = c.store.users.get(str(raw)) or c.store.user_by_login(str(raw))
    if user is None:
        errors[field] = "The user you specified as the lead does not exist."
    return user


def _project(c: Ctx, ref: Any) -> Json:
    """The project a component or version is created in, or Jira's 400 naming it."""
    p = c.store.project(str(ref)) if ref not in (None, "") else None
    if p is None:
        raise bad_request(
            errors={
                "project": (
                    "The project is required."
                    if ref in (None, "")
                    else f"Project '{ref}' not found."
                )
            }
        )
    return p


def _next_id(table: dict[str, Json]) -> str:
    """The id for a new project, component or version: one past the largest (10000 first)."""
    return str(max((int(i) for i in table), default=9999) + 1)


def _name(
    body: dict[str, Any],
    siblings: list[Json],
    current: Json | None,
    errors: dict[str, str],
    *,
    empty: str,
    taken: str,
    too_long: str | None = None,
) -> str:
    """The stripped ``name`` of the body, checked: not empty, at most 255 characters when
    ``too_long`` is given, not a case-insensitive repeat of another of ``siblings``
    (``taken`` is formatted with ``name``)."""
    name = str(body.get("name") or "").strip()
    if not name:
        errors["name"] = empty
    elif too_long is not None and len(name) > 255:
        errors["name"] = too_long
    elif any(x["name"].casefold() == name.casefold() and x is not current for x in siblings):
        errors["name"] = taken.format(name=name)
    return name


# -- projects ----------------------------------------------------------------------------


def _category(body: dict[str, Any], errors: dict[str, str]) -> Json | None:
    """The category ``categoryId`` names (an id of ``GET /projectCategory``), None when
    absent, null or ``-1`` (the update's "no category"); an unknown id is an error."""
    raw = body.get("categoryId")
    if raw is None or str(raw) == "-1":
        return None
    category = schemes.project_category(str(raw))
    if category is None:
        errors["categoryId"] = f"The project category with ID {raw} does not exist."
    return category


async def create_project(request: Request) -> Response:
    c = ctx(request)
    body = await _body(c)
    s = c.store
    errors: dict[str, str] = {}
    key = str(body.get("key") or "")
    name = str(body.get("name") or "").strip()
    with s.lock:
        if not key:
            errors["projectKey"] = "You must specify a unique project key."
        elif len(key) > 10:
            errors["projectKey"] = "The project key must not exceed 10 characters in length."
        elif not KEY_RE.match(key):
            errors["projectKey"] = (
                "Project keys must start with an uppercase letter, followed by one or more "
                "uppercase alphanumeric characters."
            )
        elif any(p["key"] == key for p in s.projects.values()):
            errors["projectKey"] = f"Project '{key}' uses this project key."
        if not name:
            errors["projectName"] = "You must specify a valid project name."
        elif any(p["name"].casefold() == name.casefold() for p in s.projects.values()):
            errors["projectName"] = "A project with that name already exists."
        ptype = body.get("projectTypeKey") or "software"
        if ptype not in PROJECT_TYPES:
            errors["projectTypeKey"] = f"The project type '{ptype}' is not valid."
        lead = _lead(c, body, errors, "projectLead")
        if lead is None and "projectLead" not in errors:
            errors["projectLead"] = "You must specify a valid project lead."
        assignee = body.get("assigneeType") or "UNASSIGNED"
        if assignee not in ASSIGNEE_TYPES:
            errors["assigneeType"] = f"Invalid assignee type '{assignee}'."
        category = _category(body, errors)
        if errors:
            raise bad_request(errors=errors)
        assert lead is not None
        pid = _next_id(s.projects)
        proj = add_project(
            s,
            pid=pid,
            key=key,
            name=name,
            description=str(body.get("description") or ""),
            lead=lead,
            ptype=ptype,
            types=PROJECT_TYPES[ptype],
            assignee=assignee,
            avatar_id=10400,
            components=[],
            versions=[],
            url=str(body["url"]) if body.get("url") else None,
            category=category,
        )
        _changed(c)
        _emit(c, "project_created", project=proj)
    return c.respond({"self": f"{c.api}/project/{pid}", "id": int(pid), "key": key}, 201)


async def update_project(request: Request) -> Response:
    c = ctx(request)
    body = await _body(c)
    s = c.store
    with s.lock:
        p = s.project(request.path_params["key"])
        if p is None or not s.can_browse(c.account_id, p["id"]):
            raise JiraHttpError(
                404, [f"No project could be found with key '{request.path_params['key']}'."]
            )
        errors: dict[str, str] = {}
        if "key" in body and body["key"] != p["key"]:
            errors["projectKey"] = "Changing a project's key is not supported by the sandbox."
        name = body.get("name")
        if name is not None:
            name = str(name).strip()
            if not name:
                errors["projectName"] = "You must specify a valid project name."
            elif any(
                q["name"].casefold() == name.casefold() and q is not p for q in s.projects.values()
            ):
                errors["projectName"] = "A project with that name already exists."
        lead = _lead(c, body, errors, "projectLead")
        assignee = body.get("assigneeType")
        if assignee is not None and assignee not in ASSIGNEE_TYPES:
            errors["assigneeType"] = f"Invalid assignee type '{assignee}'."
        category = _category(body, errors)
        if errors:
            raise bad_request(errors=errors)
        if category is not None:
            p["projectCategory"] = dict(category)
        elif str(body.get("categoryId")) == "-1":
            p.pop("projectCategory", None)
        if name:
            p["name"] = name
            s.project_refs[p["id"]]["name"] = name
        if "description" in body:
            p["description"] = str(body["description"] or "")
        if lead is not None:
            p["lead"] = lead
        if assignee is not None:
            p["assigneeType"] = assignee
        if "url" in body:
            p["url"] = str(body["url"] or "")
        _changed(c)
        _emit(c, "project_updated", project=p)
    return c.respond(p)


TRASH_DAYS = 60  # Jira Cloud keeps a deleted project in the trash for 60 days
_STATE_KEYS = (
    "deleted",
    "deletedDate",
    "deletedBy",
    "retentionTillDate",
    "archived",
    "archivedDate",
    "archivedBy",
)


def _project_any_state(c: Ctx) -> Json:
    """The project of the path, in the trash or archived too (access lists still apply)."""
    ref = c.request.path_params["key"]
    p = c.store.project(ref)
    if p is None or not c.store.can_browse(c.account_id, p["id"], include_hidden=True):
        raise JiraHttpError(404, [f"No project could be found with key '{ref}'."])
    return p


async def delete_project(request: Request) -> Response:
    """``DELETE /project/{key}``: to the trash (``enableUndo``, the default:
    ``project_soft_deleted``; hidden until restored) or for good (``enableUndo=false``:
    its issues, components, versions and boards go too; ``project_deleted``, after a
    ``jira:issue_deleted`` per issue on the Secondary webhook flow). Archived projects
    must be restored first."""
    c = ctx(request)
    undo = c.bool_param("enableUndo", True)
    with c.store.lock:
        p = _project_any_state(c)
        if p.get("archived"):
            raise bad_request(
                "You can't delete an archived project. Restore the project and then delete it."
            )
        if p.get("deleted") and undo:  # already in the trash
            raise JiraHttpError(404, [f"No project could be found with key '{p['key']}'."])
        if undo:
            now = c.now()
            p["deleted"] = True
            p["deletedDate"] = jira_time(now)
            p["deletedBy"] = c.store.users[c.account_id]
            p["retentionTillDate"] = jira_time(now + timedelta(days=TRASH_DAYS))
            _changed(c)
            _emit(c, "project_soft_deleted", project=p)
        else:
            _purge_project(c, p)
            _changed(c)
            _emit(c, "project_deleted", project=p)
    return c.empty()


def _purge_project(c: Ctx, p: Json) -> None:
    s = c.store
    pid = p["id"]
    now = c.now()
    for rec in list(s.iter_project_issues(int(pid))):
        if rec.id in s.issues:  # not gone already as a sub-task of an earlier one
            mutations.delete_issue(s, rec, True, now, c.account_id, secondary=True)
    for comp in p["components"]:
        s.components.pop(comp["id"], None)
    for v in p["versions"]:
        s.versions.pop(v["id"], None)
    for bid in [b for b, board in s.boards.items() if str(board["location"]["projectId"]) == pid]:
        del s.boards[bid]
    for table in (s.projects, s.project_refs, s.project_workflow, s.project_issuetypes):
        table.pop(pid, None)
    s.project_access.pop(pid, None)
    s.project_counters.pop(p["key"], None)


async def archive_project(request: Request) -> Response:
    """``POST /project/{key}/archive``: read-only and hidden (issues, search, boards) until
    restored; ``project_archived``."""
    c = ctx(request)
    with c.store.lock:
        p = _project_any_state(c)
        if p.get("deleted"):
            raise JiraHttpError(404, [f"No project could be found with key '{p['key']}'."])
        if p.get("archived"):
            raise bad_request(f"The project '{p['key']}' is already archived.")
        p["archived"] = True
        p["archivedDate"] = jira_time(c.now())
        p["archivedBy"] = c.store.users[c.account_id]
        _changed(c)
        _emit(c, "project_archived", project=p)
    return c.empty()


async def restore_project(request: Request) -> Response:
    """``POST /project/{key}/restore``: out of the trash (``project_restored_deleted``) or
    the archive (``project_restored_archived``); answers the project."""
    c = ctx(request)
    with c.store.lock:
        p = _project_any_state(c)
        if p.get("deleted"):
            event = "project_restored_deleted"
        elif p.get("archived"):
            event = "project_restored_archived"
        else:
            raise bad_request(f"The project '{p['key']}' is neither archived nor in the trash.")
        for k in _STATE_KEYS:
            p.pop(k, None)
        _changed(c)
        _emit(c, event, project=p)
    return c.respond(p)


# -- components ----------------------------------------------------------------------------


def _component(c: Ctx, raw: str) -> Json:
    comp = c.store.components.get(raw)
    if comp is None:
        raise JiraHttpError(404, [f"The component with id {raw} does not exist."])
    return comp


# The members Jira's ComponentBean and VersionBean bind; anything else is refused, as
# Jackson does without ``@JsonIgnoreProperties`` (the 400 recorded from a real Jira in
# ../shared/jira/fixtures/jira-ruby/{component,version}/10000.invalid.put.json).
COMPONENT_MEMBERS = frozenset(
    {
        "self",
        "id",
        "name",
        "description",
        "lead",
        "leadUserName",
        "leadAccountId",
        "assigneeType",
        "assignee",
        "realAssigneeType",
        "realAssignee",
        "isAssigneeTypeValid",
        "project",
        "projectId",
        "issueCount",
    }
)
VERSION_MEMBERS = frozenset(
    {
        "expand",
        "self",
        "id",
        "description",
        "name",
        "archived",
        "released",
        "startDate",
        "releaseDate",
        "overdue",
        "userStartDate",
        "userReleaseDate",
        "project",
        "projectId",
        "moveUnfixedIssuesTo",
        "operations",
        "issuesStatusForFixVersion",
        "approvers",
        "driver",
    }
)


def _unrecognized(body: dict[str, Any], allowed: frozenset[str], bean: str) -> None:
    extra = sorted(k for k in body if k not in allowed)
    if extra:
        raise bad_request(
            f'Unrecognized field "{extra[0]}" (Class com.atlassian.jira.rest.v2.issue.{bean}), '
            "not marked as ignorable"
        )


def _component_values(c: Ctx, body: dict[str, Any], project: Json, current: Json | None) -> Json:
    _unrecognized(body, COMPONENT_MEMBERS, "component.ComponentBean")
    errors: dict[str, str] = {}
    out: Json = {}
    if "name" in body or current is None:
        out["name"] = _name(
            body,
            project["components"],
            current,
            errors,
            empty="The component name specified is invalid - cannot be empty.",
            too_long="The component name must not exceed 255 characters.",
            taken="A component with the name {name} already exists in this project.",
        )
    if "description" in body:
        out["description"] = str(body["description"] or "")
    lead = _lead(c, body, errors, "leadAccountId")
    if lead is not None:
        out["lead"] = lead
    if "assigneeType" in body:
        if body["assigneeType"] not in COMPONENT_ASSIGNEE_TYPES:
            errors["assigneeType"] = f"Invalid assignee type '{body['assigneeType']}'."
        out["assigneeType"] = body["assigneeType"]
    if errors:
        raise bad_request(errors=errors)
    return out


async def create_component(request: Request) -> Response:
    c = ctx(request)
    body = await _body(c)
    s = c.store
    with s.lock:
        project = _project(c, body.get("project") or body.get("projectId"))
        values = _component_values(c, body, project, None)
        cid = _next_id(s.components)
        comp: Json = {
            "self": f"{API}/component/{cid}",
            "id": cid,
            "name": values["name"],
            "description": values.get("description", ""),
            "assigneeType": values.get("assigneeType", "PROJECT_DEFAULT"),
            "isAssigneeTypeValid": False,
            "project": project["key"],
            "projectId": int(project["id"]),
        }
        if "lead" in values:
            comp["lead"] = values["lead"]
        s.components[cid] = comp
        project["components"].append(comp)
        _changed(c)
    return c.respond(comp, 201)


async def update_component(request: Request) -> Response:
    c = ctx(request)
    body = await _body(c)
    with c.store.lock:
        comp = _component(c, request.path_params["id"])
        project = c.store.projects[str(comp["projectId"])]
        comp.update(_component_values(c, body, project, comp))  # shared: issues see it
        _changed(c)
    return c.respond(comp)


async def delete_component(request: Request) -> Response:
    c = ctx(request)
    s = c.store
    with s.lock:
        comp = _component(c, request.path_params["id"])
        del s.components[comp["id"]]
        project = s.projects[str(comp["projectId"])]
        project["components"] = [x for x in project["components"] if x is not comp]
        for rec in s.iter_project_issues(int(project["id"])):
            values = rec.fields.get("components")
            if values and any(v is comp for v in values):
                rec.fields = {**rec.fields, "components": [v for v in values if v is not comp]}
        _changed(c)
    return c.empty()


# -- versions ------------------------------------------------------------------------------

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _version_values(body: dict[str, Any], project: Json, current: Json | None) -> Json:
    _unrecognized(body, VERSION_MEMBERS, "version.VersionBean")
    errors: dict[str, str] = {}
    out: Json = {}
    if "name" in body or current is None:
        out["name"] = _name(
            body,
            project["versions"],
            current,
            errors,
            empty="You must specify a valid version name",
            taken="A version with this name already exists in this project.",
        )
    for attr in ("releaseDate", "startDate"):
        if attr in body:
            raw = body[attr]
            if raw is not None and not _DATE.match(str(raw)):
                errors[attr] = "Please enter the date in the following format: yyyy-mm-dd"
            out[attr] = raw
    for attr in ("released", "archived"):
        if attr in body:
            out[attr] = bool(body[attr])
    if "description" in body:
        out["description"] = str(body["description"] or "")
    if errors:
        raise bad_request(errors=errors)
    return out


async def create_version(request: Request) -> Response:
    c = ctx(request)
    body = await _body(c)
    s = c.store
    with s.lock:
        project = _project(c, body.get("projectId") or body.get("project"))
        values = _version_values(body, project, None)
        vid = _next_id(s.versions)
        v: Json = {
            "self": f"{API}/version/{vid}",
            "id": vid,
            "description": values.get("description", ""),
            "name": values["name"],
            "archived": values.get("archived", False),
            "released": values.get("released", False),
            "projectId": int(project["id"]),
        }
        for attr in ("releaseDate", "startDate"):
            if values.get(attr):
                v[attr] = values[attr]
        s.versions[vid] = v
        project["versions"].append(v)
        _changed(c)
        _emit(c, "jira:version_created", version=v)
    return c.respond(v, 201)


async def update_version(request: Request) -> Response:
    c = ctx(request)
    body = await _body(c)
    s = c.store
    with s.lock:
        v = s.versions.get(request.path_params["id"])
        if v is None:
            raise JiraHttpError(
                404, [f"Could not find version for id '{request.path_params['id']}'"]
            )
        project = s.projects[str(v["projectId"])]
        values = _version_values(body, project, v)
        before = dict(v)
        for attr, value in values.items():
            if value is None:
                v.pop(attr, None)
            else:
                v[attr] = value  # shared: issues see it
        if v.get("released") and not v.get("releaseDate"):
            v["releaseDate"] = c.now().date().isoformat()
        v.pop("overdue", None)
        _changed(c)
        for name in _version_events(before, v):
            _emit(c, name, version=v)
    return c.respond(v)


def _version_events(before: Json, after: Json) -> list[str]:
    """``jira:version_released``/``unreleased`` when the release state flips (a release
    date set by it included), ``jira:version_updated`` for any other change (or none)."""
    flipped = bool(before.get("released")) != bool(after.get("released"))
    ignored = {"overdue", "released"} | ({"releaseDate"} if flipped else set())
    other = any(before.get(k) != after.get(k) for k in set(before) | set(after) if k not in ignored)
    names = ["jira:version_updated"] if other or not flipped else []
    if flipped:
        names.append(
            "jira:version_released" if after.get("released") else "jira:version_unreleased"
        )
    return names


async def delete_version(request: Request) -> Response:
    """``DELETE /version/{id}``: issues with it in Fix versions / Affects versions get
    ``moveFixIssuesTo`` / ``moveAffectedIssuesTo`` instead (another version of the
    project), or lose it; each such issue gets a changelog history. ``jira:version_deleted``."""
    c = ctx(request)
    s = c.store
    with s.lock:
        vid = request.path_params["id"]
        v = s.versions.get(vid)
        if v is None:
            raise JiraHttpError(404, [f"Could not find version for id '{vid}'"])
        moves: dict[str, Json | None] = {}
        for param, fid in (
            ("moveFixIssuesTo", "fixVersions"),
            ("moveAffectedIssuesTo", "versions"),
        ):
            raw = c.param(param)
            target = s.versions.get(raw) if raw else None
            if raw and (target is None or target is v or target["projectId"] != v["projectId"]):
                raise bad_request(
                    errors={param: f"The version '{raw}' is not another version of this project."}
                )
            moves[fid] = target
        project = s.projects[str(v["projectId"])]
        now = c.now()
        for rec in list(s.iter_project_issues(int(project["id"]))):
            changes: dict[str, Any] = {}
            for fid, target in moves.items():
                values = rec.fields.get(fid) or []
                if all(x["id"] != v["id"] for x in values):
                    continue
                kept = [x for x in values if x["id"] != v["id"]]
                if target is not None and all(x["id"] != target["id"] for x in kept):
                    kept.append(target)
                changes[fid] = kept
            if changes:
                mutations.apply_changes(s, rec, changes, c.account_id, now)
        del s.versions[v["id"]]
        project["versions"] = [x for x in project["versions"] if x is not v]
        _changed(c)
        _emit(c, "jira:version_deleted", version=v)
    return c.empty()


# -- custom field contexts and options ---------------------------------------------------------


def _custom_field(c: Ctx, fid: str) -> Json:
    f = c.store.field(fid)
    if f is None or not f.get("custom"):
        raise JiraHttpError(404, ["The custom field was not found."])
    return f


def _context_id(fid: str) -> str:
    return str(int(fid.removeprefix("customfield_")) + 100)


def _options_of(c: Ctx, fid: str, context_id: str) -> list[Json]:
    f = _custom_field(c, fid)
    if context_id != _context_id(fid):
        raise JiraHttpError(404, ["The context was not found."])
    custom = str(f["schema"].get("custom", ""))
    if not custom.endswith(("select", "multiselect", "radiobuttons", "multicheckboxes")):
        raise bad_request("The custom field doesn't support options.")
    return c.store.field_options.setdefault(fid, [])


def _disabled(c: Ctx) -> list[str]:
    disabled: list[str] = c.store.site.setdefault("disabled_options", [])
    return disabled


def _option_view(c: Ctx, o: Json) -> Json:
    return {"id": o["id"], "value": o["value"], "disabled": o["id"] in _disabled(c)}


async def field_contexts(request: Request) -> Response:
    c = ctx(request)
    fid = request.path_params["fieldId"]
    f = _custom_field(c, fid)
    contexts = [
        {
            "id": _context_id(fid),
            "name": f"Default Configuration Scheme for {f['name']}",
            "description": f"Default configuration scheme generated by Jira for {f['name']}",
            "isGlobalContext": True,
            "isAnyIssueType": True,
        }
    ]
    return c.respond(c.page(contexts, f"field/{fid}/context"))


async def context_options(request: Request) -> Response:
    c = ctx(request)
    fid, cid = request.path_params["fieldId"], request.path_params["contextId"]
    options = [_option_view(c, o) for o in _options_of(c, fid, cid)]
    return c.respond(c.page(options, f"field/{fid}/context/{cid}/option", max_cap=100))


def _option_payload(body: dict[str, Any]) -> list[dict[str, Any]]:
    items = body.get("options")
    if not isinstance(items, list) or not items:
        raise bad_request("The options must be provided.")
    if len(items) > 1000:
        raise bad_request("You can't add more than 1000 options at once.")
    if not all(isinstance(o, dict) for o in items):
        raise bad_request("Invalid request payload. Refer to the REST API documentation.")
    return items


async def create_options(request: Request) -> Response:
    c = ctx(request)
    body = await _body(c)
    fid, cid = request.path_params["fieldId"], request.path_params["contextId"]
    items = _option_payload(body)
    s = c.store
    with s.lock:
        options = _options_of(c, fid, cid)
        taken = {o["value"].casefold() for o in options}
        for item in items:
            value = str(item.get("value") or "").strip()
            if not value:
                raise bad_request("The option value can't be empty.")
            if len(value) > 255:
                raise bad_request("The option value can't be longer than 255 characters.")
            if value.casefold() in taken:
                raise bad_request(f"The option '{value}' already exists.")
            taken.add(value.casefold())
        all_ids = [int(o["id"]) for opts in s.field_options.values() for o in opts]
        next_id = max(all_ids, default=10099) + 1
        created = []
        for item in items:
            oid = str(next_id)
            next_id += 1
            o = {
                "self": f"{API}/customFieldOption/{oid}",
                "value": str(item["value"]).strip(),
                "id": oid,
            }
            options.append(o)
            if item.get("disabled"):
                _disabled(c).append(oid)
            created.append(_option_view(c, o))
        _changed(c)
    return c.respond({"options": created})


async def update_options(request: Request) -> Response:
    c = ctx(request)
    body = await _body(c)
    fid, cid = request.path_params["fieldId"], request.path_params["contextId"]
    items = _option_payload(body)
    s = c.store
    with s.lock:
        options = {o["id"]: o for o in _options_of(c, fid, cid)}
        for item in items:
            oid = str(item.get("id") or "")
            if oid not in options:
                raise bad_request(f"The option with id '{oid}' does not exist in this context.")
            value = item.get("value")
            if value is not None:
                value = str(value).strip()
                if not value:
                    raise bad_request("The option value can't be empty.")
                if any(
                    o["value"].casefold() == value.casefold() and o["id"] != oid
                    for o in options.values()
                ):
                    raise bad_request(f"The option '{value}' already exists.")
        updated = []
        for item in items:
            o = options[str(item["id"])]
            if item.get("value") is not None:
                o["value"] = str(item["value"]).strip()  # shared: issues show the new value
            if "disabled" in item:
                disabled = [x for x in _disabled(c) if x != o["id"]]
                if item["disabled"]:
                    disabled.append(o["id"])
                s.site["disabled_options"] = disabled
            updated.append(_option_view(c, o))
        _changed(c)
    return c.respond({"options": updated})


ROUTES = [
    Route("/project", create_project, methods=["POST"]),
    Route("/project/{key}", update_project, methods=["PUT"]),
    Route("/project/{key}", delete_project, methods=["DELETE"]),
    Route("/project/{key}/archive", archive_project, methods=["POST"]),
    Route("/project/{key}/restore", restore_project, methods=["POST"]),
    Route("/component", create_component, methods=["POST"]),
    Route("/component/{id}", update_component, methods=["PUT"]),
    Route("/component/{id}", delete_component, methods=["DELETE"]),
    Route("/version", create_version, methods=["POST"]),
    Route("/version/{id}", update_version, methods=["PUT"]),
    Route("/version/{id}", delete_version, methods=["DELETE"]),
    Route("/field/{fieldId}/context", field_contexts, methods=["GET"]),
    Route("/field/{fieldId}/context/{contextId}/option", context_options, methods=["GET"]),
    Route("/field/{fieldId}/context/{contextId}/option", create_options, methods=["POST"]),
    Route("/field/{fieldId}/context/{contextId}/option", update_options, methods=["PUT"]),
]
