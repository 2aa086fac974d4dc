"""Jira wiki markup (Server/Data Center renderer, REST API v2) -> ADF.

Blocks: ``h1.``-``h6.``, paragraphs (a single newline is a line break), ``*``/``#``/``-``
lists nested by repetition (``**``, ``#*``), ``{code:lang}``, ``{noformat}``, ``{quote}``,
``bq.``, ``{panel}``/``{info}``/``{note}``/``{warning}``/``{tip}``, ``----``, ``||head||``
and ``|cell|`` tables. Inline: ``*strong*``, ``_em_``, ``-strike-``, ``+underline+``,
``{{mono}}``, ``^sup^``, ``~sub~``, ``??cite??``, ``{*}x{*}`` (mid-word), ``[text|url]``,
``[url]``, ``[~accountid:ID]``/``[~user]``, ``!image!``, ``\\\\`` line breaks, ``{color}``
(colour dropped) and the common emoticons (``:)``, ``(y)``, ``(/)``, ...).
"""

from __future__ import annotations

import re
from typing import Any

from ._fit import fit_doc, fit_inline
from .builder import Node, new_local_id

__all__ = ["from_wiki"]

_HEADING = re.compile(r"^\s*h([1-6])\.\s*(.*)$")
_LIST = re.compile(r"^\s*([*#-]+)(?:\s+(.*)|\s*)$")
_TASK = re.compile(r"^\[([ xX])\](?:\s+|$)")
_RULE = re.compile(r"^\s*-{4,}\s*$")
_BQ = re.compile(r"^\s*bq\.\s?(.*)$")
_MACRO = re.compile(r"^\s*\{(code|noformat|quote|panel|info|note|warning|tip)(?::([^}]*))?\}(.*)$")
_TABLE_ROW = re.compile(r"^\s*\|")
_IMAGE_ONLY = re.compile(r"^\s*!([^!\s|][^!|]*)(?:\|[^!]*)?!\s*$")

PANEL_MACROS = {"info": "info", "note": "note", "warning": "warning", "tip": "tip"}
_BG_TO_PANEL = {
    "#deebff": "info",
    "#eae6ff": "note",
    "#fffae6": "warning",
    "#ffebe6": "error",
    "#e3fcef": "success",
}

EMOTICONS = {
    ":)": ":slight_smile:",
    ":(": ":disappointed:",
    ":P": ":stuck_out_tongue:",
    ":D": ":smiley:",
    ";)": ":wink:",
    "(y)": ":thumbsup:",
    "(n)": ":thumbsdown:",
    "(i)": ":information_source:",
    "(/)": ":white_check_mark:",
    "(x)": ":x:",
    "(!)": ":warning:",
    "(?)": ":question:",
    "(+)": ":heavy_plus_sign:",
    "(-)": ":heavy_minus_sign:",
    "(on)": ":bulb:",
    "(off)": ":electric_plug:",
    "(*)": ":star:",
}
_MARK_CHARS: dict[str, Node] = {
    "*": {"type": "strong"},
    "_": {"type": "em"},
    "??": {"type": "em"},
    "-": {"type": "strike"},
    "+": {"type": "underline"},
    "^": {"type": "subsup", "attrs": {"type": "sup"}},
    "~": {"type": "subsup", "attrs": {"type": "sub"}},
}


def from_wiki(wiki: str) -> Node:
    """Convert Jira wiki markup to a schema-valid ADF document."""
    lines = wiki.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return fit_doc(_Blocks(lines).parse())


def _macro_params(raw: str | None) -> dict[str, str]:
    params: dict[str, str] = {}
    for index, part in enumerate((raw or "").split("|")):
        key, sep, value = part.partition("=")
        if sep:
            params[key.strip().lower()] = value.strip()
        elif part.strip():
            params["" if index == 0 else part.strip().lower()] = part.strip()
    return params


