"""The JQL parser: tree shapes, the language corners, Jira's error wordings, fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jirakit.jql import (
    And,
    Clause,
    Direction,
    Empty,
    Field,
    Function,
    JqlError,
    JqlSyntaxError,
    Not,
    Operator,
    Or,
    OrderBy,
    Predicate,
    PredicateKind,
    Query,
    Value,
    ValueList,
    parse,
)


def clause(field: str, operator: Operator, operand: object) -> Clause:
    return Clause(Field(field), operator, operand)  # type: ignore[arg-type]


def eq(field: str, value: str) -> Clause:
    return clause(field, Operator.EQUALS, Value(value))


A, B, C, D = eq("a", "1"), eq("b", "2"), eq("c", "3"), eq("d", "4")

# ---------------------------------------------------------------- shapes


def test_empty_and_whitespace_queries_are_empty() -> None:
    assert parse("") == Query()
    assert parse("  \n\t\r ") == Query()


def test_simple_clause() -> None:
    assert parse("project = ABC") == Query(eq("project", "ABC"))


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("a = 1 AND b = 2 AND c = 3", And((A, B, C))),
        ("a = 1 OR b = 2 OR c = 3", Or((A, B, C))),
        ("a = 1 AND (b = 2 AND c = 3)", And((A, And((B, C))))),
        ("(a = 1 AND b = 2) AND c = 3", And((And((A, B)), C))),
        ("a = 1 OR b = 2 AND c = 3", Or((A, And((B, C))))),
        ("a = 1 AND b = 2 OR c = 3 AND d = 4", Or((And((A, B)), And((C, D))))),
        ("(a = 1 OR b = 2) AND c = 3", And((Or((A, B)), C))),
        ("NOT a = 1", Not(A)),
        ("! a = 1 AND b = 2", And((Not(A), B))),
        ("not not a = 1", Not(Not(A))),
        ("NOT (a = 1 OR b = 2)", Not(Or((A, B)))),
        ("((a = 1))", A),
        ("a = 1 & b = 2 && c = 3", And((A, B, C))),
        ("a = 1 | b = 2 || c = 3", Or((A, B, C))),
    ],
)
def test_boolean_structure(text: str, where: object) -> None:
    assert parse(text).where == where


@pytest.mark.parametrize(
    ("text", "operator"),
    [
        ("f = x", Operator.EQUALS),
        ("f != x", Operator.NOT_EQUALS),
        ("f ~ x", Operator.LIKE),
        ("f !~ x", Operator.NOT_LIKE),
        ("f > x", Operator.GREATER_THAN),
        ("f >= x", Operator.GREATER_THAN_EQUALS),
        ("f < x", Operator.LESS_THAN),
        ("f <= x", Operator.LESS_THAN_EQUALS),
        ("f was x", Operator.WAS),
        ("f WAS NOT x", Operator.WAS_NOT),
    ],
)
def test_single_value_operators(text: str, operator: Operator) -> None:
    assert parse(text).where == clause("f", operator, Value("x"))


@pytest.mark.parametrize(
    ("text", "operator"),
    [
        ("f in (x)", Operator.IN),
        ("f NOT IN (x)", Operator.NOT_IN),
        ("f was in (x)", Operator.WAS_IN),
        ("f was not\nin (x)", Operator.WAS_NOT_IN),
    ],
)
def test_list_operators(text: str, operator: Operator) -> None:
    assert parse(text).where == clause("f", operator, ValueList((Value("x"),)))


def test_is_empty_and_null() -> None:
    assert parse("f is empty").where == clause("f", Operator.IS, Empty())
    assert parse("f IS NOT NULL").where == clause("f", Operator.IS_NOT, Empty())
    assert parse("f = null").where == clause("f", Operator.EQUALS, Empty())


def test_keywords_are_case_insensitive() -> None:
    assert parse("a = 1 and b = 2 oRdEr By c DeSc") == parse("a = 1 AND b = 2 ORDER BY c DESC")


def test_history_predicates() -> None:
    where = parse(
        'status changed FROM "To Do" to Done by (jane, currentUser()) '
        'after "2024-01-01" before -1d on now() during ("2024-01-01", "2024-02-01")'
    ).where
    assert where == Clause(
        Field("status"),
        Operator.CHANGED,
        None,
        (
            Predicate(PredicateKind.FROM, Value("To Do", quoted=True)),
            Predicate(PredicateKind.TO, Value("Done")),
            Predicate(PredicateKind.BY, ValueList((Value("jane"), Function("currentUser")))),
            Predicate(PredicateKind.AFTER, Value("2024-01-01", quoted=True)),
            Predicate(PredicateKind.BEFORE, Value("-1d")),
            Predicate(PredicateKind.ON, Function("now")),
            Predicate(
                PredicateKind.DURING,
                ValueList((Value("2024-01-01", quoted=True), Value("2024-02-01", quoted=True))),
            ),
        ),
    )
    was = parse("status was Done by jane").where
    assert was == Clause(
        Field("status"),
        Operator.WAS,
        Value("Done"),
        (Predicate(PredicateKind.BY, Value("jane")),),
    )


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("summary = x", Field("summary")),
        ('"Story Points" = x', Field("Story Points")),
        ("'Story Points' = x", Field("Story Points")),
        ("cf[10042] = x", Field("cf[10042]", cf_id=10042)),
        ("CF [ 10042 ] = x", Field("cf[10042]", cf_id=10042)),
        (
            "issue.property[key].a.b = x",
            Field("issue.property", property_key="key", property_path=("a", "b")),
        ),
        (
            'issue.property["the key"] = x',
            Field("issue.property", property_key="the key"),
        ),
        (
            "development [ commits ] . all = x",
            Field("development", property_key="commits", property_path=("all",)),
        ),
        ("issue\\ type = x", Field("issue type")),
        ("12345 = x", Field("12345")),
        ('"Custom number[Number]" = x', Field("Custom number[Number]")),
    ],
)
def test_fields(text: str, field: Field) -> None:
    where = parse(text).where
    assert isinstance(where, Clause)
    assert where.field == field


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("f = ABC-1", Value("ABC-1")),
        ("f > -1d", Value("-1d")),
        ("f = 1.2.3", Value("1.2.3")),
        ("f = 2019-11-15", Value("2019-11-15")),
        ("f = -7", Value("-7")),
        ('f = ""', Value("", quoted=True)),
        ("f = ''", Value("", quoted=True)),
        ('f = "a \\"b\\" c"', Value('a "b" c', quoted=True)),
        ("f = 'it\\'s'", Value("it's", quoted=True)),
        ('f = "tab\\there"', Value("tab\there", quoted=True)),
        ('f = "new\\nline\\r"', Value("new\nline\r", quoted=True)),
        ('f = "back\\\\slash"', Value("back\\slash", quoted=True)),
        ('f = "\\u0041\\u00e9"', Value("Aé", quoted=True)),
        ("f = a\\ b", Value("a b")),
        ('f = "multi\nline"', Value("multi\nline", quoted=True)),
        ('f = "abort"', Value("abort", quoted=True)),
        ("f = héllo", Value("héllo")),
        ("f = a:b_c`d", Value("a:b_c`d")),
    ],
)
def test_values(text: str, value: Value) -> None:
    where = parse(text).where
    assert isinstance(where, Clause)
    assert where.operand == value


def test_functions() -> None:
    assert parse("f = fn()").where == clause("f", Operator.EQUALS, Function("fn"))
    assert parse("f = fn ( one , 'two' , 3 )").where == clause(
        "f", Operator.EQUALS, Function("fn", ("one", "two", "3"))
    )
    assert parse('f = "currentUser"()').where == clause(
        "f", Operator.EQUALS, Function("currentUser")
    )
    assert parse("f in (a, (b, c), fn(x))").where == clause(
        "f",
        Operator.IN,
        ValueList((Value("a"), ValueList((Value("b"), Value("c"))), Function("fn", ("x",)))),
    )


def test_order_by() -> None:
    query = parse('order by a, b asc, "c d" DESC, cf[1]')
    assert query == Query(
        None,
        (
            OrderBy(Field("a")),
            OrderBy(Field("b"), Direction.ASC),
            OrderBy(Field("c d"), Direction.DESC),
            OrderBy(Field("cf[1]", cf_id=1)),
        ),
    )


def test_newlines_anywhere_whitespace_is() -> None:
    text = "project\n=\nJQL\nand\nissuetype\nnot\nin\n(\nBug\n)\norder\nby\ncreated\ndesc"
    assert parse(text) == parse("project = JQL AND issuetype NOT IN (Bug) ORDER BY created DESC")


def test_keyword_prefixed_words_are_plain_words() -> None:
    assert parse("assigneein in (a)").where == clause(
        "assigneein", Operator.IN, ValueList((Value("a"),))
    )
    assert parse("labels != not-mvp").where == clause(
        "labels", Operator.NOT_EQUALS, Value("not-mvp")
    )


# ---------------------------------------------------------------- errors


PREFIXES = ("Error in the JQL Query: ", "Error in JQL Query: ")
OPERATORS = (
    "The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', "
    "'IS' and 'IS NOT'."
)


@pytest.mark.parametrize(
    ("text", "message", "line", "column"),
    [
        (
            "project foo",
            f"Error in the JQL Query: Expecting operator but got 'foo'. {OPERATORS} "
            "(line 1, character 9)",
            1,
            9,
        ),
        (
            "project = %ABC",
            "Error in the JQL Query: The character '%' is a reserved JQL character. You must "
            "enclose it in a string or use the escape '\\u0025' instead. (line 1, character 11)",
            1,
            11,
        ),
        (
            "abort = x",
            "Error in the JQL Query: 'abort' is a reserved JQL word. You must surround it in "
            "quotation marks to use it in a query. (line 1, character 1)",
            1,
            1,
        ),
        (
            'summary ~ "abc',
            "Error in the JQL Query: The quoted string 'abc' has not been completed. "
            "(line 1, character 11)",
            1,
            11,
        ),
        (
            "project = ABCD foo",
            "Error in the JQL Query: Expecting either 'OR' or 'AND' but got 'foo'. "
            "(line 1, character 16)",
            1,
            16,
        ),
        (
            "project = ENG status = Done",
            "Error in the JQL Query: Expecting either 'OR' or 'AND' but got 'status'. "
            "(line 1, character 15)",
            1,
            15,
        ),
        (
            "a = b and\n  (c = d e",
            "Error in the JQL Query: Expecting ')' but got 'e'. (line 2, character 10)",
            2,
            10,
        ),
        (
            "reporter=a/user",
            "Error in the JQL Query: The character '/' is a reserved JQL character. You must "
            "enclose it in a string or use the escape '\\u002f' instead. (line 1, character 11)",
            1,
            11,
        ),
        (
            "a = 1 and = 2",
            "Error in the JQL Query: Expecting a field name but got '='. You must surround '=' "
            "in quotation marks to use it as a field name. (line 1, character 11)",
            1,
            11,
        ),
        (
            "a = and",
            "Error in JQL Query: Expecting either a value, list or function but got 'and'. "
            "You must surround 'and' in quotation marks to use it as a value. "
            "(line 1, character 5)",
            1,
            5,
        ),
    ],
)
def test_syntax_errors_with_position(text: str, message: str, line: int, column: int) -> None:
    with pytest.raises(JqlSyntaxError) as caught:
        parse(text)
    error = caught.value
    assert str(error) == message
    assert error.messages == [message]
    assert (error.line, error.column, error.character) == (line, column, column)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "project =",
            "Error in JQL Query: Expecting either a value, list or function before the end "
            "of the query.",
        ),
        (
            "project",
            f"Error in the JQL Query: Expecting operator before the end of the query. {OPERATORS}",
        ),
        (
            "(project = ENG",
            "Error in the JQL Query: Expecting ')' before the end of the query.",
        ),
        (
            "project = ENG AND",
            "Error in the JQL Query: Expecting a field name at the end of the query.",
        ),
        ("order", "Error in the JQL Query: Expecting 'BY' before the end of the query."),
        (
            "f in (a",
            "Error in the JQL Query: Expecting either ')' or ',' before the end of the query.",
        ),
        (
            "order by a, b, c, d, e, f, g, h",
            "Error in the JQL Query: The ORDER BY clause can have at most 7 fields.",
        ),
        (
            "status in Done",
            "Error in the JQL Query: Operator 'in' does not support the non-list value 'Done' "
            "for field 'status'.",
        ),
        (
            "status = (a, b)",
            "Error in the JQL Query: Operator '=' does not support the list value '(a, b)' "
            "for field 'status'.",
        ),
    ],
)
def test_syntax_errors_without_position(text: str, message: str) -> None:
    with pytest.raises(JqlSyntaxError) as caught:
        parse(text)
    assert str(caught.value) == message
    assert caught.value.line is None
    assert caught.value.column is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('f = "a\\k"', "The escape sequence '\\k' is not valid. (line 1, character 7)"),
        ("f = a\\u12", "The escape sequence '\\u12' is not valid. (line 1, character 6)"),
        ("f = a\x01", "The character 'U+0001' is not a valid JQL character."),
        ('f = "tab\there"', "The character 'TAB' is not a valid JQL character."),
        ('f = """', "The quoted string has not been completed. (line 1, character 7)"),
        ("cf[abc] = 1", "Expecting a positive number for the custom field id but got 'abc'."),
        ("cf[1 = 1", "Expecting ']' but got '='."),
        ("f = fn(a b)", "Expecting either ')' or ',' but got 'b'."),
        ("f = fn(,)", "Expecting a valid function argument but got ','."),
        ("order by a asc desc", "Expecting ',' but got 'desc'."),
        ("order by a b", "Expecting either 'ASC' or 'DESC' but got 'b'."),
        ("f is x", "Operator 'is' only supports searching for EMPTY values for field 'f'."),
        ("f < empty", "Operator '<' does not support searching for EMPTY values for field 'f'."),
        ('"" = x', "The field name cannot be empty."),
        ("f = ''()", "The function name cannot be empty."),
        ("during = x", "Expecting a field name but got 'during'."),
    ],
)
def test_other_syntax_errors(text: str, fragment: str) -> None:
    with pytest.raises(JqlSyntaxError) as caught:
        parse(text)
    assert fragment in str(caught.value)


