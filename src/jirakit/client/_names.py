"""Human names -> what Jira's API wants, written once as flows over cached metadata.

``issues.create(project="Engineering Platform", issue_type="bug", assignee="ann@acme.com",
fields={"Story Points": 3, "Customer Tier": "Gold"})`` becomes Jira's JSON here:

- **project**: a key (``ENG``) or id is sent as is; anything else is looked up by name
  (``project/search``; ``/project`` on Data Center);
- **issue type** and **priority**: sent by name (Jira takes names), or by id when the
  client already holds the project's issue types (``createmeta/{project}/issuetypes``) or
  the priorities. When Jira rejects the name, the metadata is fetched once, the name is
  matched case-insensitively and the request re-sent (a 400 created nothing), or a
  `ConfigurationError` names the candidates;
- **users** (assignee, user-picker fields): an email or a display name is looked up
  (``user/search``); anything else is an accountId (a username on Data Center);
- **fields by display name**: resolved through the cached field list (``/field``) and the
  value shaped by the field's schema: select -> ``{"value": ...}``, multi-select -> a list
  of them, user -> ``{"accountId": ...}``, numbers, dates, labels, versions, components,
  rich text (Markdown by default, see `_richtext`). Select values Jira rejects are
  matched against the field's allowed values (createmeta / editmeta) the same way.

Everything fetched is cached in the client's ``_cache`` for its lifetime. Unknown or
ambiguous names raise `jirakit.errors.ConfigurationError` naming the candidates, and so
does a value of the wrong type (``issue_type=10001``, ``labels=5``): bad input is a
`ConfigurationError`, anything else is a bug and propagates as such. Failed lookups
are not cached for the client's lifetime (the project or user may exist tomorrow), only
for one batch (`batch_cache`), so a batch looks each distinct name up once.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import httpx

from jirakit.client._call import Call, Flow
from jirakit.client._richtext import is_rich, rich_text
from jirakit.client._unset import UNSET
from jirakit.client.models import User
from jirakit.client.resources.fields import map_flow
from jirakit.errors import BadRequest, ConfigurationError, HTTPError, error_for_response

PROJECT_KEY = re.compile(r"^[A-Z][A-Z0-9_]*$")
CUSTOM_ID = re.compile(r"^customfield_\d+$")
PREFIX = "names:"

# Schemas of the system fields a caller may put in ``fields=`` by id: shaped without
# fetching ``/field``.
SYSTEM_SCHEMAS: dict[str, dict[str, Any]] = {
    "summary": {"type": "string", "system": "summary"},
    "description": {"type": "string", "system": "description"},
    "environment": {"type": "string", "system": "environment"},
    "duedate": {"type": "date", "system": "duedate"},
    "labels": {"type": "array", "items": "string", "system": "labels"},
    "priority": {"type": "priority", "system": "priority"},
    "assignee": {"type": "user", "system": "assignee"},
    "reporter": {"type": "user", "system": "reporter"},
    "components": {"type": "array", "items": "component", "system": "components"},
    "fixVersions": {"type": "array", "items": "version", "system": "fixVersions"},
    "versions": {"type": "array", "items": "version", "system": "versions"},
    "parent": {"type": "issuelink", "system": "parent"},
    "issuetype": {"type": "issuetype", "system": "issuetype"},
    "project": {"type": "project", "system": "project"},
    "timetracking": {"type": "timetracking", "system": "timetracking"},
    "security": {"type": "securitylevel", "system": "security"},
}


# -- matching ---------------------------------------------------------------------------


def pick(
    what: str,
    wanted: str,
    options: Sequence[tuple[str, str]],
    where: str = "",
    shown: Sequence[str] | None = None,
) -> str:
    """The id of the option named ``wanted`` among ``(name, id)`` pairs: an exact match,
    else a case-insensitive one; an id is accepted too. Raises `ConfigurationError`
    naming the candidates when there is none or more than one."""
    exact = [i for n, i in options if n == wanted]
    found = exact or [i for n, i in options if n.casefold() == wanted.strip().casefold()]
    found = found or [i for _, i in options if i == wanted]
    unique = list(dict.fromkeys(found))
    if len(unique) == 1:
        return unique[0]
    place = f" {where}" if where else ""
    if unique:
        listed = ", ".join(f"{n} ({i})" for n, i in options if i in unique)
        raise ConfigurationError(f"{what} {wanted!r} is ambiguous{place}: {listed}; pass an id")
    raise ConfigurationError(
        f"no {what} {wanted!r}{place}; " + _candidates([n for n, _ in options], wanted, shown)
    )


def _candidates(names: Sequence[str], wanted: str, shown: Sequence[str] | None = None) -> str:
    folded = {n.casefold(): n for n in reversed(names)}
    close = [
        folded[c]
        for c in difflib.get_close_matches(wanted.casefold(), list(folded), n=3, cutoff=0.6)
    ]
    names = list(dict.fromkeys(shown if shown is not None else names))
    if not names:
        return "there are none to choose from"
    shown = ", ".join(names[:30]) + (f", ... ({len(names)} in all)" if len(names) > 30 else "")
    hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    return f"{hint}choose one of: {shown}"


# -- a 400 is an answer, not a failure, while we can still repair the request --------------


@dataclass(frozen=True, slots=True)
class Rejected:
    """Jira answered 400: nothing was created or changed."""

    error: HTTPError


def rejectable(call: Call[Any]) -> Call[Any]:
    """The same call, answering `Rejected` instead of raising on a 400."""
    parse = call.parse

    def read(response: httpx.Response) -> Any:
        if response.status_code == 400:
            return Rejected(error_for_response(response))
        return parse(response)

    return Call(
        call.method,
        call.path,
        call.path_params,
        params=call.params,
        json=call.json,
        headers=call.headers,
        api=call.api,
        idempotent=call.idempotent,
        parse=read,
        also_ok=(400,),
    )


# -- projects, issue types, priorities, users -----------------------------------------------


def _key(*parts: str) -> str:
    return PREFIX + ":".join(parts)


MISSES = _key("misses")
"""In a `batch_cache`: cache key -> why that lookup failed (or ``""``: Jira said no such
thing), for the rest of the batch."""


def batch_cache(cache: dict[str, Any]) -> dict[str, Any]:
    """A working copy of the client's cache for one batch (``issues.bulk_create``): it
    also remembers failed lookups, so each distinct name is looked up once per batch.
    Hand what it learned back with `keep_learned`; the failures stay behind."""
    return {**cache, MISSES: {}}


def keep_learned(cache: dict[str, Any], scope: dict[str, Any]) -> None:
    """Copy what a `batch_cache` learned (not its failures) into the client's cache,
    leaving alone what the client learned meanwhile (another flow, on `AsyncJira`)."""
    for k, v in scope.items():
        if k != MISSES:
            cache.setdefault(k, v)


def _missed(cache: dict[str, Any], cache_key: str) -> str | None:
    """Why this lookup already failed in the current batch, or None."""
    misses = cache.get(MISSES)
    return misses.get(cache_key) if isinstance(misses, dict) else None


def _miss(cache: dict[str, Any], cache_key: str, why: str = "") -> None:
    misses = cache.get(MISSES)
    if isinstance(misses, dict):
        misses[cache_key] = why


def _expect_ref(label: str, value: Any) -> None:
    """A name, key or id (``str``), or Jira's own reference (a mapping), or None."""
    if value is not None and not isinstance(value, str | Mapping):
        raise ConfigurationError(
            f"{label}: expected a name or id (str) or Jira's own reference (a mapping), "
            f"got {type(value).__name__} {value!r}"
        )


