"""Response views built on the fly from stored state (issues, comments, changelogs ...).

``version`` is the REST API version of the request: 3 keeps rich text as ADF, 2 turns it
into plain text. URLs keep the store's ``BASE``/``API`` markers; the JSON response class
substitutes them.
"""

from __future__ import annotations

import importlib
import json
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from jirakit.adf import from_wiki, to_text, to_wiki
from jirakit.sandbox.store import API, BASE, History, IssueRecord, Json, Store

DERIVED = (
    "comment",
    "worklog",
    "watches",
    "votes",
    "issuelinks",
    "subtasks",
    "progress",
    "aggregateprogress",
    "timetracking",
    "aggregatetimeoriginalestimate",
    "aggregatetimeestimate",
    "aggregatetimespent",
    "workratio",
    "attachment",
    "issuerestriction",
)
DERIVED_SET = frozenset(DERIVED)
_COMPUTED = DERIVED_SET | {"parent"}  # not copied from the stored fields as they are
ISSUE_EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"
RICH_TEXT_SYSTEM = ("description", "environment")
NESTED_ISSUE_FIELDS = ("summary", "status", "priority", "issuetype")


# -- rich text ----------------------------------------------------------------------------


def adf_to_text(node: Any) -> str:
    """Plain text of an ADF document (search, changelog strings, rendered HTML)."""
    return str(to_text(node))


def adf_to_wiki(node: Any) -> str:
    """REST v2 shows rich text as wiki markup."""
    return str(to_wiki(node))


def wiki_to_adf(text: str) -> Json:
    """REST v2 takes rich text as wiki markup."""
    doc: Json = from_wiki(text)
    return doc


def adf_to_html(node: Any) -> str:
    text = adf_to_text(node)
    return "".join(f"<p>{_escape(line)}</p>" for line in text.split("\n") if line)


def _escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def is_rich_text(store: Store, field_id: str) -> bool:
    if field_id in RICH_TEXT_SYSTEM:
        return True
    f = store.field(field_id)
    return bool(f and f["schema"].get("custom", "").endswith(":textarea"))


# -- fields selection ------------------------------------------------------------------


def split_list(values: Iterable[str] | None) -> list[str]:
    out: list[str] = []
    for v in values or ():
        out.extend(p.strip() for p in str(v).split(",") if p.strip())
    return out


def select_fields(store: Store, requested: Sequence[str] | None, default: str) -> list[str]:
    """Resolve a ``fields`` parameter to the ordered list of field ids to include."""
    tokens = list(requested) if requested else [default]
    order = [f["id"] for f in store.fields if f["id"] != "issuekey"]
    navigable = {f["id"] for f in store.fields if f.get("navigable")}
    by_name: dict[str, str] = {}
    for f in store.fields:
        for n in (f["id"], f["name"], *f.get("clauseNames", ())):
            by_name.setdefault(n.lower(), f["id"])
    include: set[str] = set()
    exclude: set[str] = set()
    explicit: list[str] = []
    for t in tokens:
        if t == "*all":
            include.update(order)
        elif t == "*navigable":
            include.update(navigable)
        elif t.startswith("-"):
            fid = by_name.get(t[1:].lower(), t[1:])
            exclude.add(fid)
            if not include and not explicit:
                include.update(navigable)  # "-description" alone: navigable minus one
        elif t in ("id", "key", "issuekey"):
            continue
        else:
            fid = by_name.get(t.lower(), t)
            if fid in order:
                explicit.append(fid)
    chosen = [fid for fid in order if fid in include and fid not in exclude]
    seen = set(chosen)
    for fid in explicit:
        if fid not in seen and fid not in exclude:
            chosen.append(fid)
            seen.add(fid)
    return chosen


def id_only(tokens: Sequence[str] | None) -> bool:
    """True for the id/key-only requests that may page up to 5000 issues."""
    return all(t in ("id", "key", "issuekey") for t in (tokens or ["id"]))


# -- issue views -------------------------------------------------------------------------


def user_ref(store: Store, account_id: str | None) -> Json | None:
    if account_id is None:
        return None
    return store.users.get(account_id)


def attachment_view(store: Store, att: Json, *, metadata: bool = False) -> Json:
    """Jira's ``Attachment`` (issue field, upload answer) or ``AttachmentMetadata``."""
    out: Json = {
        "self": f"{API}/attachment/{att['id']}",
        "id": int(att["id"]) if metadata else att["id"],
        "filename": att["filename"],
        "author": store.users.get(att["author"]),
        "created": att["created"],
        "size": att["size"],
        "mimeType": att["mimeType"],
        "content": f"{API}/attachment/content/{att['id']}",
    }
    if out["author"] is None:
        del out["author"]
    if metadata:
        out["properties"] = {}
    return out


