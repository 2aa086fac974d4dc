"""What the evaluator needs to know besides the issue itself.

Everything is plain data in Jira's REST JSON shapes, so any store (the sandbox, a cache
of a real site, a test) can build one. All fields but ``now`` are optional.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

Json = Mapping[str, Any]


@dataclass(frozen=True)
class EvalContext:
    """Evaluation context for `Query.matches` / `Query.sort_key`.

    - ``now``: an aware datetime; relative dates and ``now()`` are taken from it.
    - ``tz``: the searching user's time zone; absolute dates (``"2024-03-01"``) and
      ``startOfDay()``-style functions are read in it, at minute granularity.
    - ``current_user``: accountId for ``currentUser()``.
    - ``users``: user JSON (``accountId``, ``displayName``, ``emailAddress``, ``name``) used
      to resolve user values written as names or emails.
    - ``groups``: group name -> member accountIds, for ``membersOf()``.
    - ``fields``: field metadata as returned by ``GET /rest/api/3/field`` (``id``, ``name``,
      ``custom``, ``schema``, ``clauseNames``); resolves custom field names and types.
    - ``projects``: project JSON (``id``, ``key``, ``name``, ``lead``, ``projectTypeKey``).
    - ``sprints``: sprint JSON (``id``, ``name``, ``state`` future/active/closed).
    - ``versions``: version JSON (``id``, ``name``, ``projectId``, ``released``,
      ``releaseDate``, ``archived``).
    - ``components``: component JSON (``id``, ``name``, ``project``, ``lead``).
    - ``watchers`` / ``voters``: issue id -> accountIds.
    - ``history``: issue keys the current user viewed, most recent first (``issueHistory()``).
    - ``issue_by_key``: looks an issue up by key or id (``parent``, ``linkedIssues()``),
      returns ``None`` when unknown.
    - ``statuses``: status JSON with ``statusCategory`` (resolves ``statusCategory`` clauses
      when an issue's status lacks its category).
    - ``priorities``: priority JSON, highest first as ``GET /priority`` returns them
      (orders ``priority`` comparisons and sorting; without it lower ids rank higher).
    - ``week_start``: first day of the week for ``startOfWeek()``/``endOfWeek()`` as a
      Python weekday (0 = Monday ... 6 = Sunday); Jira's default locale uses Sunday.
    - ``hours_per_day`` / ``days_per_week``: time-tracking units for ``timespent`` /
      ``originalEstimate`` / ``remainingEstimate`` values such as ``"1d"`` (Jira: 8 and 5).
    """

    now: datetime
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    current_user: str | None = None
    users: Sequence[Json] = ()
    groups: Mapping[str, frozenset[str]] = field(default_factory=dict)
    fields: Sequence[Json] = ()
    projects: Sequence[Json] = ()
    sprints: Sequence[Json] = ()
    versions: Sequence[Json] = ()
    components: Sequence[Json] = ()
    statuses: Sequence[Json] = ()
    watchers: Mapping[str, frozenset[str]] = field(default_factory=dict)
    voters: Mapping[str, frozenset[str]] = field(default_factory=dict)
    history: Sequence[str] = ()
    issue_by_key: Callable[[str], Json | None] = field(default=lambda _key: None)
    priorities: Sequence[Json] = ()
    week_start: int = 6
    hours_per_day: int = 8
    days_per_week: int = 5