class _Blocks:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.pos = 0

    def parse(self) -> list[Node]:
        blocks: list[Node] = []
        paragraph: list[str] = []

        def flush() -> None:
            if paragraph:
                blocks.extend(_paragraph(paragraph))
                paragraph.clear()

        while self.pos < len(self.lines):
            line = self.lines[self.pos]
            if not line.strip():
                flush()
                self.pos += 1
                continue
            macro = _MACRO.match(line)
            if macro:
                flush()
                blocks.extend(self._macro(macro.group(1), macro.group(2), macro.group(3)))
                continue
            heading = _HEADING.match(line)
            if heading:
                flush()
                content = _inline(heading.group(2).strip())
                blocks.append(
                    {
                        "type": "heading",
                        "attrs": {"level": int(heading.group(1))},
                        "content": content,
                    }
                )
                self.pos += 1
                continue
            if _RULE.match(line):
                flush()
                blocks.append({"type": "rule"})
                self.pos += 1
                continue
            quote = _BQ.match(line)
            if quote:
                flush()
                blocks.append({"type": "blockquote", "content": _paragraph([quote.group(1)])})
                self.pos += 1
                continue
            if _list_line(line):
                flush()
                blocks.extend(self._list())
                continue
            if _TABLE_ROW.match(line):
                flush()
                blocks.append(self._table())
                continue
            paragraph.append(line)
            self.pos += 1
        flush()
        return blocks

    def _macro(self, name: str, raw_params: str | None, rest: str) -> list[Node]:
        """A ``{name}...{name}`` block; the body may start on the opening line."""
        closing = "{" + name + "}"
        body: list[str] = []
        self.pos += 1
        tail = rest
        while True:
            end = tail.find(closing)
            if end >= 0:
                body.append(tail[:end])
                after = tail[end + len(closing) :]
                if after.strip():
                    self.lines.insert(self.pos, after)
                break
            body.append(tail)
            if self.pos >= len(self.lines):
                break
            tail = self.lines[self.pos]
            self.pos += 1
        if body and not body[0].strip():
            body = body[1:]
        if body and not body[-1].strip():
            body = body[:-1]
        params = _macro_params(raw_params)
        if name in ("code", "noformat"):
            language = params.get("language") or (params.get("", "") if name == "code" else "")
            node: Node = {
                "type": "codeBlock",
                "content": [{"type": "text", "text": "\n".join(body)}],
            }
            if language and name == "code":
                node["attrs"] = {"language": language.lower()}
            return [node]
        inner = _Blocks(body).parse()
        if name == "quote":
            return [{"type": "blockquote", "content": inner}]
        if name == "panel":
            colour = params.get("bgcolor", "").lower()
            panel_type = _BG_TO_PANEL.get(colour, "info")
        else:
            panel_type = PANEL_MACROS[name]
        title = params.get("title", "")
        if title:
            inner = [{"type": "heading", "attrs": {"level": 3}, "content": _inline(title)}, *inner]
        return [{"type": "panel", "attrs": {"panelType": panel_type}, "content": inner}]

    def _list(self) -> list[Node]:
        """Consecutive list lines, nested by the length of their ``*``/``#`` prefix."""
        entries: list[tuple[str, str]] = []
        while self.pos < len(self.lines):
            match = _list_line(self.lines[self.pos])
            if not match or _RULE.match(self.lines[self.pos]):
                break
            entries.append((match.group(1), match.group(2) or ""))
            self.pos += 1
        return _build_lists(entries, 1)

    def _table(self) -> Node:
        rows: list[Node] = []
        while self.pos < len(self.lines) and _TABLE_ROW.match(self.lines[self.pos]):
            rows.append(_table_row(self.lines[self.pos].strip()))
            self.pos += 1
        return {"type": "table", "content": rows}


def _list_line(line: str) -> re.Match[str] | None:
    match = _LIST.match(line)
    if match and (set(match.group(1)) <= {"*", "#"} or match.group(1) == "-"):
        return match
    return None


def _kind_at(prefix: str, depth: int) -> str:
    return "orderedList" if prefix[min(depth, len(prefix)) - 1] == "#" else "bulletList"


def _build_lists(entries: list[tuple[str, str]], depth: int) -> list[Node]:
    """Lists at ``depth`` from (prefix, text) entries; deeper entries nest in the last item."""
    lists: list[Node] = []
    index = 0
    while index < len(entries):
        kind = _kind_at(entries[index][0], depth)
        items: list[tuple[str, list[tuple[str, str]]]] = []
        while index < len(entries):
            prefix, text = entries[index]
            if len(prefix) <= depth:
                if _kind_at(prefix, depth) != kind and items:
                    break
                items.append((text, []))
            else:
                if not items:
                    items.append(("", []))
                items[-1][1].append((prefix, text))
            index += 1
        lists.append(_make_list(kind, items, depth))
    return lists


