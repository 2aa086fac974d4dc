"""Rich-text values per API flavour: ADF documents for Cloud v3, wiki markup for v2.

Descriptions, comment bodies, environment, worklog comments and text-area custom fields
take any of:

- a ``str``: **Markdown** (CommonMark plus tables and strikethrough, as `jirakit.adf`
  reads it). A single newline inside a paragraph joins the lines, as in any Markdown; end
  the line with two spaces or a backslash, or use `Text`, to keep it;
- `Markdown` ("…"): the same, said explicitly;
- `Text` ("…"): plain text, nothing interpreted; blank lines split paragraphs and every
  single newline is kept as a line break;
- `Wiki` ("…"): Jira wiki markup, the native format of Data Center (v2);
- an ADF document (a mapping with ``"type": "doc"``), Cloud's native format.

Each is converted through `jirakit.adf` to what the flavour speaks: ADF on Cloud
(``/rest/api/3``), wiki markup on Data Center (``/rest/api/2``). ``None`` passes through
(it clears the field).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias


@dataclass(frozen=True, slots=True)
class Markdown:
    """Markdown text (the default reading of a plain ``str``)."""

    text: str


@dataclass(frozen=True, slots=True)
class Text:
    """Plain text: no markup is interpreted; newlines are kept."""

    text: str


@dataclass(frozen=True, slots=True)
class Wiki:
    """Jira wiki markup, sent as is to Data Center and converted to ADF for Cloud."""

    text: str


RichText: TypeAlias = str | Markdown | Text | Wiki | Mapping[str, Any]


def to_adf(value: RichText) -> dict[str, Any]:
    """Any accepted rich-text value as an ADF document."""
    from jirakit.adf import from_markdown, from_text, from_wiki

    if isinstance(value, Text):
        return dict(from_text(value.text))
    if isinstance(value, Wiki):
        return dict(from_wiki(value.text))
    if isinstance(value, Markdown):
        return dict(from_markdown(value.text))
    if isinstance(value, str):
        return dict(from_markdown(value))
    if isinstance(value, Mapping):
        if value.get("type") != "doc":
            raise TypeError(
                "a rich-text mapping must be an ADF document ({'type': 'doc', ...}); "
                f"got type {value.get('type')!r}"
            )
        return dict(value)
    raise TypeError(
        f"rich text must be str, Markdown, Text, Wiki or an ADF dict, not {type(value).__name__}"
    )


def to_wiki_markup(value: RichText) -> str:
    """Any accepted rich-text value as Jira wiki markup (Data Center / v2)."""
    from jirakit.adf import to_wiki

    if isinstance(value, Wiki):
        return value.text
    return to_wiki(to_adf(value))


def text_to_adf(text: str) -> dict[str, Any]:
    """Plain text to ADF (kept for callers of the old helper): see `Text`."""
    return to_adf(Text(text))


def is_rich(value: Any) -> bool:
    """True for the explicit wrappers and ADF documents (not for a bare ``str``)."""
    return isinstance(value, Markdown | Text | Wiki) or (
        isinstance(value, Mapping) and value.get("type") == "doc"
    )


def rich_text(value: Any, flavour: str) -> Any:
    """A description/comment/environment value as the flavour's API expects it: an ADF
    document on Cloud, a wiki-markup string on Data Center. None passes through."""
    if value is None:
        return None
    if flavour == "cloud":
        return to_adf(value)
    return to_wiki_markup(value)


__all__ = ["Markdown", "RichText", "Text", "Wiki", "rich_text", "to_adf", "to_wiki_markup"]
