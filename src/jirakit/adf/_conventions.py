"""The Markdown spellings jirakit uses for ADF nodes Markdown has no syntax for.

Shared by the Markdown parser and renderer so both sides agree:

========== ====================================================
mention    ``@[Display Name](accountid:5b10a2844c20165700ede21g)``
emoji      ``:smile:``
status     ``{status:IN PROGRESS|color=blue}`` (color optional, default neutral)
date       ``{date:2024-05-17}`` (UTC)
panel      ``> [!INFO]`` as the first line of a blockquote (NOTE, TIP, WARNING, ...)
media      ``![alt](media:ID?collection=C&type=file)``
expand     ``<details><summary>Title</summary> ... </details>``
underline  ``<u>text</u>``
========== ====================================================
"""

from __future__ import annotations

import re

MENTION_RE = re.compile(r"@\[([^\]\n]*)\]\(accountid:([^)\s]+)\)")
EMOJI_RE = re.compile(r":([A-Za-z0-9_+\-]+):")
STATUS_RE = re.compile(r"\{status:([^|}\n]+)(?:\|color=(#[0-9a-fA-F]{6}|[a-z]+))?\}")
DATE_RE = re.compile(r"\{date:(\d{4}-\d{2}-\d{2})\}")
ALERT_RE = re.compile(r"^\[!([A-Za-z]+)\][ \t]*")
MEDIA_SCHEME = "media:"

STATUS_COLOR_RE = re.compile(r"^(neutral|purple|blue|red|yellow|green|#[0-9a-fA-F]{6})$")

#: ``> [!NAME]`` alert name -> ADF panelType (GitHub's IMPORTANT/CAUTION map to note/error).
ALERT_TO_PANEL = {
    "INFO": "info",
    "NOTE": "note",
    "TIP": "tip",
    "WARNING": "warning",
    "ERROR": "error",
    "SUCCESS": "success",
    "CUSTOM": "custom",
    "IMPORTANT": "note",
    "CAUTION": "error",
}
PANEL_TO_ALERT = {
    "info": "INFO",
    "note": "NOTE",
    "tip": "TIP",
    "warning": "WARNING",
    "error": "ERROR",
    "success": "SUCCESS",
    "custom": "CUSTOM",
}

#: Inline HTML tags understood as marks (``<u>`` is the only way to write underline).
HTML_MARKS = {
    "u": "underline",
    "ins": "underline",
    "strong": "strong",
    "b": "strong",
    "em": "em",
    "i": "em",
    "s": "strike",
    "del": "strike",
    "strike": "strike",
    "code": "code",
    "sub": "sub",
    "sup": "sup",
}
