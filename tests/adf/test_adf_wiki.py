"""Jira wiki markup (v2 API) <-> ADF, and therefore <-> Markdown."""

from __future__ import annotations

from typing import Any

import pytest
from adf_support import para, t

from jirakit.adf import from_markdown, from_wiki, to_markdown, to_text, to_wiki, validate


def strip_ids(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: strip_ids(v) for k, v in node.items() if k != "localId"}
    if isinstance(node, list):
        return [strip_ids(item) for item in node]
    return node


def blocks(wiki: str) -> list[dict[str, Any]]:
    doc = from_wiki(wiki)
    validate(doc)
    content: list[dict[str, Any]] = strip_ids(doc)["content"]
    return content


def assert_round_trip(wiki: str) -> None:
    """wiki -> ADF -> wiki gives the same wiki, and the same ADF again."""
    first = from_wiki(wiki)
    validate(first)
    assert to_wiki(first) == wiki
    assert strip_ids(from_wiki(to_wiki(first))) == strip_ids(first)


def test_headings() -> None:
    for level in range(1, 7):
        assert blocks(f"h{level}. Title") == [
            {"type": "heading", "attrs": {"level": level}, "content": [t("Title")]}
        ]
        assert_round_trip(f"h{level}. Title *bold*")


@pytest.mark.parametrize(
    ("wiki", "mark"),
    [
        ("*strong*", "strong"),
        ("_em_", "em"),
        ("-strike-", "strike"),
        ("+under+", "underline"),
        ("{{mono}}", "code"),
        ("^sup^", {"type": "subsup", "attrs": {"type": "sup"}}),
        ("~sub~", {"type": "subsup", "attrs": {"type": "sub"}}),
    ],
)
def test_marks(wiki: str, mark: str | dict[str, Any]) -> None:
    word = wiki.strip("*_-+{}^~")
    assert blocks(f"a {wiki} b") == [para(t("a "), t(word, mark), t(" b"))]
    assert_round_trip(f"a {wiki} b")


def test_marks_need_word_boundaries() -> None:
    assert blocks("well-known 2*3*4 snake_case_name") == [
        para(t("well-known 2*3*4 snake_case_name"))
    ]
    assert blocks("mid{*}word{*}s") == [para(t("mid"), t("word", "strong"), t("s"))]
    assert_round_trip("mid{*}word{*}s")
    assert blocks("??cite??") == [para(t("cite", "em"))]


def test_links_and_mentions() -> None:
    href = {"type": "link", "attrs": {"href": "https://e.com"}}
    assert blocks("[Example|https://e.com] [https://e.com]") == [
        para(t("Example", href), t(" "), t("https://e.com", href))
    ]
    assert_round_trip("[Example|https://e.com] and [https://e.com]")
    assert blocks("[~accountid:5b10a2844c20165700ede21g] [~jsmith]") == [
        para(
            {
                "type": "mention",
                "attrs": {"id": "5b10a2844c20165700ede21g", "text": "@5b10a2844c20165700ede21g"},
            },
            t(" "),
            {"type": "mention", "attrs": {"id": "jsmith", "text": "@jsmith"}},
        )
    ]
    assert_round_trip("[~accountid:5b10a2844c20165700ede21g] and [~jsmith]")


def test_line_breaks() -> None:
    assert blocks("one\\\\two\nthree") == [
        para(t("one"), {"type": "hardBreak"}, t("two"), {"type": "hardBreak"}, t("three"))
    ]
    assert_round_trip("one\ntwo")


def test_nested_lists() -> None:
    wiki = "* a\n** b\n*** c\n* d\n\n# one\n## two\n#* bullet under number"
    item = lambda *c: {"type": "listItem", "content": list(c)}  # noqa: E731
    assert blocks(wiki) == [
        {
            "type": "bulletList",
            "content": [
                item(
                    para(t("a")),
                    {
                        "type": "bulletList",
                        "content": [
                            item(
                                para(t("b")),
                                {"type": "bulletList", "content": [item(para(t("c")))]},
                            )
                        ],
                    },
                ),
                item(para(t("d"))),
            ],
        },
        {
            "type": "orderedList",
            "attrs": {"order": 1},
            "content": [
                item(
                    para(t("one")),
                    {
                        "type": "orderedList",
                        "attrs": {"order": 1},
                        "content": [item(para(t("two")))],
                    },
                    {"type": "bulletList", "content": [item(para(t("bullet under number")))]},
                )
            ],
        },
    ]
    assert_round_trip(wiki)


def test_task_lists_use_checkbox_bullets() -> None:
    wiki = "* [ ] open\n* [x] done"
    assert blocks(wiki) == [
        {
            "type": "taskList",
            "attrs": {},
            "content": [
                {"type": "taskItem", "attrs": {"state": "TODO"}, "content": [t("open")]},
                {"type": "taskItem", "attrs": {"state": "DONE"}, "content": [t("done")]},
            ],
        }
    ]
    assert_round_trip(wiki)


