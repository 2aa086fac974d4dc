"""Evaluator: text search (~ and !~)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from jirakit.jql._text import adf_text, analyze, stem
from jirakit.jql.context import EvalContext
from jirakit.jql.errors import JqlValidationError
from jirakit.jql.evaluator import compile
from jirakit.jql.parser import parse

CTX = EvalContext(
    now=datetime(2024, 1, 1, tzinfo=UTC),
    fields=[
        {
            "id": "customfield_10050",
            "name": "Root Cause",
            "custom": True,
            "schema": {
                "type": "string",
                "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textarea",
            },
        }
    ],
)


def adf(*paragraphs: str) -> dict[str, Any]:
    return {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": text}]}
            for text in paragraphs
        ],
    }


def issue(key: str, summary: str, **fields: Any) -> dict[str, Any]:
    return {"id": key.split("-")[1], "key": key, "fields": {"summary": summary, **fields}}


ISSUES = [
    issue("T-1", "The login page crashes on Safari",
          description=adf("Steps: open the ", "login form and submit."),
          comment={"comments": [{"body": adf("Reproduced by QA on staging")}]}),
    issue("T-2", "Page login is slow", description="Plain-text description mentions caching",
          environment="Firefox 120"),
    issue("T-3", "Testing parsers for JSON", description=None,
          customfield_10050="A race condition in the scheduler"),
    issue("T-4", "Tested parsing of stories", description=adf()),
]  # fmt: skip


def keys(jql: str) -> list[str]:
    predicate = compile(parse(jql), CTX)
    return [i["key"] for i in ISSUES if predicate(i)]


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ("summary ~ login", ["T-1", "T-2"]),
        ("summary ~ LOGIN", ["T-1", "T-2"]),
        ('summary ~ "login crash"', ["T-1"]),  # all terms, any order
        ('summary ~ "crash login"', ["T-1"]),
        ('summary ~ "\\"login page\\""', ["T-1"]),  # phrase
        ('summary ~ "\\"page login\\""', ["T-2"]),
        ('summary ~ "login -slow"', ["T-1"]),
        ('summary ~ "login NOT slow"', ["T-1"]),
        ('summary ~ "safari OR json"', ["T-1", "T-3"]),
        ("summary ~ test", ["T-3", "T-4"]),  # testing / tested
        ("summary ~ parse", ["T-4"]),  # parsing; "parsers" stems to "parser", not "pars"
        ("summary ~ story", ["T-4"]),  # stories
        ('summary ~ "pars*"', ["T-3", "T-4"]),
        ('summary ~ "saf?ri"', ["T-1"]),
        ('summary ~ "sa*i"', ["T-1"]),
        ("summary ~ the", []),  # stop words alone match nothing
        ("summary !~ login", ["T-3", "T-4"]),
        ("description ~ form", ["T-1"]),  # ADF body
        ("description ~ caching", ["T-2"]),  # plain string body
        ("description ~ cache", ["T-2"]),
        # !~ does not match issues whose field is empty (T-3 none, T-4 empty ADF)
        ("description !~ form", ["T-2"]),
        ("description is empty", ["T-3", "T-4"]),
        ("description is not empty", ["T-1", "T-2"]),
        ("comment ~ reproduced", ["T-1"]),
        ("comment ~ qa", ["T-1"]),
        ("environment ~ firefox", ["T-2"]),
        ('"Root Cause" ~ race', ["T-3"]),
        ("cf[10050] ~ scheduler", ["T-3"]),
        # text: summary, description, environment, comments and text custom fields
        ("text ~ staging", ["T-1"]),
        ("text ~ firefox", ["T-2"]),
        ("text ~ scheduler", ["T-3"]),
        ("text ~ login", ["T-1", "T-2"]),
    ],
)
def test_text_search(jql: str, expected: list[str]) -> None:
    assert keys(jql) == expected


def test_leading_wildcard_is_rejected() -> None:
    with pytest.raises(JqlValidationError) as caught:
        compile(parse('summary ~ "*ogin"'), CTX)
    assert "not allowed to start with a wildcard" in str(caught.value)


@pytest.mark.parametrize(
    ("left", "right"),
    [("tests", "test"), ("testing", "tested"), ("stories", "story"), ("boxes", "box"),
     ("running", "run"), ("released", "releases"), ("crashes", "crash")],
)  # fmt: skip
def test_stemming_is_symmetric(left: str, right: str) -> None:
    assert stem(left) == stem(right)


def test_analyze_drops_stop_words_and_folds_case() -> None:
    assert analyze("The Quick brown FOXES and a dog's bone") == [
        "quick",
        "brown",
        "fox",
        "dog",
        "bon",
    ]


def test_adf_text_walks_nested_nodes() -> None:
    doc = {
        "type": "doc",
        "content": [
            {"type": "bulletList", "content": [
                {"type": "listItem", "content": [
                    {"type": "paragraph", "content": [
                        {"type": "text", "text": "alpha"},
                        {"type": "mention", "attrs": {"id": "x", "text": "@Bob"}},
                    ]}]}]},
            {"type": "codeBlock", "content": [{"type": "text", "text": "beta()"}]},
        ],
    }  # fmt: skip
    text = adf_text(doc)
    assert "alpha" in text
    assert "@Bob" in text
    assert "beta()" in text
    assert adf_text(None) == ""
    assert adf_text("plain") == "plain"
