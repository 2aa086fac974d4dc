"""JQL functions, evaluated once at compile time against the `EvalContext`.

A function call resolves to a `FunctionResult`: identity keys to compare like literal values
(user accountIds, sprint/version/component/project ids, issue keys), an instant for the
date functions, and/or predicates for what cannot be listed up front (a sprint object's
``state`` on the issue itself, ``updatedBy()`` over the issue's changelog).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from jirakit.jql._dates import (
    Instant,
    instant,
    is_period_function,
    parse_date_literal,
    parse_issue_datetime,
    period_instant,
)
from jirakit.jql._errors import evaluation_error
from jirakit.jql.ast import Function
from jirakit.jql.context import EvalContext

Issue = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class FunctionResult:
    keys: frozenset[str] = frozenset()
    instant: Instant | None = None
    element_pred: Callable[[Any], bool] | None = None
    issue_pred: Callable[[Issue], bool] | None = None


def _fold(value: Any) -> str:
    return str(value).casefold()


def user_identity(user: Mapping[str, Any]) -> set[str]:
    return {
        _fold(user[attr])
        for attr in ("accountId", "emailAddress", "displayName", "name", "key")
        if user.get(attr)
    }


def resolve_user(text: str, ctx: EvalContext) -> frozenset[str]:
    """Identity keys for a user written as accountId, email, display name or username."""
    folded = _fold(text)
    keys = {folded}
    for user in ctx.users:
        identity = user_identity(user)
        if folded in identity:
            keys |= identity
    return frozenset(keys)


def _current_user_keys(ctx: EvalContext) -> frozenset[str]:
    if ctx.current_user is None:
        return frozenset()
    return resolve_user(ctx.current_user, ctx)


def _user_arg(args: tuple[str, ...], index: int, ctx: EvalContext) -> frozenset[str]:
    if len(args) > index:
        return resolve_user(args[index], ctx)
    return _current_user_keys(ctx)


def _group_members(name: str, ctx: EvalContext, function: str) -> frozenset[str]:
    for group, members in ctx.groups.items():
        if group.casefold() == name.casefold():
            keys: set[str] = set()
            for member in members:
                keys |= resolve_user(member, ctx)
            return frozenset(keys)
    raise evaluation_error(
        f"Function '{function}' can not generate a list of usernames for group '{name}'; "
        "the group does not exist."
    )


def _project_matcher(arg: str, ctx: EvalContext) -> Callable[[Any], bool]:
    """Does a version/component's project reference (id or key) denote project ``arg``?"""
    folded = _fold(arg)
    names = {folded}
    for project in ctx.projects:
        identity = {_fold(project.get(a)) for a in ("id", "key", "name") if project.get(a)}
        if folded in identity:
            names |= identity
    return lambda ref: ref is not None and _fold(ref) in names


def _versions(ctx: EvalContext, args: tuple[str, ...]) -> list[Mapping[str, Any]]:
    if not args:
        return list(ctx.versions)
    in_project = _project_matcher(args[0], ctx)
    return [
        v for v in ctx.versions if in_project(v.get("projectId")) or in_project(v.get("project"))
    ]


