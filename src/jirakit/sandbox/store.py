"""In-memory state of one sandbox site, with the indexes search and reads need.

The store's one job is holding state and keeping its indexes right. It knows nothing of
HTTP, JQL or validation (see ``mutations``, ``views``, ``search``).

Issue fields are kept once, in Jira's REST (v3) shape, with sparse storage (absent means
``null``) and *shared* reference objects: every issue in status "Done" points at the same
status dict, every issue assigned to Ann at Ann's user dict. Response views are built on the
fly (``views``). URLs inside stored objects use the ``BASE``/``API`` markers, replaced by
the request's base URL when a response is written, so one state serves any host/port.

Changelog histories are stored as compact tuples (`History`) and expanded to JSON on read.
The whole state is JSON-serialisable (`Store.to_json` / `Store.from_json`) for ``--data``.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from jirakit.sandbox.events import EventBus

Json = dict[str, Any]

BASE = "@@BASE@@"  # the site's base URL, e.g. http://127.0.0.1:8080
API = "@@API@@"  # {BASE}/rest/api/{2|3}, matching the version of the request

# (field, fieldtype, fieldId, from, fromString, to, toString)
ChangeItem = tuple[str, str, str, str | None, str | None, str | None, str | None]


@dataclass(slots=True)
class History:
    """One changelog entry (a group of item changes made at once by one author)."""

    id: int
    author: str | None  # accountId
    created: str  # Jira timestamp
    items: tuple[ChangeItem, ...]

    def to_json(self) -> list[Any]:
        return [self.id, self.author, self.created, [list(i) for i in self.items]]

    @classmethod
    def from_json(cls, data: list[Any]) -> History:
        items = tuple(tuple(i) for i in data[3])
        return cls(data[0], data[1], data[2], items)


@dataclass(slots=True)
class IssueRecord:
    """One issue. ``fields`` is sparse REST v3 JSON sharing reference objects.

    Derived fields (comment, worklog, watches, votes, issuelinks, subtasks, parent's
    nested view, progress) are not stored; ``views`` builds them.
    """

    id: int
    key: str
    project_id: int
    fields: Json
    created_ms: int
    updated_ms: int
    parent_id: int | None = None
    histories: list[History] = field(default_factory=list)
    comments: list[Json] = field(default_factory=list)
    worklogs: list[Json] = field(default_factory=list)
    watchers: list[str] = field(default_factory=list)
    voters: list[str] = field(default_factory=list)
    links: list[int] = field(default_factory=list)
    version: int = 1
    # Render revision (not persisted): bumped by `Store.dirty` whenever anything this
    # issue's views show changes, its own state or a neighbour it embeds (parent,
    # sub-tasks, linked issues). Rendered-JSON caches key on it.
    rev: int = 0
    # Search eventual consistency: before ``searchable_ms`` the search index still sees
    # ``search_fields`` (the previous state), or nothing at all when it is None.
    searchable_ms: int = 0
    search_fields: Json | None = None
    search_histories: list[History] | None = None

    @property
    def sid(self) -> str:
        return str(self.id)


def _hidden(project: Json | None) -> bool:
    """A project in the trash or archived: nobody browses it until it is restored."""
    return project is not None and bool(project.get("deleted") or project.get("archived"))


def _ref_key(v: Any) -> Any:
    if isinstance(v, dict):
        return v.get("accountId") or str(v.get("id"))
    return v


@dataclass(slots=True)
class Tombstone:
    """A deleted issue that the (lagging) search index still returns until ``until_ms``."""

    until_ms: int
    record: IssueRecord


REFERENCE_FIELDS = {
    # field id -> store collection used to re-share objects after loading from JSON
    "status": "statuses",
    "priority": "priorities",
    "resolution": "resolutions",
    "issuetype": "issuetypes",
    "project": "project_refs",
    "assignee": "users",
    "reporter": "users",
    "creator": "users",
}


class Store:
    """All the state of one sandbox site."""

    def __init__(self, flavour: str = "cloud") -> None:
        self.flavour = flavour
        self.lock = threading.RLock()
        self.site: Json = {}
        # people
        self.users: dict[str, Json] = {}  # accountId -> user ref (UserDetails shape)
        self.user_extra: dict[str, Json] = {}  # accountId -> {locale, groups...}
        self.tokens: dict[str, str] = {}  # email (and DC username) -> API token / password
        self.pats: dict[str, str] = {}  # personal access token -> accountId (Data Center)
        self.groups: dict[str, Json] = {}  # name -> {"name", "groupId"}
        self.group_members: dict[str, list[str]] = {}
        # configuration
        self.status_categories: dict[int, Json] = {}
        self.statuses: dict[str, Json] = {}
        self.priorities: dict[str, Json] = {}
        self.resolutions: dict[str, Json] = {}
        self.issuetypes: dict[str, Json] = {}
        self.projects: dict[str, Json] = {}  # id -> full project JSON (without derived parts)
        self.project_refs: dict[str, Json] = {}  # id -> the small ref used in issue fields
        self.components: dict[str, Json] = {}
        self.versions: dict[str, Json] = {}
        self.fields: list[Json] = []  # FieldDetails, in /field order
        self.field_options: dict[str, list[Json]] = {}  # field id -> select options
        self.workflows: dict[str, Json] = {}  # name -> {"transitions": [...]}
        self.project_workflow: dict[str, str] = {}  # project id -> workflow name
        self.project_issuetypes: dict[str, list[str]] = {}  # project id -> issue type ids
        self.link_types: dict[str, Json] = {}
        self.boards: dict[int, Json] = {}
        self.sprints: dict[int, Json] = {}
        # issues and indexes
        self.issues: dict[int, IssueRecord] = {}
        self.by_key: dict[str, int] = {}
        self.by_project: dict[int, dict[int, None]] = {}  # ordered sets of issue ids
        self.children: dict[int, list[int]] = {}  # parent id -> sub-task/child ids
        self.updated_index: list[tuple[int, int]] = []  # sorted (updated_ms, id)
        self.links: dict[int, tuple[str, int, int]] = {}  # id -> (type id, outward, inward)
        self.tombstones: dict[int, Tombstone] = {}
        self.counters: dict[str, int] = {
            "issue": 10000,
            "comment": 10000,
            "worklog": 10000,
            "history": 10000,
            "link": 10000,
        }
        self.project_counters: dict[str, int] = {}  # project key -> last issue number
        self.deleted_worklogs: list[list[int]] = []  # [worklog id, deleted at (epoch ms)]
        self.project_access: dict[str, list[str]] = {}  # project id -> groups that may browse
        # attachments: id -> {"issue", "filename", "author", "created", "size", "mimeType",
        # "data" (base64)}; ``issue_attachments`` indexes them per issue (rebuilt on load)
        self.attachments: dict[str, Json] = {}
        self.issue_attachments: dict[int, list[str]] = {}
        self.remote_links: dict[str, list[Json]] = {}  # issue id -> RemoteIssueLink JSON
        self.issue_properties: dict[str, dict[str, Any]] = {}  # issue id -> key -> value
        self.filters: dict[str, Json] = {}  # id -> {id, name, jql, description, owner, favourites}
        self.events = EventBus()  # change notifications (not persisted)
        self.generation = 0  # bumped on every mutation; search caches key on it
        # Bumped by changes that may show in *any* issue's views (users, options, sprints,
        # projects ...: whatever goes through `changed`) and by bulk loads; per-issue
        # changes bump `IssueRecord.rev` instead (`dirty`). Rendered-JSON caches key on both.
        self.epoch = 0
        self.pending_until_ms = 0  # max searchable_ms of any pending change

    # -- ids -----------------------------------------------------------------------

    def next_id(self, kind: str) -> int:
        self.counters[kind] = self.counters.get(kind, 10000) + 1
        return self.counters[kind]

    def add_attachment(self, att: Json) -> None:
        self.attachments[att["id"]] = att
        self.issue_attachments.setdefault(att["issue"], []).append(att["id"])
        self.dirty(att["issue"])
        self.generation += 1

    def remove_attachment(self, att_id: str) -> Json | None:
        att = self.attachments.pop(att_id, None)
        if att is not None:
            ids = self.issue_attachments.get(att["issue"], [])
            if att_id in ids:
                ids.remove(att_id)
            self.dirty(att["issue"])
            self.generation += 1
        return att

    def next_issue_key(self, project_key: str) -> str:
        n = self.project_counters.get(project_key, 0) + 1
        self.project_counters[project_key] = n
        return f"{project_key}-{n}"

    # -- lookups -------------------------------------------------------------------

    def issue(self, id_or_key: str) -> IssueRecord | None:
        if id_or_key.isdigit():
            return self.issues.get(int(id_or_key))
        iid = self.by_key.get(id_or_key.upper())
        return None if iid is None else self.issues.get(iid)

    def project(self, id_or_key: str) -> Json | None:
        if id_or_key in self.projects:
            return self.projects[id_or_key]
        for p in self.projects.values():
            if p["key"] == id_or_key.upper():
                return p
        return None

    def user_by_login(self, login: str) -> Json | None:
        login_l = login.lower()
        for u in self.users.values():
            if (u.get("emailAddress") or "").lower() == login_l or u.get("name") == login:
                return u
        return None

    def field(self, field_id: str) -> Json | None:
        for f in self.fields:
            if f["id"] == field_id:
                return f
        return None

    def can_browse(
        self, account_id: str | None, project_id: int | str, *, include_hidden: bool = False
    ) -> bool:
        """Browse permission: projects without an access list are open to everyone;
        projects in the trash or archived (``deleted``/``archived`` set) to no one, unless
        ``include_hidden`` (the access list alone: for restoring or deleting them)."""
        if not include_hidden and _hidden(self.projects.get(str(project_id))):
            return False
        groups = self.project_access.get(str(project_id))
        if not groups:
            return True
        if account_id is None:
            return False
        # Jira's group names are case-insensitive: "QA-Leads" in an access list is "qa-leads".
        allowed = {g.casefold() for g in groups}
        return any(
            account_id in members
            for name, members in self.group_members.items()
            if name.casefold() in allowed
        )

    def browsable_projects(self, account_id: str | None) -> set[int] | None:
        """Project ids ``account_id`` may browse, or None when nothing is restricted."""
        if not self.project_access and not any(map(_hidden, self.projects.values())):
            return None
        return {int(pid) for pid in self.projects if self.can_browse(account_id, pid)}

    def iter_project_issues(self, project_id: int) -> Iterator[IssueRecord]:
        for iid in self.by_project.get(project_id, {}):
            yield self.issues[iid]

    # -- mutation primitives (indexes) ---------------------------------------------

    def add_issue(self, rec: IssueRecord) -> None:
        self.issues[rec.id] = rec
        self.by_key[rec.key] = rec.id
        self.by_project.setdefault(rec.project_id, {})[rec.id] = None
        if rec.parent_id is not None:
            self.children.setdefault(rec.parent_id, []).append(rec.id)
            self.dirty(rec.parent_id)  # its sub-tasks list grew
        bisect.insort(self.updated_index, (rec.updated_ms, rec.id))
        self.generation += 1

    def bulk_load(self, records: Iterable[IssueRecord]) -> None:
        """Add many issues at once (generator/persistence fast path)."""
        for rec in records:
            self.issues[rec.id] = rec
            self.by_key[rec.key] = rec.id
            self.by_project.setdefault(rec.project_id, {})[rec.id] = None
            if rec.parent_id is not None:
                self.children.setdefault(rec.parent_id, []).append(rec.id)
        self.updated_index = sorted((r.updated_ms, r.id) for r in self.issues.values())
        self.generation += 1
        self.epoch += 1

    def remove_issue(self, rec: IssueRecord, now_ms: int, lag_ms: int) -> None:
        self.dirty(*self.neighbours(rec))  # links are dirtied by `remove_link` below
        del self.issues[rec.id]
        self.by_key.pop(rec.key, None)
        self.by_project.get(rec.project_id, {}).pop(rec.id, None)
        if rec.parent_id is not None and rec.parent_id in self.children:
            kids = self.children[rec.parent_id]
            if rec.id in kids:
                kids.remove(rec.id)
        self.children.pop(rec.id, None)
        for aid in self.issue_attachments.pop(rec.id, []):
            self.attachments.pop(aid, None)
        self.remote_links.pop(rec.sid, None)
        self.issue_properties.pop(rec.sid, None)
        self._unindex_updated(rec)
        for lid in list(rec.links):
            self.remove_link(lid)
        if lag_ms > 0 and rec.searchable_ms <= now_ms:
            self.tombstones[rec.id] = Tombstone(now_ms + lag_ms, rec)
            self.pending_until_ms = max(self.pending_until_ms, now_ms + lag_ms)
        self.generation += 1

    def touched(
        self,
        rec: IssueRecord,
        now_ms: int,
        lag_ms: int,
        before: Json | None,
        before_histories: list[History] | None,
    ) -> None:
        """Record that ``rec`` changed at ``now_ms``: version, ``updated``, indexes, lag.

        ``before`` is the fields dict as it was before the change (copy-on-write: callers
        replace values, never mutate them in place).
        """
        self._unindex_updated(rec)
        rec.updated_ms = now_ms
        rec.version += 1
        # Views embedding this issue (its parent's sub-tasks, its children's parent, linked
        # issues) show its summary/status...: re-render them too, and a former parent.
        old_parent = (before or {}).get("parent")
        self.dirty(rec.id, *self.neighbours(rec))
        if isinstance(old_parent, dict) and str(old_parent.get("id", "")).isdigit():
            self.dirty(int(old_parent["id"]))
        bisect.insort(self.updated_index, (rec.updated_ms, rec.id))
        if lag_ms > 0:
            if rec.searchable_ms <= now_ms:  # not already pending: keep the indexed state
                rec.search_fields = before
                rec.search_histories = before_histories
            rec.searchable_ms = now_ms + lag_ms
            self.pending_until_ms = max(self.pending_until_ms, rec.searchable_ms)
        self.generation += 1

    def _unindex_updated(self, rec: IssueRecord) -> None:
        i = bisect.bisect_left(self.updated_index, (rec.updated_ms, rec.id))
        if i < len(self.updated_index) and self.updated_index[i] == (rec.updated_ms, rec.id):
            del self.updated_index[i]

    def changed(self) -> None:
        """Note a change made outside the primitives here (watchers, votes ...): caches
        keyed on `generation` (search results) and `epoch` (rendered views) are dropped."""
        self.generation += 1
        self.epoch += 1

    def dirty(self, *issue_ids: int | None) -> None:
        """Bump the render revision of these issues (their rendered JSON is stale)."""
        for iid in issue_ids:
            rec = self.issues.get(iid) if iid is not None else None
            if rec is not None:
                rec.rev += 1

    def neighbours(self, rec: IssueRecord) -> list[int]:
        """Ids of the issues whose views embed ``rec`` (parent, children, linked issues)."""
        out = list(self.children.get(rec.id, ()))
        if rec.parent_id is not None:
            out.append(rec.parent_id)
        for lid in rec.links:
            entry = self.links.get(lid)
            if entry is not None:
                out.extend(entry[1:])
        return out

    def add_link(self, type_id: str, outward_id: int, inward_id: int) -> int:
        lid = self.next_id("link")
        self.links[lid] = (type_id, outward_id, inward_id)
        self.issues[outward_id].links.append(lid)
        self.issues[inward_id].links.append(lid)
        self.dirty(outward_id, inward_id)
        self.generation += 1
        return lid

    def remove_link(self, lid: int) -> None:
        entry = self.links.pop(lid, None)
        if entry is None:
            return
        for iid in entry[1:]:
            rec = self.issues.get(iid)
            if rec is not None and lid in rec.links:
                rec.links.remove(lid)
        self.dirty(entry[1], entry[2])
        self.generation += 1

    def expire_tombstones(self, now_ms: int) -> None:
        for iid in [i for i, t in self.tombstones.items() if t.until_ms <= now_ms]:
            del self.tombstones[iid]

    # -- persistence ---------------------------------------------------------------

    _META = (
        "site",
        "deleted_worklogs",
        "project_access",
        "users",
        "user_extra",
        "tokens",
        "pats",
        "groups",
        "group_members",
        "statuses",
        "priorities",
        "resolutions",
        "issuetypes",
        "projects",
        "project_refs",
        "components",
        "versions",
        "fields",
        "field_options",
        "workflows",
        "project_workflow",
        "project_issuetypes",
        "link_types",
        "counters",
        "project_counters",
        "attachments",
        "remote_links",
        "filters",
        "issue_properties",
    )

    def to_json(self) -> Json:
        """The whole state as plain JSON (shared objects are simply repeated)."""
        out: Json = {"format": "jirakit-sandbox/1", "flavour": self.flavour}
        for name in self._META:
            out[name] = getattr(self, name)
        out["status_categories"] = {str(k): v for k, v in self.status_categories.items()}
        out["boards"] = {str(k): v for k, v in self.boards.items()}
        out["sprints"] = {str(k): v for k, v in self.sprints.items()}
        out["links"] = {str(k): list(v) for k, v in self.links.items()}
        out["issues"] = [
            {
                "id": r.id,
                "key": r.key,
                "project_id": r.project_id,
                "parent_id": r.parent_id,
                "fields": r.fields,
                "created_ms": r.created_ms,
                "updated_ms": r.updated_ms,
                "histories": [h.to_json() for h in r.histories],
                "comments": r.comments,
                "worklogs": r.worklogs,
                "watchers": r.watchers,
                "voters": r.voters,
                "links": r.links,
                "version": r.version,
            }
            for r in self.issues.values()
        ]
        return out

    @classmethod
    def from_json(cls, data: Json) -> Store:
        if data.get("format") != "jirakit-sandbox/1":
            raise ValueError("not a jirakit sandbox state file")
        store = cls(data["flavour"])
        for name in cls._META:
            if name in data:
                setattr(store, name, data[name])
        store.status_categories = {int(k): v for k, v in data["status_categories"].items()}
        store.boards = {int(k): v for k, v in data["boards"].items()}
        store.sprints = {int(k): v for k, v in data["sprints"].items()}
        store.links = {int(k): (v[0], v[1], v[2]) for k, v in data["links"].items()}
        store._relink_config()
        records = []
        for d in data["issues"]:
            rec = IssueRecord(
                id=d["id"],
                key=d["key"],
                project_id=d["project_id"],
                parent_id=d["parent_id"],
                fields=store.intern_fields(d["fields"]),
                created_ms=d["created_ms"],
                updated_ms=d["updated_ms"],
                histories=[History.from_json(h) for h in d["histories"]],
                comments=d["comments"],
                worklogs=d["worklogs"],
                watchers=d["watchers"],
                voters=d["voters"],
                links=d["links"],
                version=d["version"],
            )
            for c in rec.comments:
                c["author"] = store.users.get(c["author"]["accountId"], c["author"])
                c["updateAuthor"] = store.users.get(
                    c["updateAuthor"]["accountId"], c["updateAuthor"]
                )
            records.append(rec)
        store.bulk_load(records)
        for att in store.attachments.values():
            store.issue_attachments.setdefault(att["issue"], []).append(att["id"])
        return store

    def intern_fields(self, fields: Json) -> Json:
        """Re-share reference objects (statuses, users, sprints, options ...) after a JSON
        round trip, so a change to one (a sprint closing) shows in every issue again."""
        for fid, coll in REFERENCE_FIELDS.items():
            v = fields.get(fid)
            if isinstance(v, dict):
                key = v.get("accountId") if coll == "users" else v.get("id")
                shared = getattr(self, coll).get(key)
                if shared is not None:
                    fields[fid] = shared
        pools = self._ref_pools()
        for fid, v in fields.items():
            pool = pools.get(fid)
            if pool is None:
                continue
            if isinstance(v, list):
                fields[fid] = [pool.get(_ref_key(x), x) for x in v]
            elif isinstance(v, dict):
                fields[fid] = pool.get(_ref_key(v), v)
        return fields

    def _ref_pools(self) -> dict[str, dict[Any, Json]]:
        """field id -> {id: shared object} for the list/custom reference fields."""
        options = {o["id"]: o for opts in self.field_options.values() for o in opts}
        pools: dict[str, dict[Any, Json]] = {
            "components": self.components,
            "fixVersions": self.versions,
            "versions": self.versions,
        }
        for f in self.fields:
            custom = f["schema"].get("custom", "")
            if custom.endswith(":gh-sprint"):
                pools[f["id"]] = {str(k): v for k, v in self.sprints.items()}
            elif custom.endswith(("select", "multiselect")):
                pools[f["id"]] = options
            elif custom.endswith(":userpicker"):
                pools[f["id"]] = self.users
        return pools

    def _relink_config(self) -> None:
        """Projects share their components/versions/lead with the store's collections."""
        for ref in self.project_refs.values():
            proj = self.projects.get(ref["id"])
            if proj is None:
                continue
            proj["components"] = [self.components.get(c["id"], c) for c in proj["components"]]
            proj["versions"] = [self.versions.get(v["id"], v) for v in proj["versions"]]
            proj["lead"] = self.users.get(proj["lead"]["accountId"], proj["lead"])
            proj["issueTypes"] = [self.issuetypes.get(t["id"], t) for t in proj["issueTypes"]]
        for comp in self.components.values():
            if isinstance(comp.get("lead"), dict):
                comp["lead"] = self.users.get(comp["lead"]["accountId"], comp["lead"])
        for status in self.statuses.values():
            cat = status["statusCategory"]
            status["statusCategory"] = self.status_categories.get(cat["id"], cat)