def test_code_and_noformat() -> None:
    wiki = '{code:python}\ndef f():\n    return {"a": [1]}\n{code}\n\n{noformat}\nraw *not bold*\n{noformat}'
    assert blocks(wiki) == [
        {
            "type": "codeBlock",
            "attrs": {"language": "python"},
            "content": [t('def f():\n    return {"a": [1]}')],
        },
        {"type": "codeBlock", "content": [t("raw *not bold*")]},
    ]
    assert_round_trip(wiki)
    assert blocks("{code:language=java|title=x}int a;{code}")[0]["attrs"] == {"language": "java"}


def test_quote_panels_rule() -> None:
    wiki = "{quote}\nquoted _text_\n{quote}\n\n{info}\nInfo\n{info}\n\n{note}\nNote\n{note}\n\n{warning}\nWarn\n{warning}\n\n{tip}\nTip\n{tip}\n\n----"
    out = blocks(wiki)
    assert out[0] == {"type": "blockquote", "content": [para(t("quoted "), t("text", "em"))]}
    assert [b["attrs"]["panelType"] for b in out[1:5]] == ["info", "note", "warning", "tip"]
    assert out[5] == {"type": "rule"}
    assert_round_trip(wiki)
    assert blocks("bq. short") == [{"type": "blockquote", "content": [para(t("short"))]}]


def test_panel_macro_colours_and_titles() -> None:
    assert blocks("{panel:bgColor=#ffebe6}\nBad\n{panel}")[0]["attrs"] == {"panelType": "error"}
    assert_round_trip("{panel:bgColor=#e3fcef}\nGood\n{panel}")
    titled = blocks("{warning:title=Careful}\nbody\n{warning}")[0]
    assert titled["content"][0] == {
        "type": "heading",
        "attrs": {"level": 3},
        "content": [t("Careful")],
    }


def test_tables() -> None:
    wiki = "||Head 1||Head 2||\n|cell *1*|[link|https://x.com]|\n|a \\| pipe|b|"
    out = blocks(wiki)
    rows = out[0]["content"]
    assert [c["type"] for c in rows[0]["content"]] == ["tableHeader", "tableHeader"]
    assert rows[1]["content"][0]["content"] == [para(t("cell "), t("1", "strong"))]
    assert rows[2]["content"][0]["content"] == [para(t("a | pipe"))]
    assert_round_trip(wiki)


def test_emoticons_and_images() -> None:
    assert blocks(":) (y) (/)")[0]["content"][0] == {
        "type": "emoji",
        "attrs": {"shortName": ":slight_smile:"},
    }
    assert_round_trip(":) (y) (/)")
    assert blocks("!screenshot.png|thumbnail!")[0]["content"][0]["attrs"] == {
        "type": "file",
        "id": "screenshot.png",
        "collection": "",
    }
    assert_round_trip("!screenshot.png!")


def test_escapes_keep_text_literal() -> None:
    doc = {
        "type": "doc",
        "version": 1,
        "content": [para(t("*not bold* [x] {{y}} -z- a|b h1. # - C:\\dir"))],
    }
    assert strip_ids(from_wiki(to_wiki(doc))) == doc
    for line in ("h1. x", "* item", "# item", "----", "bq. x"):
        single = {"type": "doc", "version": 1, "content": [para(t(line))]}
        assert strip_ids(from_wiki(to_wiki(single))) == single


JIRA_WIKI = """h2. Steps to reproduce
# Log in as [~jsmith]
# Open *Settings* → _Profile_ (see [docs|https://confluence.example.com/x])
# Click {{Save}}

h2. Expected
Profile saved.\\\\No errors.

{code:java}
assertThat(result).isOk();
{code}

||Env||Version||
|staging|1.2.3|

{note}
Only on *staging*. (!)
{note}"""


def test_jira_wiki_to_markdown() -> None:
    doc = from_wiki(JIRA_WIKI)
    validate(doc)
    md = to_markdown(doc)
    assert md == (
        "## Steps to reproduce\n\n"
        "1. Log in as @[@jsmith](accountid:jsmith)\n"
        "2. Open **Settings** → *Profile* (see [docs](https://confluence.example.com/x))\n"
        "3. Click `Save`\n\n"
        "## Expected\n\n"
        "Profile saved.\\\nNo errors.\n\n"
        "```java\nassertThat(result).isOk();\n```\n\n"
        "| Env | Version |\n|---|---|\n| staging | 1.2.3 |\n\n"
        "> [!NOTE]\n> Only on **staging**. :warning:"
    ).replace("@[@jsmith]", "@[jsmith]")
    assert to_text(from_markdown(md)) == to_text(doc)


def test_markdown_to_wiki() -> None:
    md = "# Title\n\n- [link](https://e.com) and **bold**\n  - nested `code`\n\n> [!WARNING]\n> Careful"
    assert to_wiki(from_markdown(md)) == (
        "h1. Title\n\n* [link|https://e.com] and *bold*\n** nested {{code}}\n\n{warning}\nCareful\n{warning}"
    )


def test_odd_input_never_raises() -> None:
    for wiki in (
        "{code}unclosed",
        "{quote}\n* a\n{quote} tail",
        "|a|b\n||",
        "[",
        "*",
        "{{",
        "!x",
        "h7. no",
    ):
        validate(from_wiki(wiki))
    assert to_wiki(None) == ""
    assert "kept" in to_wiki(
        {"type": "doc", "content": [{"type": "mystery", "content": [t("kept")]}]}
    )
