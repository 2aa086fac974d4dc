"""Field history for ``WAS`` and ``CHANGED``, reconstructed from ``issue["changelog"]``.

A field's history is a chain of `Period`s: the value it had from creation until its first
change (the first change's ``from`` side, or the current value when it never changed),
then the value after each change. Values are tuples of `Elem` — ``(id, display string)``
pairs, the shape changelog items use (``from``/``fromString``, ``to``/``toString``).

Multi-valued fields are recorded two ways by Jira and both are handled: as full
replacements (Sprint: ``"1, 2"`` -> ``"1, 2, 3"``; labels: ``"a b"`` -> ``"a b c"``) and as
deltas (fixVersion/component: ``from`` null + ``to`` X = X added, the reverse = removed);
deltas are undone backwards from the current value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jirakit.jql._dates import parse_issue_datetime
from jirakit.jql._fields import LABELS, SPRINT, FieldSpec, history_element

Elem = tuple[str | None, str | None]
Issue = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Change:
    at: int  # epoch minute
    author: Any
    before: tuple[Elem, ...]
    after: tuple[Elem, ...]
    removed: tuple[Elem, ...]  # the items' "from" side (CHANGED FROM)
    added: tuple[Elem, ...]  # the items' "to" side (CHANGED TO)


@dataclass(frozen=True, slots=True)
class Period:
    start: float  # epoch minute, -inf when unknown
    end: float  # epoch minute, +inf while current
    value: tuple[Elem, ...]
    set_by: Any


def _split(ident: Any, label: Any, kind: str) -> tuple[Elem, ...]:
    if ident in (None, "") and label in (None, ""):
        return ()
    if kind == LABELS:
        labels = str(label or ident or "").split()
        return tuple((None, item) for item in labels)
    if kind == SPRINT:
        ids = [part.strip() for part in str(ident or "").split(",") if part.strip()]
        names = [part.strip() for part in str(label or "").split(",") if part.strip()]
        if len(ids) == len(names):
            return tuple(zip(ids, names, strict=True))
        return tuple((i, None) for i in ids) + tuple((None, n) for n in names)
    return ((None if ident in (None, "") else str(ident), None if label is None else str(label)),)


def _same(a: Elem, b: Elem) -> bool:
    if a[0] is not None and b[0] is not None:
        return a[0] == b[0]
    return a[1] is not None and b[1] is not None and a[1].casefold() == b[1].casefold()


def current_elements(issue: Issue, spec: FieldSpec) -> tuple[Elem, ...]:
    value = issue.get("fields", {}).get(spec.key)
    if value is None or value == "" or value == []:
        return ()
    values = value if isinstance(value, list) else [value]
    return tuple(history_element(spec.kind, v) for v in values)


def _relevant(items: Sequence[Mapping[str, Any]], names: Sequence[str]) -> list[Mapping[str, Any]]:
    out = []
    for item in items:
        field_id = item.get("fieldId")
        if (field_id is not None and field_id.lower() in names) or (
            str(item.get("field", "")).lower() in names
        ):
            out.append(item)
    return out


def field_changes(issue: Issue, spec: FieldSpec) -> list[Change]:
    """The field's changes, oldest first."""
    changelog = issue.get("changelog")
    histories = changelog.get("histories") if changelog else None
    if not histories:
        return []
    names = spec.history
    relevant: list[tuple[int, Mapping[str, Any], list[Mapping[str, Any]]]] = []
    ordered = True
    last = -math.inf
    for history in histories:
        items = history.get("items")
        created = history.get("created")
        if not items or not created:
            continue
        mine = _relevant(items, names)
        if mine:
            at = parse_issue_datetime(created)
            ordered = ordered and at >= last
            last = at
            relevant.append((at, history, mine))
    if not relevant:
        return []
    if not ordered:
        relevant.sort(key=lambda entry: entry[0])
    kind = spec.kind
    if not spec.multi or kind in (LABELS, SPRINT):
        # Full replacements: each change carries its before and after values.
        changes = []
        for at, history, items in relevant:
            if len(items) == 1:
                item = items[0]
                old = _split(item.get("from"), item.get("fromString"), kind)
                new = _split(item.get("to"), item.get("toString"), kind)
            else:
                old = _split(items[0].get("from"), items[0].get("fromString"), kind)
                new = _split(items[-1].get("to"), items[-1].get("toString"), kind)
            changes.append(Change(at, history.get("author"), old, new, old, new))
        return changes
    # Deltas: undo them backwards from the current value.
    state = current_elements(issue, spec)
    backwards: list[Change] = []
    for at, history, items in reversed(relevant):
        removed: list[Elem] = []
        added: list[Elem] = []
        after = state
        for item in reversed(items):
            old = _split(item.get("from"), item.get("fromString"), kind)
            new = _split(item.get("to"), item.get("toString"), kind)
            removed[:0] = old
            added[:0] = new
            kept = [e for e in state if not any(_same(e, n) for n in new)]
            state = tuple(kept) + tuple(o for o in old if not any(_same(o, e) for e in kept))
        backwards.append(
            Change(at, history.get("author"), state, after, tuple(removed), tuple(added))
        )
    backwards.reverse()
    return backwards


def field_periods(issue: Issue, spec: FieldSpec) -> list[Period]:
    """The values the field held, oldest first (the last period is open-ended)."""
    changes = field_changes(issue, spec)
    fields = issue.get("fields", {})
    created = fields.get("created")
    start = float(parse_issue_datetime(created)) if isinstance(created, str) else -math.inf
    creator = fields.get("creator") or fields.get("reporter")
    if not changes:
        return [Period(start, math.inf, current_elements(issue, spec), creator)]
    periods = [Period(start, float(changes[0].at), changes[0].before, creator)]
    for index, change in enumerate(changes):
        end = float(changes[index + 1].at) if index + 1 < len(changes) else math.inf
        periods.append(Period(float(change.at), end, change.after, change.author))
    return periods
