"""Evaluate JQL over issues in the REST API's JSON shape.

``compile(query, ctx)`` does all the work that does not depend on the issue — resolving
fields, aliases, custom field names, functions, dates, user names; case-folding the
values into sets — and returns a plain predicate whose per-issue work is a dict lookup or
two for the common clauses. ``matches`` is the one-shot convenience; ``sort_key`` builds
an ORDER BY key.

Semantics worth knowing (all as Jira does):

- ``!=``, ``NOT IN``, ``!~`` never match an issue whose field is EMPTY
  (``assignee != bob`` excludes unassigned issues); use ``OR assignee IS EMPTY``.
- ``NOT`` is pushed down to the clauses, inverting their operators (De Morgan), so
  ``NOT assignee = bob`` is ``assignee != bob`` and excludes unassigned issues too.
- Values match by name (case-insensitive), id, key; users by accountId, email, display
  name or username; ``resolution = Unresolved`` means ``resolution IS EMPTY``.
- Dates: see `jirakit.jql._dates` (minute granularity, ``ctx.tz``, relative durations,
  epoch milliseconds); text search: see `jirakit.jql._text`.
- ORDER BY: EMPTY sorts as the largest value (last for ASC, first for DESC); ties are
  broken by numeric issue id ascending; a missing direction means ASC. Without ORDER BY
  the order is newest first (numeric issue id descending).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final

from jirakit.jql import _dates
from jirakit.jql import _fields as F
from jirakit.jql._errors import evaluation_error
from jirakit.jql._functions import FunctionResult, resolve_user
from jirakit.jql._functions import evaluate as evaluate_function
from jirakit.jql._history import Change, Elem, Period, field_changes, field_periods
from jirakit.jql._text import compile_text_query
from jirakit.jql.ast import (
    And,
    Clause,
    Direction,
    Empty,
    Function,
    Node,
    Not,
    Operand,
    Operator,
    Or,
    Predicate,
    PredicateKind,
    Query,
    Value,
    ValueList,
)
from jirakit.jql.context import EvalContext

__all__ = ["compile", "matches", "sort_key"]

Issue = Mapping[str, Any]
Pred = Callable[[Issue], bool]

_INVERSE: Final = {
    Operator.EQUALS: Operator.NOT_EQUALS,
    Operator.NOT_EQUALS: Operator.EQUALS,
    Operator.IN: Operator.NOT_IN,
    Operator.NOT_IN: Operator.IN,
    Operator.LIKE: Operator.NOT_LIKE,
    Operator.NOT_LIKE: Operator.LIKE,
    Operator.IS: Operator.IS_NOT,
    Operator.IS_NOT: Operator.IS,
    Operator.GREATER_THAN: Operator.LESS_THAN_EQUALS,
    Operator.LESS_THAN_EQUALS: Operator.GREATER_THAN,
    Operator.LESS_THAN: Operator.GREATER_THAN_EQUALS,
    Operator.GREATER_THAN_EQUALS: Operator.LESS_THAN,
    Operator.WAS: Operator.WAS_NOT,
    Operator.WAS_NOT: Operator.WAS,
    Operator.WAS_IN: Operator.WAS_NOT_IN,
    Operator.WAS_NOT_IN: Operator.WAS_IN,
}
_POSITIVE: Final = frozenset({Operator.EQUALS, Operator.IN, Operator.IS})
_NEGATIVE: Final = frozenset({Operator.NOT_EQUALS, Operator.NOT_IN, Operator.IS_NOT})
_ORDERING: Final = frozenset(
    {
        Operator.GREATER_THAN,
        Operator.GREATER_THAN_EQUALS,
        Operator.LESS_THAN,
        Operator.LESS_THAN_EQUALS,
    }
)
_FAST_ATTRS: Final = {
    F.NAMED: ("name", "id"),
    F.PRIORITY: ("name", "id"),
    F.VERSION: ("name", "id"),
    F.PROJECT: ("key", "id", "name"),
    F.USER: ("accountId", "emailAddress", "displayName", "name", "key"),
    F.OPTION: ("value", "id"),
    F.ISSUE_REF: ("key", "id"),
    F.SPRINT: ("id", "name"),
    F.LABELS: (),
}


# Public API -------------------------------------------------------------------------------


def compile(query: Query, ctx: EvalContext) -> Pred:
    """Compile the where-clause once into a predicate over issues (REST JSON shape)."""
    if query.where is None:
        return _always
    return _node(query.where, ctx, negate=False)


def matches(query: Query, issue: Issue, ctx: EvalContext) -> bool:
    """True when ``issue`` satisfies the query (compiles on every call; prefer `compile`)."""
    return compile(query, ctx)(issue)


def sort_key(query: Query, ctx: EvalContext) -> Callable[[Issue], Any]:
    """A ``key=`` function implementing ORDER BY (see the module docstring)."""
    if not query.order_by:
        return lambda issue: -_issue_id(issue)
    parts: list[tuple[F.Getter, Callable[[list[Any]], Any], bool]] = []
    for item in query.order_by:
        spec = F.resolve(item.field, ctx)
        get = F.getter(spec, ctx)
        if spec.kind == F.TEXT:
            text_of = F.text_getter(spec, ctx)
            get = _text_elements(text_of)
        elif spec.kind == F.DATETIME:
            get = _precise_datetimes(spec.key)  # sorting uses full precision
        parts.append((get, F.sort_value(spec, ctx), item.direction is Direction.DESC))

    def key(issue: Issue) -> tuple[Any, ...]:
        out: list[Any] = []
        for get, value, descending in parts:
            elements = get(issue)
            if not elements:
                out.append(_NULL_FIRST if descending else _NULL_LAST)
            elif descending:
                item = value(elements)
                # Numbers are negated (fast); anything else is wrapped to reverse it.
                negated = -item if type(item) in (int, float) else _Desc(item)
                out.append((1, negated))
            else:
                out.append((0, value(elements)))
        out.append(_issue_id(issue))
        return tuple(out)

    return key


# Sorting helpers --------------------------------------------------------------------------

_NULL_LAST: Final = (1,)
_NULL_FIRST: Final = (0,)


class _Desc:
    """Reverses the order of a wrapped value (for DESC keys of any comparable type)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and bool(self.value == other.value)

    def __lt__(self, other: _Desc) -> bool:
        return bool(other.value < self.value)

    def __gt__(self, other: _Desc) -> bool:
        return bool(other.value > self.value)

    def __hash__(self) -> int:
        return hash(self.value)


