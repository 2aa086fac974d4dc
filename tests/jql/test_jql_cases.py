"""Atlassian's own JQL parser test cases: valid ones parse (and print back to an equal
tree), invalid ones raise JqlSyntaxError."""

from __future__ import annotations

import json

import pytest

from jirakit.jql import JqlSyntaxError, parse
from needs import cases, require_shared, shared_path

CASES = shared_path("jira", "jql-cases", "atlassian-jql-parser")


def _read(kind: str) -> list[object]:
    params: list[object] = []
    files = sorted(CASES.glob("*.json")) + sorted(CASES.glob("jql-ast/*.json"))
    for path in files:
        name = path.relative_to(CASES).as_posix().removesuffix(".json")
        for index, text in enumerate(json.loads(path.read_text("utf-8"))[kind]):
            params.append(pytest.param(text, id=f"{name}-{index}"))
    return params


VALID = _read("valid")
INVALID = _read("invalid")


@pytest.mark.parametrize("text", cases(VALID, what="valid JQL cases", source=CASES))
def test_valid_case_parses_and_round_trips(text: str) -> None:
    query = parse(text)
    assert parse(str(query)) == query


@pytest.mark.parametrize("text", cases(INVALID, what="invalid JQL cases", source=CASES))
def test_invalid_case_is_a_syntax_error(text: str) -> None:
    with pytest.raises(JqlSyntaxError) as caught:
        parse(text)
    assert caught.value.messages
    assert caught.value.messages[0].startswith(("Error in the JQL Query: ", "Error in JQL Query: "))


def test_every_case_file_is_read() -> None:
    # Atlassian's files as vendored: a glob that finds fewer means cases went untested.
    require_shared("jira", "jql-cases", "atlassian-jql-parser")
    assert (len(VALID), len(INVALID)) == (242, 430), f"{CASES}"
