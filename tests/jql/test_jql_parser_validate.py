"""Validation of parsed queries against a Schema, with Jira's wordings."""

from __future__ import annotations

from typing import Any

import pytest

from jirakit.jql import (
    COMPARABLE,
    EQUALITY,
    HISTORY,
    TEXT,
    FieldSpec,
    JqlError,
    JqlSyntaxError,
    JqlValidationError,
    Schema,
    parse,
    problems,
    validate,
)

SCHEMA = Schema(
    fields={
        "project": FieldSpec(operators=EQUALITY, values={"ABC", "OPS"}),
        "status": FieldSpec(operators=EQUALITY | HISTORY, values={"To Do", "Done"}),
        "summary": FieldSpec(operators=TEXT),
        "updated": FieldSpec(operators=COMPARABLE),
        "Story Points": FieldSpec(operators=COMPARABLE),
        "cf[10042]": FieldSpec(operators=COMPARABLE),
        "issue.property": FieldSpec(),
        "description": FieldSpec(operators=TEXT, sortable=False),
        "key": FieldSpec(),
    },
    functions={"currentUser", "startOfDay", "membersOf"},
    require_bounded=True,
)


@pytest.mark.parametrize(
    "text",
    [
        "project = ABC ORDER BY updated DESC",
        'project in (abc, "OPS") AND status was "to do" BY currentUser()',
        'summary ~ "anything" AND "story points" > 3 AND cf[10042] <= 1',
        "updated > startOfDay(-1) AND issue.property[x].y = z",
        "status changed from Anything to Whatever",
        "project = ABC AND summary ~ x ORDER BY key",
    ],
)
def test_valid_queries(text: str) -> None:
    assert validate(text, SCHEMA) == parse(text)
    assert problems(parse(text), SCHEMA) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "universe = 42",
            ["Field 'universe' does not exist or you do not have permission to view it."],
        ),
        ("project = XYZ", ["The value 'XYZ' does not exist for the field 'project'."]),
        (
            "project in (ABC, XYZ, QQQ)",
            [
                "The value 'XYZ' does not exist for the field 'project'.",
                "The value 'QQQ' does not exist for the field 'project'.",
            ],
        ),
        ("project ~ ABC", ["The operator '~' is not supported by the 'project' field."]),
        (
            "summary is not empty AND summary = x",
            [
                "The operator '=' is not supported by the 'summary' field.",
            ],
        ),
        (
            "assignee = foo()",
            [
                "Field 'assignee' does not exist or you do not have permission to view it.",
                "Unable to find JQL function 'foo()'.",
            ],
        ),
        ("status was Done after bar()", ["Unable to find JQL function 'bar()'."]),
        (
            "ORDER BY key",
            [
                "Unbounded JQL queries are not allowed here. "
                "Please add a search restriction to your query."
            ],
        ),
        (
            "",
            [
                "Unbounded JQL queries are not allowed here. "
                "Please add a search restriction to your query."
            ],
        ),
        (
            "project = ABC ORDER BY description, rank",
            [
                "Field 'description' does not support sorting.",
                "Field 'rank' does not exist or you do not have permission to view it.",
            ],
        ),
        (
            "universe = 1 OR universe = 2 AND NOT project = XYZ",
            [
                "Field 'universe' does not exist or you do not have permission to view it.",
                "The value 'XYZ' does not exist for the field 'project'.",
            ],
        ),
    ],
)
def test_problems_are_collected_in_jira_wording(text: str, expected: list[str]) -> None:
    assert problems(text, SCHEMA) == expected
    with pytest.raises(JqlValidationError) as caught:
        validate(text, SCHEMA)
    assert caught.value.messages == expected
    assert str(caught.value) == " ".join(expected)
    assert caught.value.line is None
    assert isinstance(caught.value, JqlError)


def test_defaults_accept_everything_known() -> None:
    schema = Schema(fields={"a": FieldSpec()})
    assert validate("", schema) == parse("")
    assert validate("a = anyFunction(1) ORDER BY a", schema) == parse(
        "a = anyFunction(1) ORDER BY a"
    )


def test_syntax_errors_pass_through() -> None:
    with pytest.raises(JqlSyntaxError):
        validate("project =", SCHEMA)


FIELDS: list[dict[str, Any]] = [
    {
        "id": "summary",
        "name": "Summary",
        "orderable": True,
        "searchable": True,
        "clauseNames": ["summary"],
        "schema": {"type": "string", "system": "summary"},
    },
    {
        "id": "project",
        "name": "Project",
        "orderable": False,
        "searchable": True,
        "clauseNames": ["project"],
        "schema": {"type": "project", "system": "project"},
    },
    {
        "id": "status",
        "name": "Status",
        "clauseNames": ["status"],
        "schema": {"type": "status", "system": "status"},
    },
    {
        "id": "customfield_10016",
        "name": "Story Points",
        "clauseNames": ["cf[10016]", "Story Points"],
        "schema": {
            "type": "number",
            "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float",
            "customId": 10016,
        },
    },
    {
        "id": "customfield_10020",
        "name": "Notes",
        "clauseNames": ["cf[10020]", "Notes"],
        "schema": {
            "type": "string",
            "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textarea",
        },
    },
    {"id": "thumbnail", "name": "Images", "searchable": False, "clauseNames": []},
    {"id": "issuekey", "name": "Key", "clauseNames": ["id", "issue", "issuekey", "key"]},
]


def test_schema_from_jira_field_metadata() -> None:
    schema = Schema.from_jira_fields(
        FIELDS, values={"project": {"ABC"}}, functions={"currentUser"}, require_bounded=True
    )
    assert problems("project = ABC AND summary ~ x AND cf[10016] > 3 ORDER BY key", schema) == []
    assert problems('"story points" >= 1 AND Notes ~ y AND issuekey = ABC-1', schema) == []
    assert problems("status was Done BY currentUser() ORDER BY Summary", schema) == []
    assert problems("summary = x", schema) == [
        "The operator '=' is not supported by the 'summary' field."
    ]
    assert problems("project = XYZ ORDER BY project", schema) == [
        "The value 'XYZ' does not exist for the field 'project'.",
        "Field 'project' does not support sorting.",
    ]
    assert problems("status > Done AND Images = x", schema) == [
        "The operator '>' is not supported by the 'status' field.",
        "Field 'Images' does not exist or you do not have permission to view it.",
    ]
    assert problems("Notes = x", schema) == [
        "The operator '=' is not supported by the 'Notes' field."
    ]