def _issue_id(issue: Issue) -> int:
    try:
        return int(issue.get("id", 0))
    except (TypeError, ValueError):
        return 0


def _precise_datetimes(key: str) -> F.Getter:
    def get(issue: Issue) -> list[Any]:
        value = issue["fields"].get(key)
        if not value or not isinstance(value, str):
            return []
        return [datetime.fromisoformat(value).timestamp()]

    return get


def _text_elements(text_of: Callable[[Issue], str]) -> F.Getter:
    def get(issue: Issue) -> list[Any]:
        text = text_of(issue)
        return [text] if text.strip() else []

    return get


# Boolean structure ------------------------------------------------------------------------


def _always(_issue: Issue) -> bool:
    return True


def _never(_issue: Issue) -> bool:
    return False


def _node(node: Node, ctx: EvalContext, *, negate: bool) -> Pred:
    if isinstance(node, Not):
        return _node(node.clause, ctx, negate=not negate)
    if isinstance(node, And | Or):
        parts = [_node(child, ctx, negate=negate) for child in node.clauses]
        conjunction = isinstance(node, And) != negate  # De Morgan
        return _all(parts) if conjunction else _any(parts)
    return _clause(node, ctx, negate=negate)


def _all(parts: Sequence[Pred]) -> Pred:
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        first, second = parts
        return lambda issue: first(issue) and second(issue)
    frozen = tuple(parts)

    def every(issue: Issue) -> bool:
        for part in frozen:  # noqa: SIM110 - a plain loop is faster than all(genexpr)
            if not part(issue):
                return False
        return True

    return every


def _any(parts: Sequence[Pred]) -> Pred:
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        first, second = parts
        return lambda issue: first(issue) or second(issue)
    frozen = tuple(parts)

    def some(issue: Issue) -> bool:
        for part in frozen:  # noqa: SIM110 - a plain loop is faster than any(genexpr)
            if part(issue):
                return True
        return False

    return some


# Operands ---------------------------------------------------------------------------------


