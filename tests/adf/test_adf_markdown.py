"""Markdown <-> ADF: each construct's exact ADF, schema validity and stable round trips."""

from __future__ import annotations

from typing import Any

import pytest
from adf_support import para, t
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jirakit.adf import from_markdown, is_valid, to_markdown, to_text, validate


def strip_ids(node: Any) -> Any:
    """The node without generated ``localId``s, for comparing structures."""
    if isinstance(node, dict):
        out = {k: strip_ids(v) for k, v in node.items() if k != "localId"}
        if out.get("attrs") == {}:
            del out["attrs"]
        return out
    if isinstance(node, list):
        return [strip_ids(item) for item in node]
    return node


def blocks(markdown: str) -> list[dict[str, Any]]:
    adf = from_markdown(markdown)
    validate(adf)
    content: list[dict[str, Any]] = strip_ids(adf)["content"]
    return content


def assert_stable(markdown: str) -> str:
    """Markdown -> ADF -> Markdown is a fixed point after the first normalisation."""
    first = from_markdown(markdown)
    validate(first)
    once = to_markdown(first)
    second = from_markdown(once)
    validate(second)
    assert to_markdown(second) == once
    assert strip_ids(second) == strip_ids(first)
    return once


def test_doc_envelope() -> None:
    assert from_markdown("hi") == {
        "type": "doc",
        "version": 1,
        "content": [para(t("hi"))],
    }
    assert from_markdown("") == {"type": "doc", "version": 1, "content": []}


def test_headings_all_levels() -> None:
    for level in range(1, 7):
        assert blocks("#" * level + " Title *x*") == [
            {"type": "heading", "attrs": {"level": level}, "content": [t("Title "), t("x", "em")]}
        ]


def test_marks() -> None:
    md = "**b** *e* ~~s~~ `c` <u>u</u> <sub>1</sub><sup>2</sup>"
    assert blocks(md) == [
        para(
            t("b", "strong"),
            t(" "),
            t("e", "em"),
            t(" "),
            t("s", "strike"),
            t(" "),
            t("c", "code"),
            t(" "),
            t("u", "underline"),
            t(" "),
            t("1", {"type": "subsup", "attrs": {"type": "sub"}}),
            t("2", {"type": "subsup", "attrs": {"type": "sup"}}),
        )
    ]
    assert assert_stable(md) == md


def test_nested_marks_are_canonical() -> None:
    assert blocks("***both***") == [para(t("both", "strong", "em"))]
    assert blocks("[**bold link**](https://x.io)") == [
        para(t("bold link", {"type": "link", "attrs": {"href": "https://x.io"}}, "strong"))
    ]


def test_links_and_autolinks() -> None:
    link = {"type": "link", "attrs": {"href": "https://e.com/a?b=1&c=2", "title": "T"}}
    assert blocks('[text](https://e.com/a?b=1&c=2 "T")') == [para(t("text", link))]
    assert blocks("<https://e.com>") == [
        para(t("https://e.com", {"type": "link", "attrs": {"href": "https://e.com"}}))
    ]
    assert assert_stable("<https://e.com>") == "<https://e.com>"
    assert assert_stable("[a b](<https://e.com/a b>)") == "[a b](<https://e.com/a b>)"


def test_hard_and_soft_breaks() -> None:
    assert blocks("one\\\ntwo\nthree") == [para(t("one"), {"type": "hardBreak"}, t("two three"))]
    assert assert_stable("one\\\ntwo") == "one\\\ntwo"


def test_bullet_and_ordered_lists_nest() -> None:
    md = "- a\n  1. b\n  2. c\n- d\n\n3. x\n4. y"
    item = lambda *c: {"type": "listItem", "content": list(c)}  # noqa: E731
    assert blocks(md) == [
        {
            "type": "bulletList",
            "content": [
                item(
                    para(t("a")),
                    {
                        "type": "orderedList",
                        "attrs": {"order": 1},
                        "content": [item(para(t("b"))), item(para(t("c")))],
                    },
                ),
                item(para(t("d"))),
            ],
        },
        {
            "type": "orderedList",
            "attrs": {"order": 3},
            "content": [item(para(t("x"))), item(para(t("y")))],
        },
    ]
    assert assert_stable(md) == md


def test_adjacent_lists_stay_apart() -> None:
    md = "- a\n\n* b\n\n1. c\n\n1) d"
    assert [b["type"] for b in blocks(md)] == [
        "bulletList",
        "bulletList",
        "orderedList",
        "orderedList",
    ]
    assert assert_stable(md) == md


