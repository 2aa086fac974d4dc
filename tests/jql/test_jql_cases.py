"""Atlassian's own JQL parser test cases: valid ones parse (and print back to an equal
tree), invalid ones raise JqlSyntaxError."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jirakit.jql import JqlSyntaxError, parse

CASES = Path(__file__).resolve().parents[2].parent / "shared" / "jira" / "jql-cases"
CASES = CASES / "atlassian-jql-parser"


def _cases(kind: str) -> list[object]:
    if not CASES.is_dir():
        return [
            pytest.param(None, id="missing", marks=pytest.mark.skip(reason=f"{CASES} is missing"))
        ]
    params: list[object] = []
    files = sorted(CASES.glob("*.json")) + sorted(CASES.glob("jql-ast/*.json"))
    for path in files:
        name = path.relative_to(CASES).as_posix().removesuffix(".json")
        for index, text in enumerate(json.loads(path.read_text("utf-8"))[kind]):
            params.append(pytest.param(text, id=f"{name}-{index}"))
    return params


@pytest.mark.parametrize("text", _cases("valid"))
def test_valid_case_parses_and_round_trips(text: str) -> None:
    query = parse(text)
    assert parse(str(query)) == query


@pytest.mark.parametrize("text", _cases("invalid"))
def test_invalid_case_is_a_syntax_error(text: str) -> None:
    with pytest.raises(JqlSyntaxError) as caught:
        parse(text)
    assert caught.value.messages
    assert caught.value.messages[0].startswith(("Error in the JQL Query: ", "Error in JQL Query: "))


def test_every_case_file_is_read() -> None:
    if not CASES.is_dir():
        pytest.skip(f"{CASES} is missing")
    assert len(_cases("valid")) == 242
    assert len(_cases("invalid")) == 430