def _rich(label: str, value: Any, flavour: str) -> Any:
    """`rich_text`, with a value of the wrong type refused as bad input."""
    if value is not None and not (isinstance(value, str) or is_rich(value)):
        raise ConfigurationError(
            f"{label}: rich text must be a str (Markdown), Markdown, Text, Wiki or an ADF "
            f"document ({{'type': 'doc', ...}}), got {type(value).__name__}"
        )
    return rich_text(value, flavour)


def project_ref_flow(cache: dict[str, Any], flavour: str, project: str) -> Flow[dict[str, str]]:
    """``{"key": ...}`` / ``{"id": ...}`` for a project key, id or name."""
    if project.isdigit():
        return {"id": project}
    if PROJECT_KEY.match(project):
        return {"key": project}
    return (yield from project_by_name_flow(cache, flavour, project))


def project_by_name_flow(cache: dict[str, Any], flavour: str, project: str) -> Flow[dict[str, str]]:
    cache_key = _key("project", project.strip().casefold())
    if cache_key in cache:
        return dict(cache[cache_key])
    if (why := _missed(cache, cache_key)) is not None:
        raise ConfigurationError(why)
    if flavour == "datacenter":
        found = yield Call("GET", "/project")
        values = list(found or [])
    else:
        page = yield Call(
            "GET", "/project/search", params={"query": project.strip(), "maxResults": 100}
        )
        values = list((page or {}).get("values") or [])
        if not any(_same(project, p.get("name"), p.get("key")) for p in values):
            # nothing by that name: list what there is, for the error message
            page = yield Call("GET", "/project/search", params={"maxResults": 50})
            values = list((page or {}).get("values") or [])
    options = [(str(p.get("name", "")), str(p["key"])) for p in values if "key" in p]
    options += [(str(p["key"]), str(p["key"])) for p in values if "key" in p]
    shown = [f"{p.get('name')} ({p['key']})" for p in values if "key" in p]
    try:
        key = pick("project", project, options, shown=shown)
    except ConfigurationError as exc:
        _miss(cache, cache_key, str(exc))
        raise
    ref = {"key": key}
    cache[cache_key] = ref
    return ref