def _ids(items: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    return frozenset(_fold(item.get("id")) for item in items if item.get("id") is not None)


def _sprints(state: str, ctx: EvalContext) -> FunctionResult:
    return FunctionResult(
        keys=_ids(s for s in ctx.sprints if _fold(s.get("state", "")) == state),
        element_pred=lambda raw: isinstance(raw, Mapping) and _fold(raw.get("state", "")) == state,
    )


def _linked_issues(args: tuple[str, ...], ctx: EvalContext, name: str) -> FunctionResult:
    """Issues linked to ``args[0]``; ``args[1]`` filters by the link *description* as seen
    from that issue (``"blocks"``, ``"is blocked by"``), as Jira does."""
    if not args:
        raise evaluation_error(
            f"Function '{name}' expected between '1' and '2' arguments but received '0'."
        )
    target = _fold(args[0])
    link_type = _fold(args[1]) if len(args) > 1 else None
    keys: set[str] = set()
    issue = ctx.issue_by_key(args[0])
    if issue is not None:
        target_keys = {_fold(issue.get("key", "")), _fold(issue.get("id", ""))}
        for link in issue.get("fields", {}).get("issuelinks") or ():
            kind = link.get("type") or {}
            for side, description in (("inwardIssue", "inward"), ("outwardIssue", "outward")):
                other = link.get(side)
                if other is None:
                    continue
                if link_type is not None and link_type != _fold(kind.get(description, "")):
                    continue
                keys |= {_fold(other[a]) for a in ("key", "id") if other.get(a)}
    else:
        target_keys = {target}

    def linked_to_target(candidate: Issue) -> bool:
        # The link as recorded on the candidate: from the target's point of view the
        # description is the opposite side's (candidate -> outwardIssue = target means the
        # target sees the candidate through the link's *inward* description).
        for link in candidate.get("fields", {}).get("issuelinks") or ():
            kind = link.get("type") or {}
            for side, description in (("outwardIssue", "inward"), ("inwardIssue", "outward")):
                other = link.get(side)
                if other is None or not (
                    {_fold(other.get("key", "")), _fold(other.get("id", ""))} & target_keys
                ):
                    continue
                if link_type is None or link_type == _fold(kind.get(description, "")):
                    return True
        return False

    return FunctionResult(keys=frozenset(keys), issue_pred=linked_to_target)


def _updated_by(args: tuple[str, ...], ctx: EvalContext, name: str) -> FunctionResult:
    if not args:
        raise evaluation_error(
            f"Function '{name}' expected between '1' and '3' arguments but received '0'."
        )
    who = resolve_user(args[0], ctx)
    low = (
        parse_date_literal(args[1], quoted=True, now=ctx.now, tz=ctx.tz, field_name=name).minute
        if len(args) > 1
        else None
    )
    high = (
        parse_date_literal(args[2], quoted=True, now=ctx.now, tz=ctx.tz, field_name=name).minute
        if len(args) > 2
        else None
    )

    def by_user(person: Any) -> bool:
        if not isinstance(person, Mapping):
            return False
        return any(
            _fold(person[a]) in who
            for a in ("accountId", "emailAddress", "displayName", "name", "key")
            if person.get(a)
        )

    def in_range(when: Any) -> bool:
        if not isinstance(when, str) or not when:
            return low is None and high is None
        minute = parse_issue_datetime(when)
        return (low is None or minute >= low) and (high is None or minute <= high)

    def updated(issue: Issue) -> bool:
        fields = issue.get("fields", {})
        if by_user(fields.get("creator") or fields.get("reporter")) and in_range(
            fields.get("created")
        ):
            return True
        for history in (issue.get("changelog") or {}).get("histories") or ():
            if by_user(history.get("author")) and in_range(history.get("created")):
                return True
        comment = fields.get("comment")
        comments = comment.get("comments", []) if isinstance(comment, Mapping) else []
        for item in comments:
            if by_user(item.get("author")) and in_range(item.get("created")):
                return True
            if by_user(item.get("updateAuthor")) and in_range(item.get("updated")):
                return True
        return False

    return FunctionResult(issue_pred=updated)


def _watched(table: Mapping[str, frozenset[str]], flag: str, ctx: EvalContext) -> FunctionResult:
    me = _current_user_keys(ctx)
    keys = frozenset(
        _fold(issue_id)
        for issue_id, accounts in table.items()
        if any(_fold(account) in me for account in accounts)
    )
    if table:
        return FunctionResult(keys=keys)
    # No table: fall back to the issue's own "isWatching"/"hasVoted" flag (as fetched by
    # the current user).
    container = "watches" if flag == "isWatching" else "votes"
    return FunctionResult(
        issue_pred=lambda issue: bool((issue.get("fields", {}).get(container) or {}).get(flag))
    )


def _lead_matches(lead: Any, who: frozenset[str]) -> bool:
    if isinstance(lead, Mapping):
        return any(
            _fold(lead[a]) in who
            for a in ("accountId", "emailAddress", "displayName", "name", "key")
            if lead.get(a)
        )
    return lead is not None and _fold(lead) in who


def _version_by(
    args: tuple[str, ...], ctx: EvalContext, name: str, *, released: bool
) -> FunctionResult:
    if not args:
        raise evaluation_error(f"Function '{name}' expected '1' arguments but received '0'.")
    candidates = [
        v
        for v in _versions(ctx, args)
        if bool(v.get("released")) == released and not (not released and v.get("archived"))
    ]
    if not candidates:
        return FunctionResult()
    if released:
        # Latest released: the latest release date; versions without one count as
        # older; ties go to the later position (sequence) in the project's list.
        chosen = max(
            enumerate(candidates),
            key=lambda pair: (str(pair[1].get("releaseDate") or ""), pair[0]),
        )[1]
    else:
        chosen = candidates[0]
    return FunctionResult(keys=_ids([chosen]))


def evaluate(function: Function, ctx: EvalContext) -> FunctionResult:
    """Evaluate a function operand; unknown functions raise Jira's error."""
    name = function.name
    lowered = name.lower()
    args = function.args
    if lowered == "currentuser":
        return FunctionResult(keys=_current_user_keys(ctx))
    if lowered == "membersof":
        if not args:
            raise evaluation_error(f"Function '{name}' expected '1' arguments but received '0'.")
        return FunctionResult(keys=_group_members(args[0], ctx, name))
    if lowered == "now":
        return FunctionResult(instant=instant(ctx.now, ctx.tz))
    if is_period_function(name):
        return FunctionResult(
            instant=period_instant(name, args, now=ctx.now, tz=ctx.tz, week_start=ctx.week_start)
        )
    if lowered == "opensprints":
        return _sprints("active", ctx)
    if lowered == "closedsprints":
        return _sprints("closed", ctx)
    if lowered == "futuresprints":
        return _sprints("future", ctx)
    if lowered == "issuehistory":
        return FunctionResult(keys=frozenset(_fold(key) for key in ctx.history))
    if lowered == "linkedissues":
        return _linked_issues(args, ctx, name)
    if lowered == "updatedby":
        return _updated_by(args, ctx, name)
    if lowered == "watchedissues":
        return _watched(ctx.watchers, "isWatching", ctx)
    if lowered == "votedissues":
        return _watched(ctx.voters, "hasVoted", ctx)
    if lowered in ("releasedversions", "unreleasedversions"):
        released = lowered == "releasedversions"
        versions = [v for v in _versions(ctx, args) if bool(v.get("released")) == released]
        pred = None
        if not args:

            def pred(raw: Any) -> bool:
                return isinstance(raw, Mapping) and bool(raw.get("released")) == released

        return FunctionResult(keys=_ids(versions), element_pred=pred)
    if lowered == "latestreleasedversion":
        return _version_by(args, ctx, name, released=True)
    if lowered == "earliestunreleasedversion":
        return _version_by(args, ctx, name, released=False)
    if lowered == "componentsleadbyuser":
        who = _user_arg(args, 0, ctx)
        return FunctionResult(
            keys=_ids(c for c in ctx.components if _lead_matches(c.get("lead"), who))
        )
    if lowered == "projectsleadbyuser":
        who = _user_arg(args, 0, ctx)
        leads = [p for p in ctx.projects if _lead_matches(p.get("lead"), who)]
        return FunctionResult(
            keys=_ids(leads) | frozenset(_fold(p["key"]) for p in leads if p.get("key"))
        )
    if lowered == "cascadeoption":
        return _cascade_option(args)
    if lowered in ("standardissuetypes", "subtaskissuetypes"):
        subtask = lowered == "subtaskissuetypes"
        return FunctionResult(
            element_pred=lambda raw: (
                isinstance(raw, Mapping) and bool(raw.get("subtask")) == subtask
            )
        )
    shown = ", ".join(args)
    raise evaluation_error(f"Unable to find JQL function '{name}({shown})'.")


_NONE: Final = "none"


def _cascade_option(args: tuple[str, ...]) -> FunctionResult:
    parent = _fold(args[0]) if args else None
    child = _fold(args[1]) if len(args) > 1 else None

    def matches(raw: Any) -> bool:
        if not isinstance(raw, Mapping) or parent is None:
            return False
        if parent not in {_fold(raw.get("value", "")), _fold(raw.get("id", ""))}:
            return False
        node = raw.get("child")
        if child is None:
            return True
        if child == _NONE:
            return not node
        return isinstance(node, Mapping) and child in {
            _fold(node.get("value", "")),
            _fold(node.get("id", "")),
        }

    return FunctionResult(element_pred=matches)
