"""JQL, the Jira Query Language: parse, print, validate, build and evaluate queries.

::

    >>> from jirakit.jql import J, parse
    >>> query = parse('project = ABC AND status in ("In Progress", Done) order by updated desc')
    >>> str(query)
    'project = ABC AND status IN ("In Progress", Done) ORDER BY updated DESC'
    >>> str((J.project == "ABC") & J.summary.contains('say "hi"'))
    'project = ABC AND summary ~ "say \\\\"hi\\\\""'

- `parse` turns text into a `Query` (frozen dataclasses, see `jirakit.jql.ast`);
  `str()` of any node is canonical JQL that parses back to an equal tree.
- Syntax errors raise `JqlSyntaxError` with Jira's wording and position.
- `validate` checks a query against a `Schema` of known fields, values and functions
  and raises `JqlValidationError` listing every problem.
- `J` builds queries from untrusted values with correct quoting.
- `Query.matches` / `Query.sort_key` evaluate a query against issues in an
  `EvalContext`.
"""

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
from jirakit.jql.builder import FieldRef, History, J
from jirakit.jql.context import EvalContext
from jirakit.jql.errors import JqlError, JqlSyntaxError, JqlValidationError
from jirakit.jql.parser import parse
from jirakit.jql.printer import needs_quotes, quote, to_jql
from jirakit.jql.validate import (
    COMPARABLE,
    EQUALITY,
    HISTORY,
    TEXT,
    FieldSpec,
    Schema,
    problems,
    validate,
)

__all__ = [
    "COMPARABLE",
    "EQUALITY",
    "HISTORY",
    "TEXT",
    "And",
    "Clause",
    "Direction",
    "Empty",
    "EvalContext",
    "Field",
    "FieldRef",
    "FieldSpec",
    "Function",
    "History",
    "J",
    "JqlError",
    "JqlSyntaxError",
    "JqlValidationError",
    "Node",
    "Not",
    "Operand",
    "Operator",
    "Or",
    "OrderBy",
    "Predicate",
    "PredicateKind",
    "Query",
    "Schema",
    "Value",
    "ValueList",
    "needs_quotes",
    "parse",
    "problems",
    "quote",
    "to_jql",
    "validate",
]
