"""ADF -> Jira wiki markup (Server/Data Center renderer, REST API v2).

The inverse of :func:`jirakit.adf.from_wiki`. Nodes wiki markup has no syntax for keep
their text: task lists become ``* [ ]``/``* [x]`` bullets (read back as tasks), expand
becomes a bold title line plus its content, status and date become plain text, emoji
without an emoticon become ``:short_name:`` text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ._fit import child_nodes as _children
from ._fit import inline_text
from ._fit import node_attrs as _attrs
from .builder import Node
from .plaintext import to_text
from .wiki_in import EMOTICONS

__all__ = ["to_wiki"]

_BREAK = " \\\\ "  # a line break inside list items and table cells
_EMOTICON_FOR = {short: emoticon for emoticon, short in EMOTICONS.items()}
_PANEL_MACRO = {"info": "{info}", "note": "{note}", "warning": "{warning}", "tip": "{tip}"}
_PANEL_COLOUR = {"error": "#ffebe6", "success": "#e3fcef", "custom": "#deebff"}
_WIKI_MARKS = {"strong": "*", "em": "_", "strike": "-", "underline": "+"}
_ALWAYS = re.compile(r"([*_{}\[\]|^~]|!(?=\S))")
_LINE_START = re.compile(r"^(\s*)([*#-]+(?:\s|$)|h[1-6]\.|bq\.|-{4})")
_EMOTICON_TEXT = re.compile(r"(:\)|:\(|:P|:D|;\)|\([yni/x!?+\-*]\)|\(on\)|\(off\))")
_ACCOUNT_ID = re.compile(r"^((?=.*\d)[0-9A-Za-z]{20,}|.*:.*)$")  # else a Server username


def to_wiki(adf: Mapping[str, Any] | None) -> str:
    """Render an ADF document (or any block node) as Jira wiki markup."""
    if not isinstance(adf, Mapping):
        return ""
    node = dict(adf)
    blocks = _children(node) if node.get("type") == "doc" else [node]
    return _blocks(blocks)


def _escape(value: str) -> str:
    out = _ALWAYS.sub(r"\\\1", value).replace("??", "?\\?")
    out = _EMOTICON_TEXT.sub(lambda m: "\\" + m.group(0), out)
    chars = []
    for index, char in enumerate(out):
        if char in "-+":
            before = out[index - 1] if index else " "
            after = out[index + 1] if index + 1 < len(out) else " "
            if not (before.isalnum() and after.isalnum()) and not (
                before.isspace() and after.isspace()
            ):
                chars.append("\\" + char)
                continue
        chars.append(char)
    return "".join(chars)


def _inline(nodes: list[Node], *, breaks: str = "\n") -> str:
    out: list[str] = []
    for index, node in enumerate(nodes):
        kind = node.get("type")
        attrs = _attrs(node)
        if kind == "text":
            before = out[-1][-1:] if out and out[-1] else " "
            later = nodes[index + 1] if index + 1 < len(nodes) else {}
            after = str(later.get("text") or " ")[:1] if later.get("type") == "text" else " "
            out.append(_text(node, squeezed=before.isalnum() or after.isalnum()))
        elif kind == "hardBreak":
            out.append(breaks)
        elif kind == "mention":
            account = str(attrs.get("id") or "")
            out.append(f"[~accountid:{account}]" if _ACCOUNT_ID.match(account) else f"[~{account}]")
        elif kind == "emoji":
            short = str(attrs.get("shortName") or "")
            out.append(_EMOTICON_FOR.get(short) or _escape(inline_text(node)))
        elif kind == "inlineCard":
            out.append(f"[{attrs.get('url', '')}]")
        else:
            out.append(_escape(inline_text(node)))
    text = "".join(out)
    return text if breaks != "\n" else "\n".join(_guard_line(line) for line in text.split("\n"))


def _guard_line(line: str) -> str:
    return _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), line.strip())


def _text(node: Node, *, squeezed: bool = False) -> str:
    value = str(node.get("text") or "")
    marks = [m for m in node.get("marks") or [] if isinstance(m, dict)]
    names = {str(m.get("type")) for m in marks}
    if "code" in names:
        body = "{{" + value.replace("}}", "} }") + "}}"
    else:
        stripped = value.strip()
        if not stripped:
            return value
        lead = value[: len(value) - len(value.lstrip())]
        trail = value[len(value.rstrip()) :]
        body = _escape(stripped)
        for mark in marks:
            name = str(mark.get("type"))
            if name in _WIKI_MARKS:
                char = _WIKI_MARKS[name]
                body = (
                    f"{{{char}}}{body}{{{char}}}"
                    if squeezed or _tight(value)
                    else f"{char}{body}{char}"
                )
            elif name == "subsup":
                char = "^" if _attrs(mark).get("type") == "sup" else "~"
                body = f"{char}{body}{char}"
        body = lead + body + trail
    link = next((m for m in marks if m.get("type") == "link"), None)
    if link:
        href = str(_attrs(link).get("href") or "")
        return f"[{href}]" if value == href else f"[{body}|{href}]"
    return body


def _tight(value: str) -> bool:
    """Whether plain ``*x*`` would not parse (the caller cannot see neighbours: be safe)."""
    return value != value.strip() or not value[:1].isalnum() or not value[-1:].isalnum()


def _blocks(nodes: list[Node]) -> str:
    parts = [_block(node) for node in nodes]
    return "\n\n".join(part for part in parts if part.strip())


def _block(node: Node) -> str:
    kind = node.get("type")
    attrs = _attrs(node)
    if kind == "paragraph":
        return _inline(_children(node))
    if kind == "heading":
        level = attrs.get("level", 1)
        level = min(max(level, 1), 6) if isinstance(level, int) else 1
        return f"h{level}. " + _inline(_children(node), breaks=" ")
    if kind in ("bulletList", "orderedList", "taskList", "decisionList"):
        return "\n".join(_list(node, ""))
    if kind == "codeBlock":
        code = "".join(str(t.get("text") or "") for t in _children(node))
        language = str(attrs.get("language") or "")
        if language:
            return f"{{code:{language}}}\n{code}\n{{code}}"
        return f"{{noformat}}\n{code}\n{{noformat}}"
    if kind == "blockquote":
        return "{quote}\n" + _blocks(_children(node)) + "\n{quote}"
    if kind == "panel":
        panel_type = str(attrs.get("panelType") or "info")
        body = _blocks(_children(node))
        macro = _PANEL_MACRO.get(panel_type)
        if macro:
            return f"{macro}\n{body}\n{macro}"
        colour = _PANEL_COLOUR.get(panel_type, "#deebff")
        return f"{{panel:bgColor={colour}}}\n{body}\n{{panel}}"
    if kind == "rule":
        return "----"
    if kind == "table":
        return _table(node)
    if kind in ("expand", "nestedExpand"):
        title = str(attrs.get("title") or "")
        body = _blocks(_children(node))
        return (f"*{_escape(title)}*\n\n" if title.strip() else "") + body
    if kind == "mediaSingle":
        media = next((c for c in _children(node) if c.get("type") == "media"), None)
        return _media(media) if media else ""
    if kind == "mediaGroup":
        return "\n\n".join(_media(m) for m in _children(node) if m.get("type") == "media")
    children = _children(node)
    if children and all(c.get("type") in _INLINE_TYPES for c in children):
        return _inline(children)
    if children:
        return _blocks(children)
    return _escape(to_text(node))


_INLINE_TYPES = frozenset(
    {"text", "hardBreak", "mention", "emoji", "date", "status", "inlineCard", "placeholder"}
    | {"mediaInline", "inlineExtension"}
)


def _media(media: Node) -> str:
    attrs = _attrs(media)
    name = str(attrs.get("url") if attrs.get("type") == "external" else attrs.get("id") or "")
    name = re.sub(r"[!|\n]", "", name)
    return f"!{name}!" if name else ""


def _list(node: Node, prefix: str) -> list[str]:
    kind = node.get("type")
    char = "#" if kind == "orderedList" else "*"
    lines: list[str] = []
    for item in _children(node):
        item_kind = item.get("type")
        if item_kind in ("taskList", "bulletList", "orderedList", "decisionList"):
            lines.extend(_list(item, prefix + char))
            continue
        if item_kind in ("taskItem", "decisionItem"):
            done = _attrs(item).get("state") == "DONE"
            box = "[x] " if done else "[ ] "
            box = box if item_kind == "taskItem" else ""
            body = _inline(_children(item), breaks=_BREAK)
            lines.append(f"{prefix}{char} {box}{body}".rstrip())
            continue
        texts: list[str] = []
        nested: list[str] = []
        for block in _children(item):
            if block.get("type") in ("bulletList", "orderedList", "taskList"):
                nested.extend(_list(block, prefix + char))
            elif block.get("type") == "paragraph":
                texts.append(_inline(_children(block), breaks=_BREAK))
            elif block.get("type") == "codeBlock":
                code = to_text(block).replace("\n", " ")
                texts.append("{{" + code + "}}" if code.strip() else "")
            else:
                texts.append(_escape(to_text(block)).replace("\n", " \\\\ "))
        body = " \\\\ ".join(t for t in texts if t.strip())
        lines.append(f"{prefix}{char} {body}".rstrip())
        lines.extend(nested)
    return lines


def _table(node: Node) -> str:
    lines: list[str] = []
    for row in _children(node):
        cells: list[str] = []
        for cell in _children(row):
            texts = []
            for block in _children(cell):
                if block.get("type") in ("paragraph", "heading"):
                    texts.append(_inline(_children(block), breaks=_BREAK))
                else:
                    texts.append(_escape(to_text(block)).replace("\n", " \\\\ "))
            body = " \\\\ ".join(t for t in texts if t.strip()) or " "
            sep = "||" if cell.get("type") == "tableHeader" else "|"
            cells.append(f"{sep}{body}")
        closing = "||" if cells and cells[-1].startswith("||") else "|"
        lines.append("".join(cells) + closing)
    return "\n".join(lines)
