"""Issue mutations with Jira's validation, changelog items and workflow rules.

Every change goes through `apply_changes`: it replaces values copy-on-write (search lag
keeps the previous fields dict), appends one changelog history with an item per changed
field, bumps the issue version and ``updated``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jirakit.sandbox.clock import jira_time, to_ms
from jirakit.sandbox.errors import JiraHttpError, bad_request, issue_not_found
from jirakit.sandbox.events import Event
from jirakit.sandbox.inputs import (
    INVALID_PAYLOAD,
    MAX_NUMBER,
    MAX_TEXT,
    TEXT_TOO_LONG,
    adf_problem,
    body_str,
    duration_seconds,
    number_value,
    seconds_value,
    text_too_long,
)
from jirakit.sandbox.store import ChangeItem, History, IssueRecord, Json, Store
from jirakit.sandbox.views import adf_to_text, is_rich_text, wiki_to_adf

DONE_CATEGORY = 3
MAX_LABEL_LENGTH = 255
#: No published Jira figure: the sandbox's own bound on labels per issue.
MAX_LABELS = 1000
# Jira Cloud's answers to ADF that does not validate against the schema, as recorded in
# public bug reports: creating an issue (tenable/integration-jira-cloud#13, #82), other
# writes (nguyenvanduocit/jira-mcp#42: ``{"errorMessages":["INVALID_INPUT"]}``).
CANNOT_CREATE = (
    "We can't create this issue for you right now, it could be due to unsupported content "
    "you've entered into one or more of the issue fields. If this situation persists, "
    "contact your administrator as they'll be able to access more specific information in "
    "the log file."
)
INVALID_INPUT = "INVALID_INPUT"

CHANGELOG_NAMES = {
    "components": "Component",
    "fixVersions": "Fix Version",
    "versions": "Version",
    "issuetype": "issuetype",
    "parent": "IssueParentAssociation",
}
UNSET = object()


def emit(
    store: Store, name: str, rec: IssueRecord | None, user: str | None, now: datetime, **data: Any
) -> None:
    store.events.publish(
        Event(name, to_ms(now), rec.id if rec else None, rec.key if rec else None, user, data)
    )


def lag_ms(store: Store) -> int:
    return int(store.site.get("search_lag", 0.0) * 1000)


# -- workflow ----------------------------------------------------------------------------


def workflow_of(store: Store, rec: IssueRecord) -> list[Json]:
    name = store.project_workflow.get(str(rec.project_id), "software")
    transitions: list[Json] = store.workflows[name]["transitions"]
    return transitions


def available_transitions(store: Store, rec: IssueRecord) -> list[Json]:
    cur = rec.fields["status"]["id"]
    return [t for t in workflow_of(store, rec) if cur in t["from"]]


# -- value parsing -----------------------------------------------------------------------


def parse_duration(text: str) -> int | None:
    """A time-tracking duration in seconds (see `inputs.duration_seconds`)."""
    return duration_seconds(text)


class FieldParser:
    """Turns request values into stored values, collecting Jira's per-field errors."""

    def __init__(self, store: Store, project: Json, version: int) -> None:
        self.store = store
        self.project = project
        self.version = version
        self.errors: dict[str, str] = {}
        # Rich-text fields whose ADF is not valid against the schema: Jira answers those
        # with one general message rather than per field (see `raise_errors`).
        self.invalid_adf: list[str] = []

    def raise_errors(self, *, creating: bool = False) -> None:
        """Jira's 400 for what was found, if anything."""
        if self.errors:
            raise bad_request(errors=self.errors)
        if self.invalid_adf:
            raise bad_request(CANNOT_CREATE if creating else INVALID_INPUT)

    def user(self, fid: str, raw: Any) -> Any:
        if raw is None:
            return None
        if isinstance(raw, dict):
            if ("accountId" in raw and raw["accountId"] is None) or raw.get("name", "") is None:
                return None  # PUT /assignee with {"accountId": null}: unassign
            aid = body_str(raw, "accountId") or body_str(raw, "id")
            if aid and aid in self.store.users:
                return self.store.users[aid]
            name = body_str(raw, "name") or body_str(raw, "key")
            if name:
                for u in self.store.users.values():
                    if u.get("name") == name or u.get("key") == name:
                        return u
            if aid == "-1" or raw.get("name") == "-1":
                return None
        self.errors[fid] = "Specified user does not exist or you do not have required permissions"
        return UNSET

    def by_id_or_name(self, fid: str, raw: Any, pool: list[Json], what: str) -> Any:
        if isinstance(raw, dict):
            if "id" in raw:
                for v in pool:
                    if v["id"] == str(raw["id"]):
                        return v
                self.errors[fid] = f"{what} id '{raw['id']}' is not valid"
                return UNSET
            if "name" in raw:
                for v in pool:
                    if v["name"].lower() == str(raw["name"]).lower():
                        return v
                self.errors[fid] = f"{what} name '{raw['name']}' is not valid"
                return UNSET
        self.errors[fid] = f"Specify a valid value for {fid}"
        return UNSET

    def option(self, fid: str, raw: Any) -> Any:
        options = self.store.field_options.get(fid, [])
        if isinstance(raw, dict):
            if "id" in raw:
                for o in options:
                    if o["id"] == str(raw["id"]):
                        return o
                self.errors[fid] = f"Option id '{raw['id']}' is not valid"
                return UNSET
            if "value" in raw:
                for o in options:
                    if o["value"] == raw["value"]:
                        return o
                self.errors[fid] = f"Option value '{raw['value']}' is not valid"
                return UNSET
        self.errors[fid] = f"Specify a valid value for {fid}"
        return UNSET

    def rich(self, fid: str, raw: Any) -> Any:
        if raw is None:
            return None
        if self.version == 2:
            if isinstance(raw, str):
                if len(raw) > MAX_TEXT:
                    self.errors[fid] = TEXT_TOO_LONG
                    return UNSET
                return wiki_to_adf(raw) if raw else None
            self.errors[fid] = "Operation value must be a string"
            return UNSET
        if isinstance(raw, dict) and raw.get("type") == "doc":
            if adf_problem(raw) is not None:
                self.invalid_adf.append(fid)
                return UNSET
            if text_too_long(raw):
                self.errors[fid] = TEXT_TOO_LONG
                return UNSET
            return raw
        self.errors[fid] = (
            "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
        )
        return UNSET

    def date(self, fid: str, raw: Any) -> Any:
        if raw is None or raw == "":
            return None
        try:
            datetime.strptime(str(raw), "%Y-%m-%d")
        except ValueError:
            self.errors[fid] = f"Error parsing date string: {raw}"
            return UNSET
        return str(raw)

    def value(self, fid: str, raw: Any) -> Any:
        s = self.store
        if fid == "summary":
            if not isinstance(raw, str) or not raw.strip():
                self.errors[fid] = "You must specify a summary of the issue."
                return UNSET
            if len(raw) > 255:
                self.errors[fid] = "Summary must be less than 255 characters."
                return UNSET
            return raw.replace("\n", " ")
        if is_rich_text(s, fid):
            return self.rich(fid, raw)
        if fid in ("assignee", "reporter"):
            return self.user(fid, raw)
        if fid == "priority":
            if raw is None:
                return s.priorities["3"]
            got = self.by_id_or_name(fid, raw, list(s.priorities.values()), "Priority")
            if got is UNSET:
                self.errors[fid] = "The priority selected is invalid."
            return got
        if fid == "issuetype":
            types = [s.issuetypes[t] for t in s.project_issuetypes[self.project["id"]]]
            got = self.by_id_or_name(fid, raw, types, "Issue type")
            if got is UNSET:
                self.errors[fid] = "Specify a valid issue type"
            return got
        if fid == "labels":
            if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
                self.errors[fid] = "Specify a valid value for labels"
                return UNSET
            if any(" " in x for x in raw):
                self.errors[fid] = "The label can't contain spaces."
                return UNSET
            if any(len(x) > MAX_LABEL_LENGTH for x in raw):
                self.errors[fid] = f"The label can't be longer than {MAX_LABEL_LENGTH} characters."
                return UNSET
            if any(not x for x in raw):
                self.errors[fid] = "The label can't be empty."
                return UNSET
            if len(set(raw)) > MAX_LABELS:
                self.errors[fid] = f"An issue can't have more than {MAX_LABELS} labels."
                return UNSET
            return sorted(set(raw))
        if fid == "components":
            return self.many(fid, raw, self.project["components"], "Component")
        if fid in ("fixVersions", "versions"):
            return self.many(fid, raw, self.project["versions"], "Version")
        if fid == "duedate":
            return self.date(fid, raw)
        if fid == "parent":
            if raw is None:
                return None
            key = raw.get("key") or raw.get("id") if isinstance(raw, dict) else None
            parent = s.issue(str(key)) if key else None
            if parent is None:
                self.errors[fid] = (
                    "Given parent work item does not belong to appropriate hierarchy."
                )
                return UNSET
            return parent
        if fid == "timetracking":
            if not isinstance(raw, dict):
                self.errors[fid] = "Specify a valid value for timetracking"
                return UNSET
            out = {}
            for k, target in (
                ("originalEstimate", "timeoriginalestimate"),
                ("remainingEstimate", "timeestimate"),
            ):
                if k in raw:
                    secs = duration_seconds(raw[k])
                    if secs is None:
                        self.errors[fid] = f"Invalid time duration entered: {raw[k]}"
                        return UNSET
                    out[target] = secs
            return out
        field = s.field(fid)
        if field is None or fid in (
            "status",
            "resolution",
            "created",
            "updated",
            "creator",
            "customfield_10019",
        ):
            self.errors[fid] = (
                f"Field '{fid}' cannot be set. It is not on the appropriate screen, or unknown."
            )
            return UNSET
        schema = field["schema"]
        custom = schema.get("custom", "")
        if raw is None:
            return None
        if schema["type"] == "number":
            if isinstance(raw, bool) or not isinstance(raw, int | float):
                self.errors[fid] = "Operation value must be a number"
                return UNSET
            number = number_value(raw)
            if number is None:
                self.errors[fid] = (
                    f"The number for {field['name']} must be between "
                    f"-{MAX_NUMBER:,.0f} and {MAX_NUMBER:,.0f}."
                )
                return UNSET
            return number
        if custom.endswith(":select"):
            return self.option(fid, raw)
        if custom.endswith(":multiselect"):
            if not isinstance(raw, list):
                self.errors[fid] = "Operation value must be a list"
                return UNSET
            got = [self.option(fid, r) for r in raw]
            return UNSET if UNSET in got else got
        if custom.endswith(":userpicker"):
            return self.user(fid, raw)
        if schema["type"] == "date":
            return self.date(fid, raw)
        if schema["type"] == "datetime":
            try:
                return jira_time(datetime.fromisoformat(str(raw).replace("+0000", "+00:00")))
            except (ValueError, OverflowError):
                self.errors[fid] = f"Error parsing date string: {raw}"
                return UNSET
        if custom.endswith(":gh-sprint"):
            sid = raw.get("id") if isinstance(raw, dict) else raw
            sprint = s.sprints.get(int(str(sid))) if str(sid).isdigit() else None
            if sprint is None:
                self.errors[fid] = f"Sprint with id {sid} does not exist."
                return UNSET
            return [sprint]
        if custom.endswith(":gh-epic-link"):
            epic = s.issue(str(raw))
            if epic is None:
                self.errors[fid] = f"Epic '{raw}' does not exist."
                return UNSET
            return epic.key
        if custom.endswith(":labels"):
            if not isinstance(raw, list):
                self.errors[fid] = "Operation value must be a list"
                return UNSET
            return sorted(set(map(str, raw)))
        if not isinstance(raw, str):
            self.errors[fid] = "Operation value must be a string"
            return UNSET
        if len(raw) > (255 if custom.endswith(":textfield") else MAX_TEXT):
            self.errors[fid] = TEXT_TOO_LONG
            return UNSET
        return raw

    def many(self, fid: str, raw: Any, pool: list[Json], what: str) -> Any:
        if not isinstance(raw, list):
            self.errors[fid] = f"Specify a valid value for {fid}"
            return UNSET
        got = [self.by_id_or_name(fid, r, pool, what) for r in raw]
        return UNSET if UNSET in got else got


