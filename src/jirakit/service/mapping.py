"""Jira objects -> Unified's models (TaskTask, TaskProject, TaskComment, TaskChange,
HrisEmployee, HrisGroup, StorageFile), as plain dicts ready for the schemas.

Ids are Jira's own: an issue's numeric id (its key works too wherever an id is taken),
a project's id, an accountId (``key``/``name`` on Data Center), an attachment's id.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from jirakit.adf import to_markdown
from jirakit.client.models import parse_date, parse_datetime

__all__ = [
    "comment_from_jira",
    "parse_datetime",
]

STATUS_BY_CATEGORY = {"new": "OPENED", "indeterminate": "IN_PROGRESS", "done": "COMPLETED"}
CATEGORY_BY_STATUS = {v: k for k, v in STATUS_BY_CATEGORY.items()}
STORY_POINT_NAMES = ("story points", "story point estimate")
START_NAMES = ("start date",)
# System fields the model already carries, kept out of `metadata`.
SYSTEM_FIELDS = frozenset(
    {
        "summary", "description", "project", "status", "priority", "labels", "assignee",
        "creator", "reporter", "parent", "subtasks", "duedate", "resolutiondate", "created",
        "updated", "timespent", "attachment", "issuetype", "comment", "worklog", "watches",
    }
)  # fmt: skip


@functools.lru_cache(maxsize=4096)
def snake(name: str) -> str:
    """``Story Points`` -> ``story_points``: a friendly slug for a custom field."""
    slug = re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()
    return slug or "field"


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def user_id(user: Any) -> str | None:
    if not isinstance(user, Mapping):
        return None
    ident = user.get("accountId") or user.get("key") or user.get("name")
    return str(ident) if ident else None


def notes_of(description: Any) -> str | None:
    if description is None:
        return None
    if isinstance(description, Mapping):
        return to_markdown(description)
    return str(description)


def _due(value: Any) -> str | None:
    day = parse_date(value)
    return f"{day.isoformat()}T00:00:00Z" if day else None


def _custom_value(value: Any) -> Any:
    """Metadata values are str, number, bool, dict or a list of those (Unified's union)."""
    if isinstance(value, (str, int, float, bool, dict)):
        return value
    if isinstance(value, list):
        return [_custom_value(v) for v in value if v is not None]
    return str(value)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def task_from_issue(
    issue: Mapping[str, Any], site: str, names: Mapping[str, str], *, raw: bool = False
) -> dict[str, Any]:
    """A Jira issue (as Jira sent it) -> a TaskTask dict."""
    fields: Mapping[str, Any] = issue.get("fields") or {}
    status = fields.get("status") or {}
    category = (status.get("statusCategory") or {}).get("key")
    out: dict[str, Any] = {
        "id": str(issue["id"]),
        "name": fields.get("summary"),
        "notes": notes_of(fields.get("description")),
        "project_id": str((fields.get("project") or {}).get("id") or "") or None,
        "status": STATUS_BY_CATEGORY.get(str(category)) if category else None,
        "priority": (fields.get("priority") or {}).get("name"),
        "tags": list(fields.get("labels") or []) if "labels" in fields else None,
        "assigned_user_ids": [u] if (u := user_id(fields.get("assignee"))) else [],
        "creator_user_id": user_id(fields.get("creator") or fields.get("reporter")),
        "parent_id": str((fields.get("parent") or {}).get("id") or "") or None,
        "has_children": bool(fields.get("subtasks")) if "subtasks" in fields else None,
        "due_at": _due(fields.get("duedate")),
        "completed_at": _iso(parse_datetime(fields.get("resolutiondate"))),
        "created_at": _iso(parse_datetime(fields.get("created"))),
        "updated_at": _iso(parse_datetime(fields.get("updated"))),
        "url": f"{site}/browse/{issue['key']}" if issue.get("key") else None,
        "type": (fields.get("issuetype") or {}).get("name"),
        "attachment_ids": [str(a["id"]) for a in fields.get("attachment") or [] if "id" in a],
    }
    if (spent := _number(fields.get("timespent"))) is not None:
        out["time_spent"] = spent
        out["time_spent_unit"] = "seconds"
    metadata = []
    for field_id, value in fields.items():
        if not field_id.startswith("customfield_") or value is None or value == []:
            continue
        name = names.get(field_id, field_id)
        folded = name.casefold()
        if folded in STORY_POINT_NAMES and (points := _number(value)) is not None:
            out["story_points"] = points
        elif folded in START_NAMES and isinstance(value, str):
            out["start_at"] = _due(value)
        metadata.append(
            {"id": field_id, "slug": snake(name), "namespace": name, "value": _custom_value(value)}
        )
    if metadata:
        out["metadata"] = metadata
    if raw:
        out["raw"] = dict(issue)
    return out


def project_from_jira(project: Mapping[str, Any], *, raw: bool = False) -> dict[str, Any]:
    lead = user_id(project.get("lead"))
    out: dict[str, Any] = {
        "id": str(project["id"]),
        "name": project.get("name"),
        "description": project.get("description") or None,
        "user_ids": [lead] if lead else [],
        "has_tasks": None,
        "metadata": [{"slug": "key", "value": project.get("key")}] if project.get("key") else None,
    }
    if raw:
        out["raw"] = dict(project)
    return out


def comment_from_jira(
    comment: Mapping[str, Any], task_id: str, *, raw: bool = False
) -> dict[str, Any]:
    author = comment.get("author") or {}
    out: dict[str, Any] = {
        "id": str(comment["id"]),
        "task_id": task_id,
        "text": notes_of(comment.get("body")),
        "user_id": user_id(author),
        "user_name": author.get("displayName"),
        "created_at": _iso(parse_datetime(comment.get("created"))),
        "updated_at": _iso(parse_datetime(comment.get("updated"))),
    }
    if raw:
        out["raw"] = dict(comment)
    return out


def change_from_history(
    history: Mapping[str, Any], task_id: str, *, raw: bool = False
) -> dict[str, Any]:
    at = _iso(parse_datetime(history.get("created")))
    out: dict[str, Any] = {
        "id": str(history["id"]),
        "task_id": task_id,
        "user_id": user_id(history.get("author")),
        "created_at": at,
        "updated_at": at,
        "items": [
            {
                "field": str(item.get("field") or item.get("fieldId") or ""),
                "from": item.get("fromString")
                if item.get("fromString") is not None
                else item.get("from"),
                "to": item.get("toString") if item.get("toString") is not None else item.get("to"),
            }
            for item in history.get("items") or []
        ],
    }
    if raw:
        out["raw"] = dict(history)
    return out


def employee_from_user(user: Mapping[str, Any], *, raw: bool = False) -> dict[str, Any]:
    name = user.get("displayName")
    first, _, last = str(name or "").partition(" ")
    email = user.get("emailAddress")
    out: dict[str, Any] = {
        "id": user_id(user),
        "name": name,
        "first_name": first or None,
        "last_name": last or None,
        "emails": [{"email": email, "type": "WORK"}] if email else [],
        "employment_status": "ACTIVE" if user.get("active", True) else "INACTIVE",
        "image_url": ((user.get("avatarUrls") or {}).get("48x48")),
        "timezone": user.get("timeZone"),
        "language_locale": user.get("locale"),
    }
    if raw:
        out["raw"] = dict(user)
    return out


def group_from_jira(group: Mapping[str, Any], *, raw: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": str(group.get("groupId") or group.get("name")),
        "name": group.get("name"),
        "type": "GROUP",
        "is_active": True,
    }
    if raw:
        out["raw"] = dict(group)
    return out


def file_from_attachment(
    attachment: Mapping[str, Any], task_id: str | None, *, raw: bool = False
) -> dict[str, Any]:
    at = _iso(parse_datetime(attachment.get("created")))
    out: dict[str, Any] = {
        "id": str(attachment["id"]),
        "name": attachment.get("filename"),
        "type": "FILE",
        "mime_type": attachment.get("mimeType"),
        "size": _number(attachment.get("size")),
        "user_id": user_id(attachment.get("author")),
        "parent_id": task_id,
        "download_url": attachment.get("content"),
        "created_at": at,
        "updated_at": at,
    }
    if raw:
        out["raw"] = dict(attachment)
    return out


def pick_fields(item: dict[str, Any], fields: Iterable[str] | None) -> dict[str, Any]:
    """Only the requested fields (``id`` always)."""
    if not fields:
        return item
    wanted = set(fields) | {"id"}
    return {k: v for k, v in item.items() if k in wanted}


def to_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
