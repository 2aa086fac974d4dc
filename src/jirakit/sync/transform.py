"""Jira JSON -> warehouse rows. Pure functions: no I/O, no clock.

Every timestamp becomes an aware UTC datetime; dates stay dates; numbers in number fields
are always floats (so a column never flips type); rich text (ADF or wiki) becomes Markdown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from jirakit.client.models import parse_date, parse_datetime
from jirakit.sync.naming import ColumnMap

Json = Mapping[str, Any]
_N = TypeVar("_N", int, float)

SPRINT_TYPE = "com.pyxis.greenhopper.jira:gh-sprint"
# Jira Software fields whose schema type is "any" but whose value is a plain string.
TEXT_CUSTOM_TYPES = frozenset(
    {
        "com.pyxis.greenhopper.jira:gh-epic-link",  # the epic's key
        "com.pyxis.greenhopper.jira:gh-lexo-rank",  # e.g. "0|i0000f:"
        "com.pyxis.greenhopper.jira:gh-epic-label",
        "com.pyxis.greenhopper.jira:gh-epic-color",
    }
)
STORY_POINT_TYPES = ("com.pyxis.greenhopper.jira:jsw-story-points",)
STORY_POINT_NAMES = ("story points", "story point estimate")


def utc(value: Any) -> datetime | None:
    """Jira's ``2024-01-10T09:30:00.000+0100`` (or epoch ms) as an aware UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    parsed = value if isinstance(value, datetime) else parse_datetime(str(value))
    if parsed is None:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def day(value: Any) -> date | None:
    return parse_date(value)


def _convert(value: Any, convert: Callable[[Any], _N]) -> _N | None:
    """``convert(value)``, or None for a missing, empty or unconvertible value."""
    if value is None or value == "":
        return None
    try:
        return convert(value)
    except (TypeError, ValueError):
        return None


def as_int(value: Any) -> int | None:
    return _convert(value, int)


def as_float(value: Any) -> float | None:
    return None if isinstance(value, bool) else _convert(value, float)


def markdown(value: Any) -> str | None:
    """Rich text as Markdown: ADF documents are converted, strings are kept."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        from jirakit.adf import to_markdown

        return str(to_markdown(dict(value)))
    return str(value)


def user_id(value: Any) -> str | None:
    if not isinstance(value, Mapping):
        return None
    ident = value.get("accountId") or value.get("name") or value.get("key")
    return None if ident is None else str(ident)


def _name(value: Any) -> str | None:
    if isinstance(value, Mapping):
        name = value.get("name") or value.get("value")
        return None if name is None else str(name)
    return None


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """What the transform needs to know about the site's fields."""

    columns: ColumnMap
    types: Mapping[str, Json]  # field id -> schema
    sprint_field: str | None
    story_points_fields: tuple[str, ...]

    @classmethod
    def from_fields(cls, fields: Sequence[Json], columns: ColumnMap) -> FieldInfo:
        types = {str(f["id"]): dict(f.get("schema") or {}) for f in fields}
        sprint = next((fid for fid, s in types.items() if s.get("custom") == SPRINT_TYPE), None)
        # Company-managed projects use "Story Points", team-managed ones "Story point
        # estimate" (jsw-story-points); an issue has a value in at most one of them.
        points = [fid for fid, s in types.items() if s.get("custom") in STORY_POINT_TYPES]
        points += [
            str(f["id"])
            for f in fields
            if str(f.get("name", "")).strip().lower() in STORY_POINT_NAMES
            and (f.get("schema") or {}).get("type") == "number"
            and str(f["id"]) not in points
        ]
        return cls(columns, types, sprint, tuple(points))


def custom_value(value: Any, schema: Json) -> Any:
    """A custom field's value in a warehouse-friendly shape for its type."""
    if value is None:
        return None
    kind, items, custom = schema.get("type"), schema.get("items"), schema.get("custom") or ""
    if custom == SPRINT_TYPE:
        return [as_int(s.get("id")) for s in value if isinstance(s, Mapping)]
    if kind == "number":
        return as_float(value)
    if kind == "date":
        return day(value)
    if kind == "datetime":
        return utc(value)
    if kind == "user":
        return user_id(value)
    if kind == "option":
        return _name(value)
    if kind == "option-with-child" and isinstance(value, Mapping):
        child = value.get("child")
        parent = _name(value)
        return f"{parent} / {_name(child)}" if isinstance(child, Mapping) else parent
    if kind == "array":
        values = value if isinstance(value, list) else [value]
        if items == "user":
            return [user_id(v) for v in values]
        if items in ("option", "version", "component"):
            return [_name(v) for v in values]
        return [v if not isinstance(v, Mapping) else (_name(v) or dict(v)) for v in values]
    if kind == "string":
        return markdown(value) if isinstance(value, Mapping) else str(value)
    if isinstance(value, Mapping):
        return dict(value)
    return value