# -- changelog items ---------------------------------------------------------------------


def _string(store: Store, fid: str, v: Any) -> tuple[str | None, str | None]:
    """(from/to, fromString/toString) for a stored value."""
    if v is None or v == []:
        return None, None
    if isinstance(v, dict):
        if "accountId" in v:
            return v["accountId"], v["displayName"]
        if v.get("type") == "doc":
            return None, adf_to_text(v)
        if "value" in v:
            return v["id"], v["value"]
        return v.get("id"), v.get("name") or v.get("key")
    if isinstance(v, list):
        if v and isinstance(v[0], dict):
            ids = ", ".join(str(x.get("id")) for x in v)
            names = ", ".join(str(x.get("name") or x.get("value")) for x in v)
            return ids, names
        return None, " ".join(map(str, v))
    if isinstance(v, float):
        return None, str(v).removesuffix(".0")
    if fid == "duedate":
        return str(v), f"{v} 00:00:00.0"
    return None, str(v)


def change_items(store: Store, fid: str, old: Any, new: Any) -> list[ChangeItem]:
    field = store.field(fid)
    custom = bool(field and field["custom"])
    name = field["name"] if custom and field else CHANGELOG_NAMES.get(fid, fid)
    ftype = "custom" if custom else "jira"
    if fid in ("components", "fixVersions", "versions"):
        old_ids = {v["id"] for v in old or []}
        new_ids = {v["id"] for v in new or []}
        items: list[ChangeItem] = []
        for v in old or []:
            if v["id"] not in new_ids:
                items.append((name, ftype, fid, v["id"], v["name"], None, None))
        for v in new or []:
            if v["id"] not in old_ids:
                items.append((name, ftype, fid, None, None, v["id"], v["name"]))
        return items
    f, fs = _string(store, fid, old)
    t, ts = _string(store, fid, new)
    return [(name, ftype, fid, f, fs, t, ts)]


