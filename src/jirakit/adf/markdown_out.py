"""ADF -> Markdown (CommonMark + GFM tables, plus jirakit's conventions for ADF-only nodes).

The output parses back (with :func:`jirakit.adf.from_markdown`) to the same document:
text is escaped wherever Markdown would read it as syntax, emphasis falls back to
inline HTML (``<strong>``, ``<em>``, ``<s>``) where ``*``/``~~`` would not parse,
and nodes with no Markdown form keep their text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from . import _conventions as conv
from ._fit import child_nodes as _children
from ._fit import format_timestamp, inline_text
from ._fit import node_attrs as _attrs
from .builder import Node
from .plaintext import to_text

__all__ = ["to_markdown"]

_EMPHASIS = {"strong": "**", "em": "*", "strike": "~~"}
_HTML_TAGS = {"strong": "strong", "em": "em", "strike": "s", "underline": "u"}
_MARK_RANK = {"link": 0, "strong": 1, "em": 2, "strike": 3, "underline": 4, "subsup": 5}
_PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
_ALWAYS = re.compile(r"([\\`*\[\]<~|])")
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
_EMOJI_LIKE = re.compile(r"(?<![A-Za-z0-9]):(?=[A-Za-z0-9_+\-]+:)")
_BRACE_LIKE = re.compile(r"\{(?=status:|date:)")
_BANG = re.compile(r"!(?=\[)")
# Every character `_substitute` acts on.
_SPECIAL = re.compile(r"[\\`*\[\]<~|&:{!_]")
_LINE_START = re.compile(r"^([#>+=\-])|^(\d{1,9})([.)])")
_SHORT_NAME = re.compile(r"^:[A-Za-z0-9_+\-]+:$")
_URL = re.compile(r"^(https?|mailto|ftp):[^\s<>]*$", re.I)
_LIST_KINDS = {"bulletList": "bullet", "taskList": "bullet", "orderedList": "ordered"}


def to_markdown(adf: Mapping[str, Any] | None) -> str:
    """Render an ADF document (or any block node) as Markdown; never raises on odd input."""
    if not isinstance(adf, Mapping):
        return ""
    node = dict(adf)
    blocks = _children(node) if node.get("type") == "doc" else [node]
    return _blocks(blocks, _Ctx())


@dataclass(frozen=True)
class _Ctx:
    in_table: bool = False
    in_heading: bool = False


# --- escaping ----------------------------------------------------------------------------


def _substitute(value: str) -> str:
    """The escapes wherever in a line; a no-op on text without a `_SPECIAL` character."""
    out = _ALWAYS.sub(r"\\\1", value)
    out = _ENTITY.sub(r"\\&", out)
    out = _EMOJI_LIKE.sub(r"\\:", out)
    out = _BRACE_LIKE.sub(r"\\{", out)
    out = _BANG.sub(r"\\!", out)
    return _escape_underscores(out)


def _escape(value: str, *, line_start: bool) -> str:
    # Most text has no special character: skip the six passes (a list of 50 tasks
    # renders its notes ~2x faster, benchmarks/service.py).
    out = value if _SPECIAL.search(value) is None else _substitute(value)
    if line_start:
        out = out.lstrip(" \t")
        out = _LINE_START.sub(
            lambda m: f"\\{m.group(1)}" if m.group(1) else f"{m.group(2)}\\{m.group(3)}", out
        )
    return out


def _escape_underscores(value: str) -> str:
    if "_" not in value:
        return value
    chars = []
    for index, char in enumerate(value):
        if char == "_":
            before = value[index - 1] if index else ""
            after = value[index + 1] if index + 1 < len(value) else ""
            if not (before.isalnum() and after.isalnum()):
                chars.append("\\_")
                continue
        chars.append(char)
    return "".join(chars)


# --- inline ------------------------------------------------------------------------------


@dataclass
class _Item:
    kind: str  # "text" | "atom" | "open" | "close" | "break"
    value: str = ""
    mark: Node | None = None
    pair: int = -1  # index of the matching open/close


def _marks_of(node: Node) -> list[Node]:
    marks = [m for m in node.get("marks") or [] if isinstance(m, dict)]
    if any(m.get("type") == "code" for m in marks):
        marks = [m for m in marks if m.get("type") in ("code", "link")]
    seen: dict[str, Node] = {}
    for mark in marks:
        name = str(mark.get("type"))
        if name in _MARK_RANK or name == "code":
            seen.setdefault(name, mark)
    return sorted(seen.values(), key=lambda m: _MARK_RANK.get(str(m["type"]), 9))


def _code_span(value: str) -> str:
    value = value.replace("\n", " ")
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = (
        value.startswith("`")
        or value.endswith("`")
        or (value.startswith(" ") and value.endswith(" ") and value.strip(" ") != "")
    )
    return f"{fence} {value} {fence}" if pad else f"{fence}{value}{fence}"


def _atom(node: Node, ctx: _Ctx) -> str:
    kind = node.get("type")
    attrs = _attrs(node)
    if kind == "mention":
        account = str(attrs.get("id") or "")
        name = re.sub(r"[\[\]\n]", "", str(attrs.get("text") or "")).removeprefix("@")
        if account and not re.search(r"[\s()]", account):
            return f"@[{name}](accountid:{account})"
        return _escape(inline_text(node), line_start=False)
    if kind == "emoji":
        short = str(attrs.get("shortName") or "")
        if _SHORT_NAME.match(short):
            return short
        return _escape(inline_text(node), line_start=False)
    if kind == "status":
        label = re.sub(r"[|}\n]", " ", str(attrs.get("text") or "")).strip()
        color = str(attrs.get("color") or "neutral")
        if not label:
            return ""
        if color == "neutral" or not conv.STATUS_COLOR_RE.match(color):
            return f"{{status:{label}}}"
        return f"{{status:{label}|color={color}}}"
    if kind == "date":
        day = format_timestamp(attrs.get("timestamp"))
        if re.match(r"^\d{4}-\d{2}-\d{2}$", day):
            return f"{{date:{day}}}"
        return _escape(day, line_start=False)
    if kind == "inlineCard":
        url = str(attrs.get("url") or "")
        return f"<{url}>" if _URL.match(url) else _escape(url, line_start=False)
    if kind == "mediaInline":
        return _media_image(attrs, None)
    return _escape(inline_text(node), line_start=False)


def _items(nodes: list[Node], ctx: _Ctx) -> list[_Item]:
    """Flatten inline nodes into text/atom items with balanced mark open/close items."""
    items: list[_Item] = []
    stack: list[Node] = []
    opened_at: list[int] = []

    def close_to(depth: int) -> None:
        while len(stack) > depth:
            mark, opened = stack.pop(), opened_at.pop()
            items[opened].pair = len(items)
            items.append(_Item("close", mark=mark, pair=opened))

    for node in _prepare(nodes):
        kind = node.get("type")
        if kind == "hardBreak":
            close_to(0)
            items.append(_Item("break"))
            continue
        marks = _marks_of(node) if kind == "text" else []
        code = any(m["type"] == "code" for m in marks)
        marks = [m for m in marks if m["type"] != "code"]
        common = 0
        while common < len(stack) and common < len(marks) and stack[common] == marks[common]:
            common += 1
        close_to(common)
        for mark in marks[common:]:
            stack.append(mark)
            opened_at.append(len(items))
            items.append(_Item("open", mark=mark))
        if kind == "text":
            value = str(node.get("text") or "")
            items.append(_Item("atom", _code_span(value)) if code else _Item("text", value))
        else:
            items.append(_Item("atom", _atom(node, ctx)))
    close_to(0)
    return items


def _prepare(nodes: list[Node]) -> list[Node]:
    """Split text at newlines (hard breaks) and move edge whitespace out of ending marks."""
    split: list[Node] = []
    for node in nodes:
        if not isinstance(node, dict):
            continue
        if node.get("type") != "text":
            split.append(node)
            continue
        for index, line in enumerate(str(node.get("text") or "").split("\n")):
            if index:
                split.append({"type": "hardBreak"})
            if line:
                split.append({"type": "text", "text": line, "marks": _marks_of(node)})
    out: list[Node] = []
    for index, node in enumerate(split):
        if node.get("type") != "text":
            out.append(node)
            continue
        marks: list[Node] = node["marks"]
        part: str = node["text"]
        if any(m["type"] == "code" for m in marks):
            out.append(node)
            continue
        before = split[index - 1].get("marks") or [] if index else []
        after = split[index + 1].get("marks") or [] if index + 1 < len(split) else []
        lead_marks = [m for m in marks if m["type"] == "link" or m in before]
        trail_marks = [m for m in marks if m["type"] == "link" or m in after]
        stripped = part.strip()
        if not stripped:
            out.append({**node, "marks": [m for m in lead_marks if m in trail_marks]})
            continue
        lead = part[: len(part) - len(part.lstrip())]
        trail = part[len(part.rstrip()) :]
        if lead:
            out.append({"type": "text", "text": lead, "marks": lead_marks})
        out.append({"type": "text", "text": stripped, "marks": marks})
        if trail:
            out.append({"type": "text", "text": trail, "marks": trail_marks})
    # leading/trailing breaks and spaces carry no text and do not survive Markdown
    while out and _blank(out[0]):
        out.pop(0)
    while out and _blank(out[-1]):
        out.pop()
    return out


def _blank(node: Node) -> bool:
    if node.get("type") == "hardBreak":
        return True
    return node.get("type") == "text" and not str(node.get("text") or "").strip()


def _neighbour(items: list[_Item], rendered: list[str], index: int, *, last: bool) -> str:
    """The rendered character at the edge of item ``index`` (space outside the line).

    Emphasis boundaries not decided yet count as ``*``: whichever delimiter they pick
    is punctuation, and they check for clashes with this one when their turn comes.
    """
    if index < 0 or index >= len(items):
        return " "
    item = items[index]
    if item.kind == "break":
        return " "
    if item.kind in ("open", "close") and not rendered[index]:
        # an empty decided boundary is an autolink's close: its ``<url>`` ends with ">"
        return ">" if item.kind == "close" and rendered[item.pair] else "*"
    value = rendered[index] if item.kind in ("open", "close") else item.value
    if not value:
        return " "
    return value[-1] if last else value[0]


def _delimiter(items: list[_Item], rendered: list[str], index: int, name: str) -> str | None:
    """The Markdown delimiter for the emphasis opened at ``index``, or None for HTML tags."""
    close = items[index].pair
    if close == index + 1:
        return None
    before = _neighbour(items, rendered, index - 1, last=True)
    after = _neighbour(items, rendered, close + 1, last=False)
    first = _neighbour(items, rendered, index + 1, last=False)
    final = _neighbour(items, rendered, close - 1, last=True)
    if first.isspace() or final.isspace():
        return None
    if first in _PUNCT and not (before.isspace() or before in _PUNCT):
        return None
    if final in _PUNCT and not (after.isspace() or after in _PUNCT):
        return None
    candidates = [_EMPHASIS[name]] + (["_"] if name == "em" else [])
    for delimiter in candidates:
        char = delimiter[0]
        if char in (before, after):
            continue
        if char == "_" and (before.isalnum() or after.isalnum()):
            continue
        return delimiter
    return None


def _link_target(mark: Node) -> str:
    attrs = _attrs(mark)
    href = str(attrs.get("href") or "")
    if re.search(r"[\s<>()\\]", href) or not href:
        href = "<" + re.sub(r"([<>\\])", r"\\\1", href) + ">"
    title = str(attrs.get("title") or "")
    if title:
        title = title.replace("\\", "\\\\").replace('"', '\\"')
        return f'({href} "{title}")'
    return f"({href})"


def _inline(nodes: list[Node], ctx: _Ctx) -> str:
    items = _items(nodes, ctx)
    rendered: list[str] = [""] * len(items)
    line_start = not ctx.in_table  # a table cell never starts a line
    for index, item in enumerate(items):
        if item.kind == "text":
            rendered[index] = _escape(item.value, line_start=line_start)
            following = items[index + 1] if index + 1 < len(items) else None
            if rendered[index].endswith("!") and following and following.kind == "open":
                rendered[index] = rendered[index][:-1] + "\\!"  # "!" + "[link]" is an image
            line_start = line_start and not rendered[index]
        elif item.kind == "atom":
            rendered[index] = item.value.replace("|", "\\|") if ctx.in_table else item.value
            line_start = line_start and not item.value
        elif item.kind == "break":
            rendered[index] = "<br>" if ctx.in_table else " " if ctx.in_heading else "\\\n"
            line_start = not (ctx.in_table or ctx.in_heading)
        elif item.kind == "open":
            assert item.mark is not None
            rendered[index], rendered[item.pair] = _mark_pair(items, rendered, index)
            line_start = line_start and not rendered[index]
    # Markdown drops spaces at the end of a line: do it here so the output is stable
    return re.sub(r"[ \t]+(?=\\\n|$)", "", "".join(rendered))


def _mark_pair(items: list[_Item], rendered: list[str], index: int) -> tuple[str, str]:
    mark = items[index].mark
    assert mark is not None
    name = str(mark["type"])
    if name == "link":
        close = items[index].pair
        inner = items[index + 1 : close]
        target = _link_target(mark)
        href = str(_attrs(mark).get("href") or "")
        if (
            len(inner) == 1
            and inner[0].kind == "text"
            and inner[0].value == href
            and _URL.match(href)
        ):
            # autolink: swallow the text
            inner[0].value = ""
            return f"<{href}>", ""
        return "[", "]" + target
    delimiter = _delimiter(items, rendered, index, name) if name in _EMPHASIS else None
    if delimiter:
        return delimiter, delimiter
    if name == "subsup":
        tag = "sup" if _attrs(mark).get("type") == "sup" else "sub"
    else:
        tag = _HTML_TAGS.get(name, "span")
    return f"<{tag}>", f"</{tag}>"


# --- blocks ------------------------------------------------------------------------------


def _indent(text: str, first: str, rest: str, blank: str = "") -> str:
    lines = text.split("\n")
    out = [first + lines[0] if lines[0] else first.rstrip()]
    out.extend(rest + line if line else blank for line in lines[1:])
    return "\n".join(out)


def _blocks(nodes: list[Node], ctx: _Ctx) -> str:
    parts: list[str] = []
    last_kind = ""
    toggle = False
    for node in nodes:
        list_kind = _LIST_KINDS.get(str(node.get("type")), "")
        toggle = (not toggle) if list_kind and list_kind == last_kind else False
        rendered = _block(node, ctx, alternate=toggle)
        if rendered.strip():
            parts.append(rendered)
            last_kind = list_kind
    return "\n\n".join(parts)


def _block(node: Node, ctx: _Ctx, *, alternate: bool = False) -> str:
    kind = node.get("type")
    attrs = _attrs(node)
    if kind == "paragraph":
        return _inline(_children(node), ctx)
    if kind == "heading":
        level = attrs.get("level", 1)
        level = min(max(level, 1), 6) if isinstance(level, int) else 1
        body = _inline(_children(node), _Ctx(in_heading=True))
        if body.endswith("#") and not body.endswith("\\#"):
            body = body[:-1] + "\\#"
        return f"{'#' * level} {body}".rstrip()
    if kind in ("bulletList", "orderedList", "taskList", "decisionList"):
        return _list(node, alternate=alternate)
    if kind == "codeBlock":
        code = "".join(str(t.get("text") or "") for t in _children(node))
        longest = max((len(run) for run in re.findall(r"`{3,}", code)), default=2)
        fence = "`" * (longest + 1)
        language = str(attrs.get("language") or "")
        language = language if re.match(r"^[^\s`]+$", language) else ""
        return f"{fence}{language}\n{code}\n{fence}" if code else f"{fence}{language}\n{fence}"
    if kind == "blockquote":
        return _indent(_blocks(_children(node), ctx), "> ", "> ", ">")
    if kind == "panel":
        alert = conv.PANEL_TO_ALERT.get(str(attrs.get("panelType")), "INFO")
        body = _blocks(_children(node), ctx)
        if not body:
            return f"> [!{alert}]"
        # a blank quoted line keeps e.g. a leading "---" from turning "[!INFO]" into a heading
        gap = "\n" if _children(node)[0].get("type") == "paragraph" else "\n>\n"
        return f"> [!{alert}]{gap}" + _indent(body, "> ", "> ", ">")
    if kind == "rule":
        return "---"
    if kind == "table":
        return _table(node)
    if kind in ("expand", "nestedExpand"):
        title = html.escape(" ".join(str(attrs.get("title") or "").split()), quote=False)
        head = f"<details>\n<summary>{title}</summary>" if title else "<details>"
        body = _blocks(_children(node), ctx)
        return f"{head}\n\n{body}\n\n</details>" if body else f"{head}\n\n</details>"
    if kind == "mediaSingle":
        media = next((c for c in _children(node) if c.get("type") == "media"), None)
        caption = next((c for c in _children(node) if c.get("type") == "caption"), None)
        if media is None:
            return ""
        layout = str(attrs.get("layout") or "center")
        return _media_image(_attrs(media), layout, to_text(caption) if caption else "")
    if kind == "mediaGroup":
        medias = [c for c in _children(node) if c.get("type") == "media"]
        if len(medias) == 1:
            return _media_image(_attrs(medias[0]), "group")
        return "\n".join(_media_image(_attrs(m), None) for m in medias)
    if kind in ("blockCard", "embedCard"):
        url = str(attrs.get("url") or "")
        return f"<{url}>" if _URL.match(url) else _escape(url, line_start=True)
    children = _children(node)
    if children and all(c.get("type") in _INLINE_TYPES for c in children):
        return _inline(children, ctx)
    if children:
        return _blocks(children, ctx)
    return _escape(to_text(node), line_start=True)


_INLINE_TYPES = frozenset(
    {"text", "hardBreak", "mention", "emoji", "date", "status", "inlineCard", "placeholder"}
    | {"mediaInline", "inlineExtension"}
)


def _media_image(attrs: dict[str, Any], layout: str | None, caption: str = "") -> str:
    alt = _escape(str(attrs.get("alt") or ""), line_start=False)
    title = f' "{caption.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
    title = title if caption else ""
    if attrs.get("type") == "external":
        url = str(attrs.get("url") or "")
        return f"![{alt}]({_link_target({'attrs': {'href': url}})[1:-1]}{title})"
    query = [f"collection={quote(str(attrs.get('collection') or ''), safe='')}"]
    query.append(f"type={quote(str(attrs.get('type') or 'file'), safe='')}")
    for key in ("width", "height"):
        value = attrs.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            query.append(f"{key}={value:g}")
    if layout == "group":
        query.append("group=1")
    elif layout and layout != "center":
        query.append(f"layout={quote(layout, safe='')}")
    ident = quote(str(attrs.get("id") or ""), safe="")
    return f"![{alt}](media:{ident}?{'&'.join(query)}{title})"


def _list(node: Node, *, alternate: bool) -> str:
    kind = node.get("type")
    attrs = _attrs(node)
    bullet = "*" if alternate else "-"
    delimiter = ")" if alternate else "."
    order = attrs.get("order", 1)
    number = min(max(order, 0), 999_999_999) if isinstance(order, int) else 1
    lines: list[str] = []
    for item in _children(node):
        item_kind = item.get("type")
        if item_kind in ("taskList", "bulletList", "orderedList", "decisionList"):
            nested = _list(item, alternate=False)
            if lines:
                lines[-1] += "\n" + _indent(nested, "  ", "  ")
            else:
                lines.append(nested)
            continue
        if kind == "orderedList":
            marker = f"{number}{delimiter} "
            number += 1
        elif item_kind == "taskItem":
            done = _attrs(item).get("state") == "DONE"
            marker = f"{bullet} [x] " if done else f"{bullet} [ ] "
        else:
            marker = f"{bullet} "
        if item_kind in ("taskItem", "decisionItem"):
            body = _inline(_children(item), _Ctx())
        else:
            body = _item_body(_children(item))
        pad = " " * (len(marker) if item_kind != "taskItem" else 2)
        lines.append(_indent(body, marker, pad) if body else marker.rstrip())
    return "\n".join(lines)


def _item_body(blocks: list[Node]) -> str:
    parts: list[str] = []
    last_kind = ""
    toggle = False
    for block in blocks:
        list_kind = _LIST_KINDS.get(str(block.get("type")), "")
        toggle = (not toggle) if list_kind and list_kind == last_kind else False
        rendered = _block(block, _Ctx(), alternate=toggle)
        if not rendered.strip():
            continue
        head = rendered.split("\n")[0]
        tight = bool(list_kind) and not last_kind and head not in ("-", "*", "1.", "1)")
        tight = tight and (list_kind == "bullet" or head.startswith(("1.", "1)")))
        parts.append(("\n" if tight else "\n\n") + rendered if parts else rendered)
        last_kind = list_kind
    return "".join(parts)


def _cell(cell: Node) -> str:
    ctx = _Ctx(in_table=True)
    parts: list[str] = []
    for block in _children(cell):
        if block.get("type") in ("paragraph", "heading"):
            rendered = _inline(_children(block), ctx)
        else:
            text = to_text(block)
            rendered = "<br>".join(_escape(line, line_start=False) for line in text.split("\n"))
        if rendered.strip():
            parts.append(rendered.strip())
    return "<br>".join(parts) or " "


def _table(node: Node) -> str:
    rows = [_children(row) for row in _children(node)]
    rows = [row for row in rows if row]
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    grid = [[_cell(cell) for cell in row] + [" "] * (width - len(row)) for row in rows]
    if all(cell.get("type") == "tableHeader" for cell in rows[0]) and len(rows[0]) == width:
        header, body = grid[0], grid[1:]
    else:
        header, body = [" "] * width, grid
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * width) + "|"]
    lines.extend("| " + " | ".join(row) + " |" for row in body)
    return "\n".join(lines)