def _flatten(operand: Operand | None) -> list[Value | Empty | Function]:
    if operand is None:
        return []
    if isinstance(operand, ValueList):
        out: list[Value | Empty | Function] = []
        for item in operand.items:
            out.extend(_flatten(item))
        return out
    return [operand]


@dataclass
class _Literals:
    """An operand resolved for one field: identity keys, numbers, EMPTY, predicates."""

    keys: set[str] = field(default_factory=set)
    numbers: list[float] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    empty: bool = False
    element_preds: list[Callable[[Any], bool]] = field(default_factory=list)
    issue_preds: list[Pred] = field(default_factory=list)


def _literals(spec: F.FieldSpec, operand: Operand | None, ctx: EvalContext) -> _Literals:
    out = _Literals()
    kind = spec.kind
    for item in _flatten(operand):
        if isinstance(item, Empty):
            out.empty = True
        elif isinstance(item, Function):
            result: FunctionResult = evaluate_function(item, ctx)
            out.keys |= result.keys
            if result.instant is not None:
                out.numbers.append(result.instant.day if kind == F.DATE else result.instant.minute)
            if result.element_pred is not None:
                out.element_preds.append(result.element_pred)
            if result.issue_pred is not None:
                out.issue_preds.append(result.issue_pred)
        else:
            _literal_value(spec, item, ctx, out)
    return out


def _literal_value(spec: F.FieldSpec, value: Value, ctx: EvalContext, out: _Literals) -> None:
    kind = spec.kind
    text = value.text
    out.texts.append(text)
    if kind in (F.DATETIME, F.DATE):
        moment = _dates.parse_date_literal(
            text, quoted=value.quoted, now=ctx.now, tz=ctx.tz, field_name=spec.name
        )
        out.numbers.append(moment.day if kind == F.DATE else moment.minute)
    elif kind == F.NUMBER:
        try:
            out.numbers.append(float(text))
        except ValueError:
            raise evaluation_error(
                f"The value '{text}' is not a valid number for field '{spec.name}'."
            ) from None
    elif kind == F.DURATION:
        seconds = _dates.parse_time_tracking(
            text, hours_per_day=ctx.hours_per_day, days_per_week=ctx.days_per_week
        )
        if seconds is None:
            raise evaluation_error(
                f"The value '{text}' is not a valid duration for field '{spec.name}'."
            )
        out.numbers.append(seconds)
    elif kind == F.USER:
        out.keys |= resolve_user(text, ctx)
    elif spec.key == "resolution" and text.casefold() == "unresolved":
        out.empty = True
    else:
        out.keys.add(text.casefold())
        if kind == F.PROJECT:
            for project in ctx.projects:
                identity = {
                    str(project[a]).casefold() for a in ("id", "key", "name") if project.get(a)
                }
                if text.casefold() in identity:
                    out.keys |= identity


# Clauses ----------------------------------------------------------------------------------


def _unsupported(operator: Operator, spec: F.FieldSpec) -> Exception:
    return evaluation_error(
        f"The operator '{operator.value}' is not supported by the '{spec.name}' field."
    )


def _clause(clause: Clause, ctx: EvalContext, *, negate: bool) -> Pred:
    operator = clause.operator
    if negate:
        if operator is Operator.CHANGED:
            inner = _clause(clause, ctx, negate=False)
            return lambda issue: not inner(issue)
        operator = _INVERSE[operator]
    spec = F.resolve(clause.field, ctx)
    if operator is Operator.CHANGED:
        return _changed(spec, clause.predicates, ctx)
    if operator in (Operator.WAS, Operator.WAS_IN, Operator.WAS_NOT, Operator.WAS_NOT_IN):
        return _was(spec, operator, clause.operand, clause.predicates, ctx)
    if operator in (Operator.IS, Operator.IS_NOT) and not isinstance(clause.operand, Empty):
        raise evaluation_error(
            f"The operator '{operator.value}' only supports EMPTY or NULL for field '{spec.name}'."
        )
    kind = spec.kind
    if kind == F.TEXT:
        return _text_clause(spec, operator, clause.operand, ctx)
    if kind == F.ATTACHMENT:
        if operator not in (Operator.IS, Operator.IS_NOT):
            raise _unsupported(operator, spec)
        return _emptiness(F.getter(spec, ctx), operator is Operator.IS)
    if operator in (Operator.LIKE, Operator.NOT_LIKE):
        if kind == F.STRING:
            return _text_clause(spec, operator, clause.operand, ctx)
        raise _unsupported(operator, spec)
    if kind in F.NUMERIC_KINDS:
        return _numeric_clause(spec, operator, clause.operand, ctx)
    if operator in _ORDERING:
        return _ordered_identity(spec, operator, clause.operand, ctx)
    return _identity_clause(spec, operator, clause.operand, ctx)


