"""Ground truth for the sync tests: what the sandbox holds now, against what the
warehouse holds, as row counts and per-row content hashes.

The truth is read from the sandbox's store, under its lock: not through jirakit's client
and not through jirakit's ADF conversions, so that a bug there shows as a difference
instead of agreeing with itself. It is exact even when the sandbox under test injects
faults or search lag. Comment bodies are compared as their plain text: on the store's side
from the ADF by a walker written here, on the warehouse's side from the Markdown the sync
wrote, read with markdown-it-py.
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
from jirakit.sync.transform import utc
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
    """Everything the sandbox holds now: every issue, its full history, comments, worklogs
    and links, read from the store."""
    store = sandbox.store
    issues: Hashes = {}
    history: Hashes = {}
    comments: Hashes = {}
    worklogs: Hashes = {}
    links: set[int] = set()
    with store.lock:
        for rec in store.issues.values():
            f = rec.fields
            issues[rec.id] = issue_hash(
                rec.key,
                f.get("summary"),
                (f.get("status") or {}).get("name"),
                (f.get("assignee") or {}).get("accountId"),
                f.get("updated"),
            )
            for h in rec.histories:
                for index, (field, _, field_id, old, _, new, new_string) in enumerate(h.items):
                    history[(rec.id, h.id, index)] = history_hash(
                        field_id or field, _text(old), _text(new), _text(new_string), h.created
                    )
            for c in rec.comments:
                comments[int(c["id"])] = comment_hash(
                    rec.id, body_text(c.get("body")), c["updated"]
                )
            for w in rec.worklogs:
                worklogs[int(w["id"])] = worklog_hash(
                    rec.id, w["timeSpentSeconds"], w["started"], w["updated"]
                )
            links.update(rec.links)
    return Snapshot(issues, history, comments, worklogs, links)


# -- comment bodies as plain text, without jirakit's converters ---------------------------

# ADF inline nodes that stand for text through an attribute.
_ATTR_TEXT = {"mention": "text", "emoji": "text", "status": "text", "inlineCard": "url"}
_BLOCKS = {"paragraph", "heading", "listItem", "codeBlock", "blockquote", "tableCell", "panel"}


def adf_text(node: Any) -> str:
    """The words of an ADF document, whitespace collapsed."""
    parts: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, list):
            for child in value:
                walk(child)
            return
        if not isinstance(value, Mapping):
            return
        kind = value.get("type")
        if kind == "text":
            parts.append(str(value.get("text", "")))
        elif kind in _ATTR_TEXT:
            parts.append(str((value.get("attrs") or {}).get(_ATTR_TEXT[kind]) or ""))
        elif kind == "hardBreak":
            parts.append(" ")
        walk(value.get("content"))
        if kind in _BLOCKS:
            parts.append(" ")

    walk(node)
    return " ".join("".join(parts).split())


def markdown_text(text: str) -> str:
    """The words of a Markdown text, whitespace collapsed (markdown-it-py, CommonMark)."""
    from markdown_it import MarkdownIt

    parts: list[str] = []
    for token in MarkdownIt("commonmark").parse(text):
        if token.type == "inline":
            for child in token.children or []:
                if child.type in ("text", "code_inline"):
                    parts.append(child.content)
                elif child.type in ("softbreak", "hardbreak"):
                    parts.append(" ")
        elif token.type in ("code_block", "fence"):
            parts.append(token.content)
        parts.append(" ")
    return " ".join("".join(parts).split())


def body_text(body: Any) -> str | None:
    """A comment body in the store (ADF, or wiki text on Data Center) as plain text."""
    if body is None:
        return None
    return adf_text(body) if isinstance(body, Mapping) else markdown_text(str(body))


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
        r[0]: comment_hash(r[1], None if r[2] is None else markdown_text(r[2]), r[3])
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