def apply_changes(
    store: Store,
    rec: IssueRecord,
    changes: dict[str, Any],
    author: str | None,
    now: datetime,
    *,
    extra_items: list[ChangeItem] | None = None,
) -> bool:
    """Set fields (None clears), record one history, update indexes. True if anything changed."""
    before = rec.fields
    new_fields = dict(before)
    items: list[ChangeItem] = list(extra_items or [])
    for fid, value in changes.items():
        old = before.get(fid)
        if value == old or (value in (None, []) and old in (None, [])):
            continue
        items.extend(change_items(store, fid, old, value))
        if value is None or (
            value == [] and fid not in ("labels", "components", "fixVersions", "versions")
        ):
            new_fields.pop(fid, None)
        else:
            new_fields[fid] = value
    if not items:
        return False
    now_ms = to_ms(now)
    ts = jira_time(now)
    new_fields["updated"] = ts
    if before.get("status") is not new_fields.get("status"):
        old_cat = before["status"]["statusCategory"]["id"]
        if new_fields["status"]["statusCategory"]["id"] != old_cat:
            new_fields["statuscategorychangedate"] = ts
    before_histories = list(rec.histories)
    rec.fields = new_fields
    history = History(store.next_id("history"), author, ts, tuple(items))
    rec.histories.append(history)
    store.touched(rec, now_ms, lag_ms(store), before, before_histories)
    emit(store, "jira:issue_updated", rec, author, now, history=history)
    return True


