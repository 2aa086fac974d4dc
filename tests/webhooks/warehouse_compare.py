"""Comparing two warehouses row by row: the one the receiver kept current against one a
fresh full sync wrote, on every column but the load bookkeeping (``synced_at``, dlt's)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

IGNORED = {"synced_at", "_dlt_load_id", "_dlt_id", "deleted_at"}
# table -> (key columns, the rows that count as current)
TABLES = {
    "issues": (("id",), "not is_deleted"),
    "comments": (("id",), "not is_deleted"),
    "worklogs": (("id",), "not is_deleted"),
    "issue_field_history": (
        ("issue_id", "history_id", "item_index"),
        "issue_id in (select id from issues where not is_deleted)",
    ),
    "issue_links": (("id",), "true"),
    "attachments": (("id",), "issue_id in (select id from issues where not is_deleted)"),
    "sprint_issues": (
        ("sprint_id", "issue_id"),
        "issue_id in (select id from issues where not is_deleted)",
    ),
}


def _norm(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def rows(path: Path, table: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    key, where = TABLES[table]
    con = duckdb.connect(str(path), read_only=True)
    try:
        cur = con.execute(f"select * from {table} where {where}")
        names = [d[0] for d in cur.description]
        out = {}
        for raw in cur.fetchall():
            row = {n: _norm(v) for n, v in zip(names, raw, strict=True) if n not in IGNORED}
            out[tuple(row[k] for k in key)] = row
        return out
    finally:
        con.close()


def differences(receiver_db: Path, sync_db: Path) -> list[str]:
    """What differs, per table (empty: the same rows with the same values)."""
    problems: list[str] = []
    for table in TABLES:
        got, want = rows(receiver_db, table), rows(sync_db, table)
        missing = sorted(set(want) - set(got))[:5]
        extra = sorted(set(got) - set(want))[:5]
        changed = []
        for k in sorted(set(got) & set(want)):
            if got[k] != want[k]:
                cols = sorted(c for c in want[k] if got[k].get(c) != want[k].get(c))
                changed.append((k, cols))
        if missing or extra or changed:
            problems.append(
                f"{table}: {len(got)} rows vs {len(want)}; missing {missing}, extra {extra}, "
                f"differing {changed[:5]}"
            )
    return problems


def deleted(path: Path, table: str = "issues") -> set[int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {
            int(r[0]) for r in con.execute(f"select id from {table} where is_deleted").fetchall()
        }
    finally:
        con.close()
