"""Make a loosely built ADF tree fit the schema.

The Markdown, wiki and text parsers build nodes freely (a heading inside a list
item, a table inside a panel, ...); :func:`fit_doc` then rewrites what the
schema forbids into the nearest allowed shape, keeping all text: a heading
becomes a paragraph, a blockquote where none may go is unwrapped, a table
where none may go becomes one paragraph per row, and so on. It also merges
adjacent text nodes, drops empty ones and removes marks code text cannot have.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

from .builder import Node, new_local_id

__all__ = ["MARK_ORDER", "fit_doc", "fit_inline", "format_timestamp", "inline_text"]

_LISTS = frozenset({"bulletList", "orderedList"})
_MEDIA = frozenset({"mediaSingle", "mediaGroup"})

ALLOWED: dict[str, frozenset[str]] = {
    "doc": frozenset(
        {"paragraph", "heading", "codeBlock", "taskList", "blockquote", "rule", "panel"}
        | {"table", "expand", "decisionList"}
        | _LISTS
        | _MEDIA
    ),
    "listItem": frozenset({"paragraph", "taskList", "codeBlock", "mediaSingle"} | _LISTS),
    "blockquote": frozenset({"paragraph", "codeBlock"} | _LISTS | _MEDIA),
    "panel": frozenset(
        {"paragraph", "heading", "codeBlock", "taskList", "rule", "decisionList"} | _LISTS | _MEDIA
    ),
    "expand": frozenset(
        {"paragraph", "heading", "codeBlock", "taskList", "rule", "decisionList", "panel"}
        | {"blockquote", "table", "nestedExpand"}
        | _LISTS
        | _MEDIA
    ),
    "nestedExpand": frozenset(
        {"paragraph", "heading", "codeBlock", "taskList", "rule", "decisionList", "panel"}
        | {"blockquote"}
        | _LISTS
        | _MEDIA
    ),
    "tableCell": frozenset(
        {"paragraph", "heading", "codeBlock", "taskList", "rule", "decisionList", "panel"}
        | {"blockquote", "nestedExpand"}
        | _LISTS
        | _MEDIA
    ),
}
ALLOWED["tableHeader"] = ALLOWED["tableCell"]

_INLINE = frozenset(
    {"text", "hardBreak", "mention", "emoji", "date", "status", "inlineCard", "mediaInline"}
)
MARK_ORDER = ("link", "strong", "em", "strike", "underline", "subsup", "code")
"""Marks jirakit keeps, outermost first."""
_CODE_COMPATIBLE = frozenset({"code", "link"})
_CONTAINERS = ("blockquote", "panel", "expand", "nestedExpand")


def child_nodes(node: Mapping[str, Any]) -> list[Node]:
    """A node's ``content`` children that are nodes (objects with a ``type``); [] if none."""
    content = node.get("content")
    if not isinstance(content, list):
        return []
    return [child for child in content if isinstance(child, dict) and "type" in child]


def node_attrs(node: Mapping[str, Any]) -> dict[str, Any]:
    """A node's ``attrs`` when it is an object, else {}."""
    attrs = node.get("attrs")
    return attrs if isinstance(attrs, dict) else {}


def inline_text(node: Node) -> str:
    """The text of one inline node, as plain text search and fallbacks see it."""
    kind = node.get("type")
    attrs: dict[str, Any] = node.get("attrs") or {}
    if kind == "text":
        return str(node.get("text", ""))
    if kind == "hardBreak":
        return "\n"
    if kind == "mention":
        label = str(attrs.get("text") or attrs.get("id") or "")
        return label if label.startswith("@") else f"@{label}"
    if kind == "emoji":
        return str(attrs.get("shortName") or attrs.get("text") or "")
    if kind == "status":
        return str(attrs.get("text", ""))
    if kind == "date":
        return format_timestamp(attrs.get("timestamp"))
    if kind == "inlineCard":
        return str(attrs.get("url", ""))
    if kind == "placeholder":
        return str(attrs.get("text") or "")
    if kind == "mediaInline":
        return ""  # like block media: an attachment has no text
    return "".join(inline_text(child) for child in node.get("content") or [])


def format_timestamp(value: Any) -> str:
    """A date node's ``timestamp`` (epoch milliseconds) as ``YYYY-MM-DD`` (UTC)."""
    try:
        millis = int(str(value))
        moment = _dt.datetime.fromtimestamp(millis / 1000, tz=_dt.UTC)
    except (ValueError, OverflowError, OSError):
        return str(value or "")
    return moment.date().isoformat()


def _plain(value: str) -> Node:
    return {"type": "text", "text": value}


def _flatten_inline(blocks: list[Node]) -> list[Node]:
    """All inline content of ``blocks``, blocks separated by hard breaks."""
    out: list[Node] = []
    for block in blocks:
        kind = block.get("type")
        if kind in _INLINE:
            part = [block]
        elif kind in ("paragraph", "heading", "taskItem", "caption"):
            part = list(block.get("content") or [])
        elif kind == "codeBlock":
            part = [_plain(inline_text(block))] if inline_text(block) else []
        else:
            part = _flatten_inline(list(block.get("content") or []))
        if part:
            if out:
                out.append({"type": "hardBreak"})
            out.extend(part)
    return out