def touch(store: Store, rec: IssueRecord, now: datetime) -> None:
    """A change without field items (comments, worklogs): bump updated/version."""
    before = rec.fields
    rec.fields = {**before, "updated": jira_time(now)}
    store.touched(rec, to_ms(now), lag_ms(store), before, list(rec.histories))


# -- create / edit / delete ----------------------------------------------------------------


def _project_of(store: Store, raw: Any) -> Json | None:
    if not isinstance(raw, dict):
        return None
    ref = raw.get("id") or raw.get("key")
    return store.project(str(ref)) if ref is not None else None


# The members of Jira's IssueUpdateBean; another one is refused per member, as recorded
# from a real Jira in ../shared/jira/fixtures/jira-ruby/issue/10002.invalid.put.json.
ISSUE_MEMBERS = frozenset({"fields", "update", "transition", "historyMetadata", "properties"})


def _known_members(payload: Json) -> None:
    extra = sorted(k for k in payload if k not in ISSUE_MEMBERS)
    if extra:
        raise bad_request(
            errors={k: f"Field '{k}' is not valid for this operation." for k in extra}
        )


def create_issue(
    store: Store, payload: Any, author: str, now: datetime, version: int
) -> IssueRecord:
    if not isinstance(payload, dict) or not isinstance(payload.get("fields", {}), dict):
        raise bad_request("Can not deserialize instance of issue.")
    _known_members(payload)
    fields: Json = payload.get("fields") or {}
    errors: dict[str, str] = {}
    project = _project_of(store, fields.get("project"))
    if project is not None and not store.can_browse(author, project["id"]):
        project = None
    if project is None:
        errors["project"] = "Specify a valid project ID or key"
    if "issuetype" not in fields:
        errors["issuetype"] = "Specify an issue type"
    if "summary" not in fields:
        errors["summary"] = "You must specify a summary of the issue."
    if project is None:
        raise bad_request(errors=errors)
    parser = FieldParser(store, project, version)
    parsed: dict[str, Any] = {}
    for fid, raw in fields.items():
        if fid == "project" or fid in errors:
            continue
        v = parser.value(fid, raw)
        if v is not UNSET:
            parsed[fid] = v
    errors.update(parser.errors)
    itype = parsed.get("issuetype")
    parent = parsed.pop("parent", None)
    if itype is not None and not errors:
        if itype["subtask"] and parent is None:
            errors["parent"] = "Given parent work item does not belong to appropriate hierarchy."
        if parent is not None:
            p_type = parent.fields["issuetype"]
            ok = (itype["subtask"] and not p_type["subtask"] and p_type["hierarchyLevel"] == 0) or (
                itype["hierarchyLevel"] == 0 and p_type["hierarchyLevel"] == 1
            )
            if not ok or parent.project_id != int(project["id"]):
                errors["parent"] = (
                    "Given parent work item does not belong to appropriate hierarchy."
                )
    if errors:
        raise bad_request(errors=errors)
    parser.raise_errors(creating=True)
    assert itype is not None
    ts = jira_time(now)
    now_ms = to_ms(now)
    iid = store.next_id("issue")
    key = store.next_issue_key(project["key"])
    f: Json = {
        "issuetype": itype,
        "project": store.project_refs[project["id"]],
        "status": store.statuses["10000"],
        "priority": parsed.pop("priority", None) or store.priorities["3"],
        "reporter": parsed.pop("reporter", None) or store.users[author],
        "creator": store.users[author],
        "created": ts,
        "updated": ts,
        "statuscategorychangedate": ts,
        "labels": [],
        "components": [],
        "fixVersions": [],
        "versions": [],
        "customfield_10019": f"0|i{iid:05x}:",
    }
    tt = parsed.pop("timetracking", None)
    if tt:
        f.update(tt)
        if "timeestimate" not in tt and "timeoriginalestimate" in tt:
            f["timeestimate"] = tt["timeoriginalestimate"]
    for fid, v in parsed.items():
        if v is not None:
            f[fid] = v
    if parent is not None:
        f["parent"] = {"id": parent.sid, "key": parent.key}
        if parent.fields["issuetype"]["hierarchyLevel"] == 1:
            f["customfield_10014"] = parent.key
    rec = IssueRecord(
        id=iid,
        key=key,
        project_id=int(project["id"]),
        fields=f,
        created_ms=now_ms,
        updated_ms=now_ms,
        parent_id=parent.id if parent is not None else None,
        watchers=[author],
    )
    lag = lag_ms(store)
    if lag > 0:
        rec.searchable_ms = now_ms + lag
        store.pending_until_ms = max(store.pending_until_ms, rec.searchable_ms)
    store.add_issue(rec)
    emit(store, "jira:issue_created", rec, author, now)
    return rec


