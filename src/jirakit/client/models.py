"""Typed views over Jira's JSON.

A model keeps the raw JSON (``.raw``; nothing Jira sent is lost, custom fields included)
and exposes typed properties for the parts everyone reads. Construction only checks the
keys the model cannot live without, so parsing costs next to nothing per response.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ClassVar, TypeVar

from jirakit.errors import JiraError, ResponseDecodeError

M = TypeVar("M", bound="Model")


def parse_datetime(value: Any) -> datetime | None:
    """Jira's ``2024-01-10T09:30:00.000+0000`` (and ISO variants) to an aware datetime."""
    if not value or not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def parse_date(value: Any) -> date | None:
    if not value or not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


class Model(Mapping[str, Any]):
    """Base of all models: a read-only mapping over the raw JSON plus typed properties."""

    __slots__ = ("raw",)
    required: ClassVar[tuple[str, ...]] = ()

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw: Mapping[str, Any] = raw

    @classmethod
    def parse(cls: type[M], data: Any) -> M:
        if not isinstance(data, Mapping):
            raise ResponseDecodeError(f"{cls.__name__}: expected a JSON object")
        missing = [k for k in cls.required if k not in data]
        if missing:
            raise ResponseDecodeError(f"{cls.__name__}: missing {', '.join(missing)}")
        return cls(data)

    def __getitem__(self, key: str) -> Any:
        return self.raw[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.raw)

    def __len__(self) -> int:
        return len(self.raw)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Model):
            return type(self) is type(other) and self.raw == other.raw
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        ident = self.raw.get("key") or self.raw.get("id") or self.raw.get("accountId")
        return f"<{type(self).__name__} {ident}>" if ident else f"<{type(self).__name__}>"

    def _str(self, key: str) -> str | None:
        value = self.raw.get(key)
        return None if value is None else str(value)


class User(Model):
    """A user: Cloud identifies by ``accountId``; Data Center by ``name``/``key``."""

    @property
    def account_id(self) -> str | None:
        return self._str("accountId")

    @property
    def name(self) -> str | None:
        """Data Center username."""
        return self._str("name")

    @property
    def display_name(self) -> str | None:
        return self._str("displayName")

    @property
    def email(self) -> str | None:
        return self._str("emailAddress")

    @property
    def active(self) -> bool:
        return bool(self.raw.get("active", True))

    @property
    def time_zone(self) -> str | None:
        return self._str("timeZone")

    @property
    def id(self) -> str | None:
        """accountId on Cloud, username on Data Center."""
        return self.account_id or self.name or self._str("key")


class ServerInfo(Model):
    @property
    def base_url(self) -> str | None:
        return self._str("baseUrl")

    @property
    def version(self) -> str | None:
        return self._str("version")

    @property
    def deployment_type(self) -> str | None:
        return self._str("deploymentType")

    @property
    def server_time(self) -> datetime | None:
        return parse_datetime(self.raw.get("serverTime"))


class Named(Model):
    """Anything with ``id`` and ``name``: statuses, priorities, issue types, resolutions."""

    @property
    def id(self) -> str | None:
        return self._str("id")

    @property
    def name(self) -> str | None:
        return self._str("name")


class Status(Named):
    @property
    def category(self) -> str | None:
        """``new``, ``indeterminate`` or ``done``."""
        cat = self.raw.get("statusCategory")
        return str(cat["key"]) if isinstance(cat, Mapping) and "key" in cat else None


class Project(Model):
    required = ("key",)

    @property
    def id(self) -> str | None:
        return self._str("id")

    @property
    def key(self) -> str:
        return str(self.raw["key"])

    @property
    def name(self) -> str | None:
        return self._str("name")

    @property
    def project_type(self) -> str | None:
        return self._str("projectTypeKey")


class Field(Model):
    required = ("id",)

    @property
    def id(self) -> str:
        return str(self.raw["id"])

    @property
    def name(self) -> str:
        return str(self.raw.get("name", self.raw["id"]))

    @property
    def custom(self) -> bool:
        return bool(self.raw.get("custom", False))

    @property
    def schema(self) -> Mapping[str, Any]:
        schema = self.raw.get("schema")
        return schema if isinstance(schema, Mapping) else {}

    @property
    def clause_names(self) -> list[str]:
        return [str(n) for n in self.raw.get("clauseNames") or []]


