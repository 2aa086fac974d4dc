"""Plain text <-> ADF, and the text extraction JQL search uses."""

from __future__ import annotations

import jirakit.adf as adf
from jirakit.adf import from_text, is_valid, to_text


def test_from_text_paragraphs_and_breaks() -> None:
    doc = from_text("first line\nsecond line\n\n\nnext paragraph\r\n")
    assert doc == {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "first line"},
                    {"type": "hardBreak"},
                    {"type": "text", "text": "second line"},
                ],
            },
            {"type": "paragraph", "content": [{"type": "text", "text": "next paragraph"}]},
        ],
    }
    assert is_valid(doc)
    assert from_text("") == {"type": "doc", "version": 1, "content": []}
    assert is_valid(from_text("  \n\n "))


def test_text_round_trip() -> None:
    value = "a\nb\n\nc"
    assert to_text(from_text(value)) == value


def test_to_text_joins_blocks_sensibly() -> None:
    doc = adf.doc(
        adf.heading(1, "Title"),
        adf.paragraph(
            "Hi ", adf.mention("abc", "Ann"), " ", adf.emoji("smile"), adf.hard_break(), "bye"
        ),
        adf.bullet_list("one", adf.list_item("two", adf.ordered_list("x", "y", order=3))),
        adf.task_list(adf.task_item("open"), adf.task_item("closed", done=True)),
        adf.table(
            adf.table_row(adf.table_header("h1"), adf.table_header("h2")), adf.table_row("a", "b")
        ),
        adf.code_block("print(1)\nprint(2)", "python"),
        adf.panel("careful"),
        adf.expand("hidden", title="More"),
        adf.paragraph(
            adf.status("DONE", "green"), " ", adf.date(0), " ", adf.inline_card("https://e.com")
        ),
        adf.rule(),
        adf.media_single(adf.media("m"), caption="A caption"),
    )
    assert to_text(doc) == (
        "Title\n\n"
        "Hi @Ann :smile:\nbye\n\n"
        "- one\n- two\n  3. x\n  4. y\n\n"
        "- [ ] open\n- [x] closed\n\n"
        "h1 | h2\na | b\n\n"
        "print(1)\nprint(2)\n\n"
        "careful\n\n"
        "More\nhidden\n\n"
        "DONE 1970-01-01 https://e.com\n\n"
        "A caption"
    )


def test_to_text_never_raises() -> None:
    assert to_text(None) == ""
    assert to_text({"type": "doc"}) == ""
    odd = {
        "type": "doc",
        "content": [
            {"type": "unknownBlock", "content": [{"type": "text", "text": "kept"}]},
            {"type": "blockCard", "attrs": {"url": "https://card"}},
            {
                "type": "paragraph",
                "content": [{"type": "mention", "attrs": {"id": "x"}}, "junk", 5],
            },
            {
                "type": "paragraph",
                "content": [{"type": "date", "attrs": {"timestamp": "not a number"}}],
            },
            {"type": "bulletList", "content": "not a list"},
        ],
    }
    assert to_text(odd) == "kept\n\nhttps://card\n\n@x\n\nnot a number"


def test_mention_text_always_has_one_at() -> None:
    assert to_text(adf.paragraph(adf.mention("id1", "@Ann"))) == "@Ann"
    assert to_text({"type": "mention", "attrs": {"id": "id1", "text": "Ann"}}) == "@Ann"