def apply_update_ops(
    store: Store, rec: IssueRecord, update: Any, parser: FieldParser
) -> tuple[dict[str, Any], list[Any]]:
    """Turn an ``update`` object into target values; returns (changes, comment bodies)."""
    if not isinstance(update, dict):
        raise bad_request("Can not deserialize instance of update.")
    changes: dict[str, Any] = {}
    comments: list[Any] = []
    for fid, ops in update.items():
        if not isinstance(ops, list):
            parser.errors[fid] = "Operation must be a list"
            continue
        if fid == "comment":
            for op in ops:
                if isinstance(op, dict) and "add" in op:
                    comments.append(op["add"].get("body") if isinstance(op["add"], dict) else None)
            continue
        current = changes.get(fid, rec.fields.get(fid))
        for op in ops:
            if not isinstance(op, dict) or len(op) != 1:
                parser.errors[fid] = "Operation must be a single verb"
                continue
            verb, arg = next(iter(op.items()))
            if verb == "set":
                v = parser.value(fid, arg)
                if v is not UNSET:
                    current = v
            elif (verb in ("add", "remove") and fid == "labels") or (
                verb in ("add", "remove") and _is_string_list(store, fid)
            ):
                vals = list(current or [])
                if not isinstance(arg, str):
                    parser.errors[fid] = f"Specify a valid value for {fid}"
                    continue
                if verb == "add" and arg not in vals:
                    vals.append(arg)
                elif verb == "remove" and arg in vals:
                    vals.remove(arg)
                checked = parser.value(fid, vals)  # the label rules, on the result
                if checked is not UNSET:
                    current = checked
            elif verb in ("add", "remove"):
                one = parser.value(fid, [arg])
                if one is UNSET:
                    continue
                vals = list(current or [])
                ids = [v.get("id") for v in vals]
                for v in one:
                    if verb == "add" and v.get("id") not in ids:
                        vals.append(v)
                    elif verb == "remove":
                        vals = [x for x in vals if x.get("id") != v.get("id")]
                current = vals
            else:
                parser.errors[fid] = f"Field '{fid}' does not support operation '{verb}'"
        changes[fid] = current
    return changes, comments


def _is_string_list(store: Store, fid: str) -> bool:
    f = store.field(fid)
    return bool(f and f["schema"].get("type") == "array" and f["schema"].get("items") == "string")


def edit_issue(
    store: Store, rec: IssueRecord, payload: Any, author: str, now: datetime, version: int
) -> None:
    if not isinstance(payload, dict) or not isinstance(payload.get("fields", {}), dict | None):
        raise bad_request("Can not deserialize instance of issue.")
    _known_members(payload)
    project = store.projects[str(rec.project_id)]
    parser = FieldParser(store, project, version)
    changes: dict[str, Any] = {}
    for fid, raw in (payload.get("fields") or {}).items():
        if fid == "project":
            parser.errors[fid] = (
                "Field 'project' cannot be set. It is not on the appropriate screen, or unknown."
            )
            continue
        v = parser.value(fid, raw)
        if v is not UNSET:
            changes[fid] = v
    comments: list[Any] = []
    if payload.get("update"):
        upd, comments = apply_update_ops(store, rec, payload["update"], parser)
        for fid in upd:
            if fid in changes:
                parser.errors[fid] = f"Field '{fid}' cannot be set and updated in the same request."
        changes.update(upd)
    parser.raise_errors()
    _commit(store, rec, changes, author, now)
    for body in comments:
        add_comment(store, rec, {"body": body}, author, now, version)


def _commit(
    store: Store,
    rec: IssueRecord,
    changes: dict[str, Any],
    author: str,
    now: datetime,
    extra: list[ChangeItem] | None = None,
) -> None:
    tt = changes.pop("timetracking", None)
    if tt:
        changes.update(tt)
    if "parent" in changes:
        parent = changes.pop("parent")
        if parent is None:
            if rec.parent_id is not None and rec.parent_id in store.children:
                store.children[rec.parent_id].remove(rec.id)
            rec.parent_id = None
            changes["parent"] = None
        elif parent.id != rec.parent_id:
            if rec.parent_id is not None and rec.parent_id in store.children:
                store.children[rec.parent_id].remove(rec.id)
            rec.parent_id = parent.id
            store.children.setdefault(parent.id, []).append(rec.id)
            changes["parent"] = {"id": parent.sid, "key": parent.key}
    for fid in ("priority",):
        if fid in changes and changes[fid] is None:
            changes[fid] = store.priorities["3"]
    apply_changes(store, rec, changes, author, now, extra_items=extra)


