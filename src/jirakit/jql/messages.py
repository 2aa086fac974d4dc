"""Jira's JQL error wordings, in one place.

Syntax errors read ``Error in the JQL Query: <what>. (line L, character C)``; errors at
the end of the query carry no position and say "before the end of the query", as Jira
Cloud answers. Jira's quirks are kept (the operand messages start "Error in JQL Query:"). Validation errors are plain
sentences. Everything that builds a message goes through the functions below, so a
wording is changed here and nowhere else.
"""

from __future__ import annotations

PREFIX = "Error in the JQL Query: "
#: Jira's prefix for "Expecting either a value, list or function …" (sic: no "the").
OPERAND_PREFIX = "Error in JQL Query: "

#: The operators Jira lists when it expected one.
VALID_OPERATORS = "'=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'"

#: Jira's reserved words: they must be quoted to be used as a field, value or function.
#: This is the list of Atlassian's JQL grammar (its reserved-words test cases), which
#: adds ``resource`` to, and drops ``all`` from, Jira Server's list; ``resume`` from
#: Jira Server's list is kept too. The language keywords (``and``, ``order``, ``was`` …)
#: are on it as well.
RESERVED_WORDS = frozenset(
    [
        "abort",
        "access",
        "add",
        "after",
        "alias",
        "alter",
        "and",
        "any",
        "as",
        "asc",
        "audit",
        "avg",
        "before",
        "begin",
        "between",
        "boolean",
        "break",
        "by",
        "byte",
        "catch",
        "cf",
        "changed",
        "char",
        "character",
        "check",
        "checkpoint",
        "collate",
        "collation",
        "column",
        "commit",
        "connect",
        "continue",
        "count",
        "create",
        "current",
        "date",
        "decimal",
        "declare",
        "decrement",
        "default",
        "defaults",
        "define",
        "delete",
        "delimiter",
        "desc",
        "difference",
        "distinct",
        "divide",
        "do",
        "double",
        "drop",
        "else",
        "empty",
        "encoding",
        "end",
        "equals",
        "escape",
        "exclusive",
        "exec",
        "execute",
        "exists",
        "explain",
        "false",
        "fetch",
        "file",
        "field",
        "first",
        "float",
        "for",
        "from",
        "function",
        "go",
        "goto",
        "grant",
        "greater",
        "group",
        "having",
        "identified",
        "if",
        "immediate",
        "in",
        "increment",
        "index",
        "initial",
        "inner",
        "inout",
        "input",
        "insert",
        "int",
        "integer",
        "intersect",
        "intersection",
        "into",
        "is",
        "isempty",
        "isnull",
        "join",
        "last",
        "left",
        "less",
        "like",
        "limit",
        "lock",
        "long",
        "max",
        "min",
        "minus",
        "mode",
        "modify",
        "modulo",
        "more",
        "multiply",
        "next",
        "noaudit",
        "not",
        "notin",
        "nowait",
        "null",
        "number",
        "object",
        "of",
        "on",
        "option",
        "or",
        "order",
        "outer",
        "output",
        "power",
        "previous",
        "prior",
        "privileges",
        "public",
        "raise",
        "raw",
        "remainder",
        "rename",
        "resource",
        "resume",
        "return",
        "returns",
        "revoke",
        "right",
        "row",
        "rowid",
        "rownum",
        "rows",
        "select",
        "session",
        "set",
        "share",
        "size",
        "sqrt",
        "start",
        "strict",
        "string",
        "subtract",
        "sum",
        "synonym",
        "table",
        "then",
        "to",
        "trans",
        "transaction",
        "trigger",
        "true",
        "uid",
        "union",
        "unique",
        "update",
        "user",
        "validate",
        "values",
        "view",
        "was",
        "when",
        "whenever",
        "where",
        "while",
        "with",
    ]
)

#: Characters that end an unquoted string and may not appear outside quotes.
RESERVED_CHARACTERS = frozenset("#$%*+/;?@^{}")

#: The most fields an ORDER BY may name.
MAX_ORDER_BY_FIELDS = 7


def _where(line: int | None, column: int | None) -> str:
    if line is None or column is None:
        return ""
    return f" (line {line}, character {column})"


def normalize(text: str) -> str:
    """Jira prints newlines in quoted tokens as spaces."""
    return text.replace("\n", " ").replace("\r", " ")


def syntax(
    text: str, line: int | None = None, column: int | None = None, *, prefix: str = PREFIX
) -> str:
    """A syntax message: Jira's prefix, the text, and the position when there is one."""
    return f"{prefix}{text}{_where(line, column)}"


# ---------------------------------------------------------------- lexer errors


def reserved_word(word: str) -> str:
    return (
        f"'{normalize(word)}' is a reserved JQL word. "
        "You must surround it in quotation marks to use it in a query."
    )


def reserved_character(char: str) -> str:
    return (
        f"The character '{printable(char)}' is a reserved JQL character. "
        f"You must enclose it in a string or use the escape '{escape_of(char)}' instead."
    )


def illegal_character(char: str) -> str:
    return (
        f"The character '{printable(char)}' is not a valid JQL character. "
        f"You must use the escape '{escape_of(char)}' instead."
    )


def illegal_escape(sequence: str) -> str:
    if not sequence.strip("\\"):
        return "The escape sequence is not complete: a '\\' must be followed by a character."
    return f"The escape sequence '{normalize(sequence)}' is not valid."


def unfinished_string(content: str) -> str:
    if not content.strip():
        return "The quoted string has not been completed."
    return f"The quoted string '{normalize(content)}' has not been completed."