def _same(wanted: str, *names: Any) -> bool:
    return any(str(n).casefold() == wanted.strip().casefold() for n in names if n)


_MISSING: Any = object()


def _page_or_missing(response: httpx.Response) -> Any:
    """A page, or `_MISSING` when Jira answered 400/404 (no such project or issue type);
    error statuses only get here when the call lists them in ``also_ok``."""
    if response.status_code >= 400:
        return _MISSING
    return response.json() if response.content else None


def issue_types_flow(
    cache: dict[str, Any], project: Mapping[str, str]
) -> Flow[list[tuple[str, str]]]:
    """The issue types one can create in a project: ``(name, id)`` pairs (cached)."""
    types = yield from _issue_types_flow(cache, project, missing_ok=False)
    return types if types is not None else []


def find_issue_types_flow(
    cache: dict[str, Any], project: Mapping[str, str]
) -> Flow[list[tuple[str, str]] | None]:
    """As `issue_types_flow`, but None (not an error) for a project Jira does not know."""
    return (yield from _issue_types_flow(cache, project, missing_ok=True))


def _issue_types_flow(
    cache: dict[str, Any], project: Mapping[str, str], *, missing_ok: bool
) -> Flow[list[tuple[str, str]] | None]:
    ident = str(project.get("key") or project.get("id"))
    cache_key = _key("issuetypes", ident)
    if cache_key in cache:
        return list(cache[cache_key])
    if missing_ok and _missed(cache, cache_key) is not None:
        return None
    types: list[tuple[str, str]] = []
    start = 0
    while True:
        page = yield Call(
            "GET",
            "/issue/createmeta/{project}/issuetypes",
            {"project": ident},
            params={"startAt": start, "maxResults": 200},
            also_ok=(400, 404) if missing_ok else (),
            parse=_page_or_missing,
        )
        if page is _MISSING:
            _miss(cache, cache_key)
            return None
        items = list((page or {}).get("issueTypes") or (page or {}).get("values") or [])
        types += [(str(t.get("name", "")), str(t["id"])) for t in items if "id" in t]
        start += len(items)
        total = (page or {}).get("total")
        if not items or (page or {}).get("isLast") or (total is not None and start >= total):
            break
    cache[cache_key] = types
    return types


def priorities_flow(cache: dict[str, Any]) -> Flow[list[tuple[str, str]]]:
    cache_key = _key("priorities")
    if cache_key in cache:
        return list(cache[cache_key])
    found = yield Call("GET", "/priority")
    values = [(str(p.get("name", "")), str(p["id"])) for p in found or [] if "id" in p]
    cache[cache_key] = values
    return values


