"""The site's configuration as Jira's configuration APIs describe it: project roles and
their actors, permissions and the permission scheme, screens and screen schemes, field
configurations, issue type schemes, notification, issue security and workflow schemes,
dashboards, project categories and types, application roles, avatars.

Everything here is *derived* from the store (users, groups, projects, issue types,
fields, workflows), so it is consistent with the rest of the site by construction and
follows it when the site changes: roles name the project's lead and the seeded groups'
members, the permission scheme grants what the sandbox enforces, screens list the site's
fields, schemes name the screens, workflows and issue types that exist. Nothing is
stored, so ``--data`` files need no new format.

The seeded org:

- project roles ``Administrators`` (the ``jira-admins`` group and the project lead),
  ``Developers`` (``developers``) and ``Users`` (``jira-users``);
- one permission scheme, ``Default Permission Scheme`` (id 0, as on Cloud), used by every
  project. It grants every project permission to all three roles except administering
  the project (Administrators) because the sandbox lets anyone who can browse an issue
  edit, transition, comment on and delete it; the global permissions go to the seeded
  groups (``ADMINISTER``: ``jira-admins``, ``SYSTEM_ADMIN``: ``site-admins``, the rest:
  ``jira-users``). Browsing a project also needs its access list (``restrict_project``);
- screens ``Default Screen`` (every field a user can set), ``Workflow Screen`` and
  ``Resolve Issue Screen``, one tab each; one screen scheme and one issue type screen
  scheme over them;
- the ``Default Field Configuration`` (summary, issue type and project required);
- one issue type scheme per project type (``Software``/``Business``) holding the project
  type's issue types, plus the ``Default Issue Type Scheme`` with all of them;
- one notification scheme; one issue security scheme (levels ``Staff``: ``jira-users``,
  ``Administrators``: the role) on software projects;
- one workflow scheme per workflow (``software``, ``business``), each mapping every issue
  type to its workflow;
- the system dashboard and one dashboard per project, owned by its lead and shared with
  the project;
- project categories ``Software`` and ``Business``; application roles ``jira-software``.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from jirakit.sandbox.store import API, BASE, Json, Store

# -- project roles -------------------------------------------------------------------------


@dataclass(frozen=True)
class Role:
    id: int
    name: str
    description: str
    group: str
    admin: bool = False
    default: bool = False


ROLES = (
    Role(
        10002,
        "Administrators",
        "A project role that represents administrators in a project",
        "jira-admins",
        admin=True,
    ),
    Role(
        10001, "Developers", "A project role that represents developers in a project", "developers"
    ),
    Role(
        10000,
        "Users",
        "A project role that represents users in a project",
        "jira-users",
        default=True,
    ),
)
ROLE_BY_ID = {r.id: r for r in ROLES}


def role_by_ref(ref: str) -> Role | None:
    if ref.isdigit():
        return ROLE_BY_ID.get(int(ref))
    return next((r for r in ROLES if r.name.casefold() == ref.casefold()), None)


def role_members(store: Store, role: Role, project: Json | None) -> list[str]:
    """accountIds acting in ``role`` (through its group, and the lead for Administrators)."""
    out = list(store.group_members.get(role.group, []))
    lead = (project or {}).get("lead") or {}
    if role.admin and lead.get("accountId") and lead["accountId"] not in out:
        out.append(lead["accountId"])
    return out


def _actor_id(project: Json | None, role: Role, n: int) -> int:
    base = int(project["id"]) - 10000 if project else 0
    return 10000 + base * 100 + (role.id - 10000) * 10 + n


def role_actors(store: Store, role: Role, project: Json | None) -> list[Json]:
    out: list[Json] = []
    group = store.groups.get(role.group)
    if group is not None:
        out.append(
            {
                "id": _actor_id(project, role, 0),
                "displayName": group["name"],
                "type": "atlassian-group-role-actor",
                "name": group["name"],
                "actorGroup": {
                    "name": group["name"],
                    "displayName": group["name"],
                    "groupId": group["groupId"],
                },
            }
        )
    lead = (project or {}).get("lead") or {}
    user = store.users.get(lead.get("accountId", "")) if role.admin else None
    if user is not None:
        out.append(
            {
                "id": _actor_id(project, role, 1),
                "displayName": user["displayName"],
                "type": "atlassian-user-role-actor",
                "actorUser": {"accountId": user["accountId"]},
                "avatarUrl": user["avatarUrls"]["48x48"],
            }
        )
    return out


def role_view(
    store: Store,
    role: Role,
    project: Json | None,
    *,
    actors: bool = True,
) -> Json:
    self_url = (
        f"{API}/project/{project['id']}/role/{role.id}" if project else f"{API}/role/{role.id}"
    )
    out: Json = {
        "self": self_url,
        "name": role.name,
        "id": role.id,
        "description": role.description,
    }
    if actors:
        out["actors"] = role_actors(store, role, project)
    out["admin"] = role.admin
    out["default"] = role.default
    out["roleConfigurable"] = True
    out["translatedName"] = role.name
    return out


# -- permissions ---------------------------------------------------------------------------

# (key, id, type, name, description): Jira's built-in permissions and their ids.
PERMISSIONS: tuple[tuple[str, str, str, str, str], ...] = (
    (
        "ADMINISTER",
        "0",
        "GLOBAL",
        "Administer Jira",
        "Create and administer projects, issue types, fields, workflows, and schemes for all projects.",
    ),
    (
        "SYSTEM_ADMIN",
        "44",
        "GLOBAL",
        "Administer Jira system",
        "Configure the site's global settings.",
    ),
    (
        "USER_PICKER",
        "27",
        "GLOBAL",
        "Browse users and groups",
        "View and select users or groups from the user picker, and share issues.",
    ),
    (
        "CREATE_SHARED_OBJECTS",
        "22",
        "GLOBAL",
        "Share dashboards and filters",
        "Share dashboards and filters with other users.",
    ),
    (
        "MANAGE_GROUP_FILTER_SUBSCRIPTIONS",
        "24",
        "GLOBAL",
        "Manage group filter subscriptions",
        "Create and delete group filter subscriptions.",
    ),
    ("BULK_CHANGE", "33", "GLOBAL", "Make bulk changes", "Modify collections of issues at once."),
    (
        "ADMINISTER_PROJECTS",
        "23",
        "PROJECT",
        "Administer Projects",
        "Ability to administer a project in Jira.",
    ),
    (
        "BROWSE_PROJECTS",
        "10",
        "PROJECT",
        "Browse Projects",
        "Ability to browse projects and the issues within them.",
    ),
    (
        "VIEW_DEV_TOOLS",
        "29",
        "PROJECT",
        "View Development Tools",
        "Allows users to view development-related information on the issue.",
    ),
    (
        "VIEW_READONLY_WORKFLOW",
        "45",
        "PROJECT",
        "View Read-Only Workflow",
        "Users with this permission may view a read-only version of a workflow.",
    ),
    ("CREATE_ISSUES", "11", "PROJECT", "Create Issues", "Ability to create issues."),
    ("EDIT_ISSUES", "12", "PROJECT", "Edit Issues", "Ability to edit issues."),
    ("TRANSITION_ISSUES", "46", "PROJECT", "Transition Issues", "Ability to transition issues."),
    (
        "SCHEDULE_ISSUES",
        "28",
        "PROJECT",
        "Schedule Issues",
        "Ability to set or edit an issue's due date.",
    ),
    (
        "MOVE_ISSUES",
        "25",
        "PROJECT",
        "Move Issues",
        "Ability to move issues between projects or between workflows of the same project.",
    ),
    (
        "ASSIGN_ISSUES",
        "13",
        "PROJECT",
        "Assign Issues",
        "Ability to assign issues to other people.",
    ),
    (
        "ASSIGNABLE_USER",
        "17",
        "PROJECT",
        "Assignable User",
        "Users with this permission may be assigned to issues.",
    ),
    ("RESOLVE_ISSUES", "14", "PROJECT", "Resolve Issues", "Ability to resolve and reopen issues."),
    ("CLOSE_ISSUES", "18", "PROJECT", "Close Issues", "Ability to close issues."),
    (
        "MODIFY_REPORTER",
        "30",
        "PROJECT",
        "Modify Reporter",
        "Ability to modify the reporter when creating or editing an issue.",
    ),
    ("DELETE_ISSUES", "16", "PROJECT", "Delete Issues", "Ability to delete issues."),
    (
        "LINK_ISSUES",
        "21",
        "PROJECT",
        "Link Issues",
        "Ability to link issues together and create linked issues.",
    ),
    (
        "SET_ISSUE_SECURITY",
        "26",
        "PROJECT",
        "Set Issue Security",
        "Ability to set the level of security on an issue.",
    ),
    (
        "VIEW_VOTERS_AND_WATCHERS",
        "31",
        "PROJECT",
        "View Voters and Watchers",
        "Ability to view the voters and watchers of an issue.",
    ),
    (
        "MANAGE_WATCHERS",
        "32",
        "PROJECT",
        "Manage Watchers",
        "Ability to manage the watchers of an issue.",
    ),
    ("ADD_COMMENTS", "15", "PROJECT", "Add Comments", "Ability to comment on issues."),
    (
        "EDIT_ALL_COMMENTS",
        "34",
        "PROJECT",
        "Edit All Comments",
        "Ability to edit all comments made on issues.",
    ),
    (
        "EDIT_OWN_COMMENTS",
        "35",
        "PROJECT",
        "Edit Own Comments",
        "Ability to edit own comments made on issues.",
    ),
    (
        "DELETE_ALL_COMMENTS",
        "36",
        "PROJECT",
        "Delete All Comments",
        "Ability to delete all comments made on issues.",
    ),
    (
        "DELETE_OWN_COMMENTS",
        "37",
        "PROJECT",
        "Delete Own Comments",
        "Ability to delete own comments made on issues.",
    ),
    (
        "CREATE_ATTACHMENTS",
        "19",
        "PROJECT",
        "Create Attachments",
        "Users with this permission may create attachments.",
    ),
    (
        "DELETE_ALL_ATTACHMENTS",
        "38",
        "PROJECT",
        "Delete All Attachments",
        "Users with this permission may delete all attachments.",
    ),
    (
        "DELETE_OWN_ATTACHMENTS",
        "39",
        "PROJECT",
        "Delete Own Attachments",
        "Users with this permission may delete own attachments.",
    ),
    (
        "WORK_ON_ISSUES",
        "20",
        "PROJECT",
        "Work On Issues",
        "Ability to log work done against an issue.",
    ),
    (
        "EDIT_OWN_WORKLOGS",
        "40",
        "PROJECT",
        "Edit Own Worklogs",
        "Ability to edit own worklogs made on issues.",
    ),
    (
        "EDIT_ALL_WORKLOGS",
        "41",
        "PROJECT",
        "Edit All Worklogs",
        "Ability to edit all worklogs made on issues.",
    ),
    (
        "DELETE_OWN_WORKLOGS",
        "42",
        "PROJECT",
        "Delete Own Worklogs",
        "Ability to delete own worklogs made on issues.",
    ),
    (
        "DELETE_ALL_WORKLOGS",
        "43",
        "PROJECT",
        "Delete All Worklogs",
        "Ability to delete all worklogs made on issues.",
    ),
    (
        "MANAGE_SPRINTS_PERMISSION",
        "10007",
        "PROJECT",
        "Manage sprints",
        "Ability to manage sprints.",
    ),
)
PERMISSION = {p[0]: p for p in PERMISSIONS}
GLOBAL_GRANTS = {
    "ADMINISTER": "jira-admins",
    "SYSTEM_ADMIN": "site-admins",
    "USER_PICKER": "jira-users",
    "CREATE_SHARED_OBJECTS": "jira-users",
    "MANAGE_GROUP_FILTER_SUBSCRIPTIONS": "jira-users",
    "BULK_CHANGE": "jira-users",
}
PERMISSION_SCHEME_ID = 0


def project_grants(key: str) -> tuple[Role, ...]:
    """The roles the default scheme grants project permission ``key`` to."""
    if key == "ADMINISTER_PROJECTS":
        return (ROLE_BY_ID[10002],)
    return ROLES


def permission_view(key: str, *, have: bool | None = None) -> Json:
    pkey, pid, ptype, name, desc = PERMISSION[key]
    out: Json = {"id": pid, "key": pkey, "name": name, "type": ptype, "description": desc}
    if have is not None:
        out["havePermission"] = have
    return out


def has_permission(store: Store, account: str | None, key: str, project: Json | None) -> bool:
    """Whether ``account`` holds ``key`` (in ``project``; without one: in any project)."""
    if not account or account not in store.users:
        return False
    if key in GLOBAL_GRANTS:
        return account in store.group_members.get(GLOBAL_GRANTS[key], [])
    projects = [project] if project is not None else list(store.projects.values())
    for p in projects:
        if not store.can_browse(account, p["id"]):
            continue
        if any(account in role_members(store, r, p) for r in project_grants(key)):
            return True
    return False


def permission_scheme(*, expand: bool) -> Json:
    out: Json = {
        "expand": "permissions,user,group,projectRole,field,all",
        "id": PERMISSION_SCHEME_ID,
        "self": f"{API}/permissionscheme/{PERMISSION_SCHEME_ID}",
        "name": "Default Permission Scheme",
        "description": "This is the default Permission Scheme. Any new projects that are "
        "created will be assigned this scheme.",
    }
    if expand:
        out["permissions"] = permission_grants()
    return out


def permission_grants() -> list[Json]:
    grants: list[Json] = []
    n = 10000
    for key, *_ in PERMISSIONS:
        if key in GLOBAL_GRANTS:
            continue
        for role in project_grants(key):
            n += 1
            grants.append(
                {
                    "id": n,
                    "self": f"{API}/permissionscheme/{PERMISSION_SCHEME_ID}/permission/{n}",
                    "holder": {
                        "type": "projectRole",
                        "parameter": str(role.id),
                        "value": str(role.id),
                        "expand": "projectRole",
                    },
                    "permission": key,
                }
            )
    return grants


def application_roles(store: Store) -> list[Json]:
    users = len(store.users)
    groups = [g for g in ("jira-users", "jira-admins", "site-admins") if g in store.groups]
    details = [
        {
            "name": g,
            "groupId": store.groups[g]["groupId"],
            "self": f"{API}/group?groupId={store.groups[g]['groupId']}",
        }
        for g in groups
    ]
    return [
        {
            "key": "jira-software",
            "groups": groups,
            "groupDetails": details,
            "name": "Jira Software",
            "defaultGroups": groups[:1],
            "defaultGroupsDetails": details[:1],
            "selectedByDefault": False,
            "defined": True,
            "numberOfSeats": 100,
            "remainingSeats": max(0, 100 - users),
            "userCount": users,
            "userCountDescription": "users",
            "hasUnlimitedSeats": False,
            "platform": False,
        }
    ]


# -- projects: categories, types, avatars, email -----------------------------------------

CATEGORIES = {
    "software": ("10000", "Software", "Projects that build and run software."),
    "business": ("10001", "Business", "Business teams' projects."),
}


def project_categories() -> list[Json]:
    return [
        {"self": f"{API}/projectCategory/{cid}", "id": cid, "name": name, "description": desc}
        for cid, name, desc in CATEGORIES.values()
    ]


def project_category(cid: str) -> Json | None:
    """The category with id ``cid``, as projects carry it (``projectCategory``), or None."""
    return next((c for c in project_categories() if c["id"] == cid), None)


def category_of_type(ptype: str) -> Json | None:
    """The category the seeded projects of type ``ptype`` are filed under."""
    return project_category(CATEGORIES[ptype][0]) if ptype in CATEGORIES else None


def _icon(color: str) -> str:
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16">'
        f'<rect width="16" height="16" rx="3" fill="{color}"/></svg>'
    )
    return base64.b64encode(svg.encode()).decode()


PROJECT_TYPES = {
    "software": ("#8777D9", "jira.project.type.software.description"),
    "business": ("#FFAB00", "jira.project.type.business.description"),
}


def project_type(key: str) -> Json:
    color, i18n = PROJECT_TYPES[key]
    return {
        "key": key,
        "formattedKey": key.capitalize(),
        "descriptionI18nKey": i18n,
        "icon": _icon(color),
        "color": color,
    }


SYSTEM_AVATARS = range(10400, 10412)


def avatar(avatar_id: int, *, owner: str | None = None, selected: bool = False) -> Json:
    out: Json = {
        "id": str(avatar_id),
        "isSystemAvatar": owner is None,
        "isSelected": selected,
        "isDeletable": owner is not None,
        "urls": {
            size: f"{API}/universal_avatar/view/type/project/avatar/{avatar_id}?size={size}"
            for size in ("16x16", "24x24", "32x32", "48x48")
        },
    }
    if owner is None:
        out["fileName"] = f"project-{avatar_id}.svg"
    else:
        out["owner"] = owner
    return out


def project_avatar_id(project: Json) -> int:
    url = str(project.get("avatarUrls", {}).get("48x48", ""))
    digits = url.rsplit("/avatar/", 1)[-1].split("?", 1)[0]
    return int(digits) if digits.isdigit() else SYSTEM_AVATARS[0]


# -- screens, field configurations, schemes ----------------------------------------------

SCREEN_SKIP = {
    "issuekey",
    "thumbnail",
    "created",
    "updated",
    "creator",
    "status",
    "resolutiondate",
    "lastViewed",
    "watches",
    "votes",
    "workratio",
    "progress",
    "aggregateprogress",
    "aggregatetimespent",
    "aggregatetimeestimate",
    "aggregatetimeoriginalestimate",
    "timespent",
    "timeestimate",
    "timeoriginalestimate",
    "statuscategorychangedate",
    "subtasks",
    "comment",
    "worklog",
    "project",
    "resolution",
    "customfield_10019",
}
SCREENS = (
    (1, "Default Screen", "Allows to update all system fields."),
    (2, "Workflow Screen", "This screen is used in the workflow and enables you to assign issues"),
    (
        3,
        "Resolve Issue Screen",
        "Allows to set resolution, change fix versions and assign an issue.",
    ),
)


def screens() -> list[Json]:
    return [{"id": sid, "name": name, "description": desc} for sid, name, desc in SCREENS]


def screen_tab(screen_id: int) -> Json:
    return {"id": 10000 + screen_id - 1, "name": "Field Tab"}


def screen_field_ids(store: Store, screen_id: int) -> list[str]:
    if screen_id == 1:
        return [f["id"] for f in store.fields if f["id"] not in SCREEN_SKIP]
    if screen_id == 2:
        return ["assignee"]
    return ["resolution", "fixVersions", "assignee"]


def screen_fields(store: Store, screen_id: int) -> list[Json]:
    names = {f["id"]: f["name"] for f in store.fields}
    names.setdefault("resolution", "Resolution")
    return [{"id": fid, "name": names.get(fid, fid)} for fid in screen_field_ids(store, screen_id)]


def screen_schemes() -> list[Json]:
    return [
        {
            "id": 1,
            "name": "Default Screen Scheme",
            "description": "Default Screen Scheme",
            "screens": {"default": 1, "create": 1, "edit": 1, "view": 1},
        }
    ]


def issue_type_screen_schemes() -> list[Json]:
    return [
        {
            "id": "1",
            "name": "Default Issue Type Screen Scheme",
            "description": "The default issue type screen scheme",
        }
    ]


REQUIRED_FIELDS = {"summary", "issuetype", "project"}


def field_configurations() -> list[Json]:
    return [
        {
            "id": 10000,
            "name": "Default Field Configuration",
            "description": "The default field configuration",
            "isDefault": True,
        }
    ]


def field_configuration_items(store: Store) -> list[Json]:
    out = []
    for f in store.fields:
        item: Json = {
            "id": f["id"],
            "isHidden": False,
            "isRequired": f["id"] in REQUIRED_FIELDS,
        }
        custom = str(f.get("schema", {}).get("custom", ""))
        if f["id"] in ("description", "environment") or custom.endswith(":textarea"):
            item["renderer"] = "atlassian-wiki-renderer"
        elif f["schema"].get("type") == "string":
            item["renderer"] = "jira-text-renderer"
        if f["id"] in ("summary", "description"):
            item["description"] = {
                "summary": "A short summary of the issue.",
                "description": "A detailed description of the issue.",
            }[f["id"]]
        out.append(item)
    return out


def project_type_of(store: Store, project: Json) -> str:
    ptype = str(project.get("projectTypeKey", "software"))
    return ptype if ptype in PROJECT_TYPES else "software"


def issue_type_schemes(store: Store) -> list[Json]:
    out = [
        {
            "id": "10000",
            "name": "Default Issue Type Scheme",
            "description": "Default issue type scheme is the list of global issue types. All "
            "newly created issue types will automatically be added to this scheme.",
            "isDefault": True,
        }
    ]
    for n, ptype in enumerate(PROJECT_TYPES, start=1):
        out.append(
            {
                "id": str(10000 + n),
                "name": f"{ptype.capitalize()} Issue Type Scheme",
                "description": f"The issue types of {ptype} projects.",
                "defaultIssueTypeId": "10002",
            }
        )
    return out


def issue_type_scheme_types(store: Store, scheme_id: str) -> list[str]:
    if scheme_id == "10000":
        return list(store.issuetypes)
    ptypes = list(PROJECT_TYPES)
    index = int(scheme_id) - 10001
    if not 0 <= index < len(ptypes):
        return []
    # the union of the issue types of that type's projects (the seeded set when none yet)
    wanted: list[str] = []
    for pid, p in store.projects.items():
        if project_type_of(store, p) == ptypes[index]:
            for t in store.project_issuetypes.get(pid, []):
                if t not in wanted:
                    wanted.append(t)
    return wanted or (list(store.issuetypes) if index == 0 else ["10002", "10004"])


def issue_type_scheme_of(store: Store, project: Json) -> str:
    return str(10001 + list(PROJECT_TYPES).index(project_type_of(store, project)))


# -- notification, security and workflow schemes -------------------------------------------

EVENTS = (
    (1, "Issue Created", "This is the 'issue created' event."),
    (2, "Issue Updated", "This is the 'issue updated' event."),
    (3, "Issue Assigned", "This is the 'issue assigned' event."),
    (4, "Issue Resolved", "This is the 'issue resolved' event."),
    (6, "Issue Commented", "This is the 'issue commented' event."),
    (8, "Issue Deleted", "This is the 'issue deleted' event."),
    (10, "Work Logged On Issue", "This is the 'work logged on issue' event."),
    (14, "Issue Comment Edited", "This is the 'issue comment edited' event."),
)


def notification_scheme(store: Store, *, expand: bool) -> Json:
    out: Json = {
        "expand": "notificationSchemeEvents,user,group,projectRole,field,all",
        "id": 10000,
        "self": f"{API}/notificationscheme/10000",
        "name": "Default Notification Scheme",
        "description": "The notifications every project sends.",
        "projects": sorted(int(p) for p in store.projects),
    }
    if expand:
        events = []
        n = 10000
        for eid, name, desc in EVENTS:
            notifications: list[Json] = []
            for kind in ("CurrentAssignee", "Reporter", "AllWatchers"):
                n += 1
                notifications.append({"id": n, "notificationType": kind})
            if eid == 1:
                n += 1
                role = ROLE_BY_ID[10002]
                notifications.append(
                    {
                        "id": n,
                        "notificationType": "ProjectRole",
                        "parameter": str(role.id),
                        "recipient": str(role.id),
                        "projectRole": role_view(store, role, None, actors=False),
                    }
                )
            events.append(
                {
                    "event": {"id": eid, "name": name, "description": desc},
                    "notifications": notifications,
                }
            )
        out["notificationSchemeEvents"] = events
    return out


SECURITY_SCHEME_ID = 10000
SECURITY_LEVELS = (
    ("10000", "Staff", "Everyone in jira-users.", "group", "jira-users"),
    ("10001", "Administrators", "The project's Administrators role.", "projectRole", "10002"),
)


def security_scheme() -> Json:
    return {
        "self": f"{API}/issuesecurityschemes/{SECURITY_SCHEME_ID}",
        "id": SECURITY_SCHEME_ID,
        "name": "Default Issue Security Scheme",
        "description": "Issue security levels for software projects.",
        "defaultSecurityLevelId": 10000,
        "levels": [security_level(lid) for lid, *_ in SECURITY_LEVELS],
    }


def security_level(lid: str) -> Json:
    level = next(x for x in SECURITY_LEVELS if x[0] == lid)
    return {
        "self": f"{API}/securitylevel/{lid}",
        "id": lid,
        "description": level[2],
        "name": level[1],
        "isDefault": lid == "10000",
        "issueSecuritySchemeId": str(SECURITY_SCHEME_ID),
    }


def has_security_scheme(store: Store, project: Json) -> bool:
    return project_type_of(store, project) == "software"


def security_levels_for(store: Store, account: str, project: Json) -> list[Json]:
    """The levels of the project's scheme ``account`` is a member of."""
    if not has_security_scheme(store, project):
        return []
    out = []
    for lid, _name, _desc, kind, holder in SECURITY_LEVELS:
        if kind == "group":
            member = account in store.group_members.get(holder, [])
        else:
            member = account in role_members(store, ROLE_BY_ID[int(holder)], project)
        if member:
            out.append(security_level(lid))
    return out


