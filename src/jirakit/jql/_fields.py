"""Field resolution and value extraction from issues in the REST API's JSON shape.

A JQL field name (``status``, ``issuetype``/``type``, ``"Story Points"``, ``cf[10042]``) is
resolved once, at compile time, to a `FieldSpec`: what kind of values it holds and where
they live in ``issue["fields"]``. `getter` then builds a function returning the field's
*elements* for an issue — always a list, ``[]`` meaning EMPTY — in a form suited to the
kind:

- identity kinds (project, status, users, labels, options, sprints, versions, ...): the raw
  JSON elements; `keys_function` gives their case-folded identity strings (name, id, key,
  accountId, email, display name ...), which is what ``=`` / ``IN`` compare;
- ordered kinds: numbers — epoch minutes (datetime), day ordinals (date), seconds
  (time tracking), plain numbers;
- text kinds: one string (ADF already reduced to text).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from jirakit.jql._dates import (
    issue_datetime_day,
    parse_issue_date,
    parse_issue_datetime,
)
from jirakit.jql._errors import evaluation_error
from jirakit.jql._text import adf_text, join_texts
from jirakit.jql.ast import Field
from jirakit.jql.context import EvalContext

Issue = Mapping[str, Any]
Getter = Callable[[Issue], list[Any]]

SPRINT_SCHEMA: Final = "com.pyxis.greenhopper.jira:gh-sprint"
DEFAULT_SPRINT_FIELD: Final = "customfield_10020"

# Kinds ------------------------------------------------------------------------------------
PROJECT: Final = "project"
NAMED: Final = "named"  # {"name", "id"} objects: status, issuetype, resolution, component
PRIORITY: Final = "priority"
VERSION: Final = "version"
STATUS_CATEGORY: Final = "statusCategory"
USER: Final = "user"
LABELS: Final = "labels"
OPTION: Final = "option"
CASCADE: Final = "cascade"
SPRINT: Final = "sprint"
ISSUE_KEY: Final = "key"
ISSUE_REF: Final = "issueRef"  # parent, epic link: {"key","id"} or a key string
DATETIME: Final = "datetime"
DATE: Final = "date"
NUMBER: Final = "number"
DURATION: Final = "duration"
TEXT: Final = "text"
LINK_TYPE: Final = "linkType"
ATTACHMENT: Final = "attachment"
STRING: Final = "string"

IDENTITY_KINDS: Final = frozenset(
    {
        PROJECT,
        NAMED,
        PRIORITY,
        VERSION,
        STATUS_CATEGORY,
        USER,
        LABELS,
        OPTION,
        CASCADE,
        SPRINT,
        ISSUE_KEY,
        ISSUE_REF,
        LINK_TYPE,
        STRING,
    }
)
NUMERIC_KINDS: Final = frozenset({DATETIME, DATE, NUMBER, DURATION})


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """A resolved field.

    ``name``: the JQL name for messages; ``kind``: one of the kinds above; ``key``: where
    the value lives in ``issue["fields"]`` (or a pseudo key for computed fields);
    ``history``: lower-cased changelog ``fieldId`` / ``field`` names of this field.
    """

    name: str
    kind: str
    key: str
    multi: bool = False
    history: tuple[str, ...] = ()


def _sys(name: str, kind: str, key: str, *history: str, multi: bool = False) -> FieldSpec:
    return FieldSpec(name, kind, key, multi, tuple(h.lower() for h in history) or (key.lower(),))


_SYSTEM: Final[dict[str, FieldSpec]] = {}


def _register(spec: FieldSpec, *aliases: str) -> None:
    for alias in (spec.name, *aliases):
        _SYSTEM[alias.lower()] = spec


_register(_sys("project", PROJECT, "project"))
_register(_sys("issuetype", NAMED, "issuetype", "issuetype"), "type")
_register(_sys("status", NAMED, "status"))
_register(_sys("statusCategory", STATUS_CATEGORY, "statusCategory", "statusCategory"))
_register(_sys("priority", PRIORITY, "priority"))
_register(_sys("resolution", NAMED, "resolution"))
_register(_sys("assignee", USER, "assignee"))
_register(_sys("reporter", USER, "reporter"))
_register(_sys("creator", USER, "creator"))
_register(_sys("labels", LABELS, "labels", multi=True), "label")
_register(
    _sys("component", NAMED, "components", "components", "component", multi=True),
    "components",
)
_register(
    _sys("fixVersion", VERSION, "fixVersions", "fixversions", "fix version", multi=True),
    "fixVersions",
)
_register(
    _sys("affectedVersion", VERSION, "versions", "versions", "version", multi=True),
    "affectedVersions",
    "versions",
)
_register(_sys("parent", ISSUE_REF, "parent"))
_register(_sys("created", DATETIME, "created"), "createdDate")
_register(_sys("updated", DATETIME, "updated"), "updatedDate")
_register(_sys("resolved", DATETIME, "resolutiondate"), "resolutionDate")
_register(_sys("due", DATE, "duedate", "duedate"), "duedate")
_register(_sys("lastViewed", DATETIME, "lastViewed"))
_register(
    _sys("statusCategoryChangedDate", DATETIME, "statuscategorychangedate"),
    "statuscategorychangedate",
)
_register(_sys("key", ISSUE_KEY, "key"), "issuekey", "issue", "id")
_register(_sys("summary", TEXT, "summary"))
_register(_sys("description", TEXT, "description"))
_register(_sys("environment", TEXT, "environment"))
_register(_sys("comment", TEXT, "comment"))
_register(_sys("text", TEXT, "text"))
_register(_sys("watcher", USER, "watcher", multi=True))
_register(_sys("voter", USER, "voter", multi=True))
_register(_sys("watchers", NUMBER, "watches"))
_register(_sys("votes", NUMBER, "votes"))
_register(_sys("worklogDate", DATE, "worklogDate", multi=True))
_register(_sys("worklogAuthor", USER, "worklogAuthor", multi=True))
_register(_sys("worklogComment", TEXT, "worklogComment"))
_register(_sys("timespent", DURATION, "timespent"), "timeSpent")
_register(_sys("originalEstimate", DURATION, "timeoriginalestimate"), "timeOriginalEstimate")
_register(_sys("remainingEstimate", DURATION, "timeestimate"), "timeEstimate")
_register(_sys("issueLinkType", LINK_TYPE, "issuelinks", multi=True))
_register(_sys("attachments", ATTACHMENT, "attachment", multi=True))
_register(_sys("workratio", NUMBER, "workratio"))
_register(_sys("subtasks", ISSUE_REF, "subtasks", multi=True))

# Custom field types (schema.custom suffix after ':') -> (kind, multi).
_CUSTOM_TYPES: Final[dict[str, tuple[str, bool]]] = {
    "float": (NUMBER, False),
    "datepicker": (DATE, False),
    "datetime": (DATETIME, False),
    "select": (OPTION, False),
    "radiobuttons": (OPTION, False),
    "multiselect": (OPTION, True),
    "multicheckboxes": (OPTION, True),
    "cascadingselect": (CASCADE, False),
    "userpicker": (USER, False),
    "multiuserpicker": (USER, True),
    "people": (USER, True),
    "textfield": (TEXT, False),
    "textarea": (TEXT, False),
    "readonlyfield": (TEXT, False),
    "url": (STRING, False),
    "labels": (LABELS, True),
    "version": (VERSION, False),
    "multiversion": (VERSION, True),
    "project": (PROJECT, False),
    "grouppicker": (NAMED, False),
    "multigrouppicker": (NAMED, True),
    "gh-sprint": (SPRINT, True),
    "gh-epic-link": (ISSUE_REF, False),
}
_SCHEMA_TYPES: Final[dict[str, str]] = {
    "number": NUMBER,
    "date": DATE,
    "datetime": DATETIME,
    "string": TEXT,
    "user": USER,
    "option": OPTION,
    "version": VERSION,
    "project": PROJECT,
    "group": NAMED,
    "option-with-child": CASCADE,
}

_CF_RE: Final = re.compile(r"(?:cf\[(\d+)\]|customfield_(\d+))", re.IGNORECASE)


def sprint_field_id(ctx: EvalContext) -> str:
    for meta in ctx.fields:
        schema = meta.get("schema") or {}
        if schema.get("custom") == SPRINT_SCHEMA:
            return str(meta["id"])
    return DEFAULT_SPRINT_FIELD


def _custom_spec(meta: Mapping[str, Any], written: str) -> FieldSpec:
    schema = meta.get("schema") or {}
    field_id = str(meta["id"])
    custom = str(schema.get("custom") or "")
    kind, multi = _CUSTOM_TYPES.get(custom.rsplit(":", 1)[-1], ("", False))
    if not kind:
        stype = schema.get("type")
        if stype == "array":
            kind = _SCHEMA_TYPES.get(str(schema.get("items")), STRING)
            kind = LABELS if kind == TEXT else kind
            multi = True
        else:
            kind = _SCHEMA_TYPES.get(str(stype), STRING)
    history = (field_id.lower(), str(meta.get("name", written)).lower())
    return FieldSpec(written, kind, field_id, multi, history)


def resolve(field: Field, ctx: EvalContext) -> FieldSpec:
    """Resolve a JQL field reference (system field, alias, custom field name or id)."""
    name = field.name
    lowered = name.lower()
    if field.cf_id is None and lowered == "sprint":
        return FieldSpec("sprint", SPRINT, sprint_field_id(ctx), True, ("sprint",))
    if field.cf_id is None and lowered in _SYSTEM:
        return _SYSTEM[lowered]
    match = _CF_RE.fullmatch(name)
    cf_number = field.cf_id if field.cf_id is not None else None
    if cf_number is None and match is not None:
        cf_number = int(match.group(1) or match.group(2))
    if cf_number is not None:
        field_id = f"customfield_{cf_number}"
        for meta in ctx.fields:
            if str(meta.get("id")) == field_id:
                return _custom_spec(meta, name)
        return FieldSpec(name, STRING, field_id, True, (field_id,))
    for meta in ctx.fields:
        names = [str(meta.get("name", ""))] + [str(c) for c in meta.get("clauseNames") or ()]
        if any(candidate.lower() == lowered for candidate in names):
            if not meta.get("custom", str(meta.get("id", "")).startswith("customfield_")):
                system = _SYSTEM.get(str(meta.get("id", "")).lower())
                if system is not None:
                    return system
            return _custom_spec(meta, name)
    raise evaluation_error(
        f"Field '{name}' does not exist or you do not have permission to view it."
    )


# Identity keys ----------------------------------------------------------------------------


def _fold(value: Any) -> str:
    return str(value).casefold()


def named_keys(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, Mapping):
        return tuple(
            _fold(raw[attr]) for attr in ("name", "id", "value", "key") if raw.get(attr) is not None
        )
    return (_fold(raw),)


def user_keys(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, Mapping):
        return tuple(
            _fold(raw[attr])
            for attr in ("accountId", "emailAddress", "displayName", "name", "key")
            if raw.get(attr)
        )
    return (_fold(raw),)


def issue_keys(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, Mapping):
        return tuple(_fold(raw[attr]) for attr in ("key", "id") if raw.get(attr) is not None)
    return (_fold(raw),)


def link_type_keys(raw: Any) -> tuple[str, ...]:
    kind = raw.get("type") or {} if isinstance(raw, Mapping) else {}
    return tuple(
        _fold(kind[attr]) for attr in ("name", "inward", "outward", "id") if kind.get(attr)
    )


def cascade_keys(raw: Any) -> tuple[str, ...]:
    keys = list(named_keys(raw))
    child = raw.get("child") if isinstance(raw, Mapping) else None
    if isinstance(child, Mapping):
        keys.extend(named_keys(child))
    return tuple(keys)


def keys_function(kind: str) -> Callable[[Any], tuple[str, ...]]:
    if kind == USER:
        return user_keys
    if kind in (ISSUE_KEY, ISSUE_REF):
        return issue_keys
    if kind == LINK_TYPE:
        return link_type_keys
    if kind == CASCADE:
        return cascade_keys
    return named_keys


def history_element(kind: str, raw: Any) -> tuple[str | None, str | None]:
    """(id, display string) of an element, the shape changelog items use."""
    if isinstance(raw, Mapping):
        if kind == USER:
            ident = raw.get("accountId") or raw.get("name") or raw.get("key")
            label = raw.get("displayName") or raw.get("name")
        elif kind in (ISSUE_KEY, ISSUE_REF):
            ident, label = raw.get("id"), raw.get("key")
        else:
            ident = raw.get("id")
            label = raw.get("name") or raw.get("value") or raw.get("key")
        return (
            None if ident is None else str(ident),
            None if label is None else str(label),
        )
    return (None, None if raw is None else str(raw))


# Getters ----------------------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    return [value]


def _minutes(value: Any) -> list[Any]:
    if not value or not isinstance(value, str):
        return []
    return [parse_issue_datetime(value)]


def _days(value: Any) -> list[Any]:
    if not value or not isinstance(value, str):
        return []
    return [parse_issue_date(value)]


def _number(value: Any) -> list[Any]:
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, int | float):
        return [value]
    if isinstance(value, Mapping):
        for attr in ("votes", "watchCount", "value"):
            if isinstance(value.get(attr), int | float):
                return [value[attr]]
        return []
    try:
        return [float(value)]
    except (TypeError, ValueError):
        return []


def _comment_text(value: Any) -> str:
    if isinstance(value, Mapping):
        comments = value.get("comments") or []
    elif isinstance(value, list):
        comments = value
    else:
        return adf_text(value)
    return join_texts(
        adf_text(c.get("body")) if isinstance(c, Mapping) else str(c) for c in comments
    )


def _worklogs(fields: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    worklog = fields.get("worklog")
    if isinstance(worklog, Mapping):
        return list(worklog.get("worklogs") or [])
    if isinstance(worklog, list):
        return worklog
    return []


def _status_category(statuses: Iterable[Mapping[str, Any]]) -> Getter:
    by_status: dict[str, Any] = {}
    for status in statuses:
        category = status.get("statusCategory")
        if category is not None:
            by_status[str(status.get("id"))] = category
            by_status[_fold(status.get("name", ""))] = category

    def get(issue: Issue) -> list[Any]:
        status = issue["fields"].get("status")
        if not status:
            return []
        category = status.get("statusCategory")
        if category is None:
            category = by_status.get(str(status.get("id"))) or by_status.get(
                _fold(status.get("name", ""))
            )
        return [] if category is None else [category]

    return get


def text_fields(ctx: EvalContext) -> tuple[str, ...]:
    """Custom text fields searched by the ``text`` master field."""
    return tuple(
        str(meta["id"])
        for meta in ctx.fields
        if str(meta.get("id", "")).startswith("customfield_")
        and (meta.get("schema") or {}).get("custom", "").rsplit(":", 1)[-1]
        in {"textfield", "textarea", "readonlyfield"}
    )


def text_getter(spec: FieldSpec, ctx: EvalContext) -> Callable[[Issue], str]:
    key = spec.key
    if key == "comment":
        return lambda issue: _comment_text(issue["fields"].get("comment"))
    if key == "worklogComment":
        return lambda issue: join_texts(
            adf_text(w.get("comment")) for w in _worklogs(issue["fields"])
        )
    if key == "text":
        extra = text_fields(ctx)

        def all_text(issue: Issue) -> str:
            fields = issue["fields"]
            return join_texts(
                [
                    adf_text(fields.get("summary")),
                    adf_text(fields.get("description")),
                    adf_text(fields.get("environment")),
                    _comment_text(fields.get("comment")),
                    *(adf_text(fields.get(k)) for k in extra),
                ]
            )

        return all_text

    def one(issue: Issue) -> str:
        value = issue["fields"].get(key)
        if isinstance(value, list):
            return join_texts(adf_text(v) for v in value)
        return adf_text(value)

    return one


def getter(spec: FieldSpec, ctx: EvalContext) -> Getter:
    """Elements of the field for an issue (``[]`` = EMPTY); see the module docstring."""
    key = spec.key
    kind = spec.kind
    tz = ctx.tz
    if kind == STATUS_CATEGORY:
        return _status_category(ctx.statuses)
    if kind == ISSUE_KEY:
        return lambda issue: [issue]
    if key in ("watcher", "voter"):
        table = ctx.watchers if key == "watcher" else ctx.voters
        users = {str(u.get("accountId")): u for u in ctx.users if u.get("accountId")}
        return lambda issue: [
            users.get(account, {"accountId": account})
            for account in sorted(table.get(str(issue.get("id")), ()))
        ]
    if key == "worklogDate":
        return lambda issue: [
            issue_datetime_day(w["started"], tz)
            for w in _worklogs(issue["fields"])
            if w.get("started")
        ]
    if key == "worklogAuthor":
        return lambda issue: [w["author"] for w in _worklogs(issue["fields"]) if w.get("author")]
    if kind == TEXT:
        text_of = text_getter(spec, ctx)
        return lambda issue: [text] if (text := text_of(issue)).strip() else []
    if kind == DATETIME:
        return lambda issue: _minutes(issue["fields"].get(key))
    if kind == DATE:
        return lambda issue: _days(issue["fields"].get(key))
    if kind in (NUMBER, DURATION):
        return lambda issue: _number(issue["fields"].get(key))
    if kind == LABELS:
        return lambda issue: [v for v in _as_list(issue["fields"].get(key)) if v]
    if kind == SPRINT:
        return lambda issue: [parse_sprint(v) for v in _as_list(issue["fields"].get(key))]
    return lambda issue: _as_list(issue["fields"].get(key))


_SERVER_SPRINT_RE: Final = re.compile(r"(\w+)=([^,\]]*)")


def parse_sprint(value: Any) -> Any:
    """Sprint elements: Cloud objects pass through; Server's ``Sprint@..[id=1,name=..]``
    strings are parsed to the same shape."""
    if isinstance(value, str) and "[" in value:
        attrs = dict(_SERVER_SPRINT_RE.findall(value.split("[", 1)[1]))
        return {k: v for k, v in attrs.items() if k in {"id", "name", "state"}} | {
            "state": attrs.get("state", "").lower()
        }
    return value


# Ordering ---------------------------------------------------------------------------------

_KEY_RE: Final = re.compile(r"([A-Za-z][A-Za-z0-9_]*)-(\d+)")
_NATURAL_RE: Final = re.compile(r"(\d+)")


def key_order(key: Any) -> tuple[str, int] | None:
    match = _KEY_RE.fullmatch(str(key))
    if match is None:
        return None
    return (match.group(1).casefold(), int(match.group(2)))


def natural(text: str) -> tuple[tuple[int, int, str], ...]:
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part)
        for part in _NATURAL_RE.split(text.casefold())
        if part
    )


#: Jira's default priorities (Cloud, then Server names) -> their ids.
DEFAULT_PRIORITY_IDS: Final = {
    "highest": 1,
    "high": 2,
    "medium": 3,
    "low": 4,
    "lowest": 5,
    "blocker": 1,
    "critical": 2,
    "major": 3,
    "minor": 4,
    "trivial": 5,
}


def priority_rank(priorities: Iterable[Mapping[str, Any]]) -> Callable[[Any], float]:
    """Rank of a priority (higher = more important): by position in ``priorities``
    (listed highest first, as ``GET /priority`` returns them), else by id (lower id =
    more important, as Jira's defaults; default priority names map to their ids)."""
    order: dict[str, int] = {}
    for index, priority in enumerate(priorities):
        order.setdefault(str(priority.get("id")), index)
        order.setdefault(_fold(priority.get("name", "")), index)

    def rank(raw: Any) -> float:
        if isinstance(raw, Mapping):
            for attr in ("id", "name"):
                value = raw.get(attr)
                if value is not None:
                    position = order.get(str(value) if attr == "id" else _fold(value))
                    if position is not None:
                        return float(-position)
            ident = raw.get("id")
        else:
            position = order.get(_fold(raw))
            if position is not None:
                return float(-position)
            ident = DEFAULT_PRIORITY_IDS.get(_fold(raw), raw)
        try:
            number = float(ident)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return float("-inf")
        return -number - 1_000_000.0 if order else -number

    return rank


def sort_value(spec: FieldSpec, ctx: EvalContext) -> Callable[[list[Any]], Any]:
    """Map a non-empty element list to a comparable value for ORDER BY."""
    kind = spec.kind
    if kind in NUMERIC_KINDS:
        return min
    if kind == PRIORITY:
        rank = priority_rank(ctx.priorities)
        return lambda elements: min(rank(e) for e in elements)
    if kind == ISSUE_KEY:
        return lambda elements: key_order(elements[0].get("key")) or ("", 0)
    if kind == ISSUE_REF:
        return lambda elements: min(
            key_order(e.get("key") if isinstance(e, Mapping) else e) or ("", 0) for e in elements
        )
    if kind == USER:
        return lambda elements: min(
            _fold(e.get("displayName") or e.get("name") or e.get("accountId") or "")
            if isinstance(e, Mapping)
            else _fold(e)
            for e in elements
        )
    if kind == SPRINT:
        return lambda elements: min(_number_or_text(e.get("id")) for e in elements)
    if kind == VERSION:
        return lambda elements: min(natural(str(e.get("name", ""))) for e in elements)
    if kind == TEXT:
        return lambda elements: _fold(elements[0])
    if kind == LABELS:
        return lambda elements: tuple(sorted(_fold(e) for e in elements))
    return lambda elements: min(_label(e) for e in elements)


def _number_or_text(value: Any) -> tuple[int, float, str]:
    try:
        return (0, float(value), "")
    except (TypeError, ValueError):
        return (1, 0.0, _fold(value))


def _label(raw: Any) -> tuple[int, float, str]:
    if isinstance(raw, Mapping):
        for attr in ("name", "value", "key", "displayName", "id"):
            if raw.get(attr) is not None:
                return _label(raw[attr])
        return (2, 0.0, "")
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return (0, float(raw), "")
    return (1, 0.0, _fold(raw))
