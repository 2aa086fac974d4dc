"""Small, typed constructors for ADF nodes.

Every function returns a plain ``dict`` shaped exactly like the ADF JSON, so the
result can be sent to Jira as is::

    >>> doc(paragraph("Hello ", text("world", strong=True)))["content"][0]["type"]
    'paragraph'

Strings given where inline content is expected become text nodes; strings given
where blocks are expected become paragraphs.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Iterable
from typing import Any

__all__ = [
    "Node",
    "blockquote",
    "bullet_list",
    "code_block",
    "date",
    "doc",
    "emoji",
    "expand",
    "hard_break",
    "heading",
    "inline_card",
    "link",
    "list_item",
    "media",
    "media_group",
    "media_single",
    "mention",
    "nested_expand",
    "new_local_id",
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
]

Node = dict[str, Any]
"""An ADF node: a JSON object with at least ``type``."""

Inline = Node | str
Block = Node | str

PANEL_TYPES = ("info", "note", "tip", "warning", "error", "success", "custom")
STATUS_COLORS = ("neutral", "purple", "blue", "red", "yellow", "green")


def new_local_id() -> str:
    """A fresh ``localId`` (a UUID, as Jira's editor makes them)."""
    return str(uuid.uuid4())


def _inlines(items: Iterable[Inline]) -> list[Node]:
    return [text(item) if isinstance(item, str) else item for item in items if item != ""]


def _blocks(items: Iterable[Block]) -> list[Node]:
    return [paragraph(item) if isinstance(item, str) else item for item in items]


def doc(*blocks: Block) -> Node:
    """The root node: ``{"type": "doc", "version": 1, "content": [...]}``."""
    return {"type": "doc", "version": 1, "content": _blocks(blocks)}


def paragraph(*content: Inline) -> Node:
    """A paragraph of inline nodes (strings become plain text)."""
    return {"type": "paragraph", "content": _inlines(content)}


def heading(level: int, *content: Inline) -> Node:
    """A heading, ``level`` 1 to 6."""
    if not 1 <= level <= 6:
        raise ValueError(f"heading level must be 1..6, not {level}")
    return {"type": "heading", "attrs": {"level": level}, "content": _inlines(content)}


def text(
    value: str,
    *,
    strong: bool = False,
    em: bool = False,
    strike: bool = False,
    underline: bool = False,
    code: bool = False,
    href: str | None = None,
    marks: Iterable[Node] = (),
) -> Node:
    """A text node; keyword flags add the matching marks (``href`` adds a link)."""
    if not value:
        raise ValueError("ADF text nodes cannot be empty")
    out: list[Node] = []
    if href is not None:
        out.append({"type": "link", "attrs": {"href": href}})
    for flag, name in (
        (strong, "strong"),
        (em, "em"),
        (strike, "strike"),
        (underline, "underline"),
        (code, "code"),
    ):
        if flag:
            out.append({"type": name})
    out.extend(marks)
    node: Node = {"type": "text", "text": value}
    if out:
        node["marks"] = out
    return node


def link(value: str, href: str, *, title: str | None = None) -> Node:
    """Text carrying a link mark."""
    attrs: dict[str, str] = {"href": href}
    if title:
        attrs["title"] = title
    return text(value, marks=[{"type": "link", "attrs": attrs}])


def hard_break() -> Node:
    """A line break inside a paragraph."""
    return {"type": "hardBreak"}


def mention(account_id: str, display: str | None = None) -> Node:
    """A user mention; ``display`` is shown as ``@display``."""
    attrs: dict[str, str] = {"id": account_id}
    if display is not None:
        attrs["text"] = display if display.startswith("@") else f"@{display}"
    return {"type": "mention", "attrs": attrs}


def emoji(short_name: str, *, text: str | None = None, id: str | None = None) -> Node:
    """An emoji by short name: ``emoji("smile")`` or ``emoji(":smile:")``."""
    name = short_name.strip(":")
    attrs: dict[str, str] = {"shortName": f":{name}:"}
    if id is not None:
        attrs["id"] = id
    if text is not None:
        attrs["text"] = text
    return {"type": "emoji", "attrs": attrs}


def status(label: str, color: str = "neutral") -> Node:
    """A status lozenge; ``color`` is one of neutral/purple/blue/red/yellow/green."""
    if color not in STATUS_COLORS:
        raise ValueError(f"status color must be one of {STATUS_COLORS}, not {color!r}")
    return {"type": "status", "attrs": {"text": label, "color": color, "localId": new_local_id()}}


def date(value: _dt.date | _dt.datetime | int) -> Node:
    """A date lozenge; ints are milliseconds since the epoch, dates are taken as UTC."""
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.UTC)
        millis = int(value.timestamp() * 1000)
    elif isinstance(value, _dt.date):
        millis = int(_dt.datetime(value.year, value.month, value.day, tzinfo=_dt.UTC).timestamp())
        millis *= 1000
    else:
        millis = int(value)
    return {"type": "date", "attrs": {"timestamp": str(millis)}}