def nested_issue(store: Store, rec: IssueRecord) -> Json:
    f = rec.fields
    return {
        "id": rec.sid,
        "key": rec.key,
        "self": f"{API}/issue/{rec.id}",
        "fields": {k: f.get(k) for k in NESTED_ISSUE_FIELDS},
    }


def _duration(seconds: int) -> str:
    parts = []
    for unit, size in (("w", 5 * 8 * 3600), ("d", 8 * 3600), ("h", 3600), ("m", 60)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts) or "0m"


def comment_view(
    store: Store, rec: IssueRecord, c: Json, version: int, *, rendered: bool = False
) -> Json:
    body = c["body"]
    out: Json = {
        "self": f"{API}/issue/{rec.id}/comment/{c['id']}",
        "id": c["id"],
        "author": c["author"],
        "body": body if version == 3 else adf_to_wiki(body),
        "updateAuthor": c["updateAuthor"],
        "created": c["created"],
        "updated": c["updated"],
        "jsdPublic": True,
    }
    if c.get("visibility"):
        out["visibility"] = c["visibility"]
    if rendered:
        out["renderedBody"] = adf_to_html(body)
    return out


def worklog_view(store: Store, rec: IssueRecord, w: Json, version: int) -> Json:
    author = store.users.get(w["author"])
    out: Json = {
        "self": f"{API}/issue/{rec.id}/worklog/{w['id']}",
        "author": author,
        "updateAuthor": store.users.get(w.get("updateAuthor") or w["author"]),
        "created": w["created"],
        "updated": w["updated"],
        "started": w["started"],
        "timeSpent": _duration(w["timeSpentSeconds"]),
        "timeSpentSeconds": w["timeSpentSeconds"],
        "id": w["id"],
        "issueId": rec.sid,
    }
    if w.get("comment") is not None:
        out["comment"] = w["comment"] if version == 3 else adf_to_wiki(w["comment"])
    return out


def history_view(store: Store, h: History) -> Json:
    out: Json = {"id": str(h.id)}
    author = store.users.get(h.author) if h.author else None
    if author is not None:
        out["author"] = author
    out["created"] = h.created
    out["items"] = [
        {
            "field": i[0],
            "fieldtype": i[1],
            "fieldId": i[2],
            "from": i[3],
            "fromString": i[4],
            "to": i[5],
            "toString": i[6],
        }
        for i in h.items
    ]
    return out


def derived_field(
    store: Store, rec: IssueRecord, fid: str, version: int, viewer: str | None
) -> Any:
    f = rec.fields
    if fid == "comment":
        comments = [comment_view(store, rec, c, version) for c in rec.comments]
        return {
            "comments": comments,
            "self": f"{API}/issue/{rec.id}/comment",
            "maxResults": len(comments),
            "total": len(comments),
            "startAt": 0,
        }
    if fid == "worklog":
        logs = [worklog_view(store, rec, w, version) for w in rec.worklogs[:20]]
        return {"startAt": 0, "maxResults": 20, "total": len(rec.worklogs), "worklogs": logs}
    if fid == "watches":
        return {
            "self": f"{API}/issue/{rec.key}/watchers",
            "watchCount": len(rec.watchers),
            "isWatching": viewer in rec.watchers,
        }
    if fid == "votes":
        return {
            "self": f"{API}/issue/{rec.key}/votes",
            "votes": len(rec.voters),
            "hasVoted": viewer in rec.voters,
        }
    if fid == "issuelinks":
        return [link_view(store, rec, lid) for lid in rec.links]
    if fid == "attachment":
        ids = store.issue_attachments.get(rec.id, ())
        return [attachment_view(store, store.attachments[a]) for a in ids]
    if fid == "issuerestriction":
        return {"issuerestrictions": {}, "shouldDisplay": False}
    if fid == "subtasks":
        kids = [store.issues[c] for c in store.children.get(rec.id, ()) if c in store.issues]
        return [nested_issue(store, k) for k in kids if k.fields["issuetype"]["subtask"]]
    spent = f.get("timespent")
    remaining = f.get("timeestimate")
    original = f.get("timeoriginalestimate")
    if fid in ("progress", "aggregateprogress"):
        done = spent or 0
        total = done + (remaining or 0)
        out: Json = {"progress": done, "total": total}
        if total:
            out["percent"] = done * 100 // total
        return out
    if fid == "aggregatetimeoriginalestimate":
        return original
    if fid == "aggregatetimeestimate":
        return remaining
    if fid == "aggregatetimespent":
        return spent
    if fid == "workratio":
        return (spent or 0) * 100 // original if original else -1
    if fid == "timetracking":
        tt: Json = {}
        if original is not None:
            tt["originalEstimate"] = _duration(original)
        if remaining is not None:
            tt["remainingEstimate"] = _duration(remaining)
        if spent is not None:
            tt["timeSpent"] = _duration(spent)
        if original is not None:
            tt["originalEstimateSeconds"] = original
        if remaining is not None:
            tt["remainingEstimateSeconds"] = remaining
        if spent is not None:
            tt["timeSpentSeconds"] = spent
        return tt
    return None


