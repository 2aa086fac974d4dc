"""Every ADF body in the shared real-Jira fixtures survives Markdown and wiki round trips."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from jirakit.adf import from_markdown, from_wiki, is_valid, to_markdown, to_text, to_wiki
from needs import cases, require_shared, shared_path

FIXTURES = shared_path("jira", "fixtures")


def _docs(value: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(value, dict):
        if value.get("type") == "doc" and "content" in value:
            yield where, value
        for key, child in value.items():
            yield from _docs(child, f"{where}.{key}")
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _docs(child, f"{where}[{index}]")


def _all_docs() -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(FIXTURES.rglob("*.json")):
        raw = path.read_text(encoding="utf-8")
        if not raw.strip():
            continue  # empty bodies on purpose (204 responses)
        found.extend(_docs(json.loads(raw), str(path.relative_to(FIXTURES))))
    return found


DOCS = _all_docs()
PARAMS = cases(
    [pytest.param(where, doc, id=where) for where, doc in DOCS],
    what="ADF documents",
    source=FIXTURES,
    width=2,
)


def _norm(value: str) -> str:
    return " ".join(value.split())


def test_fixtures_hold_adf_bodies() -> None:
    require_shared("jira", "fixtures")
    assert len(DOCS) >= 50
    assert any(to_text(doc) for _, doc in DOCS)


@pytest.mark.parametrize(("where", "doc"), PARAMS)
def test_markdown_round_trip_keeps_text(where: str, doc: dict[str, Any]) -> None:
    back = from_markdown(to_markdown(doc))
    assert is_valid(back)
    assert _norm(to_text(back)) == _norm(to_text(doc))


@pytest.mark.parametrize(("where", "doc"), PARAMS)
def test_wiki_round_trip_keeps_text(where: str, doc: dict[str, Any]) -> None:
    back = from_wiki(to_wiki(doc))
    assert is_valid(back)
    assert _norm(to_text(back)) == _norm(to_text(doc))


JIRA_LIKE = {
    "type": "doc",
    "version": 1,
    "content": [
        {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Steps"}]},
        {
            "type": "orderedList",
            "attrs": {"order": 1},
            "content": [
                {
                    "type": "listItem",
                    "content": [
                        {
                            "type": "paragraph",
                            "content": [
                                {"type": "text", "text": "Open "},
                                {
                                    "type": "text",
                                    "text": "settings",
                                    "marks": [{"type": "code"}, {"type": "link", "attrs": {"href": "https://e.com/s"}}],
                                },
                                {"type": "text", "text": " as "},
                                {
                                    "type": "mention",
                                    "attrs": {"id": "5b10a2844c20165700ede21g", "text": "@Ann Lee", "accessLevel": ""},
                                },
                            ],
                        }
                    ],
                }
            ],
        },
        {
            "type": "paragraph",
            "content": [
                {"type": "emoji", "attrs": {"shortName": ":rocket:", "id": "1f680", "text": "🚀"}},
                {"type": "text", "text": " shipped ", "marks": [{"type": "textColor", "attrs": {"color": "#ff5630"}}]},
                {"type": "status", "attrs": {"text": "IN REVIEW", "color": "purple", "localId": "s1"}},
                {"type": "hardBreak"},
                {"type": "inlineCard", "attrs": {"url": "https://jira.example.com/browse/PROJ-1"}},
            ],
        },
        {
            "type": "table",
            "attrs": {"isNumberColumnEnabled": False, "layout": "default"},
            "content": [
                {
                    "type": "tableRow",
                    "content": [
                        {"type": "tableCell", "attrs": {}, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "no header"}]}]},
                        {
                            "type": "tableCell",
                            "attrs": {},
                            "content": [
                                {"type": "bulletList", "content": [{"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "list in cell"}]}]}]}
                            ],
                        },
                    ],
                }
            ],
        },
        {
            "type": "mediaSingle",
            "attrs": {"layout": "center"},
            "content": [{"type": "media", "attrs": {"type": "file", "id": "9a1b", "collection": "jira-1-attachments"}}],
        },
        {"type": "panel", "attrs": {"panelType": "note"}, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Heads up"}]}]},
        {"type": "expand", "attrs": {"title": "Logs"}, "content": [{"type": "codeBlock", "attrs": {"language": "text"}, "content": [{"type": "text", "text": "line 1\nline 2"}]}]},
    ],
}  # fmt: skip


def test_jira_like_document_round_trips_through_markdown() -> None:
    assert is_valid(JIRA_LIKE)
    md = to_markdown(JIRA_LIKE)
    assert "@[Ann Lee](accountid:5b10a2844c20165700ede21g)" in md
    assert "[`settings`](https://e.com/s)" in md
    assert (
        ":rocket: shipped {status:IN REVIEW|color=purple}\\\n<https://jira.example.com/browse/PROJ-1>"
        in md
    )
    assert "| no header | - list in cell |" in md
    assert "![](media:9a1b?collection=jira-1-attachments&type=file)" in md
    back = from_markdown(md)
    assert is_valid(back)
    assert _norm(to_text(back)) == _norm(to_text(JIRA_LIKE))
    assert to_markdown(back) == md
