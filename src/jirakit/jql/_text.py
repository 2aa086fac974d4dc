"""Text search for ``~`` / ``!~``: tokenizing, case folding, light stemming, wildcards.

A small model of Jira's Lucene text search:

- documents and queries are split into word tokens (letters and digits), case-folded,
  English stop words dropped and lightly stemmed (``-ies`` -> ``-y``; ``-es`` after
  s/x/z/ch/sh, ``-s``, ``-ing``, ``-ed`` stripped) — the same on both sides, so ``tests``,
  ``tested`` and ``testing`` all find ``test``;
- several terms must all occur (AND), in any order; ``OR`` between terms makes a
  disjunction; ``-term`` / ``NOT term`` excludes; ``+term`` is an ordinary required term;
- a quoted phrase inside the value (``summary ~ "\\"exact phrase\\""``) must occur as
  consecutive words;
- ``*`` (any run of characters) and ``?`` (one character) are wildcards, matched against
  unstemmed tokens; a term may not start with one (Jira rejects that);
- trailing ``~`` (fuzzy) and ``^n`` (boost) decorations are ignored.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from jirakit.jql._errors import evaluation_error

STOP_WORDS: Final = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "if",
        "in",
        "into",
        "is",
        "it",
        "no",
        "not",
        "of",
        "on",
        "or",
        "such",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "will",
        "with",
    ]
)
_WORD_RE: Final = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_QUERY_RE: Final = re.compile(r'([+-]?)"((?:[^"\\]|\\.)*)"|([+-]?)([^\s"]+)')


def stem(word: str) -> str:
    """A light, deterministic English stemmer applied to documents and queries alike:
    one inflection suffix is removed, then a doubled final consonant is undoubled and a
    final ``e`` dropped, so parse/parses/parsed/parsing -> ``pars`` and stop/stopped ->
    ``stop``."""
    if len(word) <= 3:
        return word
    if word.endswith(("'s", "’s")):
        word = word[:-2]
    stripped = True
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("ing") and len(word) > 5:
        word = word[:-3]
    elif (word.endswith("ed") and len(word) > 4) or (
        word.endswith("es")
        and len(word) > 4
        and (word[-3] in "sxz" or word.endswith(("ches", "shes")))
    ):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    else:
        stripped = False
    if stripped and len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiouylsz":
        word = word[:-1]
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


_stem: Final = functools.lru_cache(maxsize=1 << 16)(stem)


def words(text: str) -> list[str]:
    """Case-folded word tokens (stop words kept, not stemmed)."""
    return _WORD_RE.findall(text.casefold())


def analyze(text: str) -> list[str]:
    """Index-side analysis: tokens minus stop words, stemmed."""
    return [_stem(word) for word in words(text) if word not in STOP_WORDS]


def adf_text(node: Any) -> str:
    """Plain text of an Atlassian Document Format node (or a plain string)."""
    if node is None:
        return ""
    if isinstance(node, str):
        return node
    parts: list[str] = []
    _walk_adf(node, parts)
    return " ".join(parts)


def _walk_adf(node: Any, parts: list[str]) -> None:
    if isinstance(node, list):
        for child in node:
            _walk_adf(child, parts)
        return
    if not isinstance(node, Mapping):
        if isinstance(node, str):
            parts.append(node)
        return
    text = node.get("text")
    if isinstance(text, str):
        parts.append(text)
    attrs = node.get("attrs")
    if isinstance(attrs, Mapping) and node.get("type") in {"mention", "emoji", "status"}:
        label = attrs.get("text")
        if isinstance(label, str):
            parts.append(label)
    if node.get("type") in {"inlineCard", "blockCard", "embedCard"} and isinstance(attrs, Mapping):
        url = attrs.get("url")
        if isinstance(url, str):
            parts.append(url)
    content = node.get("content")
    if content is not None:
        _walk_adf(content, parts)


# --- queries --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Term:
    """One query item: a stemmed word, a wildcard pattern, or a phrase (token tuple)."""

    word: str | None = None
    pattern: re.Pattern[str] | None = None
    phrase: tuple[str, ...] = ()
    prohibited: bool = False
    prefix: str = ""  # a wildcard's literal start

    def found_in(self, tokens: Sequence[str], raw: Sequence[str]) -> bool:
        if self.word is not None:
            return self.word in tokens
        if self.pattern is not None:
            return any(self.pattern.fullmatch(token) for token in raw)
        n = len(self.phrase)
        first = self.phrase[0]
        return any(
            tokens[i] == first and tuple(tokens[i : i + n]) == self.phrase
            for i in range(len(tokens) - n + 1)
        )


def _wildcard(term: str, field_name: str, original: str) -> re.Pattern[str]:
    if term[0] in "*?":
        raise evaluation_error(
            f"The text query '{original}' for field '{field_name}' is not allowed to start "
            "with a wildcard."
        )
    body = "".join(
        ".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in term.casefold()
    )
    return re.compile(body)


def _clean(term: str) -> str:
    term = re.sub(r"\^[\d.]*$", "", term)
    return re.sub(r"~[\d.]*$", "", term)


def compile_text_query(query: str, field_name: str) -> Callable[[str], bool]:
    """Compile the value of a ``~`` clause into a predicate over document text."""
    groups: list[list[_Term]] = [[]]
    for match in _QUERY_RE.finditer(query):
        sign_q, phrase, sign_w, word = match.groups()
        sign = sign_q or sign_w
        if word is not None:
            if word == "OR" or word == "||":
                groups.append([])
                continue
            if word in {"AND", "&&"}:
                continue
            if word == "NOT" or word == "!":
                sign = "-"
                groups[-1].append(_Term(prohibited=True))  # marker, replaced below
                continue
            text = _clean(word)
            if not text:
                continue
            prohibited = sign == "-" or _pop_not_marker(groups[-1])
            if "*" in text or "?" in text:
                groups[-1].append(
                    _Term(
                        pattern=_wildcard(text, field_name, query),
                        prohibited=prohibited,
                        prefix=re.split(r"[*?]", text.casefold(), maxsplit=1)[0],
                    )
                )
                continue
            for token in analyze(text):
                groups[-1].append(_Term(word=token, prohibited=prohibited))
        else:
            tokens = tuple(analyze(phrase.replace('\\"', '"')))
            prohibited = sign == "-" or _pop_not_marker(groups[-1])
            if len(tokens) == 1:
                groups[-1].append(_Term(word=tokens[0], prohibited=prohibited))
            elif tokens:
                groups[-1].append(_Term(phrase=tokens, prohibited=prohibited))
    alternatives = [
        [term for term in group if term.word or term.pattern or term.phrase] for group in groups
    ]
    alternatives = [group for group in alternatives if any(not t.prohibited for t in group)]
    if not alternatives:
        return _never

    # A cheap substring pre-check: every stem is a prefix of the word it came from (minus
    # a "y" that replaced "ies"), so a required term whose fragment is absent from the
    # case-folded text cannot match, and most documents are rejected without tokenizing.
    checks = [(tuple(_fragments(group)), group) for group in alternatives]

    def matches(text: str) -> bool:
        folded = text.casefold()
        raw: list[str] | None = None
        tokens: list[str] = []
        for fragments, group in checks:
            if not all(fragment in folded for fragment in fragments):
                continue
            if raw is None:
                raw = _WORD_RE.findall(folded)
                tokens = [_stem(word) for word in raw if word not in STOP_WORDS]
            if all(term.found_in(tokens, raw) != term.prohibited for term in group):
                return True
        return False

    return matches


def _fragment(word: str) -> str:
    return word[:-1] if word.endswith("y") and len(word) > 1 else word


def _fragments(group: list[_Term]) -> list[str]:
    out: list[str] = []
    for term in group:
        if term.prohibited:
            continue
        if term.word is not None:
            out.append(_fragment(term.word))
        elif term.pattern is not None:
            out.append(term.prefix)
        else:
            out.extend(_fragment(token) for token in term.phrase)
    return [fragment for fragment in out if fragment]


def _pop_not_marker(group: list[_Term]) -> bool:
    if group and group[-1] == _Term(prohibited=True):
        group.pop()
        return True
    return False


def _never(_text: str) -> bool:
    return False


def join_texts(parts: Iterable[str]) -> str:
    return "\n".join(part for part in parts if part)
