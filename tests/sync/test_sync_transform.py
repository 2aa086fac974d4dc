"""Jira JSON -> rows: UTC timestamps, dates stay dates, stable types, real fixtures."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from jirakit.sync import transform as tf
from jirakit.sync.naming import assign_columns
from jirakit.sync.source import jql_time, ranges, unranges
from needs import shared_json


def load(*parts: str):
    return shared_json("jira", "fixtures", *parts)


def test_timestamps_become_utc_and_dates_stay_dates():
    assert tf.utc("2024-03-10T01:30:00.000-0500") == datetime(2024, 3, 10, 6, 30, tzinfo=UTC)
    assert tf.utc("2024-03-10T09:30:00.000+0100") == datetime(2024, 3, 10, 8, 30, tzinfo=UTC)
    assert tf.utc(1_700_000_000_000) == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert tf.utc("not a date") is None and tf.utc(None) is None
    assert tf.day("2024-02-29") == date(2024, 2, 29)


@pytest.mark.parametrize(
    ("value", "schema", "expected"),
    [
        (3, {"type": "number"}, 3.0),
        ("2024-05-01", {"type": "date"}, date(2024, 5, 1)),
        ("2024-05-01T10:00:00.000+0200", {"type": "datetime"}, datetime(2024, 5, 1, 8, tzinfo=UTC)),
        ({"value": "Gold", "id": "1"}, {"type": "option"}, "Gold"),
        (
            [{"value": "iOS"}, {"value": "Web"}],
            {"type": "array", "items": "option"},
            ["iOS", "Web"],
        ),
        ({"accountId": "a1", "displayName": "Ann"}, {"type": "user"}, "a1"),
        ([{"accountId": "a1"}], {"type": "array", "items": "user"}, ["a1"]),
        (["x", "y"], {"type": "array", "items": "string"}, ["x", "y"]),
        (
            {"value": "EU", "child": {"value": "Berlin"}},
            {"type": "option-with-child"},
            "EU / Berlin",
        ),
        (
            [{"id": 7, "name": "S1", "state": "active"}],
            {"type": "array", "items": "json", "custom": tf.SPRINT_TYPE},
            [7],
        ),
        ("plain", {"type": "string"}, "plain"),
        (None, {"type": "number"}, None),
    ],
)
def test_custom_values_by_type(value, schema, expected):
    assert tf.custom_value(value, schema) == expected


def test_real_cloud_issue_flattens():
    issue = load("cloud-v3-demisto", "get_issue_test", "raw_response.json")
    fields = load("cloud-v3-demisto", "get_issue_fields_test", "raw_response.json")
    info = tf.FieldInfo.from_fields(fields, assign_columns(fields))
    row = tf.issue_row(
        {**issue, "fields": {**issue["fields"], "description": None}},
        info,
        datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert row["id"] == int(issue["id"]) and row["key"] == issue["key"]
    assert row["status"] == issue["fields"]["status"]["name"]
    assert row["status_category"] == issue["fields"]["status"]["statusCategory"]["key"]
    assert row["created_at"].tzinfo == UTC
    assert row["project_key"] == issue["fields"]["project"]["key"]
    assert row["raw"]["id"] == issue["id"]


def test_history_rows_from_a_real_changelog():
    histories = [
        {
            "id": "100",
            "created": "2024-01-10T09:30:00.000+0100",
            "author": {"accountId": "u1"},
            "items": [
                {
                    "field": "status",
                    "fieldtype": "jira",
                    "fieldId": "status",
                    "from": "1",
                    "fromString": "To Do",
                    "to": "3",
                    "toString": "In Progress",
                },
                {
                    "field": "assignee",
                    "fieldtype": "jira",
                    "fieldId": "assignee",
                    "from": None,
                    "to": "u2",
                    "toString": "Bob",
                },
            ],
        },
    ]
    rows = list(tf.history_rows(5, histories))
    assert [(r["history_id"], r["item_index"], r["field_id"]) for r in rows] == [
        (100, 0, "status"),
        (100, 1, "assignee"),
    ]
    assert rows[0]["changed_at"] == datetime(2024, 1, 10, 8, 30, tzinfo=UTC)
    assert rows[1]["from_value"] is None and rows[1]["author_id"] == "u1"


def test_links_are_the_same_row_from_both_ends():
    a = {
        "id": "1",
        "fields": {
            "issuelinks": [
                {
                    "id": "9",
                    "type": {"name": "Blocks", "inward": "is blocked by", "outward": "blocks"},
                    "outwardIssue": {"id": "2", "key": "P-2"},
                }
            ]
        },
    }
    b = {
        "id": "2",
        "fields": {
            "issuelinks": [
                {
                    "id": "9",
                    "type": {"name": "Blocks", "inward": "is blocked by", "outward": "blocks"},
                    "inwardIssue": {"id": "1", "key": "P-1"},
                }
            ]
        },
    }
    assert list(tf.link_rows(a)) == list(tf.link_rows(b))


def test_story_points_from_either_field():
    fields = [
        {
            "id": "customfield_10016",
            "name": "Story point estimate",
            "custom": True,
            "schema": {"type": "number", "custom": "com.pyxis.greenhopper.jira:jsw-story-points"},
        },
        {
            "id": "customfield_10028",
            "name": "Story Points",
            "custom": True,
            "schema": {"type": "number"},
        },
    ]
    info = tf.FieldInfo.from_fields(fields, assign_columns(fields))
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert (
        tf.issue_row({"id": "1", "fields": {"customfield_10028": 5}}, info, now)["story_points"]
        == 5.0
    )
    assert (
        tf.issue_row({"id": "1", "fields": {"customfield_10016": 2}}, info, now)["story_points"]
        == 2.0
    )


def test_id_ranges_round_trip():
    ids = {1, 2, 3, 7, 9, 10, 100}
    assert ranges(ids) == [[1, 3], [7, 7], [9, 10], [100, 100]]
    assert unranges(ranges(ids)) == ids


def test_jql_cursor_is_written_in_the_users_zone_across_dst():
    from zoneinfo import ZoneInfo

    ny = ZoneInfo("America/New_York")
    # 2024-03-10 06:59 UTC = 01:59 EST; 07:00 UTC = 03:00 EDT (clocks jump).
    assert jql_time(datetime(2024, 3, 10, 6, 59, 59, tzinfo=UTC), ny) == "2024-03-10 01:59"
    assert jql_time(datetime(2024, 3, 10, 7, 0, tzinfo=UTC), ny) == "2024-03-10 03:00"
    berlin = ZoneInfo("Europe/Berlin")
    # 2024-10-27 02:30 happens twice in Berlin (00:30 and 01:30 UTC). The literal must
    # never be read as a moment after the cursor, so 00:30 UTC is written an hour earlier.
    assert jql_time(datetime(2024, 10, 27, 0, 30, tzinfo=UTC), berlin) == "2024-10-27 01:30"
    assert jql_time(datetime(2024, 10, 27, 1, 30, tzinfo=UTC), berlin) == "2024-10-27 02:30"
