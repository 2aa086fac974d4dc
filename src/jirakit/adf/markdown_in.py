"""Markdown -> ADF, parsed with markdown-it-py (CommonMark + GFM tables/strikethrough).

The conventions for ADF-only nodes (mentions, emoji, status, panels, media,
expand) are listed in :mod:`jirakit.adf._conventions` and ``docs/adf.md``.
"""

from __future__ import annotations

import datetime as _dt
import html
import re
from functools import cache
from typing import Any
from urllib.parse import parse_qs, unquote

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from markdown_it.tree import SyntaxTreeNode

from . import _conventions as conv
from ._fit import fit_doc, fit_inline
from .builder import Node, new_local_id

__all__ = ["from_markdown"]

_TASK_RE = re.compile(r"^\[([ xX])\](?:[ \t]+|$)")
_DETAILS_OPEN = re.compile(
    r"^\s*<details(?:\s[^>]*)?>\s*(?:<summary(?:\s[^>]*)?>(.*?)</summary>)?", re.S | re.I
)
_DETAILS_CLOSE = re.compile(r"</details>\s*$", re.I)
_TAG_RE = re.compile(r"^<(/?)([A-Za-z][A-Za-z0-9]*)[^>]*?(/?)>$")
_ANY_TAG = re.compile(r"<[^>]*>")
_ASCII_WORD = re.compile(r"[A-Za-z0-9]")


def _inline_rule(
    pattern: re.Pattern[str], kind: str, first: str, *, word_start: bool = False
) -> Any:
    def rule(state: StateInline, silent: bool) -> bool:
        if state.src[state.pos] != first:
            return False
        if word_start and state.pos > 0 and _ASCII_WORD.match(state.src[state.pos - 1]):
            return False
        match = pattern.match(state.src, state.pos, state.posMax)
        if not match:
            return False
        if not silent:
            token = state.push(kind, "", 0)
            token.meta = {"groups": match.groups()}
            token.content = match.group(0)
        state.pos = match.end()
        return True

    return rule


def _keep_url(url: str) -> str:
    return url


@cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    # Keep link targets exactly as written (no percent-encoding): ADF stores them verbatim.
    md.normalizeLink = _keep_url  # type: ignore[method-assign]
    ruler = md.inline.ruler
    ruler.before("link", "adf_mention", _inline_rule(conv.MENTION_RE, "adf_mention", "@"))
    ruler.before("link", "adf_status", _inline_rule(conv.STATUS_RE, "adf_status", "{"))
    ruler.before("link", "adf_date", _inline_rule(conv.DATE_RE, "adf_date", "{"))
    ruler.before(
        "link", "adf_emoji", _inline_rule(conv.EMOJI_RE, "adf_emoji", ":", word_start=True)
    )
    return md


def from_markdown(markdown: str) -> Node:
    """Convert Markdown to a schema-valid ADF document."""
    return fit_doc(_parse_blocks(markdown))


def _parse_blocks(markdown: str) -> list[Node]:
    tree = SyntaxTreeNode(_parser().parse(markdown))
    return _blocks(tree.children)


# --- inline ------------------------------------------------------------------------------


def _text(value: str, marks: list[Node]) -> Node:
    node: Node = {"type": "text", "text": value}
    if marks:
        node["marks"] = list(marks)
    return node


def _media_from_url(src: str, alt: str) -> tuple[Node, dict[str, str]]:
    """A media node from ``media:ID?collection=..`` plus the extra (layout/group) options."""
    rest = src[len(conv.MEDIA_SCHEME) :]
    ident, _, query = rest.partition("?")
    params = {key: values[-1] for key, values in parse_qs(query, keep_blank_values=True).items()}
    attrs: dict[str, Any] = {
        "type": params.get("type") if params.get("type") in ("file", "link") else "file",
        "id": unquote(ident) or "unknown",
        "collection": params.get("collection", ""),
    }
    if alt:
        attrs["alt"] = alt
    for key in ("width", "height"):
        value = params.get(key, "")
        if value.replace(".", "", 1).isdigit():
            attrs[key] = float(value) if "." in value else int(value)
    return {"type": "media", "attrs": attrs}, params