def issue_type_ref(
    cache: dict[str, Any], project: Mapping[str, str] | None, issue_type: str
) -> dict[str, str]:
    """By id when known (digits, or the project's types are cached), else by name."""
    if issue_type.isdigit():
        return {"id": issue_type}
    ident = str(project.get("key") or project.get("id")) if project else None
    known = cache.get(_key("issuetypes", ident)) if ident else None
    if known is not None:
        return {"id": pick("issue type", issue_type, known, f"in project {ident}")}
    return {"name": issue_type}


def priority_ref(cache: dict[str, Any], priority: str) -> dict[str, str]:
    if priority.isdigit():
        return {"id": priority}
    known = cache.get(_key("priorities"))
    if known is not None:
        return {"id": pick("priority", priority, known)}
    return {"name": priority}


def user_ref_flow(cache: dict[str, Any], flavour: str, user: str) -> Flow[dict[str, str]]:
    """A user reference from an email, a display name, or an accountId (username on DC)."""
    wanted = user.strip()
    by_email = "@" in wanted
    if not by_email and not any(ch.isspace() for ch in wanted):
        return {"accountId": wanted} if flavour == "cloud" else {"name": wanted}
    cache_key = _key("user", wanted.casefold())
    if cache_key in cache:
        return dict(cache[cache_key])
    if (why := _missed(cache, cache_key)) is not None:
        raise ConfigurationError(why)
    params = {"query": wanted} if flavour == "cloud" else {"username": wanted}
    found = yield Call(
        "GET", "/user/search", params=params, parse=lambda r: [User.parse(u) for u in r.json()]
    )
    users: list[User] = list(found or [])
    ids = [(u.account_id if flavour == "cloud" else u.name) or u.id or "" for u in users]
    if by_email:
        options = [(u.email or "", i) for u, i in zip(users, ids, strict=True) if u.email and i]
        what = "user with email"
    else:
        options = [(u.display_name or "", i) for u, i in zip(users, ids, strict=True) if i]
        what = "user named"
    try:
        ident = pick(what.split()[0], wanted, options)
    except ConfigurationError:
        shown = ", ".join(f"{u.display_name} <{u.email or '-'}>" for u in users[:10])
        why = f"no single {what} {wanted!r}" + (
            f"; the search found: {shown}" if shown else "; the user search found nobody"
        )
        _miss(cache, cache_key, why)
        raise ConfigurationError(why) from None
    ref = {"accountId": ident} if flavour == "cloud" else {"name": ident}
    cache[cache_key] = ref
    return ref


# -- field values by schema -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Shaped:
    """Field values in Jira's JSON, and where each came from (for repairs and errors)."""

    values: dict[str, Any]
    labels: dict[str, str]
    """field id -> the name the caller used."""
    by_name: dict[str, Any]
    """field id -> the raw option value(s) the caller gave by name (repairable)."""


def _already_json(value: Any) -> bool:
    """Values that need no schema: numbers, None, Jira-shaped objects and lists of them."""
    if value is None or isinstance(value, bool | int | float):
        return True
    if isinstance(value, Mapping):
        return not is_rich(value)
    if isinstance(value, list | tuple):
        return all(isinstance(v, Mapping) for v in value) and bool(value)
    return False


def fields_flow(
    cache: dict[str, Any], flavour: str, fields: Mapping[str, Any] | None
) -> Flow[Shaped]:
    """``fields=`` by id or display name -> Jira JSON shaped by each field's schema.

    Ids with values already in Jira's shape (numbers, objects) are sent untouched without
    any lookup; names, and ids with text values, go through the cached ``/field`` list.
    """
    values: dict[str, Any] = {}
    labels: dict[str, str] = {}
    by_name: dict[str, Any] = {}
    for name, value in (fields or {}).items():
        if value is UNSET:
            continue
        if not isinstance(name, str):
            raise ConfigurationError(
                f"fields: name each field by its id or display name (a str), not {name!r}"
            )
        if name in SYSTEM_SCHEMAS:
            field_id, schema = name, SYSTEM_SCHEMAS[name]
        elif CUSTOM_ID.match(name) and _already_json(value):
            values[name] = value
            continue
        else:
            fmap = yield from map_flow(cache, False)
            field_id = fmap.id_of(name)
            field = next(f for f in fmap.fields if f.id == field_id)
            schema = dict(field.schema) or SYSTEM_SCHEMAS.get(field_id, {})
        if field_id in values:
            raise ConfigurationError(
                f"field {field_id} is given twice in fields= ({labels[field_id]!r} and {name!r})"
            )
        labels[field_id] = name
        shaped = yield from shape_flow(cache, flavour, field_id, name, schema, value)
        values[field_id] = shaped
        if _is_option(schema) and not _already_json(value):
            by_name[field_id] = value
    return Shaped(values, labels, by_name)