def workflow_name(key: str) -> str:
    return f"{key.capitalize()} Workflow"


def workflow_schemes(store: Store) -> list[Json]:
    out = []
    for n, key in enumerate(sorted(store.workflows)):
        sid = 10000 + n
        out.append(
            {
                "id": sid,
                "name": f"{key.capitalize()} Workflow Scheme",
                "description": f"Every issue type of {key} projects uses the {workflow_name(key)}.",
                "defaultWorkflow": workflow_name(key),
                "issueTypeMappings": {},
                "draft": False,
                "self": f"{API}/workflowscheme/{sid}",
            }
        )
    return out


def workflow_scheme_of(store: Store, project: Json) -> Json | None:
    key = store.project_workflow.get(str(project["id"]))
    return next(
        (s for s in workflow_schemes(store) if s["defaultWorkflow"] == workflow_name(str(key))),
        None,
    )


def _entity_id(key: str) -> str:
    digest = hashlib.sha256(f"workflow:{key}".encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-8{digest[17:20]}-{digest[20:32]}"


def workflow_view(store: Store, key: str, expand: Iterable[str]) -> Json:
    wanted = set(expand)
    wf = store.workflows[key]
    out: Json = {
        "id": {"name": workflow_name(key), "entityId": _entity_id(key)},
        "description": f"The workflow of {key} projects.",
        "isDefault": False,
    }
    statuses: list[str] = []
    for t in wf["transitions"]:
        for sid in (*t["from"], t["to"]):
            if sid not in statuses:
                statuses.append(sid)
    if "transitions" in wanted:
        out["transitions"] = [
            {
                "id": t["id"],
                "name": t["name"],
                "description": "",
                "from": list(t["from"]),
                "to": t["to"],
                "type": "directed",
            }
            for t in wf["transitions"]
        ]
    if "statuses" in wanted:
        out["statuses"] = [
            {"id": sid, "name": store.statuses[sid]["name"], "properties": {}}
            for sid in statuses
            if sid in store.statuses
        ]
    if "projects" in wanted:
        out["projects"] = [
            {k: p[k] for k in ("self", "id", "key", "name", "projectTypeKey", "avatarUrls")}
            for pid, p in store.projects.items()
            if store.project_workflow.get(pid) == key
        ]
    return out


# -- dashboards, columns, application properties, time tracking ----------------------------


def dashboards(store: Store) -> list[Json]:
    out: list[Json] = [
        {
            "id": "10000",
            "isFavourite": False,
            "name": "Default dashboard",
            "popularity": 0,
            "self": f"{API}/dashboard/10000",
            "sharePermissions": [{"type": "global"}],
            "editPermissions": [],
            "systemDashboard": True,
            "view": f"{BASE}/jira/dashboards/10000",
            "isWritable": False,
        }
    ]
    for pid, p in store.projects.items():
        lead = p.get("lead") or {}
        did = str(10000 + int(pid) - 9999)
        out.append(
            {
                "id": did,
                "isFavourite": False,
                "name": f"{p['name']} dashboard",
                "description": f"Work in {p['key']}.",
                "owner": {
                    "key": lead.get("accountId"),
                    "accountId": lead.get("accountId"),
                    "displayName": lead.get("displayName"),
                    "active": lead.get("active", True),
                    "avatarUrls": lead.get("avatarUrls"),
                    "self": lead.get("self"),
                },
                "popularity": 1,
                "self": f"{API}/dashboard/{did}",
                "sharePermissions": [
                    {
                        "id": int(did),
                        "type": "project",
                        "project": {k: p[k] for k in ("self", "id", "key", "name")},
                    }
                ],
                "editPermissions": [],
                "systemDashboard": False,
                "view": f"{BASE}/jira/dashboards/{did}",
                "isWritable": True,
            }
        )
    return out


def visible_dashboards(store: Store, viewer: str) -> list[Json]:
    out = []
    for d in dashboards(store):
        shared = d["sharePermissions"][0]
        if shared["type"] == "project" and not store.can_browse(viewer, shared["project"]["id"]):
            continue
        out.append(
            {**d, "isWritable": d["isWritable"] and d.get("owner", {}).get("accountId") == viewer}
        )
    return out


COLUMNS = (
    ("Issue Type", "issuetype"),
    ("Key", "issuekey"),
    ("Summary", "summary"),
    ("Assignee", "assignee"),
    ("Reporter", "reporter"),
    ("Priority", "priority"),
    ("Status", "status"),
    ("Resolution", "resolution"),
    ("Created", "created"),
    ("Updated", "updated"),
    ("Due date", "duedate"),
)


def application_properties(store: Store) -> list[Json]:
    title = str(store.site.get("serverTitle", "Jira"))
    props = [
        ("jira.title", "Jira title", "The name of this Jira site.", "string", title, "Jira"),
        ("jira.option.voting", "Voting", "Users can vote for issues.", "boolean", "true", "true"),
        ("jira.option.watching", "Watching", "Users can watch issues.", "boolean", "true", "true"),
        (
            "jira.option.allowunassigned",
            "Allow unassigned issues",
            "Issues may be unassigned.",
            "boolean",
            "true",
            "true",
        ),
        (
            "jira.option.allowsubtasks",
            "Sub-tasks",
            "Sub-tasks are enabled.",
            "boolean",
            "true",
            "true",
        ),
        (
            "jira.option.issuelinking",
            "Issue linking",
            "Issues can be linked.",
            "boolean",
            "true",
            "true",
        ),
        (
            "jira.option.timetracking",
            "Time tracking",
            "Time tracking is enabled.",
            "boolean",
            "true",
            "true",
        ),
        (
            "jira.timetracking.hours.per.day",
            "Working hours per day",
            "Time tracking's day.",
            "number",
            "8",
            "8",
        ),
        (
            "jira.timetracking.days.per.week",
            "Working days per week",
            "Time tracking's week.",
            "number",
            "5",
            "5",
        ),
        (
            "jira.timetracking.format",
            "Time format",
            "How durations are displayed.",
            "select",
            "pretty",
            "pretty",
        ),
        (
            "jira.timetracking.default.unit",
            "Default unit",
            "The unit of a bare number.",
            "select",
            "minute",
            "minute",
        ),
        (
            "jira.lf.date.dmy",
            "Day/Month/Year format",
            "The date format.",
            "string",
            "dd/MMM/yy",
            "dd/MMM/yy",
        ),
        (
            "jira.lf.date.complete",
            "Complete date/time format",
            "The date and time format.",
            "string",
            "dd/MMM/yy h:mm a",
            "dd/MMM/yy h:mm a",
        ),
        (
            "jira.default.timezone",
            "Default user time zone",
            "The site's time zone.",
            "string",
            "UTC",
            "UTC",
        ),
        (
            "jira.lf.text.headingcolour",
            "Heading colour",
            "The colour of headings.",
            "colour",
            "#172B4D",
            "#172B4D",
        ),
    ]
    out = []
    for key, name, desc, kind, value, default in props:
        item: Json = {
            "id": key,
            "key": key,
            "value": value,
            "name": name,
            "desc": desc,
            "type": kind,
            "defaultValue": default,
        }
        if key == "jira.timetracking.format":
            item["allowedValues"] = ["pretty", "days", "hours"]
        elif key == "jira.timetracking.default.unit":
            item["allowedValues"] = ["minute", "hour", "day", "week"]
        out.append(item)
    return out


TIME_TRACKING_PROVIDER = {
    "key": "JIRA",
    "name": "JIRA provided time tracking",
    "url": "/secure/admin/TimeTrackingAdmin!default.jspa",
}
TIME_TRACKING_OPTIONS = {
    "workingHoursPerDay": 8.0,
    "workingDaysPerWeek": 5.0,
    "timeFormat": "pretty",
    "defaultUnit": "minute",
}


def labels(store: Store) -> list[str]:
    found: set[str] = set()
    for rec in store.issues.values():
        found.update(str(x) for x in rec.fields.get("labels") or ())
    return sorted(found)


def any_of(values: Iterable[Any]) -> set[str]:
    """Repeated or comma-separated query values as one set."""
    return {v.strip() for raw in values for v in str(raw).split(",") if v.strip()}
