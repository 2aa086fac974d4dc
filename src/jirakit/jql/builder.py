"""`J`: build JQL from untrusted values, safely.

Every method returns plain AST nodes (`jirakit.jql.ast`), so ``str()`` of the result is
canonical JQL with every value quoted and escaped exactly as needed: no string
concatenation, no injection::

    >>> from jirakit.jql import J
    >>> str((J.project == "ABC") & J.status.in_("To Do", "Done"))
    'project = ABC AND status IN ("To Do", Done)'
    >>> str(J.summary.contains('say "hi" OR 1=1'))
    'summary ~ "say \\\\"hi\\\\" OR 1=1"'

- fields: ``J.status``, ``J.field("Story Points")``, ``J.cf(10042)``,
  ``J.prop("issue.property", "key", "a", "b")``
- comparisons: ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``.contains(s)`` (``~``),
  ``.not_contains(s)`` (``!~``), ``.in_(*values)``, ``.not_in(*values)``,
  ``.is_empty()``, ``.is_not_empty()``
- history: ``.was(v)``, ``.was_not(v)``, ``.was_in(*v)``, ``.was_not_in(*v)``,
  ``.changed()``, each followed by ``.after(d)``, ``.before(d)``, ``.on(d)``,
  ``.during(a, b)``, ``.by(user)`` and, after ``changed()``, ``.from_(v)``, ``.to(v)``
- operands: ``str`` (a value), ``int``/``float``, ``None`` (EMPTY), ``J.EMPTY``,
  ``J.fn("startOfDay", "-1")`` (a function), a ``list``/``tuple`` (a list),
  `datetime.date`/`datetime.datetime` (``"2024-01-31"`` / ``"2024-01-31 09:30"``)
- combining: ``a & b`` (AND), ``a | b`` (OR), ``~a`` (NOT), ``J.all_of(...)``,
  ``J.any_of(...)``; ``node.order_by(J.updated.desc(), J.key)`` or
  ``J.order_by(...)`` make a `Query`.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from typing import TypeAlias

from jirakit.jql.ast import (
    And,
    Clause,
    Direction,
    Empty,
    Field,
    Function,
    Node,
    Not,
    Operand,
    Operator,
    Or,
    OrderBy,
    Predicate,
    PredicateKind,
    Query,
    Value,
    ValueList,
)
from jirakit.jql.printer import needs_quotes, to_jql

__all__ = [
    "FieldRef",
    "History",
    "J",
    "OperandLike",
    "SortKey",
    "all_of",
    "any_of",
    "operand",
    "order_by",
    "value",
]

#: What the builder accepts where JQL takes an operand.
OperandLike: TypeAlias = (
    "str | int | float | _dt.date | Operand | list[OperandLike] | tuple[OperandLike, ...] | None"
)
#: What ``order_by`` accepts: a field reference (ascending by default), a field name,
#: or an `OrderBy` from ``J.x.asc()`` / ``J.x.desc()``.
SortKey: TypeAlias = "FieldRef | OrderBy | Field | str"


def value(text: str) -> Value:
    """A literal value, quoted only when JQL needs it to be."""
    if not isinstance(text, str):
        raise TypeError(f"a JQL value must be a str, not {type(text).__name__}")
    return Value(text, quoted=needs_quotes(text))


def operand(item: OperandLike) -> Operand:
    """Turn a Python value into a JQL operand (see the module docstring)."""
    if isinstance(item, Value | Empty | Function | ValueList):
        return item
    if item is None:
        return Empty()
    if isinstance(item, str):
        return value(item)
    if isinstance(item, bool):
        raise TypeError("JQL has no booleans: pass a str")
    if isinstance(item, int | float):
        return value(str(item))
    if isinstance(item, _dt.datetime):
        return value(item.strftime("%Y-%m-%d %H:%M"))
    if isinstance(item, _dt.date):
        return value(item.isoformat())
    if isinstance(item, list | tuple):
        return _list(item)
    raise TypeError(f"cannot use a {type(item).__name__} as a JQL operand")


def _list(items: Iterable[OperandLike]) -> ValueList:
    operands = tuple(operand(item) for item in items)
    if not operands:
        raise ValueError("a JQL list needs at least one value")
    return ValueList(operands)


def _as_node(node: Node | History) -> Node:
    if isinstance(node, History):
        return node.clause
    if isinstance(node, Clause | And | Or | Not):
        return node
    raise TypeError(f"cannot combine a {type(node).__name__} into a JQL where-clause")


def all_of(*nodes: Node | History) -> Node:
    """``a AND b AND …`` (nested ANDs are flattened; one node is returned as is)."""
    flat: list[Node] = []
    for node in map(_as_node, nodes):
        flat.extend(node.clauses if isinstance(node, And) else (node,))
    if not flat:
        raise ValueError("all_of() needs at least one clause")
    return flat[0] if len(flat) == 1 else And(tuple(flat))


def any_of(*nodes: Node | History) -> Node:
    """``a OR b OR …`` (nested ORs are flattened; one node is returned as is)."""
    flat: list[Node] = []
    for node in map(_as_node, nodes):
        flat.extend(node.clauses if isinstance(node, Or) else (node,))
    if not flat:
        raise ValueError("any_of() needs at least one clause")
    return flat[0] if len(flat) == 1 else Or(tuple(flat))


def _sort_key(key: SortKey) -> OrderBy:
    if isinstance(key, OrderBy):
        return key
    if isinstance(key, FieldRef):
        return OrderBy(key.field)
    if isinstance(key, Field):
        return OrderBy(key)
    if isinstance(key, str):
        return OrderBy(_field(key))
    raise TypeError(f"cannot sort by a {type(key).__name__}")


def order_by(*keys: SortKey, where: Node | History | None = None) -> Query:
    """A `Query` with an optional where-clause and ORDER BY ``keys``."""
    return Query(None if where is None else _as_node(where), tuple(map(_sort_key, keys)))


def _field(name: str) -> Field:
    if not isinstance(name, str):
        raise TypeError(f"a field name must be a str, not {type(name).__name__}")
    if not name:
        raise ValueError("a field name cannot be empty")
    return Field(name)


class History:
    """A WAS / CHANGED clause being built: add predicates, then use it like a node
    (``&``, ``|``, ``~``, ``str()``, ``.order_by()``) or take ``.clause``."""

    __slots__ = ("clause",)

    def __init__(self, clause: Clause) -> None:
        self.clause = clause

    def _with(self, kind: PredicateKind, item: OperandLike) -> History:
        if kind in (PredicateKind.FROM, PredicateKind.TO) and (
            self.clause.operator is not Operator.CHANGED
        ):
            raise ValueError(f"{kind.value.upper()} is only allowed after CHANGED")
        predicate = Predicate(kind, operand(item))
        clause = self.clause
        return History(
            Clause(clause.field, clause.operator, clause.operand, (*clause.predicates, predicate))
        )

    def after(self, when: OperandLike) -> History:
        return self._with(PredicateKind.AFTER, when)

    def before(self, when: OperandLike) -> History:
        return self._with(PredicateKind.BEFORE, when)

    def on(self, when: OperandLike) -> History:
        return self._with(PredicateKind.ON, when)

    def during(self, start: OperandLike, end: OperandLike) -> History:
        return self._with(PredicateKind.DURING, [start, end])

    def by(self, *users: OperandLike) -> History:
        """``BY user`` (one user) or ``BY (a, b)`` (several)."""
        if not users:
            raise ValueError("by() needs at least one user")
        return self._with(PredicateKind.BY, users[0] if len(users) == 1 else list(users))

    def from_(self, old: OperandLike) -> History:
        return self._with(PredicateKind.FROM, old)

    def to(self, new: OperandLike) -> History:
        return self._with(PredicateKind.TO, new)

    def __and__(self, other: Node | History) -> Node:
        return all_of(self, other)

    def __rand__(self, other: Node | History) -> Node:
        return all_of(other, self)

    def __or__(self, other: Node | History) -> Node:
        return any_of(self, other)

    def __ror__(self, other: Node | History) -> Node:
        return any_of(other, self)

    def __invert__(self) -> Not:
        return Not(self.clause)

    def order_by(self, *keys: SortKey) -> Query:
        return order_by(*keys, where=self)

    def __str__(self) -> str:
        return to_jql(self.clause)

    def __repr__(self) -> str:
        return f"History({self.clause!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, History):
            return self.clause == other.clause
        return self.clause == other

    def __hash__(self) -> int:
        return hash(self.clause)


class FieldRef:
    """A field, ready to be compared: ``J.status == "Done"``."""

    __slots__ = ("field",)

    def __init__(self, field: Field) -> None:
        self.field = field

    def _clause(self, operator: Operator, item: OperandLike) -> Clause:
        return Clause(self.field, operator, operand(item))

    # -- comparisons (== and != build clauses, they do not compare)

    def __eq__(self, other: OperandLike) -> Clause:  # type: ignore[override]
        return self._clause(Operator.EQUALS, other)

    def __ne__(self, other: OperandLike) -> Clause:  # type: ignore[override]
        return self._clause(Operator.NOT_EQUALS, other)

    def __lt__(self, other: OperandLike) -> Clause:
        return self._clause(Operator.LESS_THAN, other)

    def __le__(self, other: OperandLike) -> Clause:
        return self._clause(Operator.LESS_THAN_EQUALS, other)

    def __gt__(self, other: OperandLike) -> Clause:
        return self._clause(Operator.GREATER_THAN, other)

    def __ge__(self, other: OperandLike) -> Clause:
        return self._clause(Operator.GREATER_THAN_EQUALS, other)

    __hash__ = None  # type: ignore[assignment]

    def eq(self, other: OperandLike) -> Clause:
        """``field = value`` (the same as ``==``, for those who prefer a method)."""
        return self._clause(Operator.EQUALS, other)

    def contains(self, text: OperandLike) -> Clause:
        """``field ~ text``"""
        return self._clause(Operator.LIKE, text)

    def not_contains(self, text: OperandLike) -> Clause:
        """``field !~ text``"""
        return self._clause(Operator.NOT_LIKE, text)

    def _listed(self, operator: Operator, items: tuple[OperandLike, ...]) -> Clause:
        if len(items) == 1 and isinstance(items[0], Function | ValueList):
            return Clause(self.field, operator, items[0])
        return Clause(self.field, operator, _list(items))

    def in_(self, *items: OperandLike) -> Clause:
        """``field IN (a, b)``; ``in_(J.fn("membersOf", "devs"))`` for a function."""
        return self._listed(Operator.IN, items)

    def not_in(self, *items: OperandLike) -> Clause:
        return self._listed(Operator.NOT_IN, items)

    def is_empty(self) -> Clause:
        return Clause(self.field, Operator.IS, Empty())

    def is_not_empty(self) -> Clause:
        return Clause(self.field, Operator.IS_NOT, Empty())

    # -- history

    def was(self, item: OperandLike) -> History:
        return History(self._clause(Operator.WAS, item))

    def was_not(self, item: OperandLike) -> History:
        return History(self._clause(Operator.WAS_NOT, item))

    def was_in(self, *items: OperandLike) -> History:
        return History(self._listed(Operator.WAS_IN, items))

    def was_not_in(self, *items: OperandLike) -> History:
        return History(self._listed(Operator.WAS_NOT_IN, items))

    def changed(self) -> History:
        return History(Clause(self.field, Operator.CHANGED, None))

    # -- ORDER BY

    def asc(self) -> OrderBy:
        return OrderBy(self.field, Direction.ASC)

    def desc(self) -> OrderBy:
        return OrderBy(self.field, Direction.DESC)

    def __str__(self) -> str:
        return to_jql(self.field)

    def __repr__(self) -> str:
        return f"FieldRef({self.field!r})"


class _J:
    """The builder's entry point; use the `J` instance."""

    __slots__ = ()

    #: The ``EMPTY`` operand.
    EMPTY = Empty()

    def __getattr__(self, name: str) -> FieldRef:
        if name.startswith("__"):
            raise AttributeError(name)
        return FieldRef(_field(name))

    def field(self, name: str) -> FieldRef:
        """Any field by name: ``J.field("Story Points")``."""
        return FieldRef(_field(name))

    def cf(self, custom_field_id: int) -> FieldRef:
        """A custom field by id: ``J.cf(10042)`` is ``cf[10042]``."""
        if isinstance(custom_field_id, bool) or not isinstance(custom_field_id, int):
            raise TypeError("a custom field id is an int")
        if custom_field_id < 0:
            raise ValueError("a custom field id is not negative")
        return FieldRef(Field(f"cf[{custom_field_id}]", cf_id=custom_field_id))

    def prop(self, name: str, key: str, *path: str) -> FieldRef:
        """An entity property: ``J.prop("issue.property", "key", "a", "b")`` is
        ``issue.property[key].a.b``."""
        if not key:
            raise ValueError("a property key cannot be empty")
        if any(not part or "." in part for part in path):
            raise ValueError("property path parts must be non-empty and contain no '.'")
        return FieldRef(Field(_field(name).name, property_key=key, property_path=tuple(path)))

    def fn(self, name: str, *args: str | int) -> Function:
        """A function operand: ``J.fn("startOfDay", "-1")`` is ``startOfDay(-1)``."""
        if not isinstance(name, str) or not name:
            raise ValueError("a function name must be a non-empty str")
        return Function(name, tuple(str(arg) for arg in args))

    def value(self, text: str) -> Value:
        return value(text)

    def all_of(self, *nodes: Node | History) -> Node:
        return all_of(*nodes)

    def any_of(self, *nodes: Node | History) -> Node:
        return any_of(*nodes)

    def not_(self, node: Node | History) -> Not:
        return Not(_as_node(node))

    def order_by(self, *keys: SortKey) -> Query:
        """A query with only an ORDER BY."""
        return order_by(*keys)

    def __repr__(self) -> str:
        return "J"


#: The JQL builder.
J = _J()
