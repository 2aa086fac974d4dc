"""Parse JQL text into the AST (`jirakit.jql.ast`).

The grammar lives in ``grammar.lark``; lark's LALR(1) parser with its contextual lexer
runs it, and a transformer applied during the parse builds the frozen AST directly (no
parse tree in between). Keywords are retyped from unquoted words by a lexer callback,
which also rejects Jira's reserved words. Every failure is turned into a `JqlSyntaxError`
carrying Jira's wording (see `jirakit.jql.messages`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from importlib import resources
from typing import Any

from lark import Lark, Token, Transformer
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.lark import PostLex

from jirakit.jql import messages as msg
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
from jirakit.jql.errors import JqlSyntaxError

__all__ = ["KEYWORDS", "parse", "unescape"]

#: Unquoted words that are language keywords, and the grammar terminal each becomes.
KEYWORDS: dict[str, str] = {
    "and": "_AND",
    "or": "_OR",
    "not": "_NOT",
    "in": "_IN",
    "is": "_IS",
    "was": "_WAS",
    "changed": "_CHANGED",
    "empty": "EMPTY",
    "null": "EMPTY",
    "after": "AFTER",
    "before": "BEFORE",
    "on": "ON",
    "during": "DURING",
    "by": "BY",
    "from": "FROM",
    "to": "TO",
    "order": "_ORDER",
    "asc": "ASC",
    "desc": "DESC",
    "cf": "CF",
}

_ESCAPE_RE = re.compile(r"\\(?:([tnr\"'\\ ])|u([0-9a-fA-F]{4}))")
_SIMPLE_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", '"': '"', "'": "'", "\\": "\\", " ": " "}
_CUSTOM_FIELD_ID_RE = re.compile(r"[0-9]+")
_MAX_CUSTOM_FIELD_ID = 2**63 - 1


def _replace_escape(match: re.Match[str]) -> str:
    simple = match.group(1)
    if simple is not None:
        return _SIMPLE_ESCAPES[simple]
    return chr(int(match.group(2), 16))


def unescape(text: str) -> str:
    """Resolve JQL escapes (``\\"``, ``\\'``, ``\\\\``, ``\\t``, ``\\n``, ``\\r``,
    ``\\ `` and ``\\uXXXX``) in a string's content."""
    if "\\" not in text:
        return text
    return _ESCAPE_RE.sub(_replace_escape, text)


def _text(token: Token) -> str:
    """The unescaped text of a STRING token (quoted or not)."""
    value: str = token.value
    if value[0] in "\"'":
        value = value[1:-1]
    return unescape(value) if "\\" in value else value


def _quoted(token: Token) -> bool:
    return token.value[0] in "\"'"


# ---------------------------------------------------------------- keywords


def _retype_word(token: Token) -> Token:
    """Lexer callback for STRING: unquoted keywords become their terminals, Jira's
    reserved words are rejected."""
    value: str = token.value
    if value[0] in "\"'":
        return token
    lowered = value.lower()
    kind = KEYWORDS.get(lowered)
    if kind is not None:
        token.type = kind
    elif lowered in msg.RESERVED_WORDS:
        raise _error_at_token(token, msg.reserved_word(value))
    return token


class _Keywords(PostLex):
    """Lets every lexer state lex STRING, so a keyword can be retyped by
    `_retype_word` wherever it appears (and rejected by the parser where it does not
    belong, as Jira does) instead of passing for a plain word."""

    always_accept = ("STRING",)

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        return stream


# ---------------------------------------------------------------- tree builder


def _operand_text(operand: Operand) -> str:
    from jirakit.jql.printer import format_operand

    return format_operand(operand)


def _field_text(field: Field) -> str:
    from jirakit.jql.printer import format_field

    return format_field(field)


def _error_at_token(token: Token, text: str) -> JqlSyntaxError:
    return JqlSyntaxError(
        msg.syntax(text, token.line, token.column), line=token.line, column=token.column
    )


def _semantic_error(text: str) -> JqlSyntaxError:
    return JqlSyntaxError(msg.syntax(text))


def _check_single(operator: Operator, field: Field, operand: Operand) -> None:
    if isinstance(operand, ValueList):
        raise _semantic_error(
            msg.list_not_supported(operator.value, _operand_text(operand), _field_text(field))
        )


