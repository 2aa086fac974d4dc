"""Registering webhooks: dynamic (OAuth 2.0 / Connect apps) and admin ones; refreshing.

Dynamic webhooks (``/rest/api/3/webhook``, on `jirakit.client` ``jira.webhooks``) accept a
JQL subset only, and expire 30 days after registration unless refreshed. `register`
checks the JQL (and the event names) before anything is sent, and says which field,
operator or function is not allowed; `refresh` extends every webhook of the app that
expires within a window (``jirakit webhooks refresh``, and a job in ``serve``).

Admin webhooks (``/rest/webhooks/1.0/webhook``: site admins, and Data Center) take full
JQL and a ``secret`` that makes Jira sign each delivery (``X-Hub-Signature``): `AdminWebhooks`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from jirakit.client.resources.webhooks import DynamicWebhook, Registered, WebhookSpec
from jirakit.jql import And, Clause, Function, Not, Operator, Or, ValueList, parse
from jirakit.jql.errors import JqlError

if TYPE_CHECKING:
    from jirakit.client import Jira
    from jirakit.webhooks.store import Inbox

__all__ = [
    "DYNAMIC_EVENTS",
    "AdminWebhooks",
    "RefreshResult",
    "UnsupportedWebhook",
    "jql_problems",
    "refresh",
    "register",
]

# developer.atlassian.com, "Webhooks" > "Registering a webhook via the REST API".
DYNAMIC_EVENTS = (
    "jira:issue_created",
    "jira:issue_updated",
    "jira:issue_deleted",
    "comment_created",
    "comment_updated",
    "comment_deleted",
    "issue_property_set",
    "issue_property_deleted",
)
DYNAMIC_FIELDS = frozenset(
    {"issuekey", "key", "project", "issuetype", "type", "status", "assignee", "reporter"}
)
DYNAMIC_OPERATORS = frozenset({Operator.EQUALS, Operator.NOT_EQUALS, Operator.IN, Operator.NOT_IN})
SUBSET = (
    "dynamic webhooks take only issueKey, project, issuetype, status, assignee, reporter, "
    "issue.property[...] and cf[id] with =, !=, IN and NOT IN, joined by AND and OR"
)
ADMIN_PATH = "/rest/webhooks/1.0/webhook"
STATE_KEY = "dynamic_webhooks"


class UnsupportedWebhook(ValueError):
    """A webhook Jira would refuse, found before sending: ``problems`` says why."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


def jql_problems(jql: str) -> list[str]:
    """Why ``jql`` is outside the dynamic-webhook subset (empty: it is inside), naming the
    field, operator or function, in Jira's own words where Jira has them."""
    if not jql.strip():
        return ["The JQL filter must not be empty."]
    try:
        query = parse(jql)
    except JqlError as exc:
        return [str(exc)]
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, And | Or):
            for child in node.clauses:
                walk(child)
        elif isinstance(node, Not):
            found.append("The operator NOT is unsupported")
            walk(node.clause)
        elif isinstance(node, Clause):
            field = node.field
            allowed = (
                field.name.casefold() in DYNAMIC_FIELDS
                or field.property_key is not None
                or field.cf_id is not None
            )
            if not allowed:
                found.append(f"The clause {field.name} is unsupported")
            if node.operator not in DYNAMIC_OPERATORS:
                found.append(f"The operator {node.operator.value.upper()} is unsupported")
            if node.predicates:
                found.append("History predicates (BY, DURING, ...) are unsupported")
            operands = (
                node.operand.items if isinstance(node.operand, ValueList) else (node.operand,)
            )
            for operand in operands:
                if isinstance(operand, Function):
                    found.append(f"The function {operand.name} is unsupported")

    if query.where is not None:
        walk(query.where)
    if query.order_by:
        found.append("The ORDER BY clause is unsupported")
    return list(dict.fromkeys(found))


