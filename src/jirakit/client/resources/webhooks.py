"""Dynamic webhooks (``/rest/api/3/webhook``): register, list, refresh, delete, failed.

Jira lets only Connect and OAuth 2.0 apps call these; the webhooks expire 30 days after
registration unless `Webhooks.refresh` extends them, and their ``jqlFilter`` accepts a JQL
subset (``issueKey``, ``project``, ``issuetype``, ``status``, ``assignee``, ``reporter``,
``issue.property``, ``cf[id]``; ``=``, ``!=``, ``IN``, ``NOT IN``; ``AND``, ``OR``).
Registration answers per webhook: a rejected one does not fail the others.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from jirakit.client._call import Call, single
from jirakit.client._paging import IsLastPaging, Paginator
from jirakit.client.models import Model, parse_datetime
from jirakit.client.resources._base import Resource
from jirakit.errors import PaginationError, ResponseDecodeError

if TYPE_CHECKING:
    from jirakit.client._async import AsyncJira
    from jirakit.client._sync import Jira

PAGE = 100


@dataclass(frozen=True, slots=True)
class WebhookSpec:
    """One webhook to register: ``jql`` (the supported subset) and ``events``."""

    jql: str
    events: Sequence[str]
    field_ids: Sequence[str] | None = None
    property_keys: Sequence[str] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"jqlFilter": self.jql, "events": list(self.events)}
        if self.field_ids is not None:
            out["fieldIdsFilter"] = list(self.field_ids)
        if self.property_keys is not None:
            out["issuePropertyKeysFilter"] = list(self.property_keys)
        return out


@dataclass(frozen=True, slots=True)
class Registered:
    """The answer for one webhook of a `Webhooks.register` call: an id or the errors."""

    id: int | None
    errors: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.id is not None


def _epoch_or_text(value: Any) -> datetime | None:
    """``expirationDate``: epoch milliseconds (the spec) or Jira's timestamp text (seen)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)
    if isinstance(value, str) and value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    return parse_datetime(value)


class DynamicWebhook(Model):
    required = ("id",)

    @property
    def id(self) -> int:
        return int(self.raw["id"])

    @property
    def jql(self) -> str:
        return str(self.raw.get("jqlFilter") or "")

    @property
    def events(self) -> list[str]:
        return [str(e) for e in self.raw.get("events") or []]

    @property
    def url(self) -> str | None:
        return self._str("url")

    @property
    def expires(self) -> datetime | None:
        return _epoch_or_text(self.raw.get("expirationDate"))


class FailedWebhook(Model):
    required = ("id", "failureTime")

    @property
    def id(self) -> str:
        """The ``X-Atlassian-Webhook-Identifier`` of the delivery."""
        return str(self.raw["id"])

    @property
    def url(self) -> str | None:
        return self._str("url")

    @property
    def body(self) -> str | None:
        return self._str("body")

    @property
    def failed_at(self) -> datetime:
        return datetime.fromtimestamp(int(self.raw["failureTime"]) / 1000, UTC)


class FailedPaging:
    """``webhook/failed`` pages: a cursor on the last ``failureTime`` (what ``next`` holds)."""

    def first(self, call: Call[Any]) -> Call[Any]:
        return Call(call.method, call.path, params={**(call.params or {}), "maxResults": PAGE})

    def next(self, call: Call[Any], page: Any) -> Call[Any] | None:
        values = self.items(page)
        if not values or len(values) < int(page.get("maxResults") or PAGE):
            return None
        last = int(values[-1]["failureTime"])
        before = (call.params or {}).get("failedAfter")
        if before is not None and last <= int(before):
            raise PaginationError("webhook/failed did not advance past failedAfter")
        return Call(call.method, call.path, params={**(call.params or {}), "failedAfter": last})

    def items(self, page: Any) -> list[Any]:
        if not isinstance(page, Mapping):
            raise ResponseDecodeError("expected a JSON object with 'values'")
        return list(page.get("values") or [])


def _specs(webhooks: Sequence[WebhookSpec | Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [w.to_json() if isinstance(w, WebhookSpec) else dict(w) for w in webhooks]


def _registered(response: Any) -> list[Registered]:
    data = response.json()
    out = []
    for r in data.get("webhookRegistrationResult") or []:
        wid = r.get("createdWebhookId")
        out.append(Registered(int(wid) if wid is not None else None, tuple(r.get("errors") or ())))
    return out


def register_call(
    url: str, webhooks: Sequence[WebhookSpec | Mapping[str, Any]]
) -> Call[list[Registered]]:
    body = {"url": url, "webhooks": _specs(webhooks)}
    return Call("POST", "/webhook", json=body, parse=_registered)


def _ids(ids: Sequence[int]) -> dict[str, Any]:
    return {"webhookIds": [int(i) for i in ids]}


def refresh_call(ids: Sequence[int]) -> Call[datetime]:
    def parse(response: Any) -> datetime:
        when = _epoch_or_text(response.json().get("expirationDate"))
        if when is None:
            raise ResponseDecodeError("webhook/refresh answered without an expirationDate")
        return when

    return Call("PUT", "/webhook/refresh", json=_ids(ids), idempotent=True, parse=parse)


def delete_call(ids: Sequence[int]) -> Call[None]:
    return Call("DELETE", "/webhook", json=_ids(ids), parse=lambda r: None)


LIST_CALL: Call[Any] = Call("GET", "/webhook")
FAILED_CALL: Call[Any] = Call("GET", "/webhook/failed")


class Webhooks(Resource):
    """``jira.webhooks``: the calling app's dynamic webhooks."""

    _c: Jira

    def register(
        self, url: str, webhooks: Sequence[WebhookSpec | Mapping[str, Any]]
    ) -> builtins.list[Registered]:
        """Register ``webhooks`` (all sent to ``url``); one `Registered` per webhook."""
        return self._c._run(single(register_call(url, webhooks)))

    def list(self) -> Paginator[DynamicWebhook]:
        return self._c._paginate(LIST_CALL, IsLastPaging("values", PAGE), DynamicWebhook.parse)

    def refresh(self, ids: Sequence[int]) -> datetime:
        """Extend ``ids`` by 30 days; returns their new expiry."""
        return self._c._run(single(refresh_call(ids)))

    def delete(self, ids: Sequence[int]) -> None:
        self._c._run(single(delete_call(ids)))

    def failed(self) -> Paginator[FailedWebhook]:
        """Deliveries that failed after every retry (oldest first; Jira keeps 72 hours)."""
        return self._c._paginate(FAILED_CALL, FailedPaging(), FailedWebhook.parse)


class AsyncWebhooks(Resource):
    """``ajira.webhooks``."""

    _c: AsyncJira

    async def register(
        self, url: str, webhooks: Sequence[WebhookSpec | Mapping[str, Any]]
    ) -> builtins.list[Registered]:
        """Register ``webhooks`` (all sent to ``url``); one `Registered` per webhook."""
        return await self._c._run(single(register_call(url, webhooks)))

    def list(self) -> Paginator[DynamicWebhook]:
        return self._c._paginate(LIST_CALL, IsLastPaging("values", PAGE), DynamicWebhook.parse)

    async def refresh(self, ids: Sequence[int]) -> datetime:
        """Extend ``ids`` by 30 days; returns their new expiry."""
        return await self._c._run(single(refresh_call(ids)))

    async def delete(self, ids: Sequence[int]) -> None:
        await self._c._run(single(delete_call(ids)))

    def failed(self) -> Paginator[FailedWebhook]:
        """Deliveries that failed after every retry (``async for``)."""
        return self._c._paginate(FAILED_CALL, FailedPaging(), FailedWebhook.parse)