def _make_list(kind: str, items: list[tuple[str, list[tuple[str, str]]]], depth: int) -> Node:
    if kind == "bulletList" and items and all(_TASK.match(text) for text, _ in items):
        content: list[Node] = []
        for text, nested in items:
            marker = _TASK.match(text)
            state = "DONE" if marker and marker.group(1) in "xX" else "TODO"
            body = _TASK.sub("", text, count=1)
            content.append(
                {
                    "type": "taskItem",
                    "attrs": {"localId": new_local_id(), "state": state},
                    "content": _inline(body),
                }
            )
            content.extend(_build_lists(nested, depth + 1))
        return {"type": "taskList", "attrs": {"localId": new_local_id()}, "content": content}
    list_items = []
    for text, nested in items:
        blocks: list[Node] = [{"type": "paragraph", "content": _inline(text)}]
        blocks.extend(_build_lists(nested, depth + 1))
        list_items.append({"type": "listItem", "content": blocks})
    node: Node = {"type": kind, "content": list_items}
    if kind == "orderedList":
        node["attrs"] = {"order": 1}
    return node


def _split_cells(row: str) -> list[tuple[bool, str]]:
    """``||a||b|c|`` -> [(header, text), ...], honouring ``\\|`` and ``[a|b]`` links."""
    cells: list[tuple[bool, str]] = []
    index = 0
    current: list[str] = []
    header = False
    depth = 0
    started = False
    while index < len(row):
        char = row[index]
        if char == "\\" and index + 1 < len(row):
            current.append(row[index : index + 2])
            index += 2
            continue
        if char in "[{":
            depth += 1
        elif char in "]}" and depth:
            depth -= 1
        if char == "|" and not depth:
            if started:
                cells.append((header, "".join(current)))
            current = []
            started = True
            header = row.startswith("||", index)
            index += 2 if header else 1
            continue
        current.append(char)
        index += 1
    if "".join(current).strip():
        cells.append((header, "".join(current)))
    return cells


def _table_row(row: str) -> Node:
    cells = []
    for header, text in _split_cells(row):
        content = _inline(text.strip())
        cells.append(
            {
                "type": "tableHeader" if header else "tableCell",
                "content": [{"type": "paragraph", "content": content}],
            }
        )
    return {"type": "tableRow", "content": cells}


def _paragraph(lines: list[str]) -> list[Node]:
    if len(lines) == 1:
        image = _IMAGE_ONLY.match(lines[0])
        if image:
            return [_media_single(image.group(1).strip())]
    content: list[Node] = []
    for line in lines:
        if content:
            content.append({"type": "hardBreak"})
        content.extend(_inline(line.strip()))
    return [{"type": "paragraph", "content": content}]


def _media_single(name: str) -> Node:
    attrs: dict[str, Any]
    if re.match(r"^https?://", name):
        attrs = {"type": "external", "url": name}
    else:
        attrs = {"type": "file", "id": name, "collection": ""}
    return {
        "type": "mediaSingle",
        "attrs": {"layout": "center"},
        "content": [{"type": "media", "attrs": attrs}],
    }


# --- inline ------------------------------------------------------------------------------

_EMOTICON_RE = re.compile("|".join(re.escape(k) for k in sorted(EMOTICONS, key=len, reverse=True)))
_ESCAPABLE = frozenset("\\*_-+^~?{}[]|!():;#")
_BRACED_MARK = re.compile(r"\{([*_\-+^~])\}")


def _inline(text: str) -> list[Node]:
    return fit_inline(_Inline(text).parse([]))


_BLOCK_WORD = re.compile(r"h[1-6]\.|bq\.")


def _escapes(text: str, index: int) -> bool:
    """Whether the backslash at ``index`` escapes the next character."""
    if text[index + 1] in _ESCAPABLE:
        return True
    return not text[:index].strip() and bool(_BLOCK_WORD.match(text, index + 1))