def _paragraph(content: list[Node]) -> Node:
    return {"type": "paragraph", "content": content}


def _task_to_bullets(node: Node) -> Node:
    items: list[Node] = []
    for child in node.get("content") or []:
        if child.get("type") == "taskList":
            nested = _task_to_bullets(child)
            if items:
                items[-1]["content"].append(nested)
            else:
                items.append({"type": "listItem", "content": [nested]})
        else:
            items.append({"type": "listItem", "content": [_paragraph(_flatten_inline([child]))]})
    return {"type": "bulletList", "content": items}


def _coerce(container: str, node: Node) -> list[Node]:
    """Rewrite ``node`` (not allowed in ``container``) into allowed blocks."""
    allowed = ALLOWED[container]
    kind = node.get("type")
    content: list[Node] = list(node.get("content") or [])
    if kind == "heading":
        return [_paragraph(content)]
    if kind == "expand" and "nestedExpand" in allowed:
        return _fit_allowed({**node, "type": "nestedExpand"}, container)
    if kind == "nestedExpand" and "expand" in allowed:
        return _fit_allowed({**node, "type": "expand"}, container)
    if kind in _CONTAINERS:
        out: list[Node] = []
        title = str((node.get("attrs") or {}).get("title") or "")
        if title:
            out.append(_paragraph([_plain(title)]))
        return out + _fit_blocks(container, content)
    if kind == "table":
        rows: list[Node] = []
        for row in content:
            cells: list[Node] = []
            for cell in row.get("content") or []:
                if cells:
                    cells.append(_plain(" | "))
                cells.extend(_flatten_inline(list(cell.get("content") or [])))
            rows.append(_paragraph(cells))
        return _fit_blocks(container, rows)
    if kind == "taskList":
        return _fit_blocks(container, [_task_to_bullets(node)])
    if kind == "mediaGroup" and "mediaSingle" in allowed:
        return [
            {"type": "mediaSingle", "attrs": {"layout": "center"}, "content": [media]}
            for media in content
        ]
    if kind == "mediaSingle" and "mediaGroup" in allowed:
        return [{"type": "mediaGroup", "content": content[:1]}]
    if kind in ("rule", "mediaGroup", "mediaSingle"):
        return []
    flat = _flatten_inline([node])
    return _fit_allowed(_paragraph(flat), container) if flat else []


def _fit_blocks(container: str, blocks: list[Node]) -> list[Node]:
    allowed = ALLOWED[container]
    out: list[Node] = []
    for block in blocks:
        if block.get("type") in allowed:
            fitted = _fit_allowed(block, container)
            media = _media_paragraph(fitted[0], container) if block["type"] == "paragraph" else None
            out.extend(fitted if media is None else media)
        else:
            out.extend(_coerce(container, block))
    return out


def _fit_allowed(block: Node, container: str) -> list[Node]:
    fitted = _fit_block(block, container)
    return [fitted] if fitted else []


def _fit_marks(node: Node) -> Node:
    marks = [mark for mark in node.get("marks") or [] if mark.get("type") in MARK_ORDER]
    if any(mark["type"] == "code" for mark in marks):
        marks = [mark for mark in marks if mark["type"] in _CODE_COMPATIBLE]
    seen: dict[str, Node] = {}
    for mark in marks:
        seen.setdefault(mark["type"], mark)
    ordered = [seen[name] for name in MARK_ORDER if name in seen]
    out: Node = {"type": "text", "text": node["text"]}
    if ordered:
        out["marks"] = ordered
    return out


def fit_inline(content: list[Node]) -> list[Node]:
    """Merge adjacent same-marked text, drop empty text, keep only inline nodes."""
    out: list[Node] = []
    for node in content:
        kind = node.get("type")
        if kind == "text":
            if not node.get("text"):
                continue
            node = _fit_marks(node)
            prev = out[-1] if out else None
            if prev and prev["type"] == "text" and prev.get("marks") == node.get("marks"):
                prev["text"] += node["text"]
                continue
            out.append(node)
        elif kind in _INLINE:
            out.append(node)
        else:
            value = inline_text(node)
            if value:
                out.extend(fit_inline([_plain(value)]))
    return out


def _fit_task_list(node: Node) -> Node | None:
    items: list[Node] = []
    for child in node.get("content") or []:
        kind = child.get("type")
        if kind == "taskItem":
            attrs = dict(child.get("attrs") or {})
            attrs.setdefault("localId", new_local_id())
            if attrs.get("state") not in ("TODO", "DONE"):
                attrs["state"] = "TODO"
            items.append(
                {
                    "type": "taskItem",
                    "attrs": attrs,
                    "content": fit_inline(child.get("content", [])),
                }
            )
        elif kind in ("taskList", "bulletList", "orderedList"):
            nested = _fit_task_list(_as_tasks(child) if kind != "taskList" else child)
            if nested:
                items.append(nested)
        else:
            flat = _flatten_inline([child])
            items.append(
                {
                    "type": "taskItem",
                    "attrs": {"localId": new_local_id(), "state": "TODO"},
                    "content": fit_inline(flat),
                }
            )
    if not items:
        return None
    attrs = dict(node.get("attrs") or {})
    attrs.setdefault("localId", new_local_id())
    return {"type": "taskList", "attrs": attrs, "content": items}