def test_task_lists() -> None:
    adf = from_markdown("- [ ] todo\n- [x] done\n  - [ ] sub")
    validate(adf)
    task_list = adf["content"][0]
    assert task_list["type"] == "taskList"
    assert isinstance(task_list["attrs"]["localId"], str) and task_list["attrs"]["localId"]
    assert strip_ids(task_list)["content"] == [
        {"type": "taskItem", "attrs": {"state": "TODO"}, "content": [t("todo")]},
        {"type": "taskItem", "attrs": {"state": "DONE"}, "content": [t("done")]},
        {
            "type": "taskList",
            "content": [{"type": "taskItem", "attrs": {"state": "TODO"}, "content": [t("sub")]}],
        },
    ]
    assert (
        assert_stable("- [ ] todo\n- [x] done\n  - [ ] sub")
        == "- [ ] todo\n- [x] done\n  - [ ] sub"
    )


def test_mixed_checkbox_list_is_a_plain_list() -> None:
    assert blocks("- [ ] a\n- b")[0]["type"] == "bulletList"
    assert assert_stable("\\[ \\] not a task") == "\\[ \\] not a task"


def test_code_blocks() -> None:
    md = "```python\nprint('x')\n\n```"
    assert blocks(md) == [
        {
            "type": "codeBlock",
            "attrs": {"language": "python"},
            "content": [t("print('x')\n")],
        }
    ]
    assert blocks("```\n```") == [{"type": "codeBlock", "content": []}]
    fenced = assert_stable("````\n```\ninner\n```\n````")
    assert "inner" in fenced and fenced.startswith("````")


def test_blockquote_and_rule() -> None:
    assert blocks("> quoted\n\n---") == [
        {"type": "blockquote", "content": [para(t("quoted"))]},
        {"type": "rule"},
    ]
    assert assert_stable("> a\n>\n> - b\n\n---") == "> a\n>\n> - b\n\n---"


@pytest.mark.parametrize(
    ("alert", "panel_type"),
    [
        ("INFO", "info"),
        ("NOTE", "note"),
        ("TIP", "tip"),
        ("WARNING", "warning"),
        ("ERROR", "error"),
        ("SUCCESS", "success"),
        ("CAUTION", "error"),
        ("IMPORTANT", "note"),
    ],
)
def test_panels_from_alerts(alert: str, panel_type: str) -> None:
    assert blocks(f"> [!{alert}]\n> Careful now") == [
        {"type": "panel", "attrs": {"panelType": panel_type}, "content": [para(t("Careful now"))]}
    ]


def test_panel_round_trip() -> None:
    md = "> [!WARNING]\n> Careful\n>\n> - one"
    assert assert_stable(md) == md
    assert assert_stable("> [!INFO]\n>\n> ---") == "> [!INFO]\n>\n> ---"


def test_tables() -> None:
    md = "| a | b |\n|---|---|\n| 1 | 2<br>3 |"
    cell = lambda kind, *c: {"type": kind, "content": [para(*c)]}  # noqa: E731
    assert blocks(md) == [
        {
            "type": "table",
            "content": [
                {
                    "type": "tableRow",
                    "content": [cell("tableHeader", t("a")), cell("tableHeader", t("b"))],
                },
                {
                    "type": "tableRow",
                    "content": [
                        cell("tableCell", t("1")),
                        cell("tableCell", t("2"), {"type": "hardBreak"}, t("3")),
                    ],
                },
            ],
        }
    ]
    assert assert_stable(md) == md
    assert assert_stable("| a \\| b | `x\\|y` |\n|---|---|") == "| a \\| b | `x\\|y` |\n|---|---|"


def test_mentions() -> None:
    md = "Hi @[Ann Lee](accountid:557058:f58131cb-b67d-43c7-b30d-6b58d40bd077)!"
    assert blocks(md) == [
        para(
            t("Hi "),
            {
                "type": "mention",
                "attrs": {"id": "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077", "text": "@Ann Lee"},
            },
            t("!"),
        )
    ]
    assert assert_stable(md) == md


def test_emoji_status_date() -> None:
    md = ":smile: {status:IN PROGRESS|color=blue} {status:NEW} {date:2024-05-17}"
    content = blocks(md)[0]["content"]
    assert content[0] == {"type": "emoji", "attrs": {"shortName": ":smile:"}}
    assert content[2] == {"type": "status", "attrs": {"text": "IN PROGRESS", "color": "blue"}}
    assert content[4] == {"type": "status", "attrs": {"text": "NEW", "color": "neutral"}}
    assert content[6] == {"type": "date", "attrs": {"timestamp": "1715904000000"}}
    assert assert_stable(md) == md
    # not emoji: times and escaped colons
    assert blocks("at 10:30:45")[0]["content"] == [t("at 10:30:45")]
    assert assert_stable("\\:smile:") == "\\:smile:"


