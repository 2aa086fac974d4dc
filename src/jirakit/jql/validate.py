"""Validate a parsed query against what a Jira site knows: its fields, their operators and
values, its functions, and whether unbounded queries are allowed.

A `Schema` is plain data, so any store (the sandbox, a cached site, a test) builds one::

    schema = Schema(
        fields={
            "project": FieldSpec(operators=EQUALITY, values={"ABC", "OPS"}),
            "summary": FieldSpec(operators=TEXT),
            "updated": FieldSpec(),                      # every operator, any value
        },
        functions={"currentUser", "startOfDay"},
        require_bounded=True,
    )
    validate(parse("project = ABC ORDER BY updated"), schema)

`validate` raises `JqlValidationError` listing every problem in Jira's wording (Jira
reports several at once); `problems` returns the same list without raising.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from jirakit.jql import messages as msg
from jirakit.jql.ast import (
    And,
    Clause,
    Field,
    Function,
    Node,
    Not,
    Operand,
    Operator,
    Or,
    Query,
    Value,
    ValueList,
)
from jirakit.jql.errors import JqlValidationError

__all__ = [
    "ALL_OPERATORS",
    "COMPARABLE",
    "EQUALITY",
    "HISTORY",
    "TEXT",
    "FieldSpec",
    "Schema",
    "operators_for",
    "problems",
    "validate",
]

ALL_OPERATORS: frozenset[Operator] = frozenset(Operator)
#: ``= != IN NOT IN IS IS NOT`` — what fields like ``project`` or ``issuetype`` support.
EQUALITY: frozenset[Operator] = frozenset(
    {
        Operator.EQUALS,
        Operator.NOT_EQUALS,
        Operator.IN,
        Operator.NOT_IN,
        Operator.IS,
        Operator.IS_NOT,
    }
)
#: EQUALITY plus ``< <= > >=`` — dates, numbers, priorities, versions.
COMPARABLE: frozenset[Operator] = EQUALITY | {
    Operator.LESS_THAN,
    Operator.LESS_THAN_EQUALS,
    Operator.GREATER_THAN,
    Operator.GREATER_THAN_EQUALS,
}
#: The history operators ``WAS …`` and ``CHANGED`` (assignee, status, priority …).
HISTORY: frozenset[Operator] = frozenset(
    {Operator.WAS, Operator.WAS_NOT, Operator.WAS_IN, Operator.WAS_NOT_IN, Operator.CHANGED}
)
#: ``~ !~ IS IS NOT`` — text fields such as ``summary`` or ``description``.
TEXT: frozenset[Operator] = frozenset(
    {Operator.LIKE, Operator.NOT_LIKE, Operator.IS, Operator.IS_NOT}
)

# Operators whose values name things (a project, a status) and so can be checked.
_VALUE_CHECKED = frozenset(
    {
        Operator.EQUALS,
        Operator.NOT_EQUALS,
        Operator.IN,
        Operator.NOT_IN,
        Operator.WAS,
        Operator.WAS_NOT,
        Operator.WAS_IN,
        Operator.WAS_NOT_IN,
    }
)


@dataclass(frozen=True)
class FieldSpec:
    """What one field supports.

    - ``operators``: the operators allowed with it (default: all of them).
    - ``values``: when given, the only values it may be compared with by ``=``, ``!=``,
      ``IN``, ``NOT IN`` and ``WAS …`` (compared case-insensitively, like Jira);
      ``None`` accepts any value.
    - ``sortable``: whether ``ORDER BY`` may use it.
    """

    operators: AbstractSet[Operator] = ALL_OPERATORS
    values: AbstractSet[str] | None = None
    sortable: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "operators", frozenset(self.operators))
        if self.values is not None:
            object.__setattr__(self, "values", frozenset(v.casefold() for v in self.values))


@dataclass(frozen=True)
class Schema:
    """The fields, functions and rules a query is validated against.

    - ``fields``: field name -> `FieldSpec`. Names match case-insensitively; register
      every name a field answers to (``"Story Points"``, ``"cf[10042]"``,
      ``"issuekey"``/``"key"``). An entity property (``issue.property[k].x``) is looked
      up by its name before the brackets (``"issue.property"``).
    - ``functions``: the known function names (case-insensitive), or ``None`` to accept
      any function.
    - ``require_bounded``: reject queries without a where-clause (Jira's "Unbounded JQL
      queries are not allowed here").
    """

    fields: Mapping[str, FieldSpec] = field(default_factory=dict)
    functions: AbstractSet[str] | None = None
    require_bounded: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "fields", {name.casefold(): spec for name, spec in self.fields.items()}
        )
        if self.functions is not None:
            object.__setattr__(
                self, "functions", frozenset(name.casefold() for name in self.functions)
            )

    @classmethod
    def from_jira_fields(
        cls,
        fields: Iterable[Mapping[str, Any]],
        *,
        values: Mapping[str, AbstractSet[str]] | None = None,
        functions: AbstractSet[str] | None = None,
        require_bounded: bool = False,
    ) -> Schema:
        """A schema from field metadata as ``GET /rest/api/3/field`` returns it.

        Every ``name``, ``id`` and ``clauseNames`` entry of a searchable field is
        registered; ``orderable`` decides sorting; the operators follow the field's
        ``schema`` like Jira's (text fields take ``~``, dates and numbers compare, …).
        ``values`` maps a field name or id to its known values (``{"project": {...}}``).
        """
        known_values = {k.casefold(): v for k, v in (values or {}).items()}
        specs: dict[str, FieldSpec] = {}
        for item in fields:
            if item.get("searchable", True) is False:
                continue
            names = [item.get("name"), item.get("id"), *item.get("clauseNames", ())]
            keys = [name for name in names if isinstance(name, str) and name]
            field_values = next(
                (known_values[key.casefold()] for key in keys if key.casefold() in known_values),
                None,
            )
            spec = FieldSpec(
                operators=operators_for(item.get("schema") or {}),
                values=field_values,
                sortable=bool(item.get("orderable", True)),
            )
            for key in keys:
                specs.setdefault(key, spec)
        return cls(fields=specs, functions=functions, require_bounded=require_bounded)

    def field_spec(self, field_ref: Field) -> FieldSpec | None:
        """The spec of a field reference, ``None`` when the schema does not know it."""
        return self.fields.get(field_ref.name.casefold())


_TEXT_SYSTEM = frozenset({"summary", "description", "environment", "comment", "text"})
_TEXT_CUSTOM = ("textfield", "textarea", "readonlyfield", "url")
_EQUALITY_TYPES = frozenset({"project", "issuetype", "securitylevel", "issuelinks"})
_COMPARABLE_TYPES = frozenset({"date", "datetime", "number", "timetracking"})
_HISTORY_TYPES = frozenset({"user", "status", "priority", "resolution", "version"})


def operators_for(schema: Mapping[str, Any]) -> frozenset[Operator]:
    """The operators Jira allows for a field of this ``schema`` (field metadata's
    ``{"type", "items", "system", "custom"}``). Unknown kinds allow every operator."""
    kind = schema.get("items") if schema.get("type") == "array" else schema.get("type")
    system = schema.get("system")
    custom = str(schema.get("custom") or "")
    if system in _TEXT_SYSTEM or custom.rsplit(":", 1)[-1] in _TEXT_CUSTOM:
        return TEXT
    if kind in _EQUALITY_TYPES:
        return EQUALITY
    if kind in _COMPARABLE_TYPES:
        return COMPARABLE
    if kind in _HISTORY_TYPES:
        ordered = kind in {"priority", "resolution", "version"}
        return (COMPARABLE if ordered else EQUALITY) | HISTORY
    if kind in {"string", "option", "component", "group"}:
        return EQUALITY
    return ALL_OPERATORS


def _field_label(field_ref: Field) -> str:
    return field_ref.name


def _functions(operand: Operand | None) -> Iterator[Function]:
    if isinstance(operand, Function):
        yield operand
    elif isinstance(operand, ValueList):
        for item in operand.items:
            yield from _functions(item)


def _values(operand: Operand | None) -> Iterator[Value]:
    if isinstance(operand, Value):
        yield operand
    elif isinstance(operand, ValueList):
        for item in operand.items:
            yield from _values(item)


def _clauses(node: Node) -> Iterator[Clause]:
    if isinstance(node, Clause):
        yield node
    elif isinstance(node, Not):
        yield from _clauses(node.clause)
    elif isinstance(node, And | Or):
        for child in node.clauses:
            yield from _clauses(child)


def _clause_problems(clause: Clause, schema: Schema) -> Iterator[str]:
    spec = schema.field_spec(clause.field)
    label = _field_label(clause.field)
    if spec is None:
        yield msg.field_does_not_exist(label)
    else:
        if clause.operator not in spec.operators:
            yield msg.operator_not_supported(clause.operator.value, label)
        elif spec.values is not None and clause.operator in _VALUE_CHECKED:
            for item in _values(clause.operand):
                if item.text.casefold() not in spec.values:
                    yield msg.value_does_not_exist(item.text, label)
    if schema.functions is not None:
        operands: list[Operand | None] = [clause.operand]
        operands.extend(predicate.operand for predicate in clause.predicates)
        for operand in operands:
            for function in _functions(operand):
                if function.name.casefold() not in schema.functions:
                    yield msg.function_not_found(function.name)


def _dedupe(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def problems(query: Query | str, schema: Schema) -> list[str]:
    """Every validation problem of ``query`` in Jira's wording (empty when valid).

    A string is parsed first (and may raise `JqlSyntaxError`).
    """
    if isinstance(query, str):
        from jirakit.jql.parser import parse

        query = parse(query)
    found: list[str] = []
    if query.where is None:
        if schema.require_bounded:
            found.append(msg.unbounded_query())
    else:
        for clause in _clauses(query.where):
            found.extend(_clause_problems(clause, schema))
    for key in query.order_by:
        spec = schema.field_spec(key.field)
        if spec is None:
            found.append(msg.field_does_not_exist(_field_label(key.field)))
        elif not spec.sortable:
            found.append(msg.field_not_sortable(_field_label(key.field)))
    return _dedupe(found)


def validate(query: Query | str, schema: Schema) -> Query:
    """Check ``query`` against ``schema``; return the (parsed) query when it is valid.

    Raises `JqlValidationError` whose ``messages`` lists every problem found.
    """
    if isinstance(query, str):
        from jirakit.jql.parser import parse

        query = parse(query)
    found = problems(query, schema)
    if found:
        raise JqlValidationError(found)
    return query
