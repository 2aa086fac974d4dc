"""Column names from hostile Jira field names: valid, unique, stable, overridable."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jirakit.errors import ConfigurationError
from jirakit.sync.naming import assign_columns, snake

VALID = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
SYSTEM = {"id", "key", "status", "summary", "story_points", "raw"}


def cf(n: int, name: str) -> dict:
    return {"id": f"customfield_{n}", "name": name, "custom": True}


@pytest.mark.parametrize(
    ("name", "column"),
    [
        ("Story Points", "story_points"),
        ("Story point estimate", "story_point_estimate"),
        ("🚀 Launch-date (UTC)", "launch_date_utc"),
        ("1st Responder", "f_1st_responder"),
        ("Épique — Lien", "epique_lien"),
        ("customerTier", "customer_tier"),
        ("  --  ", ""),
        ("a" * 80, "a" * 55),
    ],
)
def test_snake(name, column):
    assert snake(name) == column


def test_hostile_names_get_valid_unique_columns():
    fields = [
        cf(10001, "Team"),
        cf(10002, "Team"),
        cf(10003, "team"),
        cf(10004, "🔥🔥"),
        cf(10005, "Story Points"),
        cf(10006, "select"),
        cf(10007, "2024 Budget ($)"),
        {"id": "summary", "name": "Summary", "custom": False},
    ]
    columns = assign_columns(fields, reserved=SYSTEM).columns
    assert columns == {
        "customfield_10001": "team",
        "customfield_10002": "team_10002",
        "customfield_10003": "team_10003",
        "customfield_10004": "field_10004",
        "customfield_10005": "story_points_10005",
        "customfield_10006": "select_10006",
        "customfield_10007": "f_2024_budget",
    }


def test_renames_keep_their_column_and_new_fields_do_not_steal_it():
    first = assign_columns([cf(1, "Team"), cf(2, "Squad")]).columns
    renamed = assign_columns(
        [cf(1, "Squad name"), cf(2, "Squad"), cf(3, "Team")], previous=first
    ).columns
    assert renamed["customfield_1"] == "team"
    assert renamed["customfield_2"] == "squad"
    assert renamed["customfield_3"] == "team_3"


def test_overrides_by_id_or_name_win():
    fields = [cf(1, "Team"), cf(2, "Story Points")]
    columns = assign_columns(
        fields, overrides={"customfield_1": "squad", "Story Points": "points"}
    ).columns
    assert columns == {"customfield_1": "squad", "customfield_2": "points"}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"customfield_1": "Bad Name"}, "not a valid column name"),
        ({"Nope": "x"}, "unknown field"),
        ({"Team": "t"}, "matches several fields"),
        ({"customfield_1": "id"}, "collides"),
    ],
)
def test_bad_overrides_are_clear_errors(override, message):
    fields = [cf(1, "Team"), cf(2, "Team")]
    with pytest.raises(ConfigurationError, match=message):
        assign_columns(fields, overrides=override, reserved=SYSTEM)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(max_size=40), min_size=1, max_size=25))
def test_any_names_give_valid_unique_deterministic_columns(names):
    fields = [cf(10000 + i, name) for i, name in enumerate(names)]
    first = assign_columns(fields, reserved=SYSTEM).columns
    assert len(set(first.values())) == len(fields)
    assert all(VALID.match(c) and c not in SYSTEM for c in first.values())
    assert assign_columns(list(reversed(fields)), reserved=SYSTEM).columns == first
    again = assign_columns(fields, previous=first, reserved=SYSTEM).columns
    assert again == first