def test_error_hierarchy() -> None:
    with pytest.raises(JqlError):
        parse("=")
    assert issubclass(JqlSyntaxError, ValueError)


def test_parse_rejects_non_strings() -> None:
    with pytest.raises(TypeError):
        parse(b"a = b")  # type: ignore[arg-type]


# ---------------------------------------------------------------- fuzzing

TOKENS = [
    "project", "status", "cf[10042]", "issue.property[k].a", "=", "!=", "~", "!~", "<",
    ">=", "in", "not", "is", "was", "changed", "empty", "null", "and", "or", "&&", "|",
    "!", "(", ")", ",", "[", "]", "order", "by", "asc", "desc", "after", "before", "on",
    "during", "from", "to", '"a b"', "'c'", "fn(", "now()", "-1d", "ABC-1", "1.2.3",
    "abort", "%", "$", "\\", '"', "'", "\\u00", "\n", "\t", "é", "\x00",
]  # fmt: skip


def _check_error(error: JqlSyntaxError) -> None:
    assert error.messages
    assert error.messages[0].startswith(PREFIXES)
    assert error.line is None or error.line >= 1
    assert error.column is None or error.column >= 1


def _parse_or_syntax_error(text: str) -> None:
    error: JqlSyntaxError | None = None
    try:
        query = parse(text)
    except JqlSyntaxError as caught:
        error = caught
    if error is not None:
        _check_error(error)
        return
    assert isinstance(query, Query)
    assert parse(str(query)) == query


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_arbitrary_text_parses_or_raises_syntax_error(text: str) -> None:
    _parse_or_syntax_error(text)


