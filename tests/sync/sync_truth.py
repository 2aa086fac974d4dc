"""Ground truth for the sync tests: what the sandbox's API shows now, against what the
warehouse holds, as row counts and per-row content hashes.

The truth is read through the API of a second, fault-free app over the same store (ids from
the store, details by id: reads by id are never lagged), so it is exact even when the
sandbox under test injects faults or search lag.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from jirakit import BasicAuth, Jira
from jirakit.sandbox import Sandbox
from jirakit.sync.pipeline import SyncResult, run_sync, warehouse_for
from jirakit.sync.source import SyncOptions
from jirakit.sync.transform import markdown, utc
from jirakit.testing.asgi import SyncASGITransport

EMAIL, TOKEN = "admin@example.com", "sandbox-token"
Hashes = dict[Any, str]


def digest(*values: Any) -> str:
    return hashlib.sha1(json.dumps(values, default=str, sort_keys=True).encode()).hexdigest()


def iso(value: Any) -> str | None:
    moment = utc(value)
    return None if moment is None else moment.isoformat()


@contextmanager
def client(sandbox: Sandbox, **options: Any) -> Iterator[Jira]:
    transport = SyncASGITransport(sandbox.app)
    with Jira(
        "http://sandbox.local", auth=BasicAuth(EMAIL, TOKEN), transport=transport, **options
    ) as jira:
        yield jira
    transport.close()


@contextmanager
def clean_client(sandbox: Sandbox) -> Iterator[Jira]:
    """A client on a fault-free, lag-free app over the same store and clock."""
    search_lag = sandbox.store.site.get("search_lag", 0.0)
    clean = Sandbox(store=sandbox.store, clock=sandbox.clock, oauth=False)
    sandbox.store.site["search_lag"] = search_lag  # the constructor overwrote it
    with client(clean) as jira:
        yield jira


def sync(jira: Jira, tmp: Path, *, models: bool = False, **options: Any) -> SyncResult:
    """One sync into ``tmp/jira.duckdb`` (analytics models off: tested elsewhere)."""
    return run_sync(
        jira,
        models=models,
        warehouse=warehouse_for(f"duckdb:///{tmp / 'jira.duckdb'}"),
        pipelines_dir=str(tmp / "pipelines"),
        options=SyncOptions(**options),
    )


def query(tmp: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(tmp / "jira.duckdb"), read_only=True)
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()


# -- hashing one row, the same way on both sides ------------------------------------------


def issue_hash(key: Any, summary: Any, status: Any, assignee: Any, updated: Any) -> str:
    return digest(key, summary, status, assignee, iso(updated))


def history_hash(field_id: Any, from_value: Any, to_value: Any, to_string: Any, at: Any) -> str:
    return digest(field_id, from_value, to_value, to_string, iso(at))


def comment_hash(issue_id: Any, body: Any, updated: Any) -> str:
    return digest(int(issue_id), body, iso(updated))


def worklog_hash(issue_id: Any, seconds: Any, started: Any, updated: Any) -> str:
    return digest(int(issue_id), int(seconds), iso(started), iso(updated))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass
class Snapshot:
    issues: Hashes
    history: Hashes
    comments: Hashes
    worklogs: Hashes
    links: set[int]

    def counts(self) -> dict[str, int]:
        return {
            "issues": len(self.issues),
            "issue_field_history": len(self.history),
            "comments": len(self.comments),
            "worklogs": len(self.worklogs),
            "issue_links": len(self.links),
        }


def truth(sandbox: Sandbox) -> Snapshot:
    """Everything the API shows now (every issue, its full history, comments, worklogs)."""
    with clean_client(sandbox) as jira:
        ids = sorted(int(i) for i in sandbox.store.issues)
        raw: list[Mapping[str, Any]] = []
        for start in range(0, len(ids), 100):
            raw.extend(i.raw for i in jira.issues.bulk_fetch(ids[start : start + 100]).issues)
        issues: Hashes = {}
        comments: Hashes = {}
        worklogs: Hashes = {}
        links: set[int] = set()
        for issue in raw:
            f = issue["fields"]
            issue_id = int(issue["id"])
            issues[issue_id] = issue_hash(
                issue["key"],
                f.get("summary"),
                (f.get("status") or {}).get("name"),
                (f.get("assignee") or {}).get("accountId"),
                f.get("updated"),
            )
            for c in jira.comments.list(str(issue_id)).all():
                comments[int(c.raw["id"])] = comment_hash(
                    issue_id, markdown(c.raw.get("body")), c.raw.get("updated")
                )
            for w in jira.worklogs.list(str(issue_id)).all():
                worklogs[int(w.raw["id"])] = worklog_hash(
                    issue_id,
                    w.raw.get("timeSpentSeconds"),
                    w.raw.get("started"),
                    w.raw.get("updated"),
                )
            links.update(int(link["id"]) for link in f.get("issuelinks") or [])
        history: Hashes = {}
        for start in range(0, len(ids), 1000):
            for log in jira.changelogs.bulk_fetch(ids[start : start + 1000]):
                for h in log.histories:
                    for index, item in enumerate(h.get("items") or []):
                        history[(int(log.issue_id), int(h["id"]), index)] = history_hash(
                            item.get("fieldId") or item.get("field"),
                            _text(item.get("from")),
                            _text(item.get("to")),
                            _text(item.get("toString")),
                            h.get("created"),
                        )
    return Snapshot(issues, history, comments, worklogs, links)


def warehouse(tmp: Path) -> Snapshot:
    """What the warehouse holds as current (not deleted) rows."""
    issues = {
        r[0]: issue_hash(*r[1:])
        for r in query(
            tmp,
            "select id, key, summary, status, assignee_id, updated_at from issues "
            "where not is_deleted",
        )
    }
    history = {
        (r[0], r[1], r[2]): history_hash(*r[3:])
        for r in query(
            tmp,
            "select h.issue_id, h.history_id, h.item_index, h.field_id, h.from_value, "
            "h.to_value, h.to_string, h.changed_at from issue_field_history h "
            "join issues i on i.id = h.issue_id where not i.is_deleted",
        )
    }
    comments = {
        r[0]: comment_hash(*r[1:])
        for r in query(
            tmp, "select id, issue_id, body, updated_at from comments where not is_deleted"
        )
    }
    worklogs = {
        r[0]: worklog_hash(*r[1:])
        for r in query(
            tmp,
            "select id, issue_id, time_spent_seconds, started_at, updated_at from worklogs "
            "where not is_deleted",
        )
    }
    links = {r[0] for r in query(tmp, "select id from issue_links")}
    return Snapshot(issues, history, comments, worklogs, links)


def _diff(name: str, want: Hashes, got: Hashes) -> list[str]:
    if want == got:
        return []
    missing = sorted(set(want) - set(got), key=str)[:5]
    extra = sorted(set(got) - set(want), key=str)[:5]
    changed = sorted((k for k in set(want) & set(got) if want[k] != got[k]), key=str)[:5]
    return [
        f"{name}: {len(got)} rows, want {len(want)}; missing {missing}, extra {extra}, "
        f"differing {changed}"
    ]


def assert_matches_truth(sandbox: Sandbox, tmp: Path, *, worklogs: bool = True) -> Snapshot:
    """The warehouse equals the API's ground truth: counts and per-row hashes."""
    want, got = truth(sandbox), warehouse(tmp)
    problems = (
        _diff("issues", want.issues, got.issues)
        + _diff("issue_field_history", want.history, got.history)
        + _diff("comments", want.comments, got.comments)
        + (_diff("worklogs", want.worklogs, got.worklogs) if worklogs else [])
        + _diff("issue_links", dict.fromkeys(want.links, ""), dict.fromkeys(got.links, ""))
    )
    assert not problems, "\n".join(problems)
    return want


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def keys(sandbox: Sandbox, *, leaf: bool = False, having: str | None = None) -> list[str]:
    """Issue keys in number order; ``leaf``: without sub-tasks (deletable as is);
    ``having``: with some ``comments``/``worklogs``/``links``."""
    store = sandbox.store
    out = []
    for rec in store.issues.values():
        if leaf and store.children.get(rec.id):
            continue
        if having and not getattr(rec, having):
            continue
        out.append(rec.key)
    return sorted(out, key=lambda k: (k.split("-")[0], int(k.split("-")[1])))