def _emptiness(get: F.Getter, want_empty: bool) -> Pred:
    if want_empty:
        return lambda issue: not get(issue)
    return lambda issue: bool(get(issue))


def _identity_clause(
    spec: F.FieldSpec, operator: Operator, operand: Operand | None, ctx: EvalContext
) -> Pred:
    lits = _literals(spec, operand, ctx)
    positive = operator in _POSITIVE
    if operator in (Operator.IS, Operator.IS_NOT) or (
        not lits.keys and not lits.element_preds and not lits.issue_preds and lits.empty
    ):
        get = F.getter(spec, ctx)
        return _emptiness(get, want_empty=positive)
    if spec.kind == F.ISSUE_KEY:
        lits.element_preds.extend(lits.issue_preds)
    keys = frozenset(lits.keys)
    empty = lits.empty
    attrs = _FAST_ATTRS.get(spec.kind)
    if attrs is not None and spec.key not in ("watcher", "voter", "worklogAuthor"):
        return _fast_identity(
            spec.key, attrs, keys, empty, positive, tuple(lits.element_preds), spec.kind
        )
    if spec.kind == F.STATUS_CATEGORY and not lits.element_preds and not ctx.statuses:
        return _fast_status_category(keys, empty, positive)
    get = F.getter(spec, ctx)
    keys_of = F.keys_function(spec.kind)
    preds = tuple(lits.element_preds)

    def hit(elements: list[Any]) -> bool:
        for element in elements:
            for key in keys_of(element):
                if key in keys:
                    return True
            for pred in preds:
                if pred(element):
                    return True
        return False

    if positive:

        def positive_match(issue: Issue) -> bool:
            elements = get(issue)
            if not elements:
                return empty
            return hit(elements)

        return positive_match

    def negative_match(issue: Issue) -> bool:
        elements = get(issue)
        return bool(elements) and not hit(elements)

    return negative_match


def _fast_identity(
    key: str,
    attrs: tuple[str, ...],
    keys: frozenset[str],
    empty: bool,
    positive: bool,
    preds: tuple[Callable[[Any], bool], ...],
    kind: str,
) -> Pred:
    """Object fields stored directly under ``fields[key]`` (one object or a list of them):
    a dict lookup and a few set probes per issue."""
    sprint = kind == F.SPRINT

    def hit_one(value: Any) -> bool:
        if sprint and isinstance(value, str):
            value = F.parse_sprint(value)
        if isinstance(value, Mapping):
            for attr in attrs:
                item = value.get(attr)
                if item is not None and str(item).casefold() in keys:
                    return True
        elif str(value).casefold() in keys:
            return True
        for pred in preds:  # noqa: SIM110 - loops beat any(genexpr) on the hot path
            if pred(value):
                return True
        return False

    def hit(value: Any) -> bool:
        if isinstance(value, list):
            for element in value:  # noqa: SIM110
                if element is not None and hit_one(element):
                    return True
            return False
        return hit_one(value)

    if positive:

        def positive_match(issue: Issue) -> bool:
            value = issue["fields"].get(key)
            if value is None or value == "" or value == []:
                return empty
            return hit(value)

        return positive_match

    def negative_match(issue: Issue) -> bool:
        value = issue["fields"].get(key)
        return value is not None and value != "" and value != [] and not hit(value)

    return negative_match


#: Jira's four fixed status categories, by key.
_CATEGORIES: Final = {
    "undefined": ("undefined", "no category", "1"),
    "new": ("new", "to do", "2"),
    "indeterminate": ("indeterminate", "in progress", "4"),
    "done": ("done", "done", "3"),
}


