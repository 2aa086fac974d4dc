"""Response views built on the fly from stored state (issues, comments, changelogs ...).

``version`` is the REST API version of the request: 3 keeps rich text as ADF, 2 turns it
into plain text. URLs keep the store's ``BASE``/``API`` markers; the JSON response class
substitutes them. Issues, the bulk of every search page, go through `ViewCache` instead,
which writes them for the request's site directly and caches them.
"""

from __future__ import annotations

import importlib
import json
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from jirakit.adf import from_wiki, to_text, to_wiki
from jirakit.sandbox.clock import parse_jira_time
from jirakit.sandbox.store import API, BASE, History, IssueRecord, Json, Store

Encode = Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


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
ISSUE_EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"
RICH_TEXT_SYSTEM = ("description", "environment")
NESTED_ISSUE_FIELDS = ("summary", "status", "priority", "issuetype")

# Embedded lists in ``search/jql`` (and ``issue/bulkfetch``) are capped like Jira Cloud's
# enhanced search, unlike GET issue (100 histories, every comment):
# - changelog: at most 40 histories. Atlassian's migration FAQ for the enhanced search
#   ("How can I fetch more than 40 changelog items for an issue? Use Get changelogs"),
#   quoted in https://jira.atlassian.com/browse/JRACLOUD-96459. The spec's ``expand``
#   text says "a list of recent updates ... sorted by date, starting from the most
#   recent": the most recent 40 are kept, newest first (GET issue's 100 likewise).
# - comment: at most 20 comments. No Atlassian page found says so; the figure is from
#   Adaptavist's summary of the migration guide ("returns a maximum of 20 comments"),
#   https://docs.adaptavist.com/sr4jc/latest/release-notes/breaking-changes/atlassian-rest-api-search-endpoints-deprecation
#   The object keeps Jira's page shape: ``startAt`` 0, ``maxResults`` = how many are
#   embedded, ``total`` = how many exist, so readers page the rest per issue.
SEARCH_CHANGELOG_CAP = 40
SEARCH_COMMENT_CAP = 20
ISSUE_CHANGELOG_CAP = 100


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


def attachment_view(
    store: Store, att: Json, *, metadata: bool = False, api: str = API, enc: Encode = _same
) -> Json:
    """Jira's ``Attachment`` (issue field, upload answer) or ``AttachmentMetadata``.

    ``api`` and ``enc`` (here and in the other views) are for `ViewCache`: URLs written
    for one request, shared reference objects swapped for pre-rendered JSON."""
    author = store.users.get(att["author"])
    out: Json = {
        "self": f"{api}/attachment/{att['id']}",
        "id": int(att["id"]) if metadata else att["id"],
        "filename": att["filename"],
        "author": author if author is None else enc(author),
        "created": att["created"],
        "size": att["size"],
        "mimeType": att["mimeType"],
        "content": f"{api}/attachment/content/{att['id']}",
    }
    if out["author"] is None:
        del out["author"]
    if metadata:
        out["properties"] = {}
    return out


def nested_issue(store: Store, rec: IssueRecord, api: str = API, enc: Encode = _same) -> Json:
    f = rec.fields
    return {
        "id": rec.sid,
        "key": rec.key,
        "self": f"{api}/issue/{rec.id}",
        "fields": {k: enc(f.get(k)) for k in NESTED_ISSUE_FIELDS},
    }


@lru_cache(maxsize=4096)
def _duration(seconds: int) -> str:
    parts = []
    for unit, size in (("w", 5 * 8 * 3600), ("d", 8 * 3600), ("h", 3600), ("m", 60)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts) or "0m"


def comment_view(
    store: Store,
    rec: IssueRecord,
    c: Json,
    version: int,
    *,
    rendered: bool = False,
    api: str = API,
    enc: Encode = _same,
) -> Json:
    body = c["body"]
    out: Json = {
        "self": f"{api}/issue/{rec.id}/comment/{c['id']}",
        "id": c["id"],
        "author": enc(c["author"]),
        "body": body if version == 3 else adf_to_wiki(body),
        "updateAuthor": enc(c["updateAuthor"]),
        "created": c["created"],
        "updated": c["updated"],
        "jsdPublic": True,
    }
    if c.get("visibility"):
        out["visibility"] = c["visibility"]
    if rendered:
        out["renderedBody"] = adf_to_html(body)
    return out