class _Inline:
    def __init__(self, text: str) -> None:
        self.text = text

    def parse(self, marks: list[Node]) -> list[Node]:
        out: list[Node] = []
        buf: list[str] = []
        text = self.text
        index = 0

        def flush() -> None:
            if buf:
                out.append(_text("".join(buf), marks))
                buf.clear()

        while index < len(text):
            char = text[index]
            rest = text[index:]
            if rest.startswith("\\\\"):
                # a line break; the spaces around it are layout, not text
                while buf and buf[-1].isspace():
                    buf.pop()
                flush()
                if out and out[-1].get("type") == "text" and not out[-1].get("marks"):
                    out[-1]["text"] = out[-1]["text"].rstrip() or out[-1]["text"]
                out.append({"type": "hardBreak"})
                index += 2
                while index < len(text) and text[index] == " ":
                    index += 1
                continue
            if char == "\\" and index + 1 < len(text) and _escapes(text, index):
                buf.append(text[index + 1])
                index += 2
                continue
            if rest.startswith("{{"):
                end = text.find("}}", index + 2)
                if end > index + 2:
                    flush()
                    out.append(_text(text[index + 2 : end], [*marks, {"type": "code"}]))
                    index = end + 2
                    continue
            if rest.startswith("{color"):
                match = re.match(r"\{color(?::[^}]*)?\}", rest)
                if match:
                    index += match.end()
                    continue
            braced = _BRACED_MARK.match(rest)
            if braced:
                closing = text.find(braced.group(0), index + 3)
                if closing > index + 3:
                    flush()
                    inner = _Inline(text[index + 3 : closing])
                    out.extend(inner.parse([*marks, _MARK_CHARS[braced.group(1)]]))
                    index = closing + 3
                    continue
            if char == "[":
                node = _bracket(text, index, marks)
                if node is not None:
                    flush()
                    nodes, index = node
                    out.extend(nodes)
                    continue
            if char == "!":
                match = re.match(r"!([^!\s|][^!|]*)(?:\|[^!]*)?!", rest)
                if match:
                    flush()
                    out.append(_text(match.group(1), marks))
                    index += match.end()
                    continue
            emoticon = _EMOTICON_RE.match(rest)
            if emoticon and (index == 0 or not text[index - 1].isalnum()):
                flush()
                out.append({"type": "emoji", "attrs": {"shortName": EMOTICONS[emoticon.group(0)]}})
                index += emoticon.end()
                continue
            delimiter = "??" if rest.startswith("??") else char
            if delimiter in _MARK_CHARS:
                close = _closing(text, index, delimiter)
                if close is not None:
                    flush()
                    inner = _Inline(text[index + len(delimiter) : close])
                    out.extend(inner.parse([*marks, _MARK_CHARS[delimiter]]))
                    index = close + len(delimiter)
                    continue
            buf.append(char)
            index += 1
        flush()
        return out


def _closing(text: str, start: int, delimiter: str) -> int | None:
    """Index of the delimiter closing the one at ``start`` (word-boundary rules)."""
    size = len(delimiter)
    before = text[start - 1] if start else " "
    after = text[start + size] if start + size < len(text) else " "
    if before.isalnum() or after.isspace():
        return None
    search = start + size + 1
    while True:
        end = text.find(delimiter, search)
        if end < 0:
            return None
        prev = text[end - 1]
        nxt = text[end + size] if end + size < len(text) else " "
        if not prev.isspace() and not nxt.isalnum() and prev != "\\":
            return end
        search = end + 1


def _bracket(text: str, start: int, marks: list[Node]) -> tuple[list[Node], int] | None:
    end = text.find("]", start + 1)
    if end < 0:
        return None
    inner = text[start + 1 : end]
    if not inner:
        return None
    if inner.startswith("~"):
        target = inner[1:]
        account = target[len("accountid:") :] if target.startswith("accountid:") else target
        return [{"type": "mention", "attrs": {"id": account, "text": f"@{account}"}}], end + 1
    if inner.startswith("^"):
        return [_text(inner[1:], marks)], end + 1
    label, sep, href = inner.rpartition("|") if "|" in inner else ("", "", inner)
    if sep and "|" in label:  # [text|url|tooltip]
        label, _, href = label.partition("|")
    href = href.strip()
    if not re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*:|/|#|www\.)", href):
        return None
    link = {"type": "link", "attrs": {"href": href}}
    content = _Inline(label).parse([*marks, link]) if label else [_text(href, [*marks, link])]
    return content, end + 1


def _text(value: str, marks: list[Node]) -> Node:
    node: Node = {"type": "text", "text": value}
    if marks:
        node["marks"] = list(marks)
    return node