def _fast_status_category(keys: frozenset[str], empty: bool, positive: bool) -> Pred:
    """statusCategory: literals are mapped to category keys once; per issue it is one
    set probe on ``status.statusCategory.key``."""
    wanted = frozenset(
        key for key, identity in _CATEGORIES.items() if any(i in keys for i in identity)
    )

    def hit(category: Mapping[str, Any]) -> bool:
        key = category.get("key")
        if key is not None:
            return key in wanted
        return any(str(category[a]).casefold() in keys for a in ("name", "id") if a in category)

    def match(issue: Issue) -> bool:
        status = issue["fields"].get("status")
        category = status.get("statusCategory") if status else None
        if category is None:
            return empty if positive else False
        return hit(category) if positive else not hit(category)

    return match


_COMPARE: Final[dict[Operator, Callable[[Any, Any], bool]]] = {
    Operator.GREATER_THAN: lambda a, b: a > b,
    Operator.GREATER_THAN_EQUALS: lambda a, b: a >= b,
    Operator.LESS_THAN: lambda a, b: a < b,
    Operator.LESS_THAN_EQUALS: lambda a, b: a <= b,
}


def _single_bound(lits: _Literals, spec: F.FieldSpec, operator: Operator) -> float | None:
    if lits.empty and not lits.numbers:
        return None
    if len(lits.numbers) != 1:
        raise evaluation_error(
            f"The operator '{operator.value}' expects a single value for field '{spec.name}'."
        )
    return lits.numbers[0]


def _numeric_clause(
    spec: F.FieldSpec, operator: Operator, operand: Operand | None, ctx: EvalContext
) -> Pred:
    lits = _literals(spec, operand, ctx)
    positive = operator in _POSITIVE
    if operator in (Operator.IS, Operator.IS_NOT) or (not lits.numbers and lits.empty):
        return _emptiness(F.getter(spec, ctx), want_empty=positive)
    fast = spec.kind in (F.DATETIME, F.DATE) and not spec.multi and spec.key != "worklogDate"
    parse = _dates.parse_issue_datetime if spec.kind == F.DATETIME else _dates.parse_issue_date
    key = spec.key
    if operator in _ORDERING:
        bound = _single_bound(lits, spec, operator)
        if bound is None:
            return _never
        if fast:
            # The hot path for created/updated ranges: one lookup, one parse, one compare.
            if operator is Operator.GREATER_THAN:
                return lambda issue: (
                    (v := issue["fields"].get(key)) is not None and parse(v) > bound
                )
            if operator is Operator.GREATER_THAN_EQUALS:
                return lambda issue: (
                    (v := issue["fields"].get(key)) is not None and parse(v) >= bound
                )
            if operator is Operator.LESS_THAN:
                return lambda issue: (
                    (v := issue["fields"].get(key)) is not None and parse(v) < bound
                )
            return lambda issue: (v := issue["fields"].get(key)) is not None and parse(v) <= bound
        get = F.getter(spec, ctx)
        compare = _COMPARE[operator]
        return lambda issue: any(compare(v, bound) for v in get(issue))
    numbers = frozenset(lits.numbers)
    empty = lits.empty
    get = F.getter(spec, ctx)
    if positive:

        def positive_match(issue: Issue) -> bool:
            values = get(issue)
            if not values:
                return empty
            return any(v in numbers for v in values)

        return positive_match

    return lambda issue: bool(values := get(issue)) and not any(v in numbers for v in values)


def _ordered_identity(
    spec: F.FieldSpec, operator: Operator, operand: Operand | None, ctx: EvalContext
) -> Pred:
    compare = _COMPARE[operator]
    items = [item for item in _flatten(operand) if isinstance(item, Value)]
    if len(items) != 1:
        raise evaluation_error(
            f"The operator '{operator.value}' expects a single value for field '{spec.name}'."
        )
    text = items[0].text
    if spec.kind == F.PRIORITY:
        rank = F.priority_rank(ctx.priorities)
        bound = rank(text)
        key = spec.key

        def by_rank(issue: Issue) -> bool:
            value = issue["fields"].get(key)
            return value is not None and compare(rank(value), bound)

        return by_rank
    if spec.kind == F.ISSUE_KEY:
        if text.isdigit():
            number = int(text)
            return lambda issue: compare(_issue_id(issue), number)
        target = F.key_order(text)
        if target is None:
            raise evaluation_error(f"The issue key '{text}' for field '{spec.name}' is invalid.")

        def by_key(issue: Issue) -> bool:
            mine = F.key_order(issue.get("key", ""))
            return mine is not None and mine[0] == target[0] and compare(mine[1], target[1])

        return by_key
    if spec.kind == F.VERSION:
        wanted = F.natural(text)
        get = F.getter(spec, ctx)
        return lambda issue: any(
            compare(F.natural(str(v.get("name", ""))), wanted)
            for v in get(issue)
            if isinstance(v, Mapping)
        )
    raise _unsupported(operator, spec)


