"""Rich text per flavour: Markdown by default, Text, Wiki or ADF; ADF on Cloud (v3), wiki
markup on Data Center (v2). Conversions as units, then over HTTP against the sandbox."""

from __future__ import annotations

import pytest

from jirakit import BasicAuth, Jira
from jirakit.adf import validate
from jirakit.client import Markdown, Text, Wiki
from jirakit.client._richtext import rich_text
from jirakit.sandbox import Sandbox

AUTH = BasicAuth("admin@example.com", "sandbox-token")
ADF = {
    "type": "doc",
    "version": 1,
    "content": [{"type": "paragraph", "content": [{"type": "text", "text": "as is"}]}],
}


def _inline(doc: dict) -> list[dict]:
    return doc["content"][0]["content"]


def test_a_str_is_markdown_on_cloud():
    doc = rich_text("Hello **world**\n\n- a\n- b", "cloud")
    validate(doc)
    assert _inline(doc)[1] == {"type": "text", "text": "world", "marks": [{"type": "strong"}]}
    assert doc["content"][1]["type"] == "bulletList"
    assert rich_text(Markdown("Hello **world**"), "cloud") == rich_text("Hello **world**", "cloud")


def test_text_keeps_line_breaks_and_markup_characters():
    doc = rich_text(Text("a **b**\nc\n\nd"), "cloud")
    validate(doc)
    assert _inline(doc) == [
        {"type": "text", "text": "a **b**"},
        {"type": "hardBreak"},
        {"type": "text", "text": "c"},
    ]
    assert len(doc["content"]) == 2
    assert rich_text(Text("a **b**"), "datacenter") == "a \\*\\*b\\*\\*"


def test_wiki_and_adf_convert_both_ways():
    assert rich_text(Wiki("h1. Title"), "datacenter") == "h1. Title"
    heading = rich_text(Wiki("h1. Title"), "cloud")["content"][0]
    assert heading["type"] == "heading" and heading["attrs"] == {"level": 1}
    assert rich_text(ADF, "cloud") == ADF
    assert rich_text(ADF, "datacenter") == "as is"
    assert rich_text("Hello **world**", "datacenter") == "Hello *world*"


def test_none_clears_and_junk_is_refused():
    assert rich_text(None, "cloud") is None and rich_text(None, "datacenter") is None
    with pytest.raises(TypeError, match="ADF document"):
        rich_text({"type": "paragraph"}, "cloud")
    with pytest.raises(TypeError, match="rich text must be"):
        rich_text(42, "cloud")


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_descriptions_and_comments_over_http(flavour: str):
    sandbox = Sandbox(seed=1, issues=10, flavour=flavour)
    with sandbox.serve() as url, Jira(url, auth=AUTH, flavour=flavour) as jira:
        created = jira.issues.create(
            project="ENG",
            summary="rich",
            issue_type="Task",
            description="Intro with `code`\n\n1. one\n2. two",
            fields={"environment": Text("macOS 15\nSafari 18")},
        )
        comment = jira.comments.add(created.key, Markdown("Reproduced on **staging**."))
        jira.transitions.do(created.key, to="In Progress", comment=Wiki("Started by _bot_"))
        raw = jira.request("GET", f"/issue/{created.key}", params={"fields": "*all"})
        comments = jira.comments.list(created.key).all()
        stored = sandbox.store.issue(created.key)
    assert stored is not None
    if flavour == "cloud":
        description = raw["fields"]["description"]
        assert [b["type"] for b in description["content"]] == ["paragraph", "orderedList"]
        assert _inline(raw["fields"]["environment"])[1] == {"type": "hardBreak"}
        strong = _inline(comment.body)[1]
        assert strong["marks"] == [{"type": "strong"}]
        assert _inline(comments[-1].body)[1]["marks"] == [{"type": "em"}]
    else:
        assert raw["fields"]["description"] == "Intro with {{code}}\n\n# one\n# two"
        assert raw["fields"]["environment"] == "macOS 15\nSafari 18"
        assert comment.body == "Reproduced on *staging*."
        assert comments[-1].body == "Started by _bot_"