def _inlines(nodes: list[SyntaxTreeNode], marks: list[Node]) -> list[Node]:
    out: list[Node] = []
    stack = list(marks)
    for node in nodes:
        kind = node.type
        if kind in ("text", "text_special"):
            out.append(_text(node.content, stack))
        elif kind == "softbreak":
            out.append(_text(" ", stack))
        elif kind == "hardbreak":
            out.append({"type": "hardBreak"})
        elif kind == "code_inline":
            out.append(_text(node.content, [*stack, {"type": "code"}]))
        elif kind in ("em", "strong", "s"):
            name = {"em": "em", "strong": "strong", "s": "strike"}[kind]
            out.extend(_inlines(node.children, [*stack, {"type": name}]))
        elif kind == "link":
            attrs = {"href": str(node.attrs.get("href", ""))}
            if node.attrs.get("title"):
                attrs["title"] = str(node.attrs["title"])
            out.extend(_inlines(node.children, [*stack, {"type": "link", "attrs": attrs}]))
        elif kind == "image":
            out.append(_image(node, stack))
        elif kind == "html_inline":
            stack = _html_inline(node.content, stack, out)
        elif kind == "adf_mention":
            display, account = node.meta["groups"]
            out.append({"type": "mention", "attrs": {"id": account, "text": f"@{display}"}})
        elif kind == "adf_emoji":
            out.append({"type": "emoji", "attrs": {"shortName": f":{node.meta['groups'][0]}:"}})
        elif kind == "adf_status":
            label, color = node.meta["groups"]
            if not color or not conv.STATUS_COLOR_RE.match(color):
                color = "neutral"
            attrs = {"text": label.strip() or label, "color": color, "localId": new_local_id()}
            out.append({"type": "status", "attrs": attrs})
        elif kind == "adf_date":
            day = _dt.date.fromisoformat(node.meta["groups"][0])
            moment = _dt.datetime(day.year, day.month, day.day, tzinfo=_dt.UTC)
            out.append(
                {"type": "date", "attrs": {"timestamp": str(int(moment.timestamp()) * 1000)}}
            )
        elif node.children:
            out.extend(_inlines(node.children, stack))
        elif node.content:
            out.append(_text(node.content, stack))
    return out


def _image(node: SyntaxTreeNode, marks: list[Node]) -> Node:
    src = str(node.attrs.get("src", ""))
    alt = "".join(child.content for child in node.children if child.content)
    title = str(node.attrs.get("title") or "")
    if src.startswith(conv.MEDIA_SCHEME):
        media, params = _media_from_url(src, alt)
        return {"type": "_media", "media": media, "params": params, "caption": title, "alt": alt}
    return {"type": "_image", "src": src, "alt": alt, "caption": title, "marks": marks}


def _html_inline(tag: str, stack: list[Node], out: list[Node]) -> list[Node]:
    """Apply an inline HTML tag: a mark opens/closes, ``<br>`` breaks, others stay text."""
    match = _TAG_RE.match(tag.strip())
    name = match.group(2).lower() if match else ""
    if name == "br":
        out.append({"type": "hardBreak"})
        return stack
    mark = conv.HTML_MARKS.get(name)
    if match is None or mark is None:
        if not tag.startswith("<!--"):
            out.append(_text(tag, stack))
        return stack
    adf_mark: Node = (
        {"type": "subsup", "attrs": {"type": mark}} if mark in ("sub", "sup") else {"type": mark}
    )
    if match.group(1):  # closing tag: drop the innermost matching mark
        for index in range(len(stack) - 1, -1, -1):
            if stack[index] == adf_mark:
                return stack[:index] + stack[index + 1 :]
        return stack
    return [*stack, adf_mark]


def _finish_inline(content: list[Node]) -> list[Node]:
    """Turn media/image placeholders left inside running text into inline nodes."""
    out: list[Node] = []
    for node in content:
        if node["type"] == "_media":
            out.append({"type": "mediaInline", "attrs": node["media"]["attrs"]})
        elif node["type"] == "_image":
            label = node["alt"] or node["src"]
            if label:
                link: Node = {"type": "link", "attrs": {"href": node["src"]}}
                out.append(_text(label, [*node["marks"], link] if node["src"] else node["marks"]))
        else:
            out.append(node)
    return fit_inline(out)


# --- blocks ------------------------------------------------------------------------------