class Issue(Model):
    """An issue. ``fields`` holds everything Jira sent, custom fields included."""

    required = ("id",)

    @property
    def id(self) -> str:
        return str(self.raw["id"])

    @property
    def key(self) -> str | None:
        return self._str("key")

    @property
    def fields(self) -> Mapping[str, Any]:
        fields = self.raw.get("fields")
        return fields if isinstance(fields, Mapping) else {}

    def field(self, field_id: str, default: Any = None) -> Any:
        return self.fields.get(field_id, default)

    @property
    def summary(self) -> str | None:
        value = self.fields.get("summary")
        return None if value is None else str(value)

    @property
    def status(self) -> Status | None:
        return _sub(Status, self.fields.get("status"))

    @property
    def issue_type(self) -> Named | None:
        return _sub(Named, self.fields.get("issuetype"))

    @property
    def priority(self) -> Named | None:
        return _sub(Named, self.fields.get("priority"))

    @property
    def project(self) -> Project | None:
        return _sub(Project, self.fields.get("project"))

    @property
    def assignee(self) -> User | None:
        return _sub(User, self.fields.get("assignee"))

    @property
    def reporter(self) -> User | None:
        return _sub(User, self.fields.get("reporter"))

    @property
    def labels(self) -> list[str]:
        return [str(label) for label in self.fields.get("labels") or []]

    @property
    def description(self) -> Any:
        """ADF (a dict) on Cloud v3, a wiki/plain string on v2."""
        return self.fields.get("description")

    @property
    def created(self) -> datetime | None:
        return parse_datetime(self.fields.get("created"))

    @property
    def updated(self) -> datetime | None:
        return parse_datetime(self.fields.get("updated"))

    @property
    def resolved(self) -> datetime | None:
        return parse_datetime(self.fields.get("resolutiondate"))

    @property
    def due(self) -> date | None:
        return parse_date(self.fields.get("duedate"))

    @property
    def changelog(self) -> list[Mapping[str, Any]]:
        log = self.raw.get("changelog")
        return list(log.get("histories") or []) if isinstance(log, Mapping) else []

    @property
    def names(self) -> Mapping[str, str]:
        """Field id -> display name (with ``expand=names``)."""
        names = self.raw.get("names")
        return names if isinstance(names, Mapping) else {}


class CreatedIssue(Model):
    required = ("id", "key")

    @property
    def id(self) -> str:
        return str(self.raw["id"])

    @property
    def key(self) -> str:
        return str(self.raw["key"])


class Comment(Model):
    required = ("id",)

    @property
    def id(self) -> str:
        return str(self.raw["id"])

    @property
    def body(self) -> Any:
        """ADF on Cloud v3, a string on v2."""
        return self.raw.get("body")

    @property
    def author(self) -> User | None:
        return _sub(User, self.raw.get("author"))

    @property
    def created(self) -> datetime | None:
        return parse_datetime(self.raw.get("created"))

    @property
    def updated(self) -> datetime | None:
        return parse_datetime(self.raw.get("updated"))


class Transition(Model):
    required = ("id",)

    @property
    def id(self) -> str:
        return str(self.raw["id"])

    @property
    def name(self) -> str | None:
        return self._str("name")

    @property
    def to(self) -> Status | None:
        return _sub(Status, self.raw.get("to"))

    @property
    def fields(self) -> Mapping[str, Any]:
        fields = self.raw.get("fields")
        return fields if isinstance(fields, Mapping) else {}


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of ``search/jql`` (or Data Center ``/search``)."""

    issues: list[Issue]
    next_page_token: str | None
    is_last: bool
    total: int | None
    names: Mapping[str, str]
    raw: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class BulkFetchResult:
    issues: list[Issue]
    errors: list[str]


@dataclass(frozen=True, slots=True)
class BulkCreateError:
    """Why input item ``index`` of a bulk create has no issue in ``created``:

    - Jira refused the item (``status``, ``error_messages``, ``errors`` are its answer);
    - a name in it matched nothing or several things (``status`` None, ``sent`` False;
      the message names the candidates);
    - a request of the batch failed as a whole (a 5xx, 401/403, a transport error ...)
      and sending stopped: ``exception`` is that failure, for each item of the failed
      request and of the requests never sent. ``sent`` tells whether the item's request
      reached Jira; if it did and Jira did not refuse it (a 5xx, a timeout, a body cut
      short), the issue **may or may not have been created**: look for it before
      sending the item again.
    """

    index: int
    status: int | None
    error_messages: list[str]
    errors: Mapping[str, str]
    sent: bool = True
    """False when the item never reached Jira (unresolved names, or not sent at all)."""
    exception: JiraError | None = None
    """The failure that stopped the batch, for the items it left without an answer."""

    def __str__(self) -> str:
        parts = [*self.error_messages, *(f"{k}: {v}" for k, v in self.errors.items())]
        return f"item {self.index}: {'; '.join(parts) or 'failed'}"


@dataclass(frozen=True, slots=True)
class BulkCreateResult:
    """``created[i]`` is the issue made from input ``i``, or None when it failed (see
    ``errors``). One bad item never hides the others."""

    created: list[CreatedIssue | None]
    errors: list[BulkCreateError]

    @property
    def ok(self) -> bool:
        return not self.errors


def _sub(cls: type[M], value: Any) -> M | None:
    return cls(value) if isinstance(value, Mapping) else None
