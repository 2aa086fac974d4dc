"""Rows to Arrow tables, typed by the table contract.

Why Arrow: dlt keeps plain rows in memory per table until a buffer fills, then normalizes
them row by row in Python and loads DuckDB from generated INSERT statements, which DuckDB
parses whole. Handing dlt typed Arrow tables instead lets it write Parquet during
extraction, skip row normalization and have DuckDB read the files directly: less memory
(no buffered Python dicts of raw issue JSON) and much less CPU. Postgres still gets its
files converted by dlt (CSV/COPY).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import pyarrow as pa

# dlt data type -> Arrow type. ``json`` travels as text (JSON documents); dlt's hint keeps
# the column's type ``json`` in the warehouse.
ARROW_TYPES: dict[str, Any] = {
    "text": pa.string(),
    "bigint": pa.int64(),
    "double": pa.float64(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
    "json": pa.string(),
}


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return orjson.dumps(value, default=str).decode()


def infer_type(values: Sequence[Any]) -> str | None:
    """A dlt type for a column with no declared type, from its values (None: all null)."""
    kinds = {type(v) for v in values if v is not None}
    if not kinds:
        return None
    if kinds <= {bool}:
        return "bool"
    if kinds <= {int}:
        return "bigint"
    if kinds <= {int, float}:
        return "double"
    if kinds <= {str}:
        return "text"
    return "json"


def to_arrow(
    rows: Sequence[Mapping[str, Any]],
    types: Mapping[str, str],
    inferred: dict[str, str] | None = None,
    required: frozenset[str] = frozenset(),
) -> Any:
    """An Arrow table with one column per entry of ``types`` (declared dlt types), plus
    any column the rows carry that ``types`` does not name, typed from its values.

    ``inferred`` remembers those inferred types across the batches of one table, so a
    column keeps the type its first non-null batch gave it (ints in a column first seen
    as ``double`` stay doubles; anything else that does not fit travels as JSON text in a
    ``json`` column of its own, dlt's variant). Undeclared columns that are all null in a
    batch are left out of it: dlt fills them with nulls. Columns in ``required`` (primary
    keys) are declared not nullable, as dlt's hints say."""
    inferred = {} if inferred is None else inferred
    names = list(types)
    seen = set(names)
    for row in rows:
        for name in row:
            if name not in seen:
                seen.add(name)
                names.append(name)
    arrays: list[Any] = []
    kept: list[Any] = []
    for name in names:
        values = [row.get(name) for row in rows]
        kind = types.get(name) or inferred.get(name)
        if kind is None:
            kind = infer_type(values)
            if kind is None:
                continue
            inferred[name] = kind
        if kind == "json":
            values = [_json(v) for v in values]
        elif kind == "text" and not all(v is None or isinstance(v, str) for v in values):
            values = [v if v is None or isinstance(v, str) else _json(v) for v in values]
        try:
            array = pa.array(values, type=ARROW_TYPES[kind])
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            if name in types:
                raise
            array = pa.array([_json(v) for v in values], type=pa.string())
            name = f"{name}__v_json"
        arrays.append(array)
        kept.append(pa.field(name, array.type, nullable=name not in required))
    return pa.Table.from_arrays(arrays, schema=pa.schema(kept))