def _text_clause(
    spec: F.FieldSpec, operator: Operator, operand: Operand | None, ctx: EvalContext
) -> Pred:
    text_of = F.text_getter(spec, ctx) if spec.kind == F.TEXT else _string_of(spec)
    if operator in (Operator.IS, Operator.IS_NOT):
        want_empty = operator is Operator.IS
        return lambda issue: (not text_of(issue).strip()) == want_empty
    if operator not in (Operator.LIKE, Operator.NOT_LIKE):
        raise _unsupported(operator, spec)
    values = [item for item in _flatten(operand) if isinstance(item, Value)]
    if len(values) != 1 or isinstance(operand, ValueList):
        raise evaluation_error(
            f"The operator '{operator.value}' expects a single value for field '{spec.name}'."
        )
    found = compile_text_query(values[0].text, spec.name)
    if operator is Operator.LIKE:
        return lambda issue: bool(text := text_of(issue)) and found(text)
    return lambda issue: bool((text := text_of(issue)).strip()) and not found(text)


def _string_of(spec: F.FieldSpec) -> Callable[[Issue], str]:
    key = spec.key

    def text(issue: Issue) -> str:
        value = issue["fields"].get(key)
        if value is None:
            return ""
        if isinstance(value, list):
            return " ".join(str(v) for v in value)
        return str(value)

    return text


# History: WAS and CHANGED -----------------------------------------------------------------


def _elem_hit(elements: Iterable[Elem], keys: frozenset[str]) -> bool:
    for ident, label in elements:
        if ident is not None and ident.casefold() in keys:
            return True
        if label is not None and label.casefold() in keys:
            return True
    return False


def _user_hit(person: Any, keys: frozenset[str]) -> bool:
    if not isinstance(person, Mapping):
        return False
    return any(
        str(person[a]).casefold() in keys
        for a in ("accountId", "emailAddress", "displayName", "name", "key")
        if person.get(a)
    )


def _day_bounds(day: int, ctx: EvalContext) -> tuple[int, int]:
    """Epoch-minute range [start, end) of a local calendar day in ``ctx.tz``."""
    if not 1 < day < date.max.toordinal():  # beyond datetime's years: whole days suffice
        return day * 1440 - 719163 * 1440, (day + 1) * 1440 - 719163 * 1440
    start = date.fromordinal(day)
    end = date.fromordinal(day + 1)
    first = _dates.local_datetime(start.year, start.month, start.day, 0, 0, ctx.tz)
    after = _dates.local_datetime(end.year, end.month, end.day, 0, 0, ctx.tz)
    return _dates.epoch_minute(first), _dates.epoch_minute(after)


def _moments(operand: Operand, ctx: EvalContext, kind: PredicateKind) -> list[tuple[int, int]]:
    """Resolve predicate dates to (epoch minute, day ordinal) pairs."""
    out: list[tuple[int, int]] = []
    for item in _flatten(operand):
        if isinstance(item, Value):
            moment = _dates.parse_date_literal(
                item.text, quoted=item.quoted, now=ctx.now, tz=ctx.tz, field_name=kind.value
            )
            out.append((moment.minute, moment.day))
        elif isinstance(item, Function):
            result = evaluate_function(item, ctx)
            if result.instant is None:
                raise evaluation_error(
                    f"The function '{item.name}' does not return a date for '{kind.value}'."
                )
            out.append((result.instant.minute, result.instant.day))
    if not out:
        raise evaluation_error(f"The predicate '{kind.value}' expects a date.")
    return out


def _user_operand(operand: Operand, ctx: EvalContext) -> frozenset[str]:
    keys: set[str] = set()
    for item in _flatten(operand):
        if isinstance(item, Value):
            keys |= resolve_user(item.text, ctx)
        elif isinstance(item, Function):
            keys |= evaluate_function(item, ctx).keys
    return frozenset(keys)


