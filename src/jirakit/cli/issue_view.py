"""``jirakit issue view KEY``: one issue to read, with its latest comments and history."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any

import typer

from jirakit.cli._connect import Connection, connected
from jirakit.cli._output import plain
from jirakit.client import Jira
from jirakit.client.models import Issue, parse_datetime

VIEW_FIELDS = [
    "summary",
    "status",
    "issuetype",
    "priority",
    "assignee",
    "reporter",
    "created",
    "updated",
    "duedate",
    "parent",
    "labels",
    "description",
    "subtasks",
    "issuelinks",
    "attachment",
    "comment",
]


def _when(value: Any) -> str:
    moment = value if isinstance(value, datetime) else parse_datetime(value)
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


def _text(body: Any) -> str:
    """Rich text as plain text: ADF (Cloud) flattened, wiki markup (Data Center) as is."""
    if isinstance(body, Mapping) and body.get("type") == "doc":
        from jirakit.adf import to_text

        return to_text(dict(body)).strip()
    return "" if body is None else str(body).strip()


def latest_comments(jira: Jira, issue: Issue, count: int) -> tuple[list[dict[str, Any]], int]:
    """The newest ``count`` comments, oldest first, and how many there are in all. The
    embedded ``comment`` field answers when it holds them all; else one newest-first page."""
    embedded = issue.field("comment") or {}
    listed = list(embedded.get("comments") or [])
    total = int(embedded.get("total", len(listed)))
    if count <= 0:
        return [], total
    if len(listed) < total:
        listed = []
        for comment in jira.comments.list(issue.key or issue.id, order_by="-created"):
            listed.append(dict(comment.raw))
            if len(listed) >= count:
                break
        listed.reverse()
    listed.sort(key=lambda c: parse_datetime(c.get("created")) or datetime.min)
    return listed[-count:], total


def latest_history(issue: Issue, count: int) -> tuple[list[dict[str, Any]], int]:
    """The newest ``count`` changelog entries, oldest first, from the embedded changelog
    (Cloud embeds the newest, Data Center all of them), and the total."""
    changelog = issue.raw.get("changelog") or {}
    histories = [dict(h) for h in changelog.get("histories") or []]
    total = int(changelog.get("total", len(histories)))
    # two changes in the same millisecond (a transition, then an edit) are told apart by
    # their ids, which Jira hands out in order
    histories.sort(key=lambda h: (parse_datetime(h.get("created")) or datetime.min, _id(h)))
    return (histories[-count:] if count > 0 else []), total


def _id(entry: Mapping[str, Any]) -> int:
    value = str(entry.get("id") or "")
    return int(value) if value.isdigit() else 0


def _change(item: Mapping[str, Any]) -> str:
    old = item.get("fromString") or item.get("from") or ""
    new = item.get("toString") or item.get("to") or ""
    return f"{item.get('field', '?')}: {old or '(none)'} -> {new or '(none)'}"


def render(
    issue: Issue,
    comments: Sequence[Mapping[str, Any]],
    comment_total: int,
    history: Sequence[Mapping[str, Any]],
    history_total: int,
) -> list[str]:
    """The issue as lines of plain text (no markup: summaries may hold brackets)."""
    f = issue.field
    lines = [f"{issue.key}  {issue.summary or ''}"]
    facts = [
        ("type", plain(f("issuetype"))),
        ("status", plain(f("status"))),
        ("priority", plain(f("priority"))),
        ("assignee", plain(f("assignee")) or "unassigned"),
        ("reporter", plain(f("reporter"))),
        ("created", _when(f("created"))),
        ("updated", _when(f("updated"))),
        ("due", plain(f("duedate"))),
        ("parent", plain(f("parent"))),
        ("labels", plain(f("labels"))),
    ]
    shown = [f"{name}: {value}" for name, value in facts if value]
    lines += ["  " + "   ".join(shown[i : i + 4]) for i in range(0, len(shown), 4)]
    description = _text(f("description"))
    lines += ["", "Description", *(f"  {line}" for line in (description or "(none)").splitlines())]
    subtasks = f("subtasks") or []
    if subtasks:
        lines += ["", f"Sub-tasks ({len(subtasks)})"]
        lines += [
            f"  {s.get('key')}  {plain(s.get('fields', {}).get('status'))}  "
            f"{s.get('fields', {}).get('summary', '')}"
            for s in subtasks
        ]
    links = f("issuelinks") or []
    if links:
        lines += ["", f"Links ({len(links)})"]
        for link in links:
            kind = link.get("type", {})
            if "outwardIssue" in link:
                lines.append(f"  {kind.get('outward', '')} {link['outwardIssue'].get('key')}")
            elif "inwardIssue" in link:
                lines.append(f"  {kind.get('inward', '')} {link['inwardIssue'].get('key')}")
    attachments = f("attachment") or []
    if attachments:
        lines += ["", f"Attachments ({len(attachments)})"]
        lines += [f"  {a.get('filename')}  {a.get('size', 0):,} bytes" for a in attachments]
    lines += ["", f"Comments ({len(comments)} of {comment_total}, newest last)"]
    for comment in comments:
        author = plain(comment.get("author")) or "?"
        lines.append(f"  {author}, {_when(comment.get('created'))}")
        lines += [f"    {line}" for line in (_text(comment.get("body")) or "").splitlines()]
    lines += ["", f"History ({len(history)} of {history_total}, newest last)"]
    for entry in history:
        who = plain(entry.get("author")) or "?"
        for item in entry.get("items") or []:
            lines.append(f"  {_when(entry.get('created'))}  {who}  {_change(item)}")
    return lines


@connected()
def issue_view(
    key: Annotated[str, typer.Argument(help="Issue key, e.g. ENG-12.")],
    comments: Annotated[
        int, typer.Option("--comments", metavar="N", help="Show the newest N comments.")
    ] = 5,
    history: Annotated[
        int, typer.Option("--history", metavar="N", help="Show the newest N changes.")
    ] = 10,
    fmt: Annotated[
        str, typer.Option("--format", "-o", metavar="FORMAT", help="text or json.")
    ] = "text",
    *,
    conn: Connection,
) -> None:
    """Show an issue: its fields, description, latest comments and recent history."""
    if fmt not in ("text", "json"):
        raise typer.BadParameter("must be text or json", param_hint="--format")
    with conn.open() as jira:
        issue = jira.issues.get(key, fields=VIEW_FIELDS, expand=["changelog"])
        latest, comment_total = latest_comments(jira, issue, comments)
    changes, history_total = latest_history(issue, history)
    if fmt == "json":
        raw = dict(issue.raw)
        raw.pop("changelog", None)
        out = {
            "issue": raw,
            "comments": latest,
            "comments_total": comment_total,
            "history": changes,
            "history_total": history_total,
        }
        sys.stdout.write(json.dumps(out, indent=2, sort_keys=True) + "\n")
        return
    typer.echo("\n".join(render(issue, latest, comment_total, changes, history_total)))
