"""Issue history: per issue (paged), or for up to 1000 issues per request."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jirakit.client._call import Call
from jirakit.client._paging import IsLastPaging, Paginator, TokenPaging
from jirakit.client.resources._base import Resource
from jirakit.errors import ConfigurationError

if TYPE_CHECKING:
    from jirakit.client._async import AsyncJira
    from jirakit.client._sync import Jira

BULK_ISSUES = 1000
MAX_FIELD_IDS = 10


@dataclass(frozen=True, slots=True)
class IssueChangelog:
    """The change histories of one issue from ``changelog/bulkfetch`` (one page's worth:
    an issue's histories may continue on the next page)."""

    issue_id: str
    histories: list[Mapping[str, Any]]

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> IssueChangelog:
        return cls(str(raw.get("issueId")), list(raw.get("changeHistories") or []))

    def items(self) -> Iterator[tuple[Mapping[str, Any], int, Mapping[str, Any]]]:
        """(history, index, item) for every changed field."""
        for history in self.histories:
            for index, item in enumerate(history.get("items") or []):
                yield history, index, item


def bulk_call(
    ids: Sequence[str | int], field_ids: Sequence[str] | None
) -> tuple[Call[Any], TokenPaging]:
    if not ids:
        raise ConfigurationError("bulk changelog fetch needs at least one issue id")
    if len(ids) > BULK_ISSUES:
        raise ConfigurationError(f"at most {BULK_ISSUES} issues per changelog bulk fetch")
    body: dict[str, Any] = {"issueIdsOrKeys": [str(i) for i in ids]}
    if field_ids:
        if len(field_ids) > MAX_FIELD_IDS:
            raise ConfigurationError(f"at most {MAX_FIELD_IDS} field ids per changelog bulk fetch")
        body["fieldIds"] = list(field_ids)
    call: Call[Any] = Call("POST", "/changelog/bulkfetch", json=body, idempotent=True)
    return call, TokenPaging("issueChangeLogs", 10000, where="json")


def list_call(key: str) -> Call[Any]:
    return Call("GET", "/issue/{key}/changelog", {"key": key})


class Changelogs(Resource):
    """``jira.changelogs``."""

    _c: Jira

    def list(self, key: str) -> Paginator[Mapping[str, Any]]:
        """Every history entry of one issue, oldest first."""
        return self._c._paginate(list_call(key), IsLastPaging("values", 100), dict)

    def bulk_fetch(
        self, ids: Sequence[str | int], *, field_ids: Sequence[str] | None = None
    ) -> Paginator[IssueChangelog]:
        """Histories of up to 1000 issues, paged by the server (10,000 entries a page).
        ``field_ids`` (at most 10) narrows to changes of those fields."""
        call, strategy = bulk_call(ids, field_ids)
        return self._c._paginate(call, strategy, IssueChangelog.parse)


class AsyncChangelogs(Resource):
    """``ajira.changelogs``."""

    _c: AsyncJira

    def list(self, key: str) -> Paginator[Mapping[str, Any]]:
        """Every history entry of one issue, oldest first (``async for``)."""
        return self._c._paginate(list_call(key), IsLastPaging("values", 100), dict)

    def bulk_fetch(
        self, ids: Sequence[str | int], *, field_ids: Sequence[str] | None = None
    ) -> Paginator[IssueChangelog]:
        """Histories of up to 1000 issues (``async for``)."""
        call, strategy = bulk_call(ids, field_ids)
        return self._c._paginate(call, strategy, IssueChangelog.parse)