def worklog_view(
    store: Store, rec: IssueRecord, w: Json, version: int, api: str = API, enc: Encode = _same
) -> Json:
    users = store.users
    out: Json = {
        "self": f"{api}/issue/{rec.id}/worklog/{w['id']}",
        "author": enc(users.get(w["author"])),
        "updateAuthor": enc(users.get(w.get("updateAuthor") or w["author"])),
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


def history_view(store: Store, h: History, enc: Encode = _same) -> Json:
    out: Json = {"id": str(h.id)}
    author = store.users.get(h.author) if h.author else None
    if author is not None:
        out["author"] = enc(author)
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


class Render:
    """What views are written for: the store, the API version (3: ADF, 2: wiki markup),
    who asks (watches, votes), the URL prefix, ``enc`` (how reference objects are written:
    as they are, or as `ViewCache`'s pre-rendered fragments) and ``caps`` (embed lists
    capped as ``search/jql`` does). One per page in `ViewCache`."""

    __slots__ = ("api", "caps", "enc", "store", "version", "viewer")

    def __init__(
        self,
        store: Store,
        version: int = 3,
        viewer: str | None = None,
        api: str = API,
        enc: Encode = _same,
        caps: bool = False,
    ) -> None:
        self.store, self.version, self.viewer = store, version, viewer
        self.api, self.enc, self.caps = api, enc, caps


FieldView = Callable[[Render, IssueRecord], Any]


def _comments(r: Render, rec: IssueRecord) -> Json:
    comments = rec.comments
    shown = comments[:SEARCH_COMMENT_CAP] if r.caps else comments
    api, enc = r.api, r.enc
    views = [comment_view(r.store, rec, c, r.version, api=api, enc=enc) for c in shown]
    return {
        "comments": views,
        "self": f"{api}/issue/{rec.id}/comment",
        "maxResults": len(views),
        "total": len(comments),
        "startAt": 0,
    }


def _worklogs(r: Render, rec: IssueRecord) -> Json:
    logs = [worklog_view(r.store, rec, w, r.version, r.api, r.enc) for w in rec.worklogs[:20]]
    return {"startAt": 0, "maxResults": 20, "total": len(rec.worklogs), "worklogs": logs}


def _watches(r: Render, rec: IssueRecord) -> Json:
    return {
        "self": f"{r.api}/issue/{rec.key}/watchers",
        "watchCount": len(rec.watchers),
        "isWatching": r.viewer in rec.watchers,
    }


def _votes(r: Render, rec: IssueRecord) -> Json:
    return {
        "self": f"{r.api}/issue/{rec.key}/votes",
        "votes": len(rec.voters),
        "hasVoted": r.viewer in rec.voters,
    }


def _issuelinks(r: Render, rec: IssueRecord) -> list[Json]:
    return [link_view(r.store, rec, lid, r.api, r.enc) for lid in rec.links]


def _attachments(r: Render, rec: IssueRecord) -> list[Json]:
    store = r.store
    ids = store.issue_attachments.get(rec.id, ())
    return [attachment_view(store, store.attachments[a], api=r.api, enc=r.enc) for a in ids]


def _restriction(r: Render, rec: IssueRecord) -> Json:
    return {"issuerestrictions": {}, "shouldDisplay": False}


def _subtasks(r: Render, rec: IssueRecord) -> list[Json]:
    issues = r.store.issues
    kids = [issues[c] for c in r.store.children.get(rec.id, ()) if c in issues]
    return [
        nested_issue(r.store, k, r.api, r.enc) for k in kids if k.fields["issuetype"]["subtask"]
    ]


def _progress(r: Render, rec: IssueRecord) -> Json:
    f = rec.fields
    done = f.get("timespent") or 0
    total = done + (f.get("timeestimate") or 0)
    out: Json = {"progress": done, "total": total}
    if total:
        out["percent"] = done * 100 // total
    return out


def _stored(name: str) -> FieldView:
    def value(r: Render, rec: IssueRecord) -> Any:
        return rec.fields.get(name)

    return value


def _workratio(r: Render, rec: IssueRecord) -> int:
    original = rec.fields.get("timeoriginalestimate")
    return (rec.fields.get("timespent") or 0) * 100 // original if original else -1


def _timetracking(r: Render, rec: IssueRecord) -> Json:
    f = rec.fields
    spent = f.get("timespent")
    remaining = f.get("timeestimate")
    original = f.get("timeoriginalestimate")
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


def _parent(r: Render, rec: IssueRecord) -> Any:
    v = rec.fields.get("parent")
    if v is None:
        return None
    parent = r.store.issues.get(rec.parent_id) if rec.parent_id is not None else None
    return nested_issue(r.store, parent, r.api, r.enc) if parent else r.enc(v)


def _wiki(fid: str) -> FieldView:
    """REST v2: a field that may hold rich text shows it as wiki markup."""

    def view(r: Render, rec: IssueRecord) -> Any:
        v = rec.fields.get(fid)
        if isinstance(v, dict) and v.get("type") == "doc":
            return adf_to_wiki(v)
        return r.enc(v)

    return view


_DERIVED_VIEWS: dict[str, FieldView] = {
    "comment": _comments,
    "worklog": _worklogs,
    "watches": _watches,
    "votes": _votes,
    "issuelinks": _issuelinks,
    "subtasks": _subtasks,
    "progress": _progress,
    "aggregateprogress": _progress,
    "timetracking": _timetracking,
    "aggregatetimeoriginalestimate": _stored("timeoriginalestimate"),
    "aggregatetimeestimate": _stored("timeestimate"),
    "aggregatetimespent": _stored("timespent"),
    "workratio": _workratio,
    "attachment": _attachments,
    "issuerestriction": _restriction,
}


def derived_field(
    store: Store,
    rec: IssueRecord,
    fid: str,
    version: int,
    viewer: str | None,
    *,
    caps: bool = False,
) -> Any:
    """A field Jira computes (one of ``DERIVED``); None for any other."""
    view = _DERIVED_VIEWS.get(fid)
    return None if view is None else view(Render(store, version, viewer, caps=caps), rec)


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


def link_view(
    store: Store, rec: IssueRecord, lid: int, api: str = API, enc: Encode = _same
) -> Json:
    type_id, outward, inward = store.links[lid]
    out: Json = {
        "id": str(lid),
        "self": f"{api}/issueLink/{lid}",
        "type": enc(store.link_types[type_id]),
    }
    if outward == rec.id:
        other = store.issues.get(inward)
        if other is not None:
            out["outwardIssue"] = nested_issue(store, other, api, enc)
    else:
        other = store.issues.get(outward)
        if other is not None:
            out["inwardIssue"] = nested_issue(store, other, api, enc)
    return out


# Schema types whose values are never reference objects (rich text is ADF, which never
# holds URL markers): `issue_fields` copies them without looking.
_SCALAR_TYPES = frozenset({"string", "number", "date", "datetime"})


@dataclass(frozen=True, slots=True)
class FieldPlan:
    """How a field selection is written: ``order`` (every chosen id, in output order),
    ``stored`` (ids copied from the stored fields), ``refs`` (those of them that may hold
    reference objects, so go through ``enc``) and ``views`` (computed ones). Read-only."""

    order: dict[str, None]  # every chosen id, null: copied to start each issue's fields
    chosen: frozenset[str]
    stored: frozenset[str]
    refs: tuple[str, ...]
    views: tuple[tuple[str, FieldView], ...]


def field_plan(store: Store, chosen: Sequence[str], version: int) -> FieldPlan:
    types = {f["id"]: f["schema"].get("type") for f in store.fields}
    stored: set[str] = set()
    refs: list[str] = []
    views: list[tuple[str, FieldView]] = []
    for fid in chosen:
        view = _DERIVED_VIEWS.get(fid)
        if view is None and fid == "parent":
            view = _parent
        elif view is None and version == 2 and fid not in _PLAIN:
            view = _wiki(fid)
        if view is not None:
            views.append((fid, view))
            continue
        stored.add(fid)
        if types.get(fid) not in _SCALAR_TYPES:
            refs.append(fid)
    return FieldPlan(
        dict.fromkeys(chosen), frozenset(chosen), frozenset(stored), tuple(refs), tuple(views)
    )


def issue_fields(r: Render, rec: IssueRecord, plan: FieldPlan) -> Json:
    """The ``fields`` object of an issue (the hot loop of every search page): every chosen
    field in order, null unless stored (fields are sparse) or computed."""
    values: Json = plan.order.copy()
    stored = rec.fields
    enc = r.enc
    if enc is _same:
        for fid in plan.stored & stored.keys():
            values[fid] = stored[fid]
    elif stored.keys() <= plan.chosen:  # every stored field is wanted (*all): copy in C
        values.update(stored)
        for fid in plan.refs:
            v = values[fid]
            if v is not None:
                values[fid] = enc(v)
    else:
        for fid in plan.stored & stored.keys():
            v = stored[fid]
            values[fid] = v if v.__class__ is str else enc(v)
    for fid, view in plan.views:
        values[fid] = view(r, rec)
    return values


# -- rendered fields (``expand=renderedFields``) -----------------------------------------

_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def viewer_zone(store: Store, viewer: str | None) -> tzinfo:
    """The requesting user's time zone (their profile's ``timeZone``; UTC if unknown)."""
    name = (store.users.get(viewer or "") or {}).get("timeZone") or "UTC"
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):  # ZoneInfoNotFoundError is a KeyError
        return UTC