def full_link_view(store: Store, lid: int) -> Json:
    """``GET /issueLink/{id}``: both ends (the request's inward issue is the source)."""
    type_id, source, target = store.links[lid]
    return {
        "id": str(lid),
        "self": f"{API}/issueLink/{lid}",
        "type": store.link_types[type_id],
        "inwardIssue": nested_issue(store, store.issues[source]),
        "outwardIssue": nested_issue(store, store.issues[target]),
    }


def link_view(store: Store, rec: IssueRecord, lid: int) -> Json:
    type_id, outward, inward = store.links[lid]
    out: Json = {
        "id": str(lid),
        "self": f"{API}/issueLink/{lid}",
        "type": store.link_types[type_id],
    }
    if outward == rec.id:
        other = store.issues.get(inward)
        if other is not None:
            out["outwardIssue"] = nested_issue(store, other)
    else:
        other = store.issues.get(outward)
        if other is not None:
            out["inwardIssue"] = nested_issue(store, other)
    return out


def field_value(store: Store, rec: IssueRecord, fid: str, version: int, viewer: str | None) -> Any:
    if fid in DERIVED_SET:
        return derived_field(store, rec, fid, version, viewer)
    v = rec.fields.get(fid)
    if fid == "parent" and v is not None:
        parent = store.issues.get(rec.parent_id or -1)
        return nested_issue(store, parent) if parent else v
    if version == 2 and isinstance(v, dict) and v.get("type") == "doc":
        return adf_to_wiki(v)
    return v


def rendered_value(store: Store, rec: IssueRecord, fid: str) -> Any:
    v = rec.fields.get(fid)
    if v is None:
        return None
    if isinstance(v, dict) and v.get("type") == "doc":
        return adf_to_html(v)
    if fid in ("created", "updated", "resolutiondate", "statuscategorychangedate"):
        return _render_time(v)
    if fid == "duedate":
        return _render_date(v)
    return None


_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _render_date(v: str) -> str:
    y, m, d = v[:10].split("-")
    return f"{d}/{_MONTHS[int(m) - 1]}/{y[2:]}"


def _render_time(v: str) -> str:
    hour, minute = int(v[11:13]), v[14:16]
    ampm = "AM" if hour < 12 else "PM"
    return f"{_render_date(v)} {(hour % 12) or 12}:{minute} {ampm}"


def issue_view(
    store: Store,
    rec: IssueRecord,
    *,
    version: int = 3,
    fields: Sequence[str] | None = None,
    default_fields: str = "*all",
    expand: Iterable[str] = (),
    viewer: str | None = None,
    selected: list[str] | None = None,
) -> Json:
    """The IssueBean for ``GET /issue/{key}`` and search results.

    ``selected`` (already resolved field ids) short-circuits ``fields`` resolution, which
    search uses to resolve once per page.
    """
    expand = set(expand)
    chosen = selected if selected is not None else select_fields(store, fields, default_fields)
    out: Json = {
        "expand": ISSUE_EXPAND,
        "id": rec.sid,
        "self": f"{API}/issue/{rec.id}",
        "key": rec.key,
    }
    if "renderedFields" in expand:
        out["renderedFields"] = {fid: rendered_value(store, rec, fid) for fid in chosen}
    if "names" in expand:
        names = {f["id"]: f["name"] for f in store.fields}
        out["names"] = {fid: names[fid] for fid in chosen}
    if "schema" in expand:
        schemas = {f["id"]: f["schema"] for f in store.fields}
        out["schema"] = {fid: schemas[fid] for fid in chosen}
    if "transitions" in expand:
        from jirakit.sandbox.mutations import available_transitions

        out["transitions"] = [
            transition_view(store, t, with_fields=False) for t in available_transitions(store, rec)
        ]
    if "editmeta" in expand:
        out["editmeta"] = {"fields": edit_meta_fields(store, rec)}
    if "changelog" in expand:
        hs = rec.histories[-100:]
        out["changelog"] = {
            "startAt": 0,
            "maxResults": len(hs),
            "total": len(rec.histories),
            "histories": [history_view(store, h) for h in hs],
        }
    get = rec.fields.get
    out["fields"] = {
        fid: (
            field_value(store, rec, fid, version, viewer)
            if fid in _COMPUTED or (version == 2 and fid not in _PLAIN)
            else get(fid)
        )
        for fid in chosen
    }
    return out