def delete_issue(
    store: Store,
    rec: IssueRecord,
    delete_subtasks: bool,
    now: datetime,
    user: str | None = None,
    *,
    secondary: bool = False,
) -> None:
    """Delete an issue (and its sub-tasks with ``delete_subtasks``; other children lose
    their parent), publishing ``jira:issue_deleted`` for each. ``secondary``: a cascade of
    another change (deleting a project), delivered on Jira's Secondary webhook flow."""
    flow: dict[str, Any] = {"secondary": True} if secondary else {}
    kids = [store.issues[c] for c in store.children.get(rec.id, ()) if c in store.issues]
    subtasks = [k for k in kids if k.fields["issuetype"]["subtask"]]
    if subtasks and not delete_subtasks:
        raise bad_request(
            f"The issue '{rec.key}' has subtasks.  You must specify the 'deleteSubtasks' parameter to delete this issue and all its subtasks."
        )
    for k in subtasks:
        store.remove_issue(k, to_ms(now), lag_ms(store))
        emit(store, "jira:issue_deleted", k, user, now, record=k, **flow)  # gone from the store
    for k in kids:
        if k not in subtasks and k.id in store.issues:
            k.parent_id = None
            k.fields = {
                key: v for key, v in k.fields.items() if key not in ("parent", "customfield_10014")
            }
    store.remove_issue(rec, to_ms(now), lag_ms(store))
    emit(store, "jira:issue_deleted", rec, user, now, record=rec, **flow)


# -- transitions ---------------------------------------------------------------------------


def transition_issue(
    store: Store, rec: IssueRecord, payload: Any, author: str, now: datetime, version: int
) -> None:
    if not isinstance(payload, dict) or not isinstance(payload.get("transition"), dict):
        raise bad_request("Missing 'transition' identifier")
    if not isinstance(payload.get("fields", {}), dict | None):
        raise bad_request(INVALID_PAYLOAD)
    tid = body_str(payload["transition"], "id") or ""
    chosen = next((t for t in available_transitions(store, rec) if t["id"] == tid), None)
    if chosen is None:
        raise bad_request(f"Transition id '{tid}' is not valid for this issue.")
    project = store.projects[str(rec.project_id)]
    parser = FieldParser(store, project, version)
    changes: dict[str, Any] = {}
    to_status = store.statuses[chosen["to"]]
    done = to_status["statusCategory"]["id"] == DONE_CATEGORY
    for fid, raw in (payload.get("fields") or {}).items():
        if fid == "resolution":
            if not done:
                parser.errors[fid] = (
                    "Field 'resolution' cannot be set. It is not on the appropriate screen, or unknown."
                )
                continue
            got = parser.by_id_or_name(fid, raw, list(store.resolutions.values()), "Resolution")
            if got is not UNSET:
                changes[fid] = got
            continue
        v = parser.value(fid, raw)
        if v is not UNSET:
            changes[fid] = v
    comments: list[Any] = []
    if payload.get("update"):
        upd, comments = apply_update_ops(store, rec, payload["update"], parser)
        changes.update(upd)
    parser.raise_errors()
    extra: list[ChangeItem] = []
    old = rec.fields["status"]
    if old is not to_status:
        changes["status"] = to_status
    if done:
        changes.setdefault("resolution", store.resolutions["10000"])
        if rec.fields.get("resolution") is None:
            changes["resolutiondate"] = jira_time(now)
    elif rec.fields.get("resolution") is not None:
        changes["resolution"] = None
        changes["resolutiondate"] = None
    if "resolutiondate" in changes:
        # resolutiondate is derived: no changelog item of its own
        rd = changes.pop("resolutiondate")
        _commit(store, rec, changes, author, now, extra)
        if rd is None:
            rec.fields.pop("resolutiondate", None)
        else:
            rec.fields["resolutiondate"] = rd
    else:
        _commit(store, rec, changes, author, now, extra)
    for body in comments:
        add_comment(store, rec, {"body": body}, author, now, version)


# -- comments ------------------------------------------------------------------------------


def _comment_body(payload: Any, version: int) -> Any:
    body = payload.get("body") if isinstance(payload, dict) else None
    if version == 2:
        if not isinstance(body, str) or not body.strip():
            raise bad_request(errors={"comment": "Comment body can not be empty!"})
        if len(body) > MAX_TEXT:
            raise bad_request(errors={"comment": TEXT_TOO_LONG})
        return wiki_to_adf(body)
    if not isinstance(body, dict) or body.get("type") != "doc":
        if isinstance(body, str) and body:
            raise bad_request(
                errors={
                    "comment": "Comment body is not valid! Operation value must be an Atlassian Document (see the Atlassian Document Format)"
                }
            )
        raise bad_request(errors={"comment": "Comment body can not be empty!"})
    if adf_problem(body) is not None:
        raise bad_request(INVALID_INPUT)
    if text_too_long(body):
        raise bad_request(errors={"comment": TEXT_TOO_LONG})
    if not adf_to_text(body).strip() and not body.get("content"):
        raise bad_request(errors={"comment": "Comment body can not be empty!"})
    return body


def add_comment(
    store: Store, rec: IssueRecord, payload: Any, author: str, now: datetime, version: int
) -> Json:
    body = _comment_body(payload, version)
    ts = jira_time(now)
    user = store.users[author]
    c: Json = {
        "id": str(store.next_id("comment")),
        "author": user,
        "body": body,
        "updateAuthor": user,
        "created": ts,
        "updated": ts,
    }
    if isinstance(payload, dict) and payload.get("visibility") is not None:
        c["visibility"] = visibility(store, payload["visibility"])
    rec.comments = [*rec.comments, c]
    touch(store, rec, now)
    emit(store, "comment_created", rec, author, now, comment=c)
    return c