def _is_option(schema: Mapping[str, Any]) -> bool:
    kind = schema.get("type")
    return kind in ("option", "option-with-child") or (
        kind == "array" and schema.get("items") == "option"
    )


def _is_rich_field(schema: Mapping[str, Any]) -> bool:
    return schema.get("system") in ("description", "environment") or str(
        schema.get("custom", "")
    ).endswith(":textarea")


def _named(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    text = str(value)
    return {"id": text} if text.isdigit() else {"name": text}


def _option(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    return {"value": str(value)}


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, list | tuple | set | frozenset):
        return list(value)
    return [value]


def _number(label: str, value: Any) -> int | float:
    if isinstance(value, bool):
        raise ConfigurationError(f"{label}: expected a number, got {value!r}")
    if isinstance(value, int | float):
        return value
    try:
        text = str(value).strip()
        return int(text) if re.fullmatch(r"[-+]?\d+", text) else float(text)
    except ValueError:
        raise ConfigurationError(f"{label}: expected a number, got {value!r}") from None


def jira_datetime(value: datetime) -> str:
    """Jira's ``2026-01-02T10:00:00.000+0000``; naive datetimes are taken as UTC."""
    stamp = value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}"
    return stamp + (value.strftime("%z") or "+0000")


def shape_flow(
    cache: dict[str, Any],
    flavour: str,
    field_id: str,
    label: str,
    schema: Mapping[str, Any],
    value: Any,
) -> Flow[Any]:
    """One value in the shape the field's schema asks for."""
    if value is None:
        return None
    if is_rich(value) or _is_rich_field(schema):
        return _rich(label, value, flavour)
    kind, items = schema.get("type"), schema.get("items")
    custom = str(schema.get("custom", ""))
    if kind == "number":
        return _number(label, value)
    if kind in ("option", "option-with-child"):
        if isinstance(value, list | tuple) and len(value) == 2 and kind == "option-with-child":
            return {"value": str(value[0]), "child": _option(value[1])}
        return _option(value)
    if kind == "user":
        if isinstance(value, Mapping):
            return dict(value)
        return (yield from user_ref_flow(cache, flavour, str(value)))
    if kind == "date":
        return value.isoformat()[:10] if isinstance(value, date) else str(value)
    if kind == "datetime":
        return jira_datetime(value) if isinstance(value, datetime) else str(value)
    if kind in ("priority", "issuetype", "version", "component", "group", "securitylevel"):
        return _named(value)
    if kind == "project":
        if isinstance(value, Mapping):
            return dict(value)
        return (yield from project_ref_flow(cache, flavour, str(value)))
    if kind == "issuelink":
        return dict(value) if isinstance(value, Mapping) else {"key": str(value)}
    if kind == "array":
        listed = _as_list(value)
        if items == "option":
            return [_option(v) for v in listed]
        if items == "string" or custom.endswith(":labels"):
            return [str(v) for v in listed]
        if items == "user":
            out = []
            for v in listed:
                out.append(
                    dict(v)
                    if isinstance(v, Mapping)
                    else (yield from user_ref_flow(cache, flavour, str(v)))
                )
            return out
        if items in ("version", "component", "group"):
            return [_named(v) for v in listed]
        return listed
    if kind == "string" and not isinstance(value, str | Mapping):
        return str(value)
    return value


# -- a whole issue ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Draft:
    """An issue's ``fields`` in Jira's JSON, and how ``fields=`` values were shaped."""

    fields: dict[str, Any]
    shaped: Shaped

    @property
    def context(self) -> Context:
        """Where the allowed values of its fields are found (project, issue type id)."""
        kind = self.fields.get("issuetype") or {}
        return Context(project=self.fields.get("project"), issue_type=kind.get("id"))