# fields never holding ADF: v2 can copy them as they are
_PLAIN = frozenset(
    [
        "summary",
        "issuetype",
        "project",
        "status",
        "priority",
        "resolution",
        "resolutiondate",
        "assignee",
        "reporter",
        "creator",
        "created",
        "updated",
        "labels",
        "components",
        "fixVersions",
        "versions",
        "duedate",
        "timeoriginalestimate",
        "timeestimate",
        "timespent",
        "statuscategorychangedate",
        "lastViewed",
        "security",
    ]
)


# -- metadata views ----------------------------------------------------------------------


def transition_view(store: Store, t: Json, *, with_fields: bool) -> Json:
    status = store.statuses[t["to"]]
    out: Json = {
        "id": t["id"],
        "name": t["name"],
        "to": status,
        "hasScreen": t["to"] == "10002",
        "isGlobal": False,
        "isInitial": False,
        "isAvailable": True,
        "isConditional": False,
        "isLooped": False,
    }
    if with_fields:
        out["fields"] = transition_fields(store, t)
    return out


def transition_fields(store: Store, t: Json) -> Json:
    if t["to"] != "10002":
        return {}
    return {
        "resolution": {
            "required": False,
            "schema": {"type": "resolution", "system": "resolution"},
            "name": "Resolution",
            "key": "resolution",
            "operations": ["set"],
            "allowedValues": list(store.resolutions.values()),
        }
    }


EDITABLE_SYSTEM = (
    "summary",
    "description",
    "issuetype",
    "priority",
    "assignee",
    "reporter",
    "labels",
    "components",
    "fixVersions",
    "versions",
    "duedate",
    "environment",
    "parent",
    "timetracking",
)


def field_meta(store: Store, fid: str, project: Json | None, *, required: bool = False) -> Json:
    f = store.field(fid)
    assert f is not None
    schema = dict(f["schema"])
    ops: list[str]
    if schema["type"] == "array":
        ops = ["add", "set", "remove"]
    elif fid in ("summary", "description", "environment"):
        ops = ["set"]
    else:
        ops = ["set"]
    meta: Json = {
        "required": required,
        "schema": schema,
        "name": f["name"],
        "key": fid,
        "operations": ops,
    }
    if fid == "priority":
        meta["allowedValues"] = list(store.priorities.values())
        meta["hasDefaultValue"] = True
        meta["defaultValue"] = store.priorities["3"]
    elif fid in ("components",) and project is not None:
        meta["allowedValues"] = [
            {"self": c["self"], "id": c["id"], "name": c["name"]} for c in project["components"]
        ]
    elif fid in ("fixVersions", "versions") and project is not None:
        meta["allowedValues"] = project["versions"]
    elif fid in store.field_options:
        meta["allowedValues"] = store.field_options[fid]
    elif fid in ("assignee", "reporter") or schema.get("custom", "").endswith(":userpicker"):
        meta["autoCompleteUrl"] = f"{API}/user/search?query="
    elif fid == "labels":
        meta["autoCompleteUrl"] = f"{API}/label/suggest?query="
    return meta


def edit_meta_fields(store: Store, rec: IssueRecord) -> Json:
    project = store.projects.get(str(rec.project_id))
    out: Json = {}
    for fid in EDITABLE_SYSTEM:
        out[fid] = field_meta(store, fid, project, required=fid in ("summary", "issuetype"))
    for f in store.fields:
        if f["custom"] and f["id"] not in ("customfield_10019",):
            out[f["id"]] = field_meta(store, f["id"], project)
    return out


CREATE_SYSTEM = (
    "summary",
    "issuetype",
    "project",
    "description",
    "reporter",
    "assignee",
    "priority",
    "labels",
    "components",
    "fixVersions",
    "versions",
    "duedate",
    "environment",
    "parent",
    "timetracking",
)


