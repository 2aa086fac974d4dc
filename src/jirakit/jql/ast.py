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
    from jirakit.jql.planner import Constraints

    from jirakit.jql.context import EvalContext


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
class Field:
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
class Value:
    """A single literal value, unescaped. ``quoted`` records whether it was quoted."""

    text: str
    quoted: bool = False


@dataclass(frozen=True, slots=True)
class Empty:
    """``EMPTY`` / ``NULL``."""


@dataclass(frozen=True, slots=True)
class Function:
    """A function call operand such as ``startOfDay(-1)`` or ``membersOf("jira-users")``."""

    name: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ValueList:
    """A parenthesised list operand: ``(a, "b c", fn())``; lists may nest."""

    items: tuple[Operand, ...]


Operand = Value | Empty | Function | ValueList


@dataclass(frozen=True, slots=True)
class Predicate:
    """A history predicate: ``AFTER "2024-01-01"``, ``DURING ("a", "b")``, ``BY currentUser()``."""

    kind: PredicateKind
    operand: Operand


@dataclass(frozen=True, slots=True)
class Clause:
    """A terminal clause. ``operand`` is ``None`` only for ``CHANGED``."""

    field: Field
    operator: Operator
    operand: Operand | None
    predicates: tuple[Predicate, ...] = ()


@dataclass(frozen=True, slots=True)
class And:
    """Conjunction of two or more nodes (a flat chain; explicit parentheses nest)."""

    clauses: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """Disjunction of two or more nodes (a flat chain; explicit parentheses nest)."""

    clauses: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    clause: Node


Node = Clause | And | Or | Not


@dataclass(frozen=True, slots=True)
class OrderBy:
    field: Field
    direction: Direction | None = None


@dataclass(frozen=True, slots=True)
class Query:
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
