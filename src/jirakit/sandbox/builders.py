"""Builders of the site's shared objects, used by both the seeded-data generator and the
admin routes, so a project looks the same however it came to be."""

from __future__ import annotations

from jirakit.sandbox.store import API, Json, Store


def add_project(
    store: Store,
    *,
    pid: str,
    key: str,
    name: str,
    description: str,
    lead: Json,
    ptype: str,
    types: list[str],
    assignee: str,
    avatar_id: int,
    components: list[Json],
    versions: list[Json],
    url: str | None = None,
    category: Json | None = None,
) -> Json:
    """Build project ``pid`` and register it in ``store`` (project, its short reference,
    workflow, issue types and key counter); answers the project. ``url`` is set only when
    given (non-empty), ``projectCategory`` only when ``category`` is (as Jira omits it for
    a project without one)."""
    avatars = {
        size: f"{API}/universal_avatar/view/type/project/avatar/{avatar_id}?size={size}"
        for size in ("48x48", "24x24", "16x16", "32x32")
    }
    proj: Json = {
        "expand": "description,lead,issueTypes,url,projectKeys,permissions,insight",
        "self": f"{API}/project/{pid}",
        "id": pid,
        "key": key,
        "description": description,
        "lead": lead,
        "components": components,
        "issueTypes": [store.issuetypes[t] for t in types],
        "assigneeType": assignee,
        "versions": versions,
        "name": name,
        "roles": {},
        "avatarUrls": avatars,
        "projectTypeKey": ptype,
        "simplified": False,
        "style": "classic",
        "isPrivate": False,
        "properties": {},
    }
    if url:
        proj["url"] = url
    if category:
        proj["projectCategory"] = dict(category)
    store.projects[pid] = proj
    store.project_refs[pid] = {
        "self": f"{API}/project/{pid}",
        "id": pid,
        "key": key,
        "name": name,
        "projectTypeKey": ptype,
        "simplified": False,
        "avatarUrls": avatars,
    }
    store.project_workflow[pid] = ptype
    store.project_issuetypes[pid] = list(types)
    store.project_counters[key] = 0
    return proj