def render_date(v: str) -> str:
    """A date field as Jira renders it: ``2023-09-09`` -> ``09/Sep/23``."""
    y, m, d = v[:10].split("-")
    return f"{d}/{_MONTHS[int(m) - 1]}/{y[2:]}"


def render_datetime(v: str, tz: tzinfo, today: date | None = None) -> str | None:
    """A timestamp as Jira renders it for a user in ``tz``, e.g. ``29/Jan/23 8:47 PM``.

    With ``today`` (the user's current date) recent times are relative, as in Jira's
    rendered fields (real Cloud responses in ``../shared/jira/fixtures/cloud-v3-demisto``):
    ``Today 12:24 AM``, ``Yesterday 10:56 PM``, the weekday name up to six days back
    (``Tuesday 4:38 PM``), the full form from seven days on (and for future times)."""
    try:
        dt = parse_jira_time(v).astimezone(tz)
    except ValueError:
        return None
    clock = f"{(dt.hour % 12) or 12}:{dt.minute:02d} {'AM' if dt.hour < 12 else 'PM'}"
    if today is not None:
        days = (today - dt.date()).days
        if days == 0:
            return f"Today {clock}"
        if days == 1:
            return f"Yesterday {clock}"
        if 1 < days < 7:
            return f"{_WEEKDAYS[dt.weekday()]} {clock}"
    return f"{dt.day:02d}/{_MONTHS[dt.month - 1]}/{dt.year % 100:02d} {clock}"