# ---------------------------------------------------------------- parser errors
# ``got`` is the offending token's text, or ``None`` at the end of the query.


def expecting_operator(got: str | None) -> str:
    if got is None:
        return f"Expecting operator before the end of the query. The valid operators are {VALID_OPERATORS}."
    return (
        f"Expecting operator but got '{normalize(got)}'. The valid operators are {VALID_OPERATORS}."
    )


def expecting_field(got: str | None) -> str:
    if got is None:
        return "Expecting a field name at the end of the query."
    got = normalize(got)
    return (
        f"Expecting a field name but got '{got}'. "
        f"You must surround '{got}' in quotation marks to use it as a field name."
    )


def expecting_operand(got: str | None) -> str:
    """Use with `OPERAND_PREFIX` (Jira's wording lacks the "the" here)."""
    if got is None:
        return "Expecting either a value, list or function before the end of the query."
    got = normalize(got)
    return (
        f"Expecting either a value, list or function but got '{got}'. "
        f"You must surround '{got}' in quotation marks to use it as a value."
    )


def expecting_logical_operator(got: str | None) -> str:
    if got is None:  # pragma: no cover - the end of the query is fine after a clause
        return "Expecting either 'OR' or 'AND' before the end of the query."
    return f"Expecting either 'OR' or 'AND' but got '{normalize(got)}'."


def _expecting(what: str, got: str | None) -> str:
    if got is None:
        return f"Expecting {what} before the end of the query."
    return f"Expecting {what} but got '{normalize(got)}'."


def expecting_sort_order(got: str | None) -> str:
    return _expecting("either 'ASC' or 'DESC'", got)


def expecting_function_argument(got: str | None) -> str:
    return _expecting("a valid function argument", got)


def expecting_property_argument(got: str | None) -> str:
    return _expecting("a property key", got)


def expecting_custom_field_id(got: str | None) -> str:
    return _expecting("a positive number for the custom field id", got)


def expecting(expected: str, got: str | None) -> str:
    return _expecting(f"'{expected}'", got)


def expecting_either(first: str, second: str, got: str | None) -> str:
    return _expecting(f"either '{first}' or '{second}'", got)


def unable_to_parse() -> str:
    return "Unable to parse the query."


#: How deeply AND, OR and NOT may nest (see `jirakit.jql.parser`).
MAX_NESTING = 100


def too_deeply_nested() -> str:
    # Not a Jira wording (Jira's parser has no documented bound): jirakit's own.
    return (
        f"The query nests AND, OR, NOT and parentheses more than {MAX_NESTING} levels "
        "deep. Simplify the query."
    )


def too_many_order_by_fields() -> str:
    return f"The ORDER BY clause can have at most {MAX_ORDER_BY_FIELDS} fields."


def empty_field_name() -> str:
    return "The field name cannot be empty."


def empty_function_name() -> str:
    return "The function name cannot be empty."


# ------------------------------------------------ operands an operator cannot take


def list_not_supported(operator: str, operand: str, field: str) -> str:
    return f"Operator '{operator}' does not support the list value '{operand}' for field '{field}'."


def non_list_not_supported(operator: str, operand: str, field: str) -> str:
    return f"Operator '{operator}' does not support the non-list value '{operand}' for field '{field}'."


def empty_not_supported(operator: str, field: str) -> str:
    return f"Operator '{operator}' does not support searching for EMPTY values for field '{field}'."


def only_empty_supported(operator: str, field: str) -> str:
    return f"Operator '{operator}' only supports searching for EMPTY values for field '{field}'."


# ---------------------------------------------------------------- validation


def field_does_not_exist(field: str) -> str:
    return f"Field '{field}' does not exist or you do not have permission to view it."


def value_does_not_exist(value: str, field: str) -> str:
    return f"The value '{value}' does not exist for the field '{field}'."


def operator_not_supported(operator: str, field: str) -> str:
    return f"The operator '{operator}' is not supported by the '{field}' field."


def function_not_found(function: str) -> str:
    return f"Unable to find JQL function '{function}()'."


def field_not_sortable(field: str) -> str:
    return f"Field '{field}' does not support sorting."


def unbounded_query() -> str:
    return (
        "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
    )


# ---------------------------------------------------------------- helpers


def escape_of(char: str) -> str:
    """Jira's forced escape of one character: ``\\u0025`` for ``%``."""
    return f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else char


def printable(char: str) -> str:
    """How Jira names a character in a message: itself, ``TAB`` or ``U+0000``."""
    if char == "\t":
        return "TAB"
    code = ord(char)
    if char.isspace() or code < 0x20 or 0x7F <= code <= 0x9F or 0xFFF0 <= code <= 0xFFFF:
        return f"U+{code:04X}"
    return char


#: The JQL functions jirakit evaluates (as Jira spells them), e.g. for autocomplete data.
FUNCTION_NAMES: tuple[str, ...] = (
    "currentUser()",
    "membersOf()",
    "now()",
    *(
        f"{edge}Of{period}()"
        for edge in ("start", "end")
        for period in ("Day", "Week", "Month", "Year")
    ),
    "openSprints()",
    "closedSprints()",
    "futureSprints()",
    "issueHistory()",
    "linkedIssues()",
    "updatedBy()",
    "watchedIssues()",
    "votedIssues()",
    "releasedVersions()",
    "unreleasedVersions()",
    "latestReleasedVersion()",
    "earliestUnreleasedVersion()",
    "componentsLeadByUser()",
    "projectsLeadByUser()",
    "cascadeOption()",
    "standardIssueTypes()",
    "subtaskIssueTypes()",
)