ROLES = ("Administrators", "Developers", "Users")


def visibility(store: Store, raw: Any) -> Json:
    """A comment's or worklog's ``visibility``: ``{"type": "group"|"role", "value": name}``
    (groups also by ``identifier``), naming a group or project role that exists."""
    if not isinstance(raw, dict):
        raise bad_request(INVALID_PAYLOAD)
    kind = body_str(raw, "type")
    value = body_str(raw, "value")
    ident = body_str(raw, "identifier")
    if kind == "group":
        group = next(
            (
                g
                for g in store.groups.values()
                if (value and g["name"].casefold() == value.casefold()) or g["groupId"] == ident
            ),
            None,
        )
        if group is None:
            raise bad_request(errors={"commentLevel": f"Group: {value or ident} does not exist."})
        return {"type": "group", "value": group["name"], "identifier": group["groupId"]}
    if kind == "role":
        if value not in ROLES:
            raise bad_request(errors={"commentLevel": f"Role: {value} does not exist."})
        return {"type": "role", "value": value}
    raise bad_request(
        errors={"commentLevel": "The visibility type must be either 'group' or 'role'."}
    )


def find_comment(rec: IssueRecord, cid: str) -> Json:
    for c in rec.comments:
        if c["id"] == cid:
            return c
    raise JiraHttpError(404, [f"Can not find a comment for the id: {cid}."])


def update_comment(
    store: Store, rec: IssueRecord, cid: str, payload: Any, author: str, now: datetime, version: int
) -> Json:
    c = find_comment(rec, cid)
    body = _comment_body(payload, version)
    new = {**c, "body": body, "updateAuthor": store.users[author], "updated": jira_time(now)}
    rec.comments = [new if x is c else x for x in rec.comments]
    touch(store, rec, now)
    emit(store, "comment_updated", rec, author, now, comment=new)
    return new


def delete_comment(
    store: Store, rec: IssueRecord, cid: str, now: datetime, user: str | None = None
) -> None:
    c = find_comment(rec, cid)
    rec.comments = [x for x in rec.comments if x is not c]
    touch(store, rec, now)
    emit(store, "comment_deleted", rec, user, now, comment=c)


# -- worklogs ------------------------------------------------------------------------------


def find_worklog(rec: IssueRecord, wid: str) -> Json:
    for w in rec.worklogs:
        if w["id"] == wid:
            return w
    raise JiraHttpError(404, [f"Cannot find worklog with id: {wid}."])


def _worklog_fields(payload: Any, version: int, now: datetime, *, partial: bool) -> Json:
    if not isinstance(payload, dict):
        raise bad_request(INVALID_PAYLOAD)
    out: Json = {}
    errors: dict[str, str] = {}
    if "timeSpentSeconds" in payload or "timeSpent" in payload:
        # Jira's JSON binding (Jackson) reads ``"600"`` as the long 600 as well.
        raw = payload.get("timeSpentSeconds")
        secs = seconds_value(raw) if raw is not None else None
        if raw is not None and secs is None:
            raise bad_request(INVALID_PAYLOAD)
        if secs is None and "timeSpent" in payload:
            secs = duration_seconds(payload["timeSpent"])
            if secs is None:
                errors["timeLogged"] = f"Invalid time duration entered: {payload['timeSpent']}"
        if "timeLogged" in errors:
            pass
        elif secs is None or secs <= 0:
            errors["timeLogged"] = "Worklog must not be null."
        else:
            out["timeSpentSeconds"] = secs
    elif not partial:
        errors["timeLogged"] = "You must indicate the time spent working."
    if "started" in payload:
        try:
            started = datetime.strptime(str(payload["started"]), "%Y-%m-%dT%H:%M:%S.%f%z")
            out["started"] = jira_time(started)
        except (ValueError, OverflowError):
            errors["started"] = "Started must be in the format yyyy-MM-dd'T'HH:mm:ss.SSSZ."
    elif not partial:
        out["started"] = jira_time(now)
    if "comment" in payload:
        body = payload["comment"]
        if version == 2 and isinstance(body, str):
            if len(body) > MAX_TEXT:
                errors["comment"] = TEXT_TOO_LONG
            out["comment"] = wiki_to_adf(body) if body else None
        elif version == 3 and (
            body is None or (isinstance(body, dict) and body.get("type") == "doc")
        ):
            if body is not None and adf_problem(body) is not None:
                raise bad_request(INVALID_INPUT)
            if text_too_long(body):
                errors["comment"] = TEXT_TOO_LONG
            out["comment"] = body
        else:
            errors["comment"] = (
                "Comment is not valid! Operation value must be an Atlassian Document (see the Atlassian Document Format)"
            )
    if errors:
        raise bad_request(errors=errors)
    return out