def _check_list(operator: Operator, field: Field, operand: Operand) -> None:
    if not isinstance(operand, ValueList | Function):
        raise _semantic_error(
            msg.non_list_not_supported(operator.value, _operand_text(operand), _field_text(field))
        )


_ORDERED = frozenset(
    {
        Operator.GREATER_THAN,
        Operator.GREATER_THAN_EQUALS,
        Operator.LESS_THAN,
        Operator.LESS_THAN_EQUALS,
    }
)


class _Builder(Transformer[Token, Any]):
    """Builds AST nodes bottom-up while the LALR parser reduces (no parse tree)."""

    # -- query and boolean structure

    def start(self, children: list[Any]) -> Query:
        where: Node | None = None
        order_by: tuple[OrderBy, ...] = ()
        for child in children:
            if isinstance(child, tuple):
                order_by = child
            else:
                where = child
        return Query(where, order_by)

    def or_expr(self, children: list[Node]) -> Or:
        return Or(tuple(children))

    def and_expr(self, children: list[Node]) -> And:
        return And(tuple(children))

    def negation(self, children: list[Node]) -> Not:
        return Not(children[0])

    def group(self, children: list[Node]) -> Node:
        return children[0]

    # -- clauses

    def simple_clause(self, children: list[Any]) -> Clause:
        field, token, operand = children
        operator = Operator(token.value)
        _check_single(operator, field, operand)
        if operator in _ORDERED and isinstance(operand, Empty):
            raise _semantic_error(msg.empty_not_supported(operator.value, _field_text(field)))
        return Clause(field, operator, operand)

    def _listed(self, operator: Operator, children: list[Any]) -> Clause:
        field, operand, *predicates = children
        _check_list(operator, field, operand)
        return Clause(field, operator, operand, tuple(predicates))

    def in_clause(self, children: list[Any]) -> Clause:
        return self._listed(Operator.IN, children)

    def not_in_clause(self, children: list[Any]) -> Clause:
        return self._listed(Operator.NOT_IN, children)

    def was_in_clause(self, children: list[Any]) -> Clause:
        return self._listed(Operator.WAS_IN, children)

    def was_not_in_clause(self, children: list[Any]) -> Clause:
        return self._listed(Operator.WAS_NOT_IN, children)

    def _is(self, operator: Operator, children: list[Any]) -> Clause:
        field, operand = children
        if not isinstance(operand, Empty):
            raise _semantic_error(msg.only_empty_supported(operator.value, _field_text(field)))
        return Clause(field, operator, operand)

    def is_clause(self, children: list[Any]) -> Clause:
        return self._is(Operator.IS, children)

    def is_not_clause(self, children: list[Any]) -> Clause:
        return self._is(Operator.IS_NOT, children)

    def _was(self, operator: Operator, children: list[Any]) -> Clause:
        field, operand, *predicates = children
        _check_single(operator, field, operand)
        return Clause(field, operator, operand, tuple(predicates))

    def was_clause(self, children: list[Any]) -> Clause:
        return self._was(Operator.WAS, children)

    def was_not_clause(self, children: list[Any]) -> Clause:
        return self._was(Operator.WAS_NOT, children)

    def changed_clause(self, children: list[Any]) -> Clause:
        field, *predicates = children
        return Clause(field, Operator.CHANGED, None, tuple(predicates))

    def was_predicate(self, children: list[Any]) -> Predicate:
        kind, operand = children
        return Predicate(PredicateKind(kind.value.lower()), operand)

    changed_predicate = was_predicate

    # -- fields

    def field(self, children: list[Any]) -> Field:
        first: Token = children[0]
        if first.type == "CF":
            token: Token = children[1]
            if not _CUSTOM_FIELD_ID_RE.fullmatch(token.value) or (
                int(token.value) > _MAX_CUSTOM_FIELD_ID
            ):
                raise _error_at_token(token, msg.expecting_custom_field_id(_text(token)))
            number = int(token.value)
            name, cf_id = f"cf[{number}]", number
        else:
            name, cf_id = _text(first), None
            if not name:
                raise _error_at_token(first, msg.empty_field_name())
        last = children[-1]
        if isinstance(last, tuple):
            return Field(name, cf_id, last[0], last[1])
        return Field(name, cf_id)

    def property(self, children: list[Token]) -> tuple[str, tuple[str, ...]]:
        key = _text(children[0])
        path = "".join(_text(token) for token in children[1:])
        return key, tuple(part for part in path.split(".") if part)

    # -- operands

    def value(self, children: list[Token]) -> Value:
        token = children[0]
        return Value(_text(token), _quoted(token))

    def empty(self, children: list[Token]) -> Empty:
        return Empty()

    def value_list(self, children: list[Operand]) -> ValueList:
        return ValueList(tuple(children))

    def function(self, children: list[Token | None]) -> Function:
        name_token = children[0]
        assert name_token is not None
        name = _text(name_token)
        if not name:
            raise _error_at_token(name_token, msg.empty_function_name())
        args = tuple(_text(token) for token in children[1:] if token is not None)
        return Function(name, args)

    # -- ORDER BY

    def order_by(self, children: list[Any]) -> tuple[OrderBy, ...]:
        keys = tuple(child for child in children if isinstance(child, OrderBy))
        if len(keys) > msg.MAX_ORDER_BY_FIELDS:
            raise _semantic_error(msg.too_many_order_by_fields())
        return keys

    def sort_key(self, children: list[Any]) -> OrderBy:
        if len(children) == 1:
            return OrderBy(children[0])
        return OrderBy(children[0], Direction(children[1].value.lower()))


