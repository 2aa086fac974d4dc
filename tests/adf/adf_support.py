"""ADF nodes as the converters' tests write them (Markdown and wiki markup alike)."""

from __future__ import annotations

from typing import Any


def t(value: str, *marks: str | dict[str, Any]) -> dict[str, Any]:
    """A text node; a mark is its type (``"strong"``) or the whole mark."""
    node: dict[str, Any] = {"type": "text", "text": value}
    if marks:
        node["marks"] = [{"type": m} if isinstance(m, str) else m for m in marks]
    return node


def para(*content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "content": list(content)}
