"""Schema drift: what changed in Jira's field set between two syncs, and who to tell.

Each sync snapshots the fields (id, name, type, option set); the next sync compares.
New, removed, renamed and retyped fields and changed option sets become
``_drift_events`` rows and alerts; so do N consecutive failed syncs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

import httpx

from jirakit._logging import get_logger

log = get_logger("jirakit.sync.drift")

DriftKind = Literal[
    "field_added",
    "field_removed",
    "field_renamed",
    "field_type_changed",
    "field_options_changed",
    "sync_failures",
]


def field_snapshot(
    fields: Iterable[Mapping[str, Any]],
    options: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, dict[str, Any]]:
    """The comparable part of ``GET /field`` (and option values per field id)."""
    snap: dict[str, dict[str, Any]] = {}
    for f in fields:
        schema = f.get("schema") or {}
        field_id = str(f["id"])
        snap[field_id] = {
            "name": f.get("name"),
            "custom": bool(f.get("custom")),
            "type": schema.get("type"),
            "items": schema.get("items"),
            "custom_type": schema.get("custom"),
        }
        if options and field_id in options:
            snap[field_id]["options"] = sorted(options[field_id])
    return snap


@dataclass(frozen=True, slots=True)
class DriftEvent:
    kind: DriftKind
    field_id: str | None
    field_name: str | None
    before: Any = None
    after: Any = None
    column_name: str | None = None

    def row(self, run_id: str, detected_at: datetime) -> dict[str, Any]:
        ident = json.dumps([run_id, self.kind, self.field_id], sort_keys=True)
        return {
            "id": hashlib.sha1(ident.encode()).hexdigest(),
            "run_id": run_id,
            "detected_at": detected_at,
            "kind": self.kind,
            "field_id": self.field_id,
            "field_name": self.field_name,
            "column_name": self.column_name,
            "before": self.before,
            "after": self.after,
        }

    def describe(self) -> str:
        name = f"'{self.field_name}' ({self.field_id})" if self.field_id else ""
        match self.kind:
            case "field_added":
                return f"New field {name} -> column {self.column_name}"
            case "field_removed":
                return f"Field {name} was removed (column {self.column_name} kept, no new values)"
            case "field_renamed":
                return (
                    f"Field {self.field_id} renamed '{self.before}' -> '{self.after}' "
                    f"(column {self.column_name} unchanged)"
                )
            case "field_type_changed":
                return f"Field {name} changed type {self.before} -> {self.after}"
            case "field_options_changed":
                return f"Options of field {name} changed"
            case _:
                return f"{self.after} consecutive syncs failed"


def detect_drift(
    before: Mapping[str, Mapping[str, Any]] | None,
    after: Mapping[str, Mapping[str, Any]],
    columns: Mapping[str, str] | None = None,
) -> list[DriftEvent]:
    """Compare two snapshots. The first sync (``before`` is None) reports nothing."""
    if before is None:
        return []
    columns = columns or {}
    events: list[DriftEvent] = []
    for field_id in sorted(after.keys() - before.keys()):
        now = after[field_id]
        events.append(
            DriftEvent(
                "field_added", field_id, now.get("name"), None, dict(now), columns.get(field_id)
            )
        )
    for field_id in sorted(before.keys() - after.keys()):
        old = before[field_id]
        events.append(
            DriftEvent(
                "field_removed", field_id, old.get("name"), dict(old), None, columns.get(field_id)
            )
        )
    for field_id in sorted(before.keys() & after.keys()):
        old, now = before[field_id], after[field_id]
        col = columns.get(field_id)
        if old.get("name") != now.get("name"):
            events.append(
                DriftEvent(
                    "field_renamed",
                    field_id,
                    now.get("name"),
                    old.get("name"),
                    now.get("name"),
                    col,
                )
            )
        old_type = [old.get(k) for k in ("type", "items", "custom_type")]
        new_type = [now.get(k) for k in ("type", "items", "custom_type")]
        if old_type != new_type:
            events.append(
                DriftEvent("field_type_changed", field_id, now.get("name"), old_type, new_type, col)
            )
        if "options" in old and "options" in now and old["options"] != now["options"]:
            events.append(
                DriftEvent(
                    "field_options_changed",
                    field_id,
                    now.get("name"),
                    {"removed": sorted(set(old["options"]) - set(now["options"]))},
                    {"added": sorted(set(now["options"]) - set(old["options"]))},
                    col,
                )
            )
    return events


class AlertSink(Protocol):
    def send(self, title: str, events: Sequence[DriftEvent]) -> None: ...


@dataclass
class LogSink:
    """Alerts as structured log events (``jirakit.sync.drift`` logger)."""

    def send(self, title: str, events: Sequence[DriftEvent]) -> None:
        for event in events:
            log.warning("jira.drift", title=title, kind=event.kind, detail=event.describe())


@dataclass
class WebhookSink:
    """POST a Slack-compatible JSON message (``{"text": ..., "blocks": [...]}``) to a URL.

    A failing sink never fails the sync: the error is logged and the run goes on.
    """

    url: str
    transport: httpx.BaseTransport | None = None
    timeout: float = 10.0
    sent: list[dict[str, Any]] = field(default_factory=list)

    def payload(self, title: str, events: Sequence[DriftEvent]) -> dict[str, Any]:
        lines = [f"• {event.describe()}" for event in events]
        text = f"*{title}*\n" + "\n".join(lines)
        return {
            "text": text,
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
                {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:3000]}},
            ],
        }

    def send(self, title: str, events: Sequence[DriftEvent]) -> None:
        body = self.payload(title, events)
        try:
            with httpx.Client(transport=self.transport, timeout=self.timeout) as http:
                response = http.post(self.url, json=body)
                response.raise_for_status()
        except httpx.HTTPError as exc:
            log.warning("jira.drift_alert_failed", error=type(exc).__name__, detail=str(exc)[:200])
            return
        self.sent.append(body)


def failure_alert(consecutive_failures: int, threshold: int) -> DriftEvent | None:
    """An alert once failures reach the threshold (and on every later failure)."""
    if threshold <= 0 or consecutive_failures < threshold:
        return None
    return DriftEvent("sync_failures", None, None, None, consecutive_failures)