def inline_card(url: str) -> Node:
    """A smart link shown inline."""
    return {"type": "inlineCard", "attrs": {"url": url}}


def list_item(*blocks: Block) -> Node:
    """A list item; strings become paragraphs."""
    return {"type": "listItem", "content": _blocks(blocks) or [paragraph()]}


def _items(items: Iterable[Block | Node]) -> list[Node]:
    out: list[Node] = []
    for item in items:
        if isinstance(item, dict) and item.get("type") == "listItem":
            out.append(item)
        else:
            out.append(list_item(item))
    return out


def bullet_list(*items: Block) -> Node:
    """A bullet list; items that are not ``listItem`` nodes are wrapped in one."""
    return {"type": "bulletList", "content": _items(items)}


def ordered_list(*items: Block, order: int = 1) -> Node:
    """A numbered list starting at ``order``."""
    node: Node = {"type": "orderedList", "content": _items(items)}
    node["attrs"] = {"order": order}
    return node


def task_item(*content: Inline, done: bool = False, local_id: str | None = None) -> Node:
    """One checkbox item (inline content only)."""
    return {
        "type": "taskItem",
        "attrs": {"localId": local_id or new_local_id(), "state": "DONE" if done else "TODO"},
        "content": _inlines(content),
    }


def task_list(*items: Node | str) -> Node:
    """A list of ``task_item`` (or nested ``task_list``) nodes; strings become open tasks."""
    content = [task_item(item) if isinstance(item, str) else item for item in items]
    return {"type": "taskList", "attrs": {"localId": new_local_id()}, "content": content}


def code_block(code: str, language: str | None = None) -> Node:
    """A code block; ``language`` is e.g. ``"python"``."""
    node: Node = {"type": "codeBlock"}
    if language:
        node["attrs"] = {"language": language}
    node["content"] = [{"type": "text", "text": code}] if code else []
    return node


def blockquote(*blocks: Block) -> Node:
    """A quotation."""
    return {"type": "blockquote", "content": _blocks(blocks) or [paragraph()]}


def rule() -> Node:
    """A horizontal rule."""
    return {"type": "rule"}


def panel(*blocks: Block, panel_type: str = "info") -> Node:
    """A coloured panel: info, note, tip, warning, error, success (or custom)."""
    if panel_type not in PANEL_TYPES:
        raise ValueError(f"panel_type must be one of {PANEL_TYPES}, not {panel_type!r}")
    return {
        "type": "panel",
        "attrs": {"panelType": panel_type},
        "content": _blocks(blocks) or [paragraph()],
    }


def expand(*blocks: Block, title: str = "") -> Node:
    """A collapsible section at the top level."""
    return {
        "type": "expand",
        "attrs": {"title": title},
        "content": _blocks(blocks) or [paragraph()],
    }


def nested_expand(*blocks: Block, title: str = "") -> Node:
    """A collapsible section inside a table cell or an ``expand``."""
    return {
        "type": "nestedExpand",
        "attrs": {"title": title},
        "content": _blocks(blocks) or [paragraph()],
    }


def table_cell(*blocks: Block) -> Node:
    """A body cell."""
    return {"type": "tableCell", "content": _blocks(blocks) or [paragraph()]}


def table_header(*blocks: Block) -> Node:
    """A header cell."""
    return {"type": "tableHeader", "content": _blocks(blocks) or [paragraph()]}


def table_row(*cells: Node | str) -> Node:
    """A row; strings become body cells."""
    return {
        "type": "tableRow",
        "content": [table_cell(cell) if isinstance(cell, str) else cell for cell in cells],
    }


def table(*rows: Node) -> Node:
    """A table of ``table_row`` nodes."""
    return {"type": "table", "content": list(rows)}


def media(
    id: str,
    *,
    collection: str = "",
    type: str = "file",
    alt: str | None = None,
    width: float | None = None,
    height: float | None = None,
) -> Node:
    """A media item (an attachment in Jira) referenced by its media id."""
    attrs: dict[str, Any] = {"type": type, "id": id, "collection": collection}
    if alt is not None:
        attrs["alt"] = alt
    if width is not None:
        attrs["width"] = width
    if height is not None:
        attrs["height"] = height
    return {"type": "media", "attrs": attrs}


def media_single(item: Node, *, layout: str = "center", caption: str | None = None) -> Node:
    """One media item shown as an image block."""
    content = [item]
    if caption:
        content.append({"type": "caption", "content": [text(caption)]})
    return {"type": "mediaSingle", "attrs": {"layout": layout}, "content": content}


def media_group(*items: Node) -> Node:
    """Several media items shown as a row of file cards."""
    return {"type": "mediaGroup", "content": list(items)}