def rendered_value(
    store: Store,
    rec: IssueRecord,
    fid: str,
    *,
    tz: tzinfo = UTC,
    today: date | None = None,
    kind: str | None = None,
) -> Any:
    """One ``renderedFields`` value: rich text as HTML, dates and times as Jira shows them
    to the requesting user (``tz``, ``today``); None for the rest. ``kind`` is the field's
    schema type when the caller knows it."""
    v = rec.fields.get(fid)
    if v is None:
        return None
    if isinstance(v, dict) and v.get("type") == "doc":
        return adf_to_html(v)
    if not isinstance(v, str):
        return None
    if kind is None:
        f = store.field(fid)
        kind = f["schema"].get("type") if f else None
    if kind == "datetime":
        return render_datetime(v, tz, today)
    if kind == "date":
        return render_date(v)
    return None


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
    caps: bool = False,
    now: datetime | None = None,
) -> Json:
    """The IssueBean for ``GET /issue/{key}`` and search results.

    ``selected`` (already resolved field ids) short-circuits ``fields`` resolution, which
    search uses to resolve once per page. ``caps``: embed changelog and comments capped as
    ``search/jql`` does (`SEARCH_CHANGELOG_CAP`, `SEARCH_COMMENT_CAP`). ``now``: the time
    relative rendered dates are written against (absolute dates without it). URLs carry
    the store's markers (`ViewCache` renders for a site directly).
    """
    r = Render(store, version, viewer, caps=caps)
    chosen = selected if selected is not None else select_fields(store, fields, default_fields)
    return _issue(r, rec, chosen, set(expand), now, field_plan(store, chosen, version))


