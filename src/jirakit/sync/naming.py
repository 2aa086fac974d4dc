"""Friendly, stable warehouse column names for Jira's free-form field names.

``"Story Points"`` becomes ``story_points``; ``"🚀 Launch-date (UTC)"`` becomes
``launch_date_utc``; two fields both called ``Team`` become ``team`` and ``team_10051``.
Names are assigned once per field id and then kept: renaming a field in Jira does not
rename its column (the rename is reported as drift instead), so downstream SQL keeps
working. User overrides (by field id or by name) win over everything.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from jirakit.errors import ConfigurationError

# Postgres truncates identifiers at 63 bytes; leave room for a collision suffix.
MAX_LENGTH = 55
_NON_WORD = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_VALID = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# Words that make poor bare column names in SQL.
SQL_RESERVED = frozenset(
    """all and any array as asc between by case cast check column constraint create cross
    current_date current_time current_timestamp default delete desc distinct do drop else end
    except false fetch for foreign from full grant group having in inner insert intersect into
    is join lateral leading left like limit natural not null offset on only or order outer
    primary references returning right select session_user some table then to trailing true
    union unique update user using values when where window with""".split()
)


def snake(name: str) -> str:
    """A lower snake_case identifier from any text (may be empty for all-symbol names)."""
    text = _CAMEL.sub("_", name)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = _NON_WORD.sub("_", text.lower()).strip("_")
    if text and text[0].isdigit():
        text = f"f_{text}"
    return text[:MAX_LENGTH].rstrip("_")


def _suffix(field_id: str) -> str:
    digits = re.sub(r"\D", "", field_id)
    return digits or snake(field_id) or "x"


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """field id -> column name, plus the reverse."""

    columns: Mapping[str, str]

    def column(self, field_id: str) -> str | None:
        return self.columns.get(field_id)

    @property
    def by_column(self) -> dict[str, str]:
        return {column: field_id for field_id, column in self.columns.items()}


def assign_columns(
    fields: Iterable[Mapping[str, object]],
    *,
    previous: Mapping[str, str] | None = None,
    overrides: Mapping[str, str] | None = None,
    reserved: Iterable[str] = (),
) -> ColumnMap:
    """Column names for custom fields.

    - ``previous``: the assignment of the last sync (field id -> column); kept as is.
    - ``overrides``: user config, keyed by field id or by field name.
    - ``reserved``: names already taken (system columns of the table).
    Deterministic: the same inputs always give the same names.
    """
    taken = {*reserved, *SQL_RESERVED}
    result: dict[str, str] = {}
    custom = sorted(
        (f for f in fields if f.get("custom")), key=lambda f: _id_order(str(f.get("id", "")))
    )
    ids = {str(f["id"]) for f in custom}
    by_name: dict[str, list[str]] = {}
    for f in custom:
        by_name.setdefault(str(f.get("name", "")), []).append(str(f["id"]))

    wanted: dict[str, str] = {}
    for key, column in (overrides or {}).items():
        if not _VALID.match(column):
            raise ConfigurationError(
                f"column override {key!r} -> {column!r} is not a valid column name "
                "(lower case letters, digits and _, not starting with a digit)"
            )
        targets = [key] if key in ids else by_name.get(key, [])
        if not targets:
            raise ConfigurationError(f"column override names an unknown field: {key!r}")
        if len(targets) > 1:
            raise ConfigurationError(
                f"column override {key!r} matches several fields ({', '.join(targets)}); "
                "use a field id instead"
            )
        wanted[targets[0]] = column
    for field_id, column in wanted.items():
        if column in taken or column in result.values():
            raise ConfigurationError(f"column override {column!r} collides with another column")
        result[field_id] = column

    for field_id, column in (previous or {}).items():
        if field_id in ids and field_id not in result and column not in result.values():
            result[field_id] = column

    for f in custom:
        field_id = str(f["id"])
        if field_id in result:
            continue
        base = snake(str(f.get("name", ""))) or f"field_{_suffix(field_id)}"
        column = base
        if column in taken or column in result.values():
            column = f"{base}_{_suffix(field_id)}"
        n = 2
        while column in taken or column in result.values():
            column = f"{base}_{_suffix(field_id)}_{n}"
            n += 1
        result[field_id] = column
    return ColumnMap(result)


def _id_order(field_id: str) -> tuple[int, str]:
    digits = re.sub(r"\D", "", field_id)
    return (int(digits) if digits else 0, field_id)