def _paragraph(node: SyntaxTreeNode) -> list[Node]:
    return _paragraph_from(_inlines(_inline_children(node), []))


def _paragraph_from(content: list[Node]) -> list[Node]:
    """A paragraph, or media blocks when it holds nothing but images."""
    significant = [n for n in content if not (n["type"] == "text" and not n["text"].strip())]
    if significant and all(n["type"] in ("_media", "_image") for n in significant):
        return _media_blocks(significant)
    return [{"type": "paragraph", "content": _finish_inline(content)}]


def _media_blocks(items: list[Node]) -> list[Node]:
    """A paragraph of only images: one is ``mediaSingle``, several a ``mediaGroup``."""
    if len(items) == 1 and not (items[0]["type"] == "_media" and "group" in items[0]["params"]):
        item = items[0]
        if item["type"] == "_media":
            media = item["media"]
            layout = item["params"].get("layout", "center")
        else:
            attrs: dict[str, Any] = {"type": "external", "url": item["src"]}
            if item["alt"]:
                attrs["alt"] = item["alt"]
            media, layout = {"type": "media", "attrs": attrs}, "center"
        content = [media]
        if item["caption"]:
            content.append({"type": "caption", "content": [_text(item["caption"], [])]})
        valid_layouts = ("wide", "full-width", "center", "wrap-right", "wrap-left")
        attrs_single = {"layout": layout if layout in valid_layouts else "center"}
        return [{"type": "mediaSingle", "attrs": attrs_single, "content": content}]
    blocks: list[Node] = []
    for item in items:
        if item["type"] == "_media":
            if blocks and blocks[-1]["type"] == "mediaGroup":
                blocks[-1]["content"].append(item["media"])
            else:
                blocks.append({"type": "mediaGroup", "content": [item["media"]]})
        else:
            blocks.extend(_media_blocks([item]))
    return blocks


def _inline_children(node: SyntaxTreeNode) -> list[SyntaxTreeNode]:
    for child in node.children:
        if child.type == "inline":
            return child.children
    return []


def _list(node: SyntaxTreeNode) -> Node:
    items = node.children
    if items and all(_task_marker(item) is not None for item in items):
        return _task_list(items)
    if node.type == "ordered_list":
        start = node.attrs.get("start", 1)
        return {
            "type": "orderedList",
            "attrs": {"order": int(start) if isinstance(start, int | str) else 1},
            "content": [{"type": "listItem", "content": _blocks(item.children)} for item in items],
        }
    return {
        "type": "bulletList",
        "content": [{"type": "listItem", "content": _blocks(item.children)} for item in items],
    }


def _task_marker(item: SyntaxTreeNode) -> str | None:
    first = item.children[0] if item.children else None
    if first is None or first.type != "paragraph":
        return None
    raw = first.children[0].content if first.children else ""  # so \[ ] stays text
    match = _TASK_RE.match(raw)
    return match.group(1) if match else None


def _task_list(items: list[SyntaxTreeNode]) -> Node:
    content: list[Node] = []
    for item in items:
        marker = _task_marker(item)
        blocks = _blocks(item.children)
        lead = blocks[0] if blocks and blocks[0]["type"] == "paragraph" else None
        first = lead["content"] if lead else []
        if first and first[0]["type"] == "text":
            first[0]["text"] = _TASK_RE.sub("", first[0]["text"], count=1)
        inline = list(first)
        nested: list[Node] = []
        for block in blocks[1:] if lead else blocks:
            if block["type"] in ("taskList", "bulletList", "orderedList"):
                nested.append(block)
            else:
                inline.extend([{"type": "hardBreak"}, *_block_inline(block)])
        state = "DONE" if marker in ("x", "X") else "TODO"
        content.append(
            {
                "type": "taskItem",
                "attrs": {"localId": new_local_id(), "state": state},
                "content": fit_inline(inline),
            }
        )
        content.extend(nested)
    return {"type": "taskList", "attrs": {"localId": new_local_id()}, "content": content}


def _block_inline(block: Node) -> list[Node]:
    """Inline stand-ins for a block that has to live inside a task item."""
    if block["type"] in ("paragraph", "heading", "codeBlock"):
        return list(block.get("content") or [])
    out: list[Node] = []
    for media in block.get("content") or []:
        attrs = media.get("attrs") or {}
        if media.get("type") == "media" and attrs.get("type") != "external":
            out.append({"type": "mediaInline", "attrs": dict(attrs)})
        elif media.get("type") == "media" and attrs.get("url"):
            out.append(_text(str(attrs.get("alt") or attrs["url"]), []))
    return out