def _issue(
    r: Render,
    rec: IssueRecord,
    chosen: list[str],
    expand: Collection[str],
    now: datetime | None,
    plan: FieldPlan,
) -> Json:
    store, api = r.store, r.api
    out: Json = {
        "expand": ISSUE_EXPAND,
        "id": rec.sid,
        "self": f"{api}/issue/{rec.id}",
        "key": rec.key,
    }
    if "renderedFields" in expand:
        tz = viewer_zone(store, r.viewer)
        today = now.astimezone(tz).date() if now is not None else None
        kinds = {f["id"]: f["schema"].get("type") for f in store.fields}
        out["renderedFields"] = {
            fid: rendered_value(store, rec, fid, tz=tz, today=today, kind=kinds.get(fid))
            for fid in chosen
        }
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
        cap = SEARCH_CHANGELOG_CAP if r.caps else ISSUE_CHANGELOG_CAP
        hs = rec.histories[: -cap - 1 : -1]  # the most recent first, as the spec says
        out["changelog"] = {
            "startAt": 0,
            "maxResults": len(hs),
            "total": len(rec.histories),
            "histories": [history_view(store, h, r.enc) for h in hs],
        }
    out["fields"] = issue_fields(r, rec, plan)
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


def join_json(head: bytes, items: list[bytes], end: bytes) -> bytes:
    """``head + b",".join(items) + end``, copying the (large) items once instead of once
    per ``+``: a page of rendered issues is a megabyte."""
    if not items:
        return head + end
    parts = [head + items[0], *items[1:]]
    parts[-1] = parts[-1] + end
    return b",".join(parts)


def _fragment_type() -> Callable[[bytes], Any] | None:
    """``orjson.Fragment`` (orjson >= 3.10): JSON bytes spliced into a document as-is."""
    try:
        orjson = importlib.import_module("orjson")
    except ImportError:
        return None
    fragment: Callable[[bytes], Any] | None = getattr(orjson, "Fragment", None)
    return fragment


_FRAGMENT = _fragment_type()
# Expansions the fragment renderer writes with no URL marker left (transitions and
# editmeta embed reference objects in ways it does not track: they take the plain path).
_FAST_EXPAND = frozenset({"renderedFields", "names", "schema", "changelog"})
_VIEWER_FIELDS = frozenset({"watches", "votes"})  # their values depend on who asks


