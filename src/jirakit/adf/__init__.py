"""Atlassian Document Format: build, validate, and convert to/from Markdown, text and wiki.

::

    from jirakit.adf import doc, paragraph, text, from_markdown, to_markdown, validate

    body = from_markdown("Hello **world** @[Ann](accountid:5b10a2844c20165700ede21g)")
    validate(body)                      # raises AdfValidationError naming the JSON path
    assert to_markdown(body) == "Hello **world** @[Ann](accountid:5b10a2844c20165700ede21g)"

Everything ``from_*`` returns validates against the bundled official schema. The
``to_*`` functions accept any ADF (also from Jira) and never raise: nodes they do not
know keep their text. Conventions for ADF-only nodes are documented in ``docs/adf.md``.
"""

from __future__ import annotations

from .builder import (
    Node,
    blockquote,
    bullet_list,
    code_block,
    date,
    doc,
    emoji,
    expand,
    hard_break,
    heading,
    inline_card,
    link,
    list_item,
    media,
    media_group,
    media_single,
    mention,
    nested_expand,
    ordered_list,
    panel,
    paragraph,
    rule,
    status,
    table,
    table_cell,
    table_header,
    table_row,
    task_item,
    task_list,
    text,
)
from .errors import AdfValidationError
from .markdown_in import from_markdown
from .markdown_out import to_markdown
from .plaintext import from_text, to_text
from .validation import is_valid, validate
from .wiki_in import from_wiki
from .wiki_out import to_wiki

__all__ = [
    "AdfValidationError",
    "Node",
    "blockquote",
    "bullet_list",
    "code_block",
    "date",
    "doc",
    "emoji",
    "expand",
    "from_markdown",
    "from_text",
    "from_wiki",
    "hard_break",
    "heading",
    "inline_card",
    "is_valid",
    "link",
    "list_item",
    "media",
    "media_group",
    "media_single",
    "mention",
    "nested_expand",
    "ordered_list",
    "panel",
    "paragraph",
    "rule",
    "status",
    "table",
    "table_cell",
    "table_header",
    "table_row",
    "task_item",
    "task_list",
    "text",
    "to_markdown",
    "to_text",
    "to_wiki",
    "validate",
]