def _adjust_estimate(
    rec: IssueRecord, delta: int, adjust: str, new_estimate: str | None, by: str | None
) -> int | None:
    """The new remaining estimate after logging ``delta`` seconds (negative: removing)."""
    remaining = rec.fields.get("timeestimate")
    if adjust == "leave":
        return remaining if isinstance(remaining, int) else None
    if adjust == "new":
        secs = parse_duration(new_estimate or "")
        if secs is None:
            raise bad_request(errors={"newEstimate": "You must supply a valid new estimate."})
        return secs
    if adjust == "manual":
        secs = parse_duration(by or "")
        if secs is None:
            raise bad_request(
                errors={
                    "reduceBy": "You must supply a valid amount of time to adjust the estimate by."
                }
            )
        base = remaining if isinstance(remaining, int) else 0
        return max(0, base - secs if delta >= 0 else base + secs)
    if not isinstance(remaining, int):
        return None
    return max(0, remaining - delta)


def _log_time(
    store: Store,
    rec: IssueRecord,
    delta: int,
    wid: str,
    author: str,
    now: datetime,
    remaining: int | None,
    *,
    deleted: bool = False,
) -> None:
    spent = rec.fields.get("timespent") or 0
    changes: dict[str, Any] = {"timespent": (spent + delta) or None}
    if remaining is not None:
        changes["timeestimate"] = remaining
    items: list[ChangeItem] = [
        (
            "WorklogId",
            "jira",
            "WorklogId",
            wid if deleted else None,
            wid if deleted else None,
            None if deleted else wid,
            None if deleted else wid,
        )
    ]
    for fid in ("timespent", "timeestimate"):
        if fid in changes and changes[fid] != rec.fields.get(fid):
            old, new = rec.fields.get(fid), changes[fid]
            items.append(
                (fid, "jira", fid, _opt_str(old), _opt_str(old), _opt_str(new), _opt_str(new))
            )
    before = rec.fields
    new_fields = dict(before)
    for fid, v in changes.items():
        if v is None:
            new_fields.pop(fid, None)
        else:
            new_fields[fid] = v
    ts = jira_time(now)
    new_fields["updated"] = ts
    before_histories = list(rec.histories)
    rec.fields = new_fields
    history = History(store.next_id("history"), author, ts, tuple(items))
    rec.histories.append(history)
    store.touched(rec, to_ms(now), lag_ms(store), before, before_histories)
    emit(store, "jira:issue_updated", rec, author, now, history=history)


def _opt_str(v: Any) -> str | None:
    return None if v is None else str(v)


def add_worklog(
    store: Store,
    rec: IssueRecord,
    payload: Any,
    author: str,
    now: datetime,
    version: int,
    *,
    adjust: str = "auto",
    new_estimate: str | None = None,
    by: str | None = None,
) -> Json:
    data = _worklog_fields(payload, version, now, partial=False)
    remaining = _adjust_estimate(rec, data["timeSpentSeconds"], adjust, new_estimate, by)
    ts = jira_time(now)
    w: Json = {
        "id": str(store.next_id("worklog")),
        "author": author,
        "comment": data.get("comment"),
        "started": data["started"],
        "created": ts,
        "updated": ts,
        "timeSpentSeconds": data["timeSpentSeconds"],
    }
    rec.worklogs = [*rec.worklogs, w]
    _log_time(store, rec, w["timeSpentSeconds"], w["id"], author, now, remaining)
    emit(store, "worklog_created", rec, author, now, worklog=w)
    return w


def update_worklog(
    store: Store,
    rec: IssueRecord,
    wid: str,
    payload: Any,
    author: str,
    now: datetime,
    version: int,
    *,
    adjust: str = "auto",
    new_estimate: str | None = None,
) -> Json:
    w = find_worklog(rec, wid)
    data = _worklog_fields(payload, version, now, partial=True)
    delta = data.get("timeSpentSeconds", w["timeSpentSeconds"]) - w["timeSpentSeconds"]
    remaining = _adjust_estimate(rec, delta, adjust, new_estimate, None)
    new = {**w, **data, "updated": jira_time(now), "updateAuthor": author}
    rec.worklogs = [new if x is w else x for x in rec.worklogs]
    _log_time(store, rec, delta, wid, author, now, remaining)
    emit(store, "worklog_updated", rec, author, now, worklog=new)
    return new


def delete_worklog(
    store: Store,
    rec: IssueRecord,
    wid: str,
    author: str,
    now: datetime,
    *,
    adjust: str = "auto",
    new_estimate: str | None = None,
    by: str | None = None,
) -> None:
    w = find_worklog(rec, wid)
    remaining = _adjust_estimate(rec, -w["timeSpentSeconds"], adjust, new_estimate, by)
    rec.worklogs = [x for x in rec.worklogs if x is not w]
    store.deleted_worklogs.append([int(wid), to_ms(now)])
    _log_time(store, rec, -w["timeSpentSeconds"], wid, author, now, remaining, deleted=True)
    emit(store, "worklog_deleted", rec, author, now, worklog=w)


def require_issue(store: Store, id_or_key: str, viewer: str | None = None) -> IssueRecord:
    """The issue, or Jira's 404 when it does not exist *or* ``viewer`` may not browse it."""
    rec = store.issue(id_or_key)
    if rec is None or (viewer is not None and not store.can_browse(viewer, rec.project_id)):
        raise issue_not_found()
    return rec
