"""Plain text <-> ADF.

:func:`to_text` is the text the JQL ``text ~`` search indexes: paragraphs and
headings as lines, blocks separated by a blank line, list items as ``- item``
(``1. item``, ``- [ ] task``), mentions as ``@Name``, emoji as ``:short_name:``,
table cells joined by `` | ``. Unknown nodes contribute the text they contain.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ._fit import fit_doc, inline_text
from .builder import Node

__all__ = ["from_text", "to_text"]

_INLINE = frozenset(
    {"text", "hardBreak", "mention", "emoji", "date", "status", "inlineCard", "placeholder"}
    | {"mediaInline", "inlineExtension"}
)
_BLANK_LINES = re.compile(r"\n[ \t]*\n\s*")


def from_text(value: str) -> Node:
    """A document of paragraphs: blank lines split paragraphs, single newlines are hard breaks."""
    value = value.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    blocks: list[Node] = []
    for chunk in _BLANK_LINES.split(value):
        if not chunk.strip():
            continue
        content: list[Node] = []
        for line in chunk.split("\n"):
            if content:
                content.append({"type": "hardBreak"})
            if line:
                content.append({"type": "text", "text": line})
        blocks.append({"type": "paragraph", "content": content})
    return fit_doc(blocks)


def to_text(adf: Mapping[str, Any] | None) -> str:
    """The plain text of an ADF document (or of any ADF node); never raises on odd input."""
    if not isinstance(adf, Mapping):
        return ""
    return _blocks_text([dict(adf)]).strip("\n")


def _children(node: Mapping[str, Any]) -> list[Node]:
    content = node.get("content")
    if not isinstance(content, list):
        return []
    return [child for child in content if isinstance(child, dict)]


def _inline(nodes: list[Node]) -> str:
    return "".join(inline_text(node) for node in nodes)


def _indent(value: str, prefix: str) -> str:
    pad = " " * len(prefix)
    lines = value.split("\n")
    return "\n".join([prefix + lines[0]] + [pad + line if line else line for line in lines[1:]])


def _list_text(node: Node) -> str:
    kind = node.get("type")
    attrs: dict[str, Any] = node["attrs"] if isinstance(node.get("attrs"), dict) else {}
    lines: list[str] = []
    number = attrs.get("order", 1) if isinstance(attrs.get("order", 1), int) else 1
    for item in _children(node):
        item_kind = item.get("type")
        if item_kind in ("taskList", "bulletList", "orderedList", "decisionList"):
            lines.append(_indent(_list_text(item), "  "))
            continue
        if kind == "orderedList":
            prefix = f"{number}. "
            number += 1
        elif item_kind in ("taskItem", "blockTaskItem"):
            state = (item.get("attrs") or {}).get("state")
            prefix = "- [x] " if state == "DONE" else "- [ ] "
        else:
            prefix = "- "
        if item_kind in ("taskItem", "decisionItem") and not _is_block_content(item):
            body = _inline(_children(item))
        else:
            body = _blocks_text(_children(item), sep="\n")
        lines.append(_indent(body, prefix))
    return "\n".join(lines)


def _is_block_content(node: Node) -> bool:
    return any(child.get("type") not in _INLINE for child in _children(node))


def _table_text(node: Node) -> str:
    rows = []
    for row in _children(node):
        cells = [_blocks_text(_children(cell), sep=" ") for cell in _children(row)]
        if any(cell.strip() for cell in cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)


def _block_text(node: Node) -> str:
    kind = node.get("type")
    attrs: dict[str, Any] = node["attrs"] if isinstance(node.get("attrs"), dict) else {}
    if kind in ("paragraph", "heading", "caption"):
        return _inline(_children(node))
    if kind in ("bulletList", "orderedList", "taskList", "decisionList"):
        return _list_text(node)
    if kind == "codeBlock":
        return _inline(_children(node))
    if kind == "table":
        return _table_text(node)
    if kind in ("expand", "nestedExpand"):
        title = str(attrs.get("title") or "")
        body = _blocks_text(_children(node))
        return f"{title}\n{body}" if title and body else title or body
    if kind in ("rule", "media"):
        return ""
    if kind in _INLINE:
        return inline_text(node)
    if kind in ("blockCard", "embedCard"):
        return str(attrs.get("url") or "")
    children = _children(node)
    if children and not _is_block_content(node):
        return _inline(children)
    if children:
        return _blocks_text(children)
    return str(attrs.get("text") or "")


def _blocks_text(nodes: list[Node], sep: str = "\n\n") -> str:
    parts = [_block_text(node) for node in nodes]
    return sep.join(part for part in parts if part)