# ---------------------------------------------------------------- the parser


@functools.cache
def _lark() -> Lark:
    grammar = resources.files("jirakit.jql").joinpath("grammar.lark").read_text("utf-8")
    return Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        postlex=_Keywords(),
        lexer_callbacks={"STRING": _retype_word},
        transformer=_Builder(),
        maybe_placeholders=True,
        propagate_positions=False,
    )


@functools.lru_cache(maxsize=2048)
def _parse_cached(text: str) -> Query:
    return _parse(text)


def parse(text: str) -> Query:
    """Parse JQL into a `Query`.

    Whitespace-only text is the empty query ``Query()``. Raises `JqlSyntaxError` with
    Jira's wording, and nothing else, for text that is not JQL. Results are cached
    (queries are immutable), so parsing the same text again is a dictionary lookup.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse() expects a str, not {type(text).__name__}")
    return _parse_cached(text)


def _parse(text: str) -> Query:
    if not text.strip(" \t\r\n"):
        return Query()
    try:
        query: Query = _lark().parse(text)  # type: ignore[assignment]
    except JqlSyntaxError:
        raise
    except UnexpectedToken as error:
        raise _from_unexpected_token(text, error) from None
    except UnexpectedCharacters as error:
        raise _from_unexpected_character(text, error.pos_in_stream or 0) from None
    except (UnexpectedInput, LarkError) as error:  # pragma: no cover - defensive
        raise JqlSyntaxError(msg.syntax(msg.unable_to_parse())) from error
    except RecursionError:
        raise JqlSyntaxError(msg.syntax(msg.unable_to_parse())) from None
    if query.where is not None and _nesting(query.where) > MAX_NESTING:
        raise JqlSyntaxError(msg.syntax(msg.too_deeply_nested()))
    return query


#: How deeply AND, OR and NOT may nest. Everything that walks the AST (validation, the
#: planner, the evaluator, the printer) recurses once or twice per level; a bound keeps
#: ``NOT NOT NOT ...`` x 5000 a syntax error with a message instead of a RecursionError.
MAX_NESTING = msg.MAX_NESTING


def _nesting(node: Node) -> int:
    """Depth of the logical-operator tree under ``node`` (a bare clause is 1), iteratively."""
    deepest = 0
    stack: list[tuple[Node, int]] = [(node, 1)]
    while stack:
        current, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(current, Not):
            stack.append((current.clause, depth + 1))
        elif isinstance(current, And | Or):
            stack.extend((child, depth + 1) for child in current.clauses)
    return deepest


# ---------------------------------------------------------------- error messages

_DISPLAY = {
    "_LPAREN": "(",
    "_RPAREN": ")",
    "_COMMA": ",",
    "_LBRACKET": "[",
    "_RBRACKET": "]",
    "BY": "BY",
    "_IN": "IN",
    "EMPTY": "EMPTY",
}


def _from_unexpected_token(text: str, error: UnexpectedToken) -> JqlSyntaxError:
    token: Token = error.token
    at_end = token.type == "$END"
    got: str | None = None if at_end else _token_text(token)
    prefix = msg.PREFIX
    try:
        accepts = set(error.interactive_parser.accepts())  # type: ignore[no-untyped-call]
    except Exception:  # pragma: no cover - lark internals; fall back to LALR lookaheads
        accepts = set(error.expected)
    accepts.discard("$END")

    if "CMP_OP" in accepts:
        text_ = msg.expecting_operator(got)
    elif "_AND" in accepts:
        if "_RPAREN" in accepts:
            text_ = msg.expecting(")", got)
        else:
            text_ = msg.expecting_logical_operator(got)
    elif "_ORDER" in accepts and "CF" not in accepts:
        # after a complete where-clause (the parser already reduced it)
        text_ = msg.expecting_logical_operator(got)
    elif "EMPTY" in accepts:
        text_ = msg.expecting_operand(got)
        prefix = msg.OPERAND_PREFIX
    elif "CF" in accepts:
        text_ = msg.expecting_field(got)
    elif "ASC" in accepts:
        text_ = msg.expecting_sort_order(got)
    elif "STRING" in accepts and "_RPAREN" in accepts:
        text_ = msg.expecting_function_argument(got)
    elif accepts == {"STRING"}:
        stack = error.interactive_parser.parser_state.value_stack
        after_cf = len(stack) >= 2 and isinstance(stack[-2], Token) and stack[-2].type == "CF"
        if after_cf:
            text_ = msg.expecting_custom_field_id(got)
        else:
            text_ = msg.expecting_property_argument(got)
    else:
        names = sorted(_DISPLAY.get(name, name.strip("_")) for name in accepts)
        if len(names) == 1:
            text_ = msg.expecting(names[0], got)
        elif len(names) == 2:
            text_ = msg.expecting_either(names[0], names[1], got)
        else:  # pragma: no cover - every parser state is covered above
            text_ = msg.unable_to_parse()
    if at_end:
        return JqlSyntaxError(msg.syntax(text_, prefix=prefix))
    return JqlSyntaxError(
        msg.syntax(text_, token.line, token.column, prefix=prefix),
        line=token.line,
        column=token.column,
    )


def _token_text(token: Token) -> str:
    if token.type == "STRING":
        return _text(token)
    return str(token.value)


def _position(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column


_VALID_ESCAPE_RE = re.compile(r"\\(?:[tnr\"'\\ ]|u[0-9a-fA-F]{4})")
_QUOTED_ILLEGAL_RE = re.compile("[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\ufdd0-\ufdef\ufffe\uffff]")


def _error_at(text: str, index: int, message: str) -> JqlSyntaxError:
    line, column = _position(text, index)
    return JqlSyntaxError(msg.syntax(message, line, column), line=line, column=column)


def _bad_escape(text: str, index: int) -> JqlSyntaxError:
    """The escape starting at ``text[index] == '\\'`` is invalid."""
    follow = text[index + 1 : index + 2]
    sequence = text[index : index + 6] if follow == "u" else text[index : index + 2]
    return _error_at(text, index, msg.illegal_escape(sequence))


def _from_unexpected_character(text: str, index: int) -> JqlSyntaxError:
    char = text[index]
    if char in "\"'":
        return _diagnose_quoted(text, index)
    if char == "\\":
        return _bad_escape(text, index)
    if char in msg.RESERVED_CHARACTERS:
        return _error_at(text, index, msg.reserved_character(char))
    return _error_at(text, index, msg.illegal_character(char))


def _diagnose_quoted(text: str, start: int) -> JqlSyntaxError:
    quote = text[start]
    index = start + 1
    end = len(text)
    while index < end:
        char = text[index]
        if char == quote:  # pragma: no cover - a complete string would have lexed
            break
        if char == "\\":
            match = _VALID_ESCAPE_RE.match(text, index)
            if match is None:
                return _bad_escape(text, index)
            index = match.end()
            continue
        if _QUOTED_ILLEGAL_RE.match(char):
            return _error_at(text, index, msg.illegal_character(char))
        index += 1
    return _error_at(text, start, msg.unfinished_string(text[start + 1 :]))