class ViewCache:
    """Issue JSON (UTF-8, URLs pointing at the request's site): rendered fast, cached
    per issue, invalidated precisely.

    Cache: an entry is keyed by issue id and by everything else that shapes the output
    (API version, site, field selection, expand, search caps, the viewer when
    watches/votes or rendered dates depend on who asks, the viewer's current date for
    relative rendered dates), and remembers the issue's `IssueRecord.rev`. Any change to
    the issue, or to a neighbour its view embeds (parent, sub-tasks, linked issues), bumps
    that revision (`Store.dirty`), so a stale entry is never served; a change that may show
    anywhere (users, options, sprints, versions ...: `Store.changed`) moves `Store.epoch`
    and drops everything. LRU, bounded by ``max_bytes``.

    Rendering (pages nobody asked for before): reference objects shared by many issues
    (users, statuses, priorities, issue types, projects, options, sprints, versions, link
    types) are serialised once per epoch and site as ``orjson.Fragment`` objects, spliced in,
    and view URLs are written for the site directly, so an issue is one orjson call with no
    marker substitution afterwards. Without ``Fragment`` (orjson < 3.10 or the stdlib
    encoder) views are built with URL markers and substituted, as before.
    """

    def __init__(self, store: Store, max_bytes: int = 128 << 20) -> None:
        self.store = store
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[tuple[int, int], tuple[int, bytes]] = OrderedDict()
        self._bytes = 0
        self._epoch = -1
        self._variants: dict[tuple[Any, ...], int] = {}
        self._plans: dict[int, FieldPlan] = {}  # variant id -> its field plan
        self._selections: dict[tuple[Any, ...], list[str]] = {}
        self._shared: dict[int, Any] = {}
        self._encoders: dict[tuple[str, str], Encode] = {}

    def select(self, requested: Sequence[str] | None, default: str) -> list[str]:
        """`select_fields`, memoised per (fields list, request)."""
        key = (id(self.store.fields), len(self.store.fields), tuple(requested or ()), default)
        chosen = self._selections.get(key)
        if chosen is None:
            if len(self._selections) > 256:
                self._selections.clear()
            chosen = self._selections[key] = select_fields(self.store, requested, default)
        return chosen

    def clear(self) -> None:
        self._items.clear()
        self._bytes = 0
        self._variants.clear()
        self._plans.clear()
        self._shared = {}
        self._encoders.clear()

    def _sync(self) -> None:
        if self.store.epoch != self._epoch:
            self.clear()
            self._epoch = self.store.epoch

    def _shared_objects(self) -> dict[int, Any]:
        """id -> object for the reference objects issues share (held, so ids stay unique)."""
        s = self.store
        found: dict[int, Any] = {}
        for coll in (
            s.users,
            s.statuses,
            s.status_categories,
            s.priorities,
            s.resolutions,
            s.issuetypes,
            s.project_refs,
            s.components,
            s.versions,
            s.sprints,
            s.link_types,
        ):
            for obj in coll.values():
                found[id(obj)] = obj
        for options in s.field_options.values():
            for obj in options:
                found[id(obj)] = obj
        return found

    def _encoder(self, api: str, base: str) -> Encode:
        """``enc`` for the views: dicts become pre-rendered fragments with this site's URLs
        (kept for shared reference objects, made afresh for an issue's own dicts)."""
        enc = self._encoders.get((api, base))
        if enc is not None:
            return enc
        assert _FRAGMENT is not None
        if not self._shared:
            self._shared = self._shared_objects()
        shared = self._shared
        fragment = _FRAGMENT
        dumps = to_json_bytes
        api_b, base_b = api.encode(), base.encode()
        done: dict[int, Any] = {}

        def encode(v: Any) -> Any:
            cls = v.__class__
            if cls is dict:
                key = id(v)
                frag = done.get(key)
                if frag is None:
                    raw = dumps(v)
                    if b"@@" in raw:
                        raw = raw.replace(_API_B, api_b).replace(_BASE_B, base_b)
                    frag = fragment(raw)
                    if key in shared:
                        done[key] = frag
                return frag
            if cls is list and v and v[0].__class__ is dict:
                return [encode(x) for x in v]  # lists hold one kind of value
            return v

        self._encoders[(api, base)] = encode
        return encode

    def issue_jsons(
        self,
        recs: Sequence[IssueRecord],
        *,
        version: int,
        selected: list[str],
        expand: Sequence[str] = (),
        viewer: str | None = None,
        base: str = BASE,
        api: str = API,
        caps: bool = False,
        now: datetime | None = None,
    ) -> list[bytes]:
        """Each issue's JSON with URLs already pointing at ``base``/``api``.

        Bytes, not str: pages are joined from these, and one emoji would make a str page
        four bytes per character to copy around."""
        store = self.store
        self._sync()
        expand_t = tuple(expand)
        fast = _FRAGMENT is not None and _FAST_EXPAND.issuperset(expand_t)
        rendered = "renderedFields" in expand_t
        who = viewer if rendered or not _VIEWER_FIELDS.isdisjoint(selected) else None
        day = None
        if rendered and now is not None:
            day = now.astimezone(viewer_zone(store, viewer)).date()
        variant = (version, api, base, tuple(selected), expand_t, who, caps, day)
        vid = self._variants.get(variant)
        if vid is None:
            if len(self._variants) >= 4096:
                self.clear()
            vid = self._variants[variant] = len(self._variants)
        items = self._items
        out: list[bytes] = []
        render: tuple[Render, FieldPlan, set[str]] | None = None
        for rec in recs:
            key = (vid, rec.id)
            hit = items.get(key)
            if hit is not None and hit[0] == rec.rev:
                items.move_to_end(key)
                out.append(hit[1])
                self.hits += 1
                continue
            self.misses += 1
            if render is None:  # set up on the first miss only (GET issue hits skip it)
                enc = self._encoder(api, base) if fast else _same
                plan = self._plans.get(vid)
                if plan is None:
                    plan = self._plans[vid] = field_plan(store, selected, version)
                r = Render(store, version, viewer, api if fast else API, enc, caps)
                render = (r, plan, set(expand_t))
            view = _issue(render[0], rec, selected, render[2], now, render[1])
            text = to_json_bytes(view)
            if not fast:
                text = text.replace(_API_B, api.encode()).replace(_BASE_B, base.encode())
            else:  # orjson's buffer can be twice the JSON's size: keep an exact copy
                text = bytes(memoryview(text))
            if hit is not None:
                self._bytes -= len(hit[1])
            items[key] = (rec.rev, text)
            items.move_to_end(key)
            self._bytes += len(text)
            while self._bytes > self.max_bytes and len(items) > 1:
                self._bytes -= len(items.popitem(last=False)[1][1])
            out.append(text)
        return out