def test_media() -> None:
    single = "![diagram](media:6e7c-11?collection=contentId-1&type=file)"
    assert blocks(single) == [
        {
            "type": "mediaSingle",
            "attrs": {"layout": "center"},
            "content": [
                {
                    "type": "media",
                    "attrs": {
                        "type": "file",
                        "id": "6e7c-11",
                        "collection": "contentId-1",
                        "alt": "diagram",
                    },
                }
            ],
        }
    ]
    assert assert_stable(single) == single
    group = "![a](media:1?collection=c&type=file)\n![b](media:2?collection=c&type=file)"
    adf = blocks(group)
    assert adf[0]["type"] == "mediaGroup"
    assert [m["attrs"]["id"] for m in adf[0]["content"]] == ["1", "2"]
    assert assert_stable(group) == group
    one_group = "![](media:1?collection=c&type=file&group=1)"
    assert blocks(one_group)[0]["type"] == "mediaGroup"
    assert assert_stable(one_group) == one_group
    wide = '![x](media:1?collection=c&type=file&layout=wide "A caption")'
    adf = blocks(wide)
    assert adf[0]["attrs"] == {"layout": "wide"}
    assert adf[0]["content"][1] == {"type": "caption", "content": [t("A caption")]}
    assert assert_stable(wide) == wide


def test_external_image_and_inline_media() -> None:
    assert blocks("![logo](https://e.com/l.png)")[0]["content"][0]["attrs"] == {
        "type": "external",
        "url": "https://e.com/l.png",
        "alt": "logo",
    }
    inline = blocks("see ![f](media:9?collection=c) here")[0]["content"]
    assert inline[1] == {
        "type": "mediaInline",
        "attrs": {"type": "file", "id": "9", "collection": "c", "alt": "f"},
    }


def test_expand() -> None:
    md = "<details>\n<summary>More &amp; less</summary>\n\nHidden **text**\n\n</details>"
    assert blocks(md) == [
        {
            "type": "expand",
            "attrs": {"title": "More & less"},
            "content": [para(t("Hidden "), t("text", "strong"))],
        }
    ]
    assert assert_stable(md) == md
    nested = (
        "<details>\n<summary>Outer</summary>\n\n<details>\n<summary>Inner</summary>\n\n"
        "x\n\n</details>\n\n</details>"
    )
    adf = blocks(nested)
    assert adf[0]["content"][0]["type"] == "nestedExpand"
    assert assert_stable(nested) == nested
    one_block = blocks("<details><summary>T</summary>body</details>")
    assert one_block == [{"type": "expand", "attrs": {"title": "T"}, "content": [para(t("body"))]}]


def test_disallowed_nesting_is_rewritten_not_rejected() -> None:
    md = "- # heading in a list\n  > quote in a list\n\n> # heading in a quote\n>\n> > nested quote"
    adf = from_markdown(md)
    validate(adf)
    assert "heading in a list" in to_text(adf) and "nested quote" in to_text(adf)
    assert_stable(md)


def test_escaping_keeps_text_literal() -> None:
    text = "# not a heading *stars* _under_ [brackets] <tag> 1. &amp; `tick` | pipe ~tilde~ a\\b"
    adf = {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [t(text)]}],
    }
    md = to_markdown(adf)
    assert from_markdown(md)["content"][0]["content"] == [t(text)]
    for line_start in ("- item", "+ item", "1. item", "> quote", "=== x", "---"):
        doc = {"type": "doc", "version": 1, "content": [para(t(line_start))]}
        assert strip_ids(from_markdown(to_markdown(doc))) == doc


def test_emphasis_falls_back_to_html_where_needed() -> None:
    adf = {
        "type": "doc",
        "version": 1,
        "content": [
            para(t("a"), t("*b*", "strong"), t("c"), t("x", "em"), t(" y", "em", "strong"))
        ],
    }
    md = to_markdown(adf)
    # same text and marks; the space between "x" and "y" (both em) settles inside the em
    expected = [t("a"), t("*b*", "strong"), t("c"), t("x ", "em"), t("y", "strong", "em")]
    assert from_markdown(md)["content"][0]["content"] == expected
    assert to_markdown(from_markdown(md)) == md


def test_unknown_nodes_and_marks_keep_their_text() -> None:
    adf = {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "layoutSection",
                "content": [{"type": "layoutColumn", "content": [para(t("col"))]}],
            },
            {
                "type": "mysteryBlock",
                "content": [t("inline kid", {"type": "textColor", "attrs": {"color": "#f00"}})],
            },
            {"type": "extension", "attrs": {"extensionKey": "x"}},
            para({"type": "placeholder", "attrs": {"text": "fill me"}}, {"type": "mystery"}),
            {
                "type": "decisionList",
                "content": [{"type": "decisionItem", "content": [t("decided")]}],
            },
            "not a node",
        ],
    }
    md = to_markdown(adf)
    for fragment in ("col", "inline kid", "fill me", "decided"):
        assert fragment in md
    assert is_valid(from_markdown(md))
    assert to_markdown(None) == ""
    assert to_markdown({"type": "doc"}) == ""


