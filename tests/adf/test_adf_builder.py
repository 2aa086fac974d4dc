"""The builder: exact shapes, all valid ADF."""

from __future__ import annotations

import datetime as dt

import pytest

import jirakit.adf as adf
from jirakit.adf import validate


def test_paragraph_with_marks() -> None:
    doc = adf.doc(
        adf.paragraph(
            "hi ", adf.text("there", strong=True, em=True), adf.link("x", "https://e.com")
        )
    )
    assert doc == {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "hi "},
                    {
                        "type": "text",
                        "text": "there",
                        "marks": [{"type": "strong"}, {"type": "em"}],
                    },
                    {
                        "type": "text",
                        "text": "x",
                        "marks": [{"type": "link", "attrs": {"href": "https://e.com"}}],
                    },
                ],
            }
        ],
    }
    validate(doc)


def test_lists_wrap_strings() -> None:
    assert adf.bullet_list("a") == {
        "type": "bulletList",
        "content": [
            {
                "type": "listItem",
                "content": [{"type": "paragraph", "content": [{"type": "text", "text": "a"}]}],
            }
        ],
    }
    assert adf.ordered_list("a", order=5)["attrs"] == {"order": 5}


def test_tasks() -> None:
    item = adf.task_item("do it", done=True, local_id="t1")
    assert item == {
        "type": "taskItem",
        "attrs": {"localId": "t1", "state": "DONE"},
        "content": [{"type": "text", "text": "do it"}],
    }
    task_list = adf.task_list(item, "another")
    assert task_list["content"][1]["attrs"]["state"] == "TODO"
    assert task_list["attrs"]["localId"] != task_list["content"][1]["attrs"]["localId"]
    validate(adf.doc(task_list))


def test_inline_nodes() -> None:
    assert adf.mention("557058:abc", "Ann") == {
        "type": "mention",
        "attrs": {"id": "557058:abc", "text": "@Ann"},
    }
    assert (
        adf.emoji(":smile:")
        == adf.emoji("smile")
        == {"type": "emoji", "attrs": {"shortName": ":smile:"}}
    )
    assert adf.status("DONE", "green")["attrs"]["color"] == "green"
    assert adf.date(dt.date(2024, 5, 17)) == {
        "type": "date",
        "attrs": {"timestamp": "1715904000000"},
    }
    assert adf.date(1715904000000) == adf.date(dt.datetime(2024, 5, 17, tzinfo=dt.UTC))
    assert adf.inline_card("https://e.com") == {
        "type": "inlineCard",
        "attrs": {"url": "https://e.com"},
    }


def test_every_builder_output_validates() -> None:
    doc = adf.doc(
        adf.heading(6, "h"),
        adf.paragraph(
            adf.emoji("smile"),
            adf.status("NEW"),
            adf.date(0),
            adf.inline_card("https://e.com"),
            adf.hard_break(),
        ),
        adf.blockquote("q"),
        adf.rule(),
        adf.panel("p", panel_type="success"),
        adf.expand(adf.nested_expand("n", title="inner"), title="outer"),
        adf.table(
            adf.table_row(adf.table_header("h")),
            adf.table_row(adf.table_cell(adf.bullet_list("x"))),
        ),
        adf.media_single(
            adf.media("id", collection="c", alt="a", width=100, height=50),
            layout="wide",
            caption="c",
        ),
        adf.media_group(adf.media("a"), adf.media("b")),
        adf.code_block(""),
        adf.code_block("x = 1", "python"),
    )
    validate(doc)


def test_builder_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="heading level"):
        adf.heading(7, "x")
    with pytest.raises(ValueError, match="empty"):
        adf.text("")
    with pytest.raises(ValueError, match="status color"):
        adf.status("x", "pink")
    with pytest.raises(ValueError, match="panel_type"):
        adf.panel("x", panel_type="red")
