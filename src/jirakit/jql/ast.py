"""The JQL abstract syntax tree: small frozen dataclasses.

The tree is what `jirakit.jql.parse` returns and what the builder (`J`) produces.
`str(node)` prints canonical JQL that parses back to an equal tree.

Shape::

    Query(where: Node | None, order_by: tuple[OrderBy, ...])
    Node   = Clause | And | Or | Not
    Clause(field: Field, operator: Operator, operand: Operand | None, predicates: tuple[Predicate, ...])
    Operand = Value | Empty | Function | ValueList

Evaluation (`Query.matches`, `Query.sort_key`) and planning (`Query.constraints`) live in
`jirakit.jql.evaluator` / `jirakit.jql.planner`; the methods here only delegate, so the tree
stays a plain data structure.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jirakit.jql.builder import SortKey
    from jirakit.jql.context import EvalContext
    from jirakit.jql.planner import Constraints


class _Printable:
    """``str(node)`` is canonical JQL (`jirakit.jql.printer`)."""

    __slots__ = ()

    def __str__(self) -> str:
        from jirakit.jql.printer import to_jql

        return to_jql(self)  # type: ignore[arg-type]


class _Combinable(_Printable):
    """Where-clause nodes combine like the builder's: ``a & b``, ``a | b``, ``~a``,
    ``a.order_by(...)`` (see `jirakit.jql.builder`)."""

    __slots__ = ()

    def __and__(self, other: Node) -> Node:
        from jirakit.jql.builder import all_of

        return all_of(self, other)  # type: ignore[arg-type]

    def __or__(self, other: Node) -> Node:
        from jirakit.jql.builder import any_of

        return any_of(self, other)  # type: ignore[arg-type]

    def __invert__(self) -> Not:
        return Not(self)  # type: ignore[arg-type]

    def order_by(self, *keys: SortKey) -> Query:
        """This where-clause with an ORDER BY: a `Query`."""
        from jirakit.jql.builder import order_by

        return order_by(*keys, where=self)  # type: ignore[arg-type]


class Operator(enum.Enum):
    """Clause operators, valued by their canonical (lower-case) spelling."""

    EQUALS = "="
    NOT_EQUALS = "!="
    LIKE = "~"
    NOT_LIKE = "!~"
    GREATER_THAN = ">"
    GREATER_THAN_EQUALS = ">="
    LESS_THAN = "<"
    LESS_THAN_EQUALS = "<="
    IN = "in"
    NOT_IN = "not in"
    IS = "is"
    IS_NOT = "is not"
    WAS = "was"
    WAS_IN = "was in"
    WAS_NOT = "was not"
    WAS_NOT_IN = "was not in"
    CHANGED = "changed"


class PredicateKind(enum.Enum):
    """History predicates that may follow WAS / CHANGED clauses."""

    AFTER = "after"
    BEFORE = "before"
    ON = "on"
    DURING = "during"
    BY = "by"
    FROM = "from"
    TO = "to"


class Direction(enum.Enum):
    ASC = "asc"
    DESC = "desc"


@dataclass(frozen=True, slots=True)
class Field(_Printable):
    """A field reference.

    - plain or quoted names: ``Field("project")``, ``Field("Story Points")``
    - custom field ids: ``cf[10042]`` -> ``Field("cf[10042]", cf_id=10042)``
    - entity properties: ``issue.property[key].a.b`` ->
      ``Field("issue.property", property_key="key", property_path=("a", "b"))``

    ``name`` is the unescaped text as written (case preserved); resolving aliases
    (``issuekey`` -> ``key``) and names to ids is the evaluator's job.
    """

    name: str
    cf_id: int | None = None
    property_key: str | None = None
    property_path: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Value(_Printable):
    """A single literal value, unescaped. ``quoted`` records whether it was quoted."""

    text: str
    quoted: bool = False


@dataclass(frozen=True, slots=True)
class Empty(_Printable):
    """``EMPTY`` / ``NULL``."""


@dataclass(frozen=True, slots=True)
class Function(_Printable):
    """A function call operand such as ``startOfDay(-1)`` or ``membersOf("jira-users")``."""

    name: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ValueList(_Printable):
    """A parenthesised list operand: ``(a, "b c", fn())``; lists may nest."""

    items: tuple[Operand, ...]


Operand = Value | Empty | Function | ValueList


@dataclass(frozen=True, slots=True)
class Predicate(_Printable):
    """A history predicate: ``AFTER "2024-01-01"``, ``DURING ("a", "b")``, ``BY currentUser()``."""

    kind: PredicateKind
    operand: Operand


@dataclass(frozen=True, slots=True)
class Clause(_Combinable):
    """A terminal clause. ``operand`` is ``None`` only for ``CHANGED``."""

    field: Field
    operator: Operator
    operand: Operand | None
    predicates: tuple[Predicate, ...] = ()


@dataclass(frozen=True, slots=True)
class And(_Combinable):
    """Conjunction of two or more nodes (a flat chain; explicit parentheses nest)."""

    clauses: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or(_Combinable):
    """Disjunction of two or more nodes (a flat chain; explicit parentheses nest)."""

    clauses: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not(_Combinable):
    clause: Node


Node = Clause | And | Or | Not


@dataclass(frozen=True, slots=True)
class OrderBy(_Printable):
    field: Field
    direction: Direction | None = None


@dataclass(frozen=True, slots=True)
class Query(_Printable):
    """A whole JQL query: an optional where-clause and an optional ORDER BY."""

    where: Node | None = None
    order_by: tuple[OrderBy, ...] = ()

    def matches(self, issue: Mapping[str, Any], ctx: EvalContext) -> bool:
        """True when the issue (REST JSON shape) satisfies the where-clause."""
        from jirakit.jql.evaluator import matches

        return matches(self, issue, ctx)

    def sort_key(self, ctx: EvalContext) -> Callable[[Mapping[str, Any]], Any]:
        """A key function for ``sorted(issues, key=...)`` implementing ORDER BY
        (Jira's null ordering; ties broken by issue id)."""
        from jirakit.jql.evaluator import sort_key

        return sort_key(self, ctx)

    def constraints(self) -> Constraints:
        """Index-friendly restrictions implied by the where-clause (for query planning)."""
        from jirakit.jql.planner import constraints

        return constraints(self)