@settings(max_examples=250, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=14), st.sampled_from([" ", "", "\n"]))
def test_token_soup_parses_or_raises_syntax_error(tokens: list[str], glue: str) -> None:
    _parse_or_syntax_error(glue.join(tokens))


@pytest.mark.parametrize(
    "text",
    [
        "NOT " * 5000 + "project = ENG",
        "NOT (" * 101 + "project = ENG" + ")" * 101,
        "(a = 1 AND " * 101 + "b = 2" + ")" * 101,
    ],
)
def test_nesting_beyond_the_bound_is_a_syntax_error(text: str) -> None:
    with pytest.raises(JqlSyntaxError) as err:
        parse(text)
    assert "more than 100 levels deep" in err.value.message


def test_nesting_up_to_the_bound_parses_and_evaluates() -> None:
    from datetime import UTC, datetime

    from jirakit.jql.context import EvalContext
    from jirakit.jql.evaluator import compile

    query = parse("NOT " * 99 + "project = ENG")  # 99 NOTs + the clause: 100 levels
    pred = compile(query, EvalContext(now=datetime(2024, 1, 1, tzinfo=UTC)))
    issue = {"id": "1", "key": "ENG-1", "fields": {"project": {"key": "ENG", "id": "1"}}}
    assert pred(issue) is False  # an odd number of NOTs
    parse("(" * 5000 + "a = 1" + ")" * 5000)  # bare parentheses do not nest the tree
