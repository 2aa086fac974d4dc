"""Drift between field snapshots, and alert sinks."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx

from jirakit.sync.drift import (
    LogSink,
    WebhookSink,
    detect_drift,
    failure_alert,
    field_snapshot,
)

BEFORE = field_snapshot(
    [
        {"id": "summary", "name": "Summary", "schema": {"type": "string", "system": "summary"}},
        {
            "id": "customfield_1",
            "name": "Team",
            "custom": True,
            "schema": {
                "type": "option",
                "custom": "com.atlassian.jira.plugin.system.customfieldtypes:select",
            },
        },
        {"id": "customfield_2", "name": "Points", "custom": True, "schema": {"type": "number"}},
        {"id": "customfield_3", "name": "Gone soon", "custom": True, "schema": {"type": "string"}},
    ],
    options={"customfield_1": ["Red", "Blue"]},
)


def test_first_sync_reports_nothing():
    assert detect_drift(None, BEFORE) == []
    assert detect_drift(BEFORE, BEFORE) == []


def test_every_kind_of_change_is_reported():
    after = field_snapshot(
        [
            {"id": "summary", "name": "Summary", "schema": {"type": "string", "system": "summary"}},
            {
                "id": "customfield_1",
                "name": "Squad",
                "custom": True,
                "schema": {
                    "type": "option",
                    "custom": "com.atlassian.jira.plugin.system.customfieldtypes:select",
                },
            },
            {"id": "customfield_2", "name": "Points", "custom": True, "schema": {"type": "string"}},
            {"id": "customfield_4", "name": "New one", "custom": True, "schema": {"type": "date"}},
        ],
        options={"customfield_1": ["Red", "Green"]},
    )
    columns = {
        "customfield_1": "team",
        "customfield_2": "points",
        "customfield_3": "gone_soon",
        "customfield_4": "new_one",
    }
    events = detect_drift(BEFORE, after, columns)
    kinds = [(e.kind, e.field_id) for e in events]
    assert kinds == [
        ("field_added", "customfield_4"),
        ("field_removed", "customfield_3"),
        ("field_renamed", "customfield_1"),
        ("field_options_changed", "customfield_1"),
        ("field_type_changed", "customfield_2"),
    ]
    renamed = events[2]
    assert (
        renamed.describe()
        == "Field customfield_1 renamed 'Team' -> 'Squad' (column team unchanged)"
    )
    assert events[3].before == {"removed": ["Blue"]} and events[3].after == {"added": ["Green"]}
    row = events[0].row("run-1", datetime(2026, 1, 1, tzinfo=UTC))
    assert row["kind"] == "field_added" and row["column_name"] == "new_one" and len(row["id"]) == 40


def test_webhook_sink_posts_slack_json():
    received: list[dict] = []

    def hook(request: httpx.Request) -> httpx.Response:
        received.append(json.loads(request.content))
        return httpx.Response(200, text="ok")

    events = detect_drift(
        BEFORE,
        {**BEFORE, "customfield_9": {"name": "X", "custom": True, "type": "string"}},
        {"customfield_9": "x"},
    )
    sink = WebhookSink("https://hooks.example/T1", transport=httpx.MockTransport(hook))
    sink.send("Jira schema drift", events)
    assert received[0]["text"].startswith(
        "*Jira schema drift*\n• New field 'X' (customfield_9) -> column x"
    )
    assert received[0]["blocks"][0]["text"]["text"] == "Jira schema drift"


def test_failing_webhook_never_fails_the_sync(caplog):
    sink = WebhookSink(
        "https://hooks.example/T1", transport=httpx.MockTransport(lambda r: httpx.Response(500))
    )
    sink.send("t", [failure_alert(3, 3)])  # does not raise
    assert sink.sent == []
    LogSink().send("t", [failure_alert(3, 3)])


def test_failure_alert_threshold():
    assert failure_alert(2, 3) is None
    alert = failure_alert(3, 3)
    assert alert is not None and alert.describe() == "3 consecutive syncs failed"
    assert failure_alert(5, 0) is None