# --- generated Markdown ------------------------------------------------------------------

WORD = st.sampled_from(
    [
        "alpha",
        "beta",
        "x1",
        "snake_case",
        "ü",
        "1.",
        "#",
        "-",
        "a*b",
        "10:30",
        "&amp;",
        "(",
        ")",
        "!",
        "[ ]",
        "\\",
        "|",
        '"q"',
    ]
)
ATOM = st.sampled_from(
    [
        "@[Ann](accountid:abc123)",
        ":smile:",
        "{status:DONE|color=green}",
        "{date:2024-01-02}",
        "`code`",
        "<https://e.com>",
        "<br>",
    ]
)


def _wrap(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(
        st.sampled_from(["**{}**", "*{}*", "~~{}~~", "<u>{}</u>", "[{}](https://x.org/p)"]), inner
    ).map(lambda pair: pair[0].format(pair[1]))


INLINE = st.recursive(st.one_of(WORD, ATOM), _wrap, max_leaves=6).map(str)
LINE = st.lists(INLINE, min_size=1, max_size=5).map(" ".join)


def _indent(text: str, width: int) -> str:
    return "\n".join((" " * width + line) if line else line for line in text.split("\n"))


def _list_of(marker: str) -> Any:
    def build(items: list[str]) -> str:
        out = []
        for index, body in enumerate(items):
            mark = f"{index + 1}." if marker == "1." else marker
            out.append(mark + " " + _indent(body, len(mark) + 1)[len(mark) + 1 :])
        return "\n".join(out)

    return build


def _containers(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    body = st.lists(inner, min_size=1, max_size=3).map("\n\n".join)
    return st.one_of(
        st.lists(body, min_size=1, max_size=3).map(_list_of("-")),
        st.lists(body, min_size=1, max_size=3).map(_list_of("1.")),
        st.lists(LINE, min_size=1, max_size=3).map(
            lambda items: "\n".join(f"- [ ] {i}" for i in items)
        ),
        body.map(lambda b: "> " + b.replace("\n", "\n> ")),
        st.tuples(
            st.sampled_from(["INFO", "NOTE", "WARNING", "ERROR", "SUCCESS", "TIP"]), body
        ).map(lambda p: f"> [!{p[0]}]\n> " + p[1].replace("\n", "\n> ")),
        st.tuples(WORD, body).map(
            lambda p: f"<details>\n<summary>{p[0]}</summary>\n\n{p[1]}\n\n</details>"
        ),
    )


LEAF_BLOCK = st.one_of(
    LINE,
    st.tuples(st.integers(1, 6), LINE).map(lambda p: "#" * p[0] + " " + p[1]),
    LINE.map(lambda line: f"```py\n{line}\n```"),
    st.just("---"),
    st.just("![alt](media:m-1?collection=c&type=file)"),
    st.lists(LINE.map(lambda s: s.replace("|", "\\|")), min_size=2, max_size=4).map(
        lambda cells: (
            f"| {cells[0]} | {cells[1]} |\n|---|---|\n| " + " | ".join(cells[2:] or [" "]) + " |"
        )
    ),
    st.tuples(LINE, LINE).map(lambda p: f"{p[0]}\\\n{p[1]}"),
)
BLOCK = st.recursive(LEAF_BLOCK, _containers, max_leaves=6)
DOCUMENT = st.lists(BLOCK, min_size=1, max_size=4).map("\n\n".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DOCUMENT)
def test_generated_markdown_validates_and_round_trips(markdown: str) -> None:
    first = from_markdown(markdown)
    validate(first)
    once = to_markdown(first)
    second = from_markdown(once)
    validate(second)
    assert to_markdown(second) == once
    assert " ".join(to_text(second).split()) == " ".join(to_text(first).split())


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("aZ9 _.:&!{[]*`\\<~|#-é\t")) | st.characters(),
        max_size=40,
    )
)
def test_text_without_a_special_character_needs_no_escape_pass(value: str):
    """`_escape` skips its substitutions on text `_SPECIAL` finds nothing in: they must
    all be no-ops there (and they act on text it does find something in)."""
    from jirakit.adf.markdown_out import _SPECIAL, _substitute

    if _SPECIAL.search(value) is None:
        assert _substitute(value) == value
    for char in "\\`*[]<~|":
        assert _SPECIAL.search(char) and _substitute(char) != char
