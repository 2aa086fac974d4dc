"""Query planning: index-friendly restrictions implied by a where-clause.

`constraints(query)` looks only at clauses every matching issue must satisfy — the query's
top-level clause and the clauses of a top-level AND chain (nested ANDs inside it too) —
and collects:

- ``projects``: ``project = X`` / ``project IN (X, Y)`` (values as written, case-folded; a
  store matches them against a project's key, id or name — `Constraints.allows_project`);
  several such clauses intersect;
- ``issues``: ``key|issuekey|issue|id = A-1`` / ``IN (...)`` (keys or ids, case-folded);
- ``created`` / ``updated`` bounds: ``>``, ``>=``, ``<``, ``<=``, ``=`` with a literal or a
  date function, kept *raw* (`Bound`) because their meaning depends on the searcher's
  clock and time zone; `Constraints.time_range` resolves them with an `EvalContext` to a
  half-open UTC range ``[start, end)``.

Anything under OR or NOT, function operands for projects/keys, EMPTY, and negative
operators yield no restriction: the result is always a *superset* filter, and the
evaluator still decides. ``Constraints()`` means "no restriction".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from jirakit.jql import _dates
from jirakit.jql._functions import evaluate as evaluate_function
from jirakit.jql.ast import (
    And,
    Clause,
    Empty,
    Function,
    Node,
    Operand,
    Operator,
    Query,
    Value,
    ValueList,
)
from jirakit.jql.context import EvalContext

__all__ = ["Bound", "Constraints", "constraints"]

_PROJECT_NAMES: Final = frozenset({"project"})
_ISSUE_NAMES: Final = frozenset({"key", "issuekey", "issue", "id"})
_DATE_FIELDS: Final = {
    "created": "created",
    "createddate": "created",
    "updated": "updated",
    "updateddate": "updated",
}


@dataclass(frozen=True, slots=True)
class Bound:
    """One side of a date range as written: ``updated >= -7d`` is
    ``Bound("lower", Value("-7d"), inclusive=True)``."""

    side: Literal["lower", "upper"]
    operand: Value | Function
    inclusive: bool


@dataclass(frozen=True, slots=True)
class Constraints:
    """Restrictions that hold for every issue matching the query (``None`` = any)."""

    projects: frozenset[str] | None = None
    issues: frozenset[str] | None = None
    created: tuple[Bound, ...] = ()
    updated: tuple[Bound, ...] = ()

    @property
    def unrestricted(self) -> bool:
        return (
            self.projects is None and self.issues is None and not self.created and not self.updated
        )

    def allows_project(self, project: Mapping[str, Any]) -> bool:
        """Could an issue of ``project`` (JSON with key/id/name) match?"""
        if self.projects is None:
            return True
        return any(
            str(project[attr]).casefold() in self.projects
            for attr in ("key", "id", "name")
            if project.get(attr) is not None
        )

    def allows_issue(self, key_or_id: str) -> bool:
        """Could the issue with this key (or id) match? Check key and id both when known."""
        return self.issues is None or key_or_id.casefold() in self.issues

    def time_range(
        self, field: Literal["created", "updated"], ctx: EvalContext
    ) -> tuple[datetime | None, datetime | None]:
        """Resolve the bounds on ``field`` to a UTC half-open range ``[start, end)``.

        JQL compares at minute granularity, so ``updated > "2024-01-01 10:00"`` starts at
        10:01 and ``updated <= "2024-01-01 10:00"`` ends before 10:01. ``None`` = open.
        """
        start: int | None = None
        end: int | None = None
        for bound in self.created if field == "created" else self.updated:
            minute = _resolve_minute(bound.operand, ctx, field)
            if bound.side == "lower":
                first = minute if bound.inclusive else minute + 1
                start = first if start is None else max(start, first)
            else:
                last = minute + 1 if bound.inclusive else minute
                end = last if end is None else min(end, last)
        return _to_datetime(start), _to_datetime(end)


def _to_datetime(minute: int | None) -> datetime | None:
    """The bound as a datetime; ``None`` (open) when ``datetime`` cannot hold it: the
    range only narrows candidates, the evaluator still checks each one."""
    if minute is None:
        return None
    try:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(minutes=minute)
    except OverflowError:
        return None


def _resolve_minute(operand: Value | Function, ctx: EvalContext, field: str) -> int:
    if isinstance(operand, Function):
        result = evaluate_function(operand, ctx)
        if result.instant is None:
            raise ValueError(f"function {operand.name}() does not return a date")
        return result.instant.minute
    return _dates.parse_date_literal(
        operand.text, quoted=operand.quoted, now=ctx.now, tz=ctx.tz, field_name=field
    ).minute


def _conjuncts(node: Node) -> Iterable[Node]:
    if isinstance(node, And):
        for child in node.clauses:
            yield from _conjuncts(child)
    else:
        yield node


def _values(operand: Operand | None) -> list[str] | None:
    """Literal values of an operand; ``None`` when it holds a function or EMPTY."""
    if isinstance(operand, Value):
        return [operand.text.casefold()]
    if isinstance(operand, ValueList):
        out: list[str] = []
        for item in operand.items:
            values = _values(item)
            if values is None:
                return None
            out.extend(values)
        return out
    return None


def _intersect(current: frozenset[str] | None, new: list[str]) -> frozenset[str]:
    values = frozenset(new)
    return values if current is None else current & values


_SIDES: Final[dict[Operator, tuple[tuple[Literal["lower", "upper"], bool], ...]]] = {
    Operator.GREATER_THAN: (("lower", False),),
    Operator.GREATER_THAN_EQUALS: (("lower", True),),
    Operator.LESS_THAN: (("upper", False),),
    Operator.LESS_THAN_EQUALS: (("upper", True),),
    Operator.EQUALS: (("lower", True), ("upper", True)),
}


def constraints(query: Query) -> Constraints:
    """Index-friendly restrictions implied by ``query``'s where-clause."""
    if query.where is None:
        return Constraints()
    projects: frozenset[str] | None = None
    issues: frozenset[str] | None = None
    dates: dict[str, list[Bound]] = {"created": [], "updated": []}
    for node in _conjuncts(query.where):
        if not isinstance(node, Clause) or node.field.cf_id is not None:
            continue
        name = node.field.name.lower()
        operator = node.operator
        if operator in (Operator.EQUALS, Operator.IN) and not isinstance(node.operand, Empty):
            values = _values(node.operand)
            if values is not None and name in _PROJECT_NAMES:
                projects = _intersect(projects, values)
            elif values is not None and name in _ISSUE_NAMES:
                issues = _intersect(issues, values)
        if name in _DATE_FIELDS and operator in _SIDES:
            operand = node.operand
            if isinstance(operand, Value | Function):
                for side, inclusive in _SIDES[operator]:
                    dates[_DATE_FIELDS[name]].append(Bound(side, operand, inclusive))
    return Constraints(
        projects=projects,
        issues=issues,
        created=tuple(dates["created"]),
        updated=tuple(dates["updated"]),
    )
