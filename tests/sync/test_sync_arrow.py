"""Rows to typed Arrow tables (`jirakit.sync.arrow`)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

import pyarrow as pa
import pytest

from jirakit.sync.arrow import infer_type, to_arrow


def test_declared_types_become_arrow_types_and_json_travels_as_text() -> None:
    rows = [
        {
            "id": 1,
            "key": "A-1",
            "points": 3,
            "done": True,
            "at": datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=2))),
            "due": date(2026, 4, 1),
            "labels": ["x", "ü"],
            "raw": {"fields": {"summary": "s"}},
        },
        {
            "id": 2,
            "key": None,
            "points": None,
            "done": None,
            "at": None,
            "due": None,
            "labels": None,
            "raw": None,
        },
    ]
    types = {
        "id": "bigint",
        "key": "text",
        "points": "double",
        "done": "bool",
        "at": "timestamp",
        "due": "date",
        "labels": "json",
        "raw": "json",
    }
    table = to_arrow(rows, types, required=frozenset({"id"}))
    schema = table.schema
    assert schema.field("id").type == pa.int64() and not schema.field("id").nullable
    assert schema.field("key").nullable
    assert schema.field("points").type == pa.float64()
    assert schema.field("done").type == pa.bool_()
    assert schema.field("at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("due").type == pa.date32()
    assert schema.field("labels").type == pa.string()
    first = table.to_pylist()[0]
    # An aware timestamp keeps its instant: 01:30 at +02:00 is 23:30 UTC the day before.
    assert first["at"] == datetime(2026, 3, 28, 23, 30, tzinfo=UTC)
    assert first["points"] == 3.0
    assert json.loads(first["labels"]) == ["x", "ü"]
    assert json.loads(first["raw"]) == {"fields": {"summary": "s"}}
    assert table.to_pylist()[1] == dict.fromkeys(types) | {"id": 2}


def test_declared_columns_absent_from_every_row_are_still_there() -> None:
    table = to_arrow([{"id": 1}], {"id": "bigint", "note": "text"})
    assert table.column_names == ["id", "note"]
    assert table.column("note").to_pylist() == [None]


def test_empty_batch_has_the_declared_schema() -> None:
    table = to_arrow([], {"id": "bigint", "at": "timestamp"})
    assert table.num_rows == 0
    assert table.schema.names == ["id", "at"]


def test_a_declared_column_that_does_not_fit_raises() -> None:
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError)):
        to_arrow([{"id": "not a number"}], {"id": "bigint"})


def test_text_columns_take_non_strings_as_json() -> None:
    table = to_arrow([{"v": {"a": 1}}, {"v": "plain"}, {"v": None}], {"v": "text"})
    assert table.column("v").to_pylist() == ['{"a":1}', "plain", None]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([None, None], None),
        ([True, None], "bool"),
        ([1, 2], "bigint"),
        ([1, 2.5], "double"),
        (["a", None], "text"),
        ([{"a": 1}], "json"),
        (["a", 1], "json"),
    ],
)
def test_infer_type(values: list[object], expected: str | None) -> None:
    assert infer_type(values) == expected


def test_undeclared_columns_keep_their_first_type_across_batches() -> None:
    inferred: dict[str, str] = {}
    first = to_arrow([{"id": 1, "extra": None}], {"id": "bigint"}, inferred)
    assert first.column_names == ["id"]  # all null: left out, type still open
    second = to_arrow([{"id": 2, "extra": 5}], {"id": "bigint"}, inferred)
    assert second.schema.field("extra").type == pa.int64()
    assert inferred == {"extra": "bigint"}
    # A later value that does not fit goes to a JSON variant column, not a new type.
    third = to_arrow([{"id": 3, "extra": "five"}], {"id": "bigint"}, inferred)
    assert third.column_names == ["id", "extra__v_json"]
    assert third.column("extra__v_json").to_pylist() == ['"five"']