def _check(spec: WebhookSpec | Mapping[str, Any]) -> list[str]:
    if isinstance(spec, WebhookSpec):
        jql, events = spec.jql, list(spec.events)
    else:
        jql, events = str(spec.get("jqlFilter") or ""), list(spec.get("events") or [])
    problems = [f"{p} ({SUBSET})" for p in jql_problems(jql)]
    if not events:
        problems.append("name at least one event")
    problems += [
        f"the event {e} is not available to dynamic webhooks (use one of "
        f"{', '.join(DYNAMIC_EVENTS)})"
        for e in events
        if e not in DYNAMIC_EVENTS
    ]
    return problems


def register(
    jira: Jira,
    url: str,
    webhooks: Sequence[WebhookSpec | Mapping[str, Any]],
    *,
    inbox: Inbox | None = None,
) -> list[Registered]:
    """Register dynamic webhooks posting to ``url``, after checking each one: raises
    `UnsupportedWebhook` (nothing sent) naming every problem. With ``inbox``, the new
    ids are remembered for `refresh`."""
    problems = [f"webhook {n + 1}: {p}" for n, spec in enumerate(webhooks) for p in _check(spec)]
    if problems:
        raise UnsupportedWebhook(problems)
    results = jira.webhooks.register(url, webhooks)
    if inbox is not None:
        known = dict(inbox.get_state(STATE_KEY, {}))
        for r in results:
            if r.id is not None:
                known[str(r.id)] = None
        inbox.set_state(STATE_KEY, known)
    return results


@dataclass(frozen=True)
class RefreshResult:
    """What `refresh` did: the ids extended and their new expiry (None: none were due)."""

    refreshed: tuple[int, ...]
    expires: datetime | None
    skipped: tuple[int, ...] = ()


def refresh(
    jira: Jira,
    *,
    within: timedelta = timedelta(days=7),
    now: datetime | None = None,
    inbox: Inbox | None = None,
) -> RefreshResult:
    """Extend the app's dynamic webhooks that expire within ``within`` (all of them when
    one is due: one request either way), judged by Jira's clock unless ``now`` is given.
    Returns what was refreshed."""
    hooks: list[DynamicWebhook] = list(jira.webhooks.list())
    if not hooks:
        return RefreshResult((), None)
    moment = now or jira.server_info().server_time or datetime.now(UTC)
    due = [h for h in hooks if h.expires is None or h.expires - moment <= within]
    if not due:
        return RefreshResult((), None, tuple(h.id for h in hooks))
    ids = [h.id for h in hooks]
    expires = jira.webhooks.refresh(ids)
    if inbox is not None:
        inbox.set_state(STATE_KEY, {str(i): int(expires.timestamp() * 1000) for i in ids})
    return RefreshResult(tuple(ids), expires)


class AdminWebhooks:
    """Admin webhooks (site administrators; Data Center): full JQL, optional secret."""

    def __init__(self, jira: Jira) -> None:
        self.jira = jira

    def _url(self, suffix: str = "") -> str:
        base = str(self.jira.base_url or "").rstrip("/")
        return f"{base}{ADMIN_PATH}{suffix}"

    def create(
        self,
        name: str,
        url: str,
        events: Sequence[str],
        *,
        jql: str = "",
        secret: str | None = None,
        enabled: bool = True,
        exclude_body: bool = False,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": name,
            "url": url,
            "events": list(events),
            "filters": {"issue-related-events-section": jql},
            "enabled": enabled,
            "excludeBody": exclude_body,
        }
        if secret:
            body["secret"] = secret
        made = self.jira.request("POST", self._url(), api="absolute", json=body)
        return dict(made)

    def list(self) -> list[dict[str, Any]]:
        found = self.jira.request("GET", self._url(), api="absolute")
        return [dict(w) for w in found or []]

    def delete(self, webhook_id: int | str) -> None:
        self.jira.request("DELETE", self._url(f"/{webhook_id}"), api="absolute")