def create_meta_fields(store: Store, project: Json, issuetype: Json) -> list[Json]:
    out: list[Json] = []
    fids = list(CREATE_SYSTEM) + [
        f["id"] for f in store.fields if f["custom"] and f["id"] not in ("customfield_10019",)
    ]
    for fid in fids:
        if fid == "parent" and not issuetype["subtask"] and issuetype["hierarchyLevel"] > 0:
            continue
        required = fid in ("summary", "issuetype", "project") or (
            fid == "parent" and issuetype["subtask"]
        )
        meta = field_meta(store, fid, project, required=required)
        if fid == "project":
            meta["allowedValues"] = [store.project_refs[project["id"]]]
        if fid == "issuetype":
            meta["allowedValues"] = [issuetype]
        meta["fieldId"] = fid
        meta.setdefault("hasDefaultValue", False)
        out.append(meta)
    return out


def user_full(store: Store, account_id: str, *, expand_groups: bool = False) -> Json:
    """The ``User`` shape (myself, /user): the ref plus locale and groups."""
    u = dict(store.users[account_id])
    u["locale"] = store.user_extra.get(account_id, {}).get("locale", "en_US")
    groups = [g for g, members in store.group_members.items() if account_id in members]
    u["groups"] = {
        "size": len(groups),
        "items": [
            {
                "name": g,
                "groupId": store.groups[g]["groupId"],
                "self": f"{API}/group?groupId={store.groups[g]['groupId']}",
            }
            for g in groups
        ]
        if expand_groups
        else [],
    }
    u["applicationRoles"] = {"size": 1, "items": []}
    u["expand"] = "groups,applicationRoles"
    return u


# -- rendered JSON cache -------------------------------------------------------------------

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _json_dumps() -> Callable[[Any], bytes]:
    """orjson when installed (several times faster on big pages), else the stdlib C encoder.

    Both give the same bytes: compact separators, UTF-8, no ASCII escaping."""
    try:
        orjson = importlib.import_module("orjson")
    except ImportError:
        encode = _ENCODER.encode

        def dumps(data: Any) -> bytes:
            return encode(data).encode("utf-8")

        return dumps
    fast: Callable[[Any], bytes] = orjson.dumps
    return fast


to_json_bytes = _json_dumps()
"""Compact UTF-8 JSON of ``data`` (URL markers left in)."""

_API_B, _BASE_B = API.encode(), BASE.encode()


def to_json_text(data: Any) -> str:
    return to_json_bytes(data).decode("utf-8")


class ViewCache:
    """LRU of rendered issue JSON text, dropped whenever the store changes at all.

    Views depend on other issues too (parent, links, sub-tasks), so any mutation
    (``Store.generation``) invalidates everything: simple and always correct.
    """

    def __init__(self, store: Store, size: int = 16384) -> None:
        self.store = store
        self.size = size
        self._items: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._generation = -1
        self._selections: dict[tuple[Any, ...], list[str]] = {}

    def select(self, requested: Sequence[str] | None, default: str) -> list[str]:
        """`select_fields`, memoised per (fields list, request)."""
        key = (id(self.store.fields), len(self.store.fields), tuple(requested or ()), default)
        chosen = self._selections.get(key)
        if chosen is None:
            if len(self._selections) > 256:
                self._selections.clear()
            chosen = self._selections[key] = select_fields(self.store, requested, default)
        return chosen

    def issue_json(
        self,
        rec: IssueRecord,
        *,
        version: int,
        selected: list[str],
        expand: Sequence[str] = (),
        viewer: str | None = None,
        base: str = BASE,
        api: str = API,
    ) -> bytes:
        """The issue's JSON (UTF-8) with URLs already pointing at ``base``/``api``.

        Bytes, not str: pages are joined from these, and one emoji would make a str page
        four bytes per character to copy around."""
        store = self.store
        if store.generation != self._generation:
            self._items.clear()
            self._generation = store.generation
        key = (rec.id, rec.version, api, tuple(selected), tuple(expand), viewer)
        text = self._items.get(key)
        if text is None:
            view = issue_view(
                store, rec, version=version, selected=selected, expand=expand, viewer=viewer
            )
            text = to_json_bytes(view).replace(_API_B, api.encode()).replace(_BASE_B, base.encode())
            self._items[key] = text
            if len(self._items) > self.size:
                self._items.popitem(last=False)
        return text
