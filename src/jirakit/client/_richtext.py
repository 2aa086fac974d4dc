"""Rich-text values per API flavour: ADF documents for Cloud v3, strings for v2."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def text_to_adf(text: str) -> dict[str, Any]:
    """Plain text to a minimal ADF document: blank lines split paragraphs, single newlines
    become hard breaks."""
    content: list[dict[str, Any]] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        inline: list[dict[str, Any]] = []
        for i, line in enumerate(block.split("\n")):
            if i:
                inline.append({"type": "hardBreak"})
            if line:
                inline.append({"type": "text", "text": line})
        content.append({"type": "paragraph", "content": inline})
    return {"type": "doc", "version": 1, "content": content}


def rich_text(value: Any, flavour: str) -> Any:
    """A description/comment/environment value as the flavour's API expects it.

    ADF dicts pass through on Cloud; strings become ADF on Cloud and stay strings on
    Data Center. None passes through (it clears the field).
    """
    if value is None:
        return None
    if flavour == "cloud":
        if isinstance(value, Mapping):
            return dict(value)
        return text_to_adf(str(value))
    if isinstance(value, Mapping):
        raise TypeError("Data Center (v2) takes rich text as a string, not an ADF document")
    return str(value)