def _time_window(predicate: Predicate, ctx: EvalContext) -> tuple[float, float, bool]:
    """A time predicate as (low, high, inclusive-high) in epoch minutes."""
    kind = predicate.kind
    moments = _moments(predicate.operand, ctx, kind)
    if kind is PredicateKind.AFTER:
        return moments[0][0] + 1, math.inf, False
    if kind is PredicateKind.BEFORE:
        return -math.inf, moments[0][0], False
    if kind is PredicateKind.ON:
        low, high = _day_bounds(moments[0][1], ctx)
        return low, high, False
    if len(moments) != 2:
        raise evaluation_error("The predicate 'during' expects two dates.")
    return moments[0][0], moments[1][0], True


def _period_by(who: frozenset[str]) -> Callable[[Period], bool]:
    return lambda period: _user_hit(period.set_by, who)


def _period_overlaps(low: float, high: float, inclusive: bool) -> Callable[[Period], bool]:
    if inclusive:
        return lambda p: p.start <= high and p.end > low
    return lambda p: p.start < high and p.end > low


def _change_by(who: frozenset[str]) -> Callable[[Change], bool]:
    return lambda change: _user_hit(change.author, who)


def _change_within(low: float, high: float, inclusive: bool) -> Callable[[Change], bool]:
    if inclusive:
        return lambda change: low <= change.at <= high
    return lambda change: low <= change.at < high


def _change_side(keys: frozenset[str], empty: bool, *, added: bool) -> Callable[[Change], bool]:
    def check(change: Change) -> bool:
        elements = change.added if added else change.removed
        if not elements:
            return empty
        return _elem_hit(elements, keys)

    return check


def _was(
    spec: F.FieldSpec,
    operator: Operator,
    operand: Operand | None,
    predicates: tuple[Predicate, ...],
    ctx: EvalContext,
) -> Pred:
    lits = _literals_for_history(spec, operand, ctx)
    keys = frozenset(lits.keys)
    empty = lits.empty
    checks: list[Callable[[Period], bool]] = []
    for predicate in predicates:
        if predicate.kind is PredicateKind.BY:
            who = _user_operand(predicate.operand, ctx)
            checks.append(_period_by(who))
        elif predicate.kind in (PredicateKind.FROM, PredicateKind.TO):
            raise evaluation_error(
                f"The predicate '{predicate.kind.value}' is not supported by the "
                f"'{operator.value}' operator."
            )
        else:
            low, high, inclusive = _time_window(predicate, ctx)
            checks.append(_period_overlaps(low, high, inclusive))
    negative = operator in (Operator.WAS_NOT, Operator.WAS_NOT_IN)

    def was(issue: Issue) -> bool:
        for period in field_periods(issue, spec):
            value = period.value
            if ((empty and not value) or (value and _elem_hit(value, keys))) and all(
                check(period) for check in checks
            ):
                return True
        return False

    if negative:
        return lambda issue: not was(issue)
    return was


def _literals_for_history(
    spec: F.FieldSpec, operand: Operand | None, ctx: EvalContext
) -> _Literals:
    if spec.kind in F.NUMERIC_KINDS or spec.kind == F.TEXT:
        # History stores display strings; compare the written text.
        out = _Literals()
        for item in _flatten(operand):
            if isinstance(item, Empty):
                out.empty = True
            elif isinstance(item, Value):
                out.keys.add(item.text.casefold())
        return out
    return _literals(spec, operand, ctx)


def _changed(spec: F.FieldSpec, predicates: tuple[Predicate, ...], ctx: EvalContext) -> Pred:
    checks: list[Callable[[Change], bool]] = []
    for predicate in predicates:
        kind = predicate.kind
        if kind is PredicateKind.BY:
            who = _user_operand(predicate.operand, ctx)
            checks.append(_change_by(who))
        elif kind in (PredicateKind.FROM, PredicateKind.TO):
            lits = _literals_for_history(spec, predicate.operand, ctx)
            keys = frozenset(lits.keys)
            checks.append(_change_side(keys, lits.empty, added=kind is PredicateKind.TO))
        else:
            low, high, inclusive = _time_window(predicate, ctx)
            checks.append(_change_within(low, high, inclusive))

    def changed(issue: Issue) -> bool:
        return any(all(check(change) for check in checks) for change in field_changes(issue, spec))

    return changed