def draft_flow(
    cache: dict[str, Any],
    flavour: str,
    *,
    project: str | Mapping[str, Any] | None = None,
    summary: str | None = None,
    issue_type: str | Mapping[str, Any] | None = None,
    description: Any = None,
    assignee: str | Mapping[str, Any] | None = None,
    priority: str | Mapping[str, Any] | None = None,
    labels: Sequence[str] | None = None,
    fields: Mapping[str, Any] | None = None,
) -> Flow[Draft]:
    """The ``fields`` of a new issue from human names (``issues.create`` and each item of
    ``issues.bulk_create``). A mapping is taken as Jira's own reference and sent as is;
    ``fields=`` entries win over the named arguments. A value of the wrong type raises
    `ConfigurationError`."""
    for label, ref in (
        ("project", project),
        ("issue_type", issue_type),
        ("assignee", assignee),
        ("priority", priority),
    ):
        _expect_ref(label, ref)
    if labels is not None and (isinstance(labels, Mapping) or not isinstance(labels, Iterable)):
        raise ConfigurationError(
            f"labels: expected a label (str) or a list of them, got {type(labels).__name__}"
        )
    out: dict[str, Any] = {}
    if isinstance(project, Mapping):
        out["project"] = dict(project)
    elif project is not None:
        out["project"] = yield from project_ref_flow(cache, flavour, project)
    if summary is not None:
        out["summary"] = summary
    if isinstance(issue_type, Mapping):
        out["issuetype"] = dict(issue_type)
    elif issue_type is not None:
        out["issuetype"] = issue_type_ref(cache, out.get("project"), issue_type)
    if description is not None:
        out["description"] = _rich("description", description, flavour)
    if isinstance(assignee, Mapping):
        out["assignee"] = dict(assignee)
    elif assignee is not None:
        out["assignee"] = yield from user_ref_flow(cache, flavour, assignee)
    if isinstance(priority, Mapping):
        out["priority"] = dict(priority)
    elif priority is not None:
        out["priority"] = priority_ref(cache, priority)
    if labels is not None:
        out["labels"] = [labels] if isinstance(labels, str) else list(labels)
    shaped = yield from fields_flow(cache, flavour, fields)
    out.update(shaped.values)
    return Draft(out, shaped)


def options_by_id_flow(cache: dict[str, Any], draft: Draft) -> Flow[dict[str, Any]]:
    """``draft.fields`` with select values given by name turned into option ids, matched
    case-insensitively against the create screen's allowed values (cached per project
    and issue type). A value that matches none raises `ConfigurationError` naming the
    candidates; a field whose allowed values Jira does not list is left to Jira."""
    context = draft.context
    if not draft.shaped.by_name or context.project is None or context.issue_type is None:
        return draft.fields
    allowed = yield from allowed_values_flow(cache, context, missing_ok=True)
    fields = dict(draft.fields)
    for fid, given in draft.shaped.by_name.items():
        if allowed.get(fid):
            fields[fid] = _repair_options(draft.shaped.labels.get(fid, fid), given, allowed[fid])
    return fields


# -- repairing a rejected request ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Context:
    """What a create or edit was about: for finding the allowed values of its fields."""

    project: dict[str, str] | None = None
    issue_type: str | None = None
    issue_key: str | None = None


