"""The canonical printer: Jira-style output, minimal quoting, exact round trips."""

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
    needs_quotes,
    parse,
    quote,
    to_jql,
)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        (
            'project = ABC and status in ("In Progress", Done) order by updated desc',
            'project = ABC AND status IN ("In Progress", Done) ORDER BY updated DESC',
        ),
        ("a=1&b=2|!c=3", "a = 1 AND b = 2 OR NOT c = 3"),
        ("a = 1 and (b = 2 and c = 3)", "a = 1 AND (b = 2 AND c = 3)"),
        ("(a = 1 or b = 2) and c = 3", "(a = 1 OR b = 2) AND c = 3"),
        ("(a = 1 and b = 2) or c = 3", "a = 1 AND b = 2 OR c = 3"),
        ("not (a = 1 or b = 2)", "NOT (a = 1 OR b = 2)"),
        ("f is null", "f IS EMPTY"),
        ("f was not in (a,b) by x", "f WAS NOT IN (a, b) BY x"),
        ("f changed from a to b", "f CHANGED FROM a TO b"),
        ("'Story Points' > 3", '"Story Points" > 3'),
        ("f = 'it\\'s'", 'f = "it\'s"'),
        ("cf [ 42 ] = x", "cf[42] = x"),
        ("issue.property['a b'].c = x", 'issue.property["a b"].c = x'),
        ("f = 'currentUser'( )", "f = currentUser()"),
        ("f = fn('a b', c)", 'f = fn("a b", c)'),
        ("f = a\\ b", "f = a\\ b"),
        ("order by a", "ORDER BY a"),
        ("", ""),
    ],
)
def test_canonical_output(text: str, canonical: str) -> None:
    query = parse(text)
    assert str(query) == canonical
    assert parse(canonical) == query


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("Done", False),
        ("ABC-1", False),
        ("1.2.3", False),
        ("-1d", False),
        ("héllo", False),
        ("", True),
        ("In Progress", True),
        ("and", True),
        ("NULL", True),
        ("abort", True),
        ("Select", True),
        ("cf", True),
        ("a%b", True),
        ("a,b", True),
        ("a(b)", True),
        ('say "hi"', True),
        ("tab\t", True),
        ("x=y", True),
    ],
)
def test_needs_quotes(text: str, quoted: bool) -> None:
    assert needs_quotes(text) is quoted


def test_quote_escapes() -> None:
    assert quote('a "b" \\ c') == '"a \\"b\\" \\\\ c"'
    assert quote("t\tn\nr\r") == '"t\\tn\\nr\\r"'
    assert quote("\x00\x7f\ufffe") == '"\\u0000\\u007f\\ufffe"'
    assert quote("it's") == '"it\'s"'


def test_str_of_every_node_kind() -> None:
    assert str(Field("Story Points")) == '"Story Points"'
    assert str(Field("cf[1]", cf_id=1)) == "cf[1]"
    assert str(Value("x y", quoted=True)) == '"x y"'
    assert str(Value("and")) == "\\u0061nd"
    assert str(Empty()) == "EMPTY"
    assert str(Function("membersOf", ("jira users",))) == 'membersOf("jira users")'
    assert str(ValueList((Value("a"), Empty()))) == "(a, EMPTY)"
    assert str(Predicate(PredicateKind.DURING, ValueList((Value("a"), Value("b"))))) == (
        "DURING (a, b)"
    )
    assert str(OrderBy(Field("rank"), Direction.ASC)) == "rank ASC"
    assert to_jql(Query()) == ""


def test_unquoted_values_keep_their_form() -> None:
    for value in [Value("a b"), Value("in"), Value('x"y'), Value("\t")]:
        query = Query(Clause(Field("f"), Operator.EQUALS, value))
        assert parse(str(query)) == query


# ---------------------------------------------------------------- generated trees

texts = st.text(max_size=8)
names = st.text(min_size=1, max_size=8)
path_parts = st.text(min_size=1, max_size=5).filter(lambda part: "." not in part)

fields = st.one_of(
    names.map(Field),
    st.integers(0, 10**6).map(lambda n: Field(f"cf[{n}]", cf_id=n)),
    st.builds(
        Field,
        names,
        st.none(),
        names,
        st.lists(path_parts, max_size=2).map(tuple),
    ),
)
values = st.one_of(
    st.builds(Value, texts, st.just(True)),
    st.builds(Value, names, st.just(False)),
)
functions = st.builds(Function, names, st.lists(texts, max_size=3).map(tuple))
singles: st.SearchStrategy[Operand] = st.one_of(values, st.just(Empty()), functions)
operands: st.SearchStrategy[Operand] = st.recursive(
    singles,
    lambda inner: st.lists(inner, min_size=1, max_size=3).map(
        lambda items: ValueList(tuple(items))
    ),
    max_leaves=6,
)
lists = st.one_of(
    st.lists(operands, min_size=1, max_size=3).map(lambda items: ValueList(tuple(items))),
    functions,
)
WAS_KINDS = [PredicateKind.AFTER, PredicateKind.BEFORE, PredicateKind.ON]
WAS_KINDS += [PredicateKind.DURING, PredicateKind.BY]
was_predicates = st.lists(
    st.builds(Predicate, st.sampled_from(WAS_KINDS), operands), max_size=2
).map(tuple)
changed_predicates = st.lists(
    st.builds(Predicate, st.sampled_from(list(PredicateKind)), operands), max_size=3
).map(tuple)

clauses = st.one_of(
    st.builds(
        Clause,
        fields,
        st.sampled_from([Operator.EQUALS, Operator.NOT_EQUALS, Operator.LIKE, Operator.NOT_LIKE]),
        singles,
    ),
    st.builds(
        Clause,
        fields,
        st.sampled_from(
            [
                Operator.LESS_THAN,
                Operator.LESS_THAN_EQUALS,
                Operator.GREATER_THAN,
                Operator.GREATER_THAN_EQUALS,
            ]
        ),
        st.one_of(values, functions),
    ),
    st.builds(Clause, fields, st.sampled_from([Operator.IN, Operator.NOT_IN]), lists),
    st.builds(Clause, fields, st.sampled_from([Operator.IS, Operator.IS_NOT]), st.just(Empty())),
    st.builds(
        Clause, fields, st.sampled_from([Operator.WAS, Operator.WAS_NOT]), singles, was_predicates
    ),
    st.builds(
        Clause,
        fields,
        st.sampled_from([Operator.WAS_IN, Operator.WAS_NOT_IN]),
        lists,
        was_predicates,
    ),
    st.builds(Clause, fields, st.just(Operator.CHANGED), st.none(), changed_predicates),
)
nodes: st.SearchStrategy[Node] = st.recursive(
    clauses,
    lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=3).map(lambda items: And(tuple(items))),
        st.lists(inner, min_size=2, max_size=3).map(lambda items: Or(tuple(items))),
        inner.map(Not),
    ),
    max_leaves=6,
)
queries = st.builds(
    Query,
    st.none() | nodes,
    st.lists(
        st.builds(OrderBy, fields, st.none() | st.sampled_from(list(Direction))), max_size=7
    ).map(tuple),
)


@settings(max_examples=120, deadline=None)
@given(queries)
def test_printed_queries_parse_back_to_equal_trees(query: Query) -> None:
    text = str(query)
    assert parse(text) == query
    assert str(parse(text)) == text