def _as_tasks(node: Node) -> Node:
    """A bullet/ordered list turned into a task list (items become open tasks)."""
    content: list[Node] = []
    for item in node.get("content") or []:
        blocks = list(item.get("content") or [])
        lead = [b for b in blocks if b.get("type") not in _LISTS | {"taskList"}]
        content.append(
            {
                "type": "taskItem",
                "attrs": {"localId": new_local_id(), "state": "TODO"},
                "content": _flatten_inline(lead),
            }
        )
        content.extend(b for b in blocks if b.get("type") in _LISTS | {"taskList"})
    return {"type": "taskList", "content": content}


def _fit_block(node: Node, container: str) -> Node | None:
    """Fit one allowed block; ``None`` when it ends up with nothing valid inside."""
    kind = node.get("type")
    attrs = node.get("attrs")
    if kind in ("paragraph", "heading"):
        out: Node = {"type": kind}
        if kind == "heading":
            level = (attrs or {}).get("level", 1)
            out["attrs"] = {"level": min(max(int(level), 1), 6)}
        out["content"] = fit_inline(list(node.get("content") or []))
        return out
    if kind in _LISTS:
        items = []
        for item in node.get("content") or []:
            blocks = item.get("content") if item.get("type") == "listItem" else [item]
            fitted = _fit_blocks("listItem", list(blocks or []))
            items.append({"type": "listItem", "content": fitted or [_paragraph([])]})
        if not items:
            return None
        out = {"type": kind, "content": items}
        if kind == "orderedList":
            order = (attrs or {}).get("order", 1)
            out["attrs"] = {"order": max(int(order), 0)}
        return out
    if kind == "taskList":
        return _fit_task_list(node)
    if kind == "codeBlock":
        code = "".join(str(t.get("text", "")) for t in node.get("content") or [])
        out = {"type": "codeBlock"}
        language = (attrs or {}).get("language")
        if language:
            out["attrs"] = {"language": str(language)}
        out["content"] = [_plain(code)] if code else []
        return out
    if kind in _CONTAINERS:
        blocks = _fit_blocks(str(kind), list(node.get("content") or []))
        out = {"type": kind}
        if attrs is not None or kind == "nestedExpand":
            out["attrs"] = dict(attrs or {})
        out["content"] = blocks or [_paragraph([])]
        return out
    if kind == "table":
        rows = []
        for row in node.get("content") or []:
            cells = []
            for cell in row.get("content") or []:
                cell_kind = cell.get("type") if cell.get("type") == "tableHeader" else "tableCell"
                blocks = _fit_blocks(cell_kind, list(cell.get("content") or []))
                fitted_cell: Node = {"type": cell_kind, "content": blocks or [_paragraph([])]}
                if cell.get("attrs"):
                    fitted_cell["attrs"] = cell["attrs"]
                cells.append(fitted_cell)
            if cells:
                rows.append({"type": "tableRow", "content": cells})
        return {"type": "table", "content": rows} if rows else None
    if kind == "mediaSingle":
        media = [m for m in node.get("content") or [] if m.get("type") == "media"][:1]
        captions = [c for c in node.get("content") or [] if c.get("type") == "caption"][:1]
        if not media:
            return None
        content = media
        if captions:
            caption_content = fit_inline(list(captions[0].get("content") or []))
            if caption_content:
                content = [*media, {"type": "caption", "content": caption_content}]
        return {"type": "mediaSingle", "attrs": attrs or {"layout": "center"}, "content": content}
    if kind == "mediaGroup":
        media = [m for m in node.get("content") or [] if m.get("type") == "media"]
        return {"type": "mediaGroup", "content": media} if media else None
    return node


def _media_paragraph(paragraph: Node, container: str) -> list[Node] | None:
    """A paragraph of nothing but inline media is a media block (as Markdown reads it)."""
    content: list[Node] = paragraph.get("content") or []
    media = [n for n in content if n["type"] == "mediaInline"]
    rest = [n for n in content if n["type"] != "mediaInline"]
    if not media or any(n["type"] != "text" or n["text"].strip() for n in rest):
        return None
    items: list[Node] = []
    for node in media:
        attrs = {k: v for k, v in node["attrs"].items() if k != "data"}
        items.append({"type": "media", "attrs": {**attrs, "type": "file"}})
    if len(items) == 1:
        block: Node = {"type": "mediaSingle", "attrs": {"layout": "center"}, "content": items}
    else:
        block = {"type": "mediaGroup", "content": items}
    return _fit_blocks(container, [block])


def fit_doc(blocks: list[Node]) -> Node:
    """A schema-valid ``doc`` holding ``blocks`` (rewritten where needed)."""
    return {"type": "doc", "version": 1, "content": _fit_blocks("doc", blocks)}