def allowed_values_flow(
    cache: dict[str, Any], context: Context, *, missing_ok: bool = False
) -> Flow[dict[str, list[Any]]]:
    """field id -> allowed values, from createmeta (create) or editmeta (edit). With
    ``missing_ok``, a project or issue type Jira does not know gives ``{}``."""
    if context.issue_key is not None:
        meta = yield Call("GET", "/issue/{key}/editmeta", {"key": context.issue_key})
        fields = (meta or {}).get("fields") or {}
        return {fid: list(f.get("allowedValues") or []) for fid, f in fields.items()}
    if context.project is None or context.issue_type is None:
        return {}
    ident = str(context.project.get("key") or context.project.get("id"))
    cache_key = _key("createmeta", ident, context.issue_type)
    if cache_key in cache:
        return dict(cache[cache_key])
    if missing_ok and _missed(cache, cache_key) is not None:
        return {}
    allowed: dict[str, list[Any]] = {}
    start = 0
    while True:
        page = yield Call(
            "GET",
            "/issue/createmeta/{project}/issuetypes/{type}",
            {"project": ident, "type": context.issue_type},
            params={"startAt": start, "maxResults": 200},
            also_ok=(400, 404) if missing_ok else (),
            parse=_page_or_missing,
        )
        if page is _MISSING:
            _miss(cache, cache_key)
            return {}
        items = list((page or {}).get("fields") or (page or {}).get("values") or [])
        for f in items:
            allowed[str(f.get("fieldId") or f.get("key"))] = list(f.get("allowedValues") or [])
        start += len(items)
        total = (page or {}).get("total")
        if not items or (page or {}).get("isLast") or (total is not None and start >= total):
            break
    cache[cache_key] = allowed
    return allowed


def repair_flow(
    cache: dict[str, Any],
    flavour: str,
    payload: dict[str, Any],
    error: HTTPError,
    shaped: Shaped,
    context: Context,
) -> Flow[dict[str, Any]]:
    """A corrected copy of ``payload["fields"]`` after Jira rejected names in it, or raise:
    `ConfigurationError` naming the candidates for names that match nothing, the original
    error when it is about something names cannot fix."""
    rejected = dict(error.errors) if isinstance(error, BadRequest) else {}
    sent: dict[str, Any] = dict(payload.get("fields") or {})
    repairable = {"project", "issuetype", "priority", *shaped.by_name}
    if not rejected or not set(rejected) <= repairable:
        raise error
    by_name = {
        "project": (sent.get("project") or {}).get("key"),
        "issuetype": (sent.get("issuetype") or {}).get("name"),
        "priority": (sent.get("priority") or {}).get("name"),
    }
    if any(key in rejected and not by_name[key] for key in by_name):
        raise error  # sent by id: there is no name to match
    fixed = dict(sent)
    try:
        if "project" in rejected:
            ref = sent.get("project") or {}
            wanted = str(ref.get("key") or ref.get("id") or "")
            fixed["project"] = yield from project_by_name_flow(cache, flavour, wanted)
            context = Context(fixed["project"], context.issue_type, context.issue_key)
        if "issuetype" in rejected and context.project is not None:
            wanted = str((sent.get("issuetype") or {}).get("name") or "")
            ident = str(context.project.get("key") or context.project.get("id"))
            types = yield from issue_types_flow(cache, context.project)
            type_id = pick("issue type", wanted, types, f"in project {ident}")
            fixed["issuetype"] = {"id": type_id}
            context = Context(context.project, type_id, context.issue_key)
        elif "issuetype" in rejected:
            raise error
        if "priority" in rejected:
            wanted = str((sent.get("priority") or {}).get("name") or "")
            fixed["priority"] = {
                "id": pick("priority", wanted, (yield from priorities_flow(cache)))
            }
        options = [fid for fid in rejected if fid in shaped.by_name]
        if options:
            if context.issue_type is None and context.issue_key is None:
                # created by issue type name: its id is needed for the field metadata
                if context.project is None:
                    raise error
                types = yield from issue_types_flow(cache, context.project)
                wanted = str((sent.get("issuetype") or {}).get("name") or "")
                context = Context(context.project, pick("issue type", wanted, types))
            allowed = yield from allowed_values_flow(cache, context)
            for fid in options:
                fixed[fid] = _repair_options(
                    shaped.labels.get(fid, fid), shaped.by_name[fid], allowed.get(fid) or []
                )
    except ConfigurationError as exc:
        raise ConfigurationError(f"{exc} (Jira said: {error})") from None
    if fixed == sent:
        raise error
    return fixed


def _repair_options(label: str, given: Any, allowed: Sequence[Any]) -> Any:
    options = [(str(o.get("value", o.get("name", ""))), str(o.get("id"))) for o in allowed]
    what = f"option of {label!r}"
    if isinstance(given, list | tuple | set | frozenset):
        return [{"id": pick(what, str(v), options)} for v in given]
    return {"id": pick(what, str(given), options)}
