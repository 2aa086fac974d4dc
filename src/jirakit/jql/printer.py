"""Print the AST as canonical JQL.

Keywords are upper-case like Jira (``AND``, ``IN``, ``IS NOT``, ``ORDER BY``), operators
are surrounded by single spaces, lists are ``(a, b)``. Values, field names, function names
and arguments are quoted only when they must be: reserved words and keywords, reserved
characters, whitespace, the empty string, anything that would not lex back as the same
unquoted string. A `Value` written quoted (``quoted=True``) is printed quoted, one
written unquoted is printed unquoted (escaping what must be escaped), so the output
parses back to an equal tree.
"""

from __future__ import annotations

import re

from jirakit.jql import messages as msg
from jirakit.jql.ast import (
    And,
    Clause,
    Empty,
    Field,
    Function,
    Node,
    Not,
    Operand,
    Or,
    OrderBy,
    Predicate,
    Query,
    Value,
    ValueList,
)

__all__ = [
    "format_field",
    "format_node",
    "format_operand",
    "format_order_by",
    "format_query",
    "needs_quotes",
    "quote",
    "to_jql",
]

# Characters an unquoted string may hold without escaping (see grammar.lark: STRING).
_UNQUOTED_RE = re.compile("[-.0-9:A-Z_`a-z\u00a0-\ufdcf\ufdf0-\ufffd\U00010000-\U0010ffff]+")
_UNQUOTED_CHAR_RE = re.compile("[^-.0-9:A-Z_`a-z\u00a0-\ufdcf\ufdf0-\ufffd\U00010000-\U0010ffff]")
# Characters a quoted string may not hold literally (plus the quote and the backslash).
_QUOTED_ESCAPE_RE = re.compile('["\\\\\x00-\x1f\x7f-\x9f\ufdd0-\ufdef\ufffe\uffff]')
_NAMED_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r", '"': '\\"', "'": "\\'", "\\": "\\\\"}

_KEYWORDS = frozenset(
    {"and", "or", "not", "in", "is", "was", "changed", "empty", "null", "after", "before"}
    | {"on", "during", "by", "from", "to", "order", "asc", "desc", "cf"}
)


def _escape(char: str) -> str:
    named = _NAMED_ESCAPES.get(char)
    if named is not None:
        return named
    if char == " ":
        return "\\ "
    return f"\\u{ord(char):04x}"


def _escape_match(match: re.Match[str]) -> str:
    return _escape(match.group(0))


def needs_quotes(text: str) -> bool:
    """True when ``text`` cannot be written as an unquoted JQL string."""
    if not _UNQUOTED_RE.fullmatch(text):
        return True
    lowered = text.lower()
    return lowered in _KEYWORDS or lowered in msg.RESERVED_WORDS


def quote(text: str) -> str:
    """``text`` as a double-quoted JQL string, escaped."""
    return '"' + _QUOTED_ESCAPE_RE.sub(_escape_match, text) + '"'


def _string(text: str) -> str:
    """``text`` unquoted when it can be, quoted otherwise."""
    return quote(text) if needs_quotes(text) else text


def _unquoted(text: str) -> str:
    """``text`` as an unquoted string, with escapes where needed (never a keyword)."""
    if not text:
        return '""'
    escaped = _UNQUOTED_CHAR_RE.sub(_escape_match, text)
    lowered = escaped.lower()
    if lowered in _KEYWORDS or lowered in msg.RESERVED_WORDS:
        escaped = _escape(escaped[0]) + escaped[1:]
    return escaped


def format_value(value: Value) -> str:
    if value.quoted:
        return quote(value.text)
    return _unquoted(value.text)


def format_operand(operand: Operand) -> str:
    if isinstance(operand, Value):
        return format_value(operand)
    if isinstance(operand, Empty):
        return "EMPTY"
    if isinstance(operand, Function):
        return f"{_string(operand.name)}({', '.join(_string(arg) for arg in operand.args)})"
    return "(" + ", ".join(format_operand(item) for item in operand.items) + ")"


def format_field(field: Field) -> str:
    text = f"cf[{field.cf_id}]" if field.cf_id is not None else _string(field.name)
    if field.property_key is not None:
        text += f"[{_string(field.property_key)}]"
        for part in field.property_path:
            text += "." + (quote(part) if needs_quotes(part) else part)
    return text


def _format_predicate(predicate: Predicate) -> str:
    return f"{predicate.kind.value.upper()} {format_operand(predicate.operand)}"


def _format_clause(clause: Clause) -> str:
    parts = [format_field(clause.field), clause.operator.value.upper()]
    if clause.operand is not None:
        parts.append(format_operand(clause.operand))
    parts.extend(_format_predicate(predicate) for predicate in clause.predicates)
    return " ".join(parts)


def format_node(node: Node) -> str:
    """A where-clause; parentheses only where the tree needs them."""
    if isinstance(node, Clause):
        return _format_clause(node)
    if isinstance(node, Not):
        inner = node.clause
        text = format_node(inner)
        return f"NOT ({text})" if isinstance(inner, And | Or) else f"NOT {text}"
    if isinstance(node, And):
        return " AND ".join(
            f"({format_node(child)})" if isinstance(child, And | Or) else format_node(child)
            for child in node.clauses
        )
    return " OR ".join(
        f"({format_node(child)})" if isinstance(child, Or) else format_node(child)
        for child in node.clauses
    )


def format_order_by(order_by: OrderBy) -> str:
    text = format_field(order_by.field)
    if order_by.direction is not None:
        text += " " + order_by.direction.value.upper()
    return text


def format_query(query: Query) -> str:
    parts = []
    if query.where is not None:
        parts.append(format_node(query.where))
    if query.order_by:
        parts.append("ORDER BY " + ", ".join(format_order_by(key) for key in query.order_by))
    return " ".join(parts)


def to_jql(
    node: Query | Node | Field | Value | Empty | Function | ValueList | Predicate | OrderBy,
) -> str:
    """Canonical JQL for any AST node."""
    if isinstance(node, Query):
        return format_query(node)
    if isinstance(node, Clause | And | Or | Not):
        return format_node(node)
    if isinstance(node, Field):
        return format_field(node)
    if isinstance(node, Predicate):
        return _format_predicate(node)
    if isinstance(node, OrderBy):
        return format_order_by(node)
    return format_operand(node)