def _blockquote(node: SyntaxTreeNode) -> Node:
    lead = node.children[0] if node.children else None
    raw = lead.children[0].content if lead and lead.type == "paragraph" and lead.children else ""
    alert = conv.ALERT_RE.match(raw)  # the raw source, so an escaped \[!INFO] stays text
    panel_type = conv.ALERT_TO_PANEL.get(alert.group(1).upper()) if alert else None
    if lead is None or panel_type is None:
        return {"type": "blockquote", "content": _blocks(node.children)}
    content = _inlines(_inline_children(lead), [])
    marker = conv.ALERT_RE.match(content[0].get("text", "")) if content else None
    if not marker or content[0]["type"] != "text" or content[0].get("marks"):
        return {"type": "blockquote", "content": _blocks(node.children)}
    content[0]["text"] = content[0]["text"][marker.end() :]
    while content and (
        content[0]["type"] == "hardBreak"
        or (content[0]["type"] == "text" and not content[0]["text"].strip())
    ):
        content.pop(0)
    body = (_paragraph_from(content) if content else []) + _blocks(node.children[1:])
    return {"type": "panel", "attrs": {"panelType": panel_type}, "content": body}


def _table(node: SyntaxTreeNode) -> Node:
    rows: list[Node] = []
    for section in node.children:
        for row in section.children:
            cells = []
            for cell in row.children:
                kind = "tableHeader" if cell.type == "th" else "tableCell"
                content = _finish_inline(_inlines(_inline_children(cell), []))
                cells.append({"type": kind, "content": [{"type": "paragraph", "content": content}]})
            rows.append({"type": "tableRow", "content": cells})
    return {"type": "table", "content": rows}


def _html_text_block(content: str) -> Node:
    inline: list[Node] = []
    for line in content.strip("\n").split("\n"):
        if inline:
            inline.append({"type": "hardBreak"})
        if line:
            inline.append(_text(line, []))
    return {"type": "paragraph", "content": inline}


def _blocks(nodes: list[SyntaxTreeNode]) -> list[Node]:
    root: list[Node] = []
    frames: list[list[Node]] = [root]
    for node in nodes:
        out = frames[-1]
        kind = node.type
        if kind == "html_block":
            opened = _DETAILS_OPEN.match(node.content)
            if opened:
                title = html.unescape(_ANY_TAG.sub("", opened.group(1) or "")).strip()
                expand: Node = {"type": "expand", "attrs": {"title": title}, "content": []}
                out.append(expand)
                rest = node.content[opened.end() :]
                closed = _DETAILS_CLOSE.search(rest)
                if closed:
                    rest = rest[: closed.start()]
                if rest.strip():
                    expand["content"].extend(_parse_blocks(rest))
                if not closed:
                    frames.append(expand["content"])
            elif _DETAILS_CLOSE.match(node.content.strip()):
                if len(frames) > 1:
                    frames.pop()
            elif not node.content.lstrip().startswith("<!--"):
                out.append(_html_text_block(node.content))
        elif kind == "paragraph":
            out.extend(_paragraph(node))
        elif kind == "heading":
            level = int(node.tag[1]) if node.tag[1:].isdigit() else 1
            content = _finish_inline(_inlines(_inline_children(node), []))
            out.append({"type": "heading", "attrs": {"level": level}, "content": content})
        elif kind in ("bullet_list", "ordered_list"):
            out.append(_list(node))
        elif kind == "blockquote":
            out.append(_blockquote(node))
        elif kind in ("fence", "code_block"):
            code = node.content[:-1] if node.content.endswith("\n") else node.content
            block: Node = {"type": "codeBlock", "content": [_text(code, [])] if code else []}
            language = node.info.strip().split(" ")[0] if node.info else ""
            if language:
                block["attrs"] = {"language": language}
            out.append(block)
        elif kind == "hr":
            out.append({"type": "rule"})
        elif kind == "table":
            out.append(_table(node))
        elif node.children:
            out.extend(_blocks(node.children))
    return root