def issue_row(issue: Json, info: FieldInfo, synced_at: datetime) -> dict[str, Any]:
    """One ``issues`` row: system fields flattened, custom fields under friendly names."""
    f: Json = issue.get("fields") or {}
    status = f.get("status") or {}
    category = status.get("statusCategory") or {}
    project = f.get("project") or {}
    parent = f.get("parent") or {}
    sprints = f.get(info.sprint_field) if info.sprint_field else None
    row: dict[str, Any] = {
        "id": int(issue["id"]),
        "key": issue.get("key"),
        "project_id": as_int(project.get("id")),
        "project_key": project.get("key"),
        "issue_type": _name(f.get("issuetype")),
        "issue_type_id": as_int((f.get("issuetype") or {}).get("id")),
        "status": status.get("name"),
        "status_id": as_int(status.get("id")),
        "status_category": category.get("key"),
        "priority": _name(f.get("priority")),
        "resolution": _name(f.get("resolution")),
        "assignee_id": user_id(f.get("assignee")),
        "reporter_id": user_id(f.get("reporter")),
        "creator_id": user_id(f.get("creator")),
        "summary": f.get("summary"),
        "description": markdown(f.get("description")),
        "labels": list(f.get("labels") or []),
        "components": [_name(c) for c in f.get("components") or []],
        "fix_versions": [_name(v) for v in f.get("fixVersions") or []],
        "affected_versions": [_name(v) for v in f.get("versions") or []],
        "parent_id": as_int(parent.get("id")),
        "parent_key": parent.get("key"),
        "sprint_ids": [as_int(s.get("id")) for s in sprints or [] if isinstance(s, Mapping)],
        "story_points": next(
            (as_float(f[p]) for p in info.story_points_fields if f.get(p) is not None), None
        ),
        "created_at": utc(f.get("created")),
        "updated_at": utc(f.get("updated")),
        "resolved_at": utc(f.get("resolutiondate")),
        "due_date": day(f.get("duedate")),
        "time_spent_seconds": as_int(f.get("timespent")),
        "original_estimate_seconds": as_int(f.get("timeoriginalestimate")),
        "remaining_estimate_seconds": as_int(f.get("timeestimate")),
        "is_deleted": False,
        "deleted_at": None,
        "raw": dict(issue),
        "synced_at": synced_at,
    }
    for field_id, column in info.columns.columns.items():
        if field_id in f:
            row[column] = custom_value(f[field_id], info.types.get(field_id, {}))
    return row


def history_rows(issue_id: int, histories: Sequence[Json]) -> Iterator[dict[str, Any]]:
    """Every changelog item of one issue."""
    for history in histories:
        history_id = as_int(history.get("id"))
        if history_id is None:
            continue
        changed_at = utc(history.get("created"))
        author = user_id(history.get("author"))
        for index, item in enumerate(history.get("items") or []):
            yield {
                "issue_id": issue_id,
                "history_id": history_id,
                "item_index": index,
                "field_id": item.get("fieldId") or item.get("field"),
                "field": item.get("field"),
                "field_type": item.get("fieldtype"),
                "from_value": _text(item.get("from")),
                "from_string": _text(item.get("fromString")),
                "to_value": _text(item.get("to")),
                "to_string": _text(item.get("toString")),
                "author_id": author,
                "changed_at": changed_at,
            }


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def comment_row(issue_id: int, comment: Json) -> dict[str, Any]:
    return {
        "id": int(comment["id"]),
        "issue_id": issue_id,
        "author_id": user_id(comment.get("author")),
        "update_author_id": user_id(comment.get("updateAuthor")),
        "body": markdown(comment.get("body")),
        "created_at": utc(comment.get("created")),
        "updated_at": utc(comment.get("updated")),
        "is_deleted": False,
    }


def worklog_row(worklog: Json) -> dict[str, Any]:
    return {
        "id": int(worklog["id"]),
        "issue_id": as_int(worklog.get("issueId")),
        "author_id": user_id(worklog.get("author")),
        "started_at": utc(worklog.get("started")),
        "time_spent_seconds": as_int(worklog.get("timeSpentSeconds")),
        "comment": markdown(worklog.get("comment")),
        "created_at": utc(worklog.get("created")),
        "updated_at": utc(worklog.get("updated")),
        "is_deleted": False,
        "deleted_at": None,
    }


def sprint_row(sprint: Json) -> dict[str, Any]:
    """A ``sprints`` row from the Agile API's sprint or an issue's sprint field value."""
    return {
        "id": int(sprint["id"]),
        "board_id": as_int(sprint.get("boardId") or sprint.get("originBoardId")),
        "name": sprint.get("name"),
        "state": sprint.get("state"),
        "goal": sprint.get("goal"),
        "start_at": utc(sprint.get("startDate")),
        "end_at": utc(sprint.get("endDate")),
        "complete_at": utc(sprint.get("completeDate")),
    }


def link_rows(issue: Json) -> Iterator[dict[str, Any]]:
    """Links as seen from this issue; each link id appears once whichever side loads it."""
    this = int(issue["id"])
    for link in (issue.get("fields") or {}).get("issuelinks") or []:
        kind = link.get("type") or {}
        outward = link.get("outwardIssue")
        inward = link.get("inwardIssue")
        yield {
            "id": int(link["id"]),
            "link_type": kind.get("name"),
            "inward": kind.get("inward"),
            "outward": kind.get("outward"),
            # The issue holding an `outwardIssue` link is the link's inward end.
            "outward_issue_id": as_int(outward.get("id")) if outward else this,
            "inward_issue_id": as_int(inward.get("id")) if inward else this,
        }


def attachment_rows(issue: Json) -> Iterator[dict[str, Any]]:
    this = int(issue["id"])
    for attachment in (issue.get("fields") or {}).get("attachment") or []:
        yield {
            "id": int(attachment["id"]),
            "issue_id": this,
            "filename": attachment.get("filename"),
            "mime_type": attachment.get("mimeType"),
            "size": as_int(attachment.get("size")),
            "author_id": user_id(attachment.get("author")),
            "created_at": utc(attachment.get("created")),
        }


def sprint_issue_rows(row: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for sprint_id in row.get("sprint_ids") or []:
        if sprint_id is not None:
            yield {"sprint_id": sprint_id, "issue_id": row["id"]}
