"""List parameters shared by every Unified list route, and the opaque cursor.

``limit``/``offset`` as Unified has them; beyond Unified, ``cursor`` (opaque, from the
``X-Next-Cursor`` response header) continues where a page stopped without re-reading
what came before, and ``X-Total-Count`` is set where Jira gives a total.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import parse_qsl

import orjson
from fastapi import Depends, Query, Response

from jirakit.service.problems import Problem, invalid

T = TypeVar("T")

NEXT_CURSOR = "X-Next-Cursor"
TOTAL_COUNT = "X-Total-Count"
MAX_LIMIT = 1000

# The query parameters of a route answering one object (``GET /task/{id}`` and the like).
FieldsQuery = Annotated[list[str] | None, Query(description="Fields to return")]
RawQuery = Annotated[str | None, Query(max_length=4000)]


def encode_cursor(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        data = None
    offset = data.get("o", 0) if isinstance(data, dict) else None
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= 10**9:
        data = None  # a cursor's offset is a count of objects: nothing else is one of ours
    if not isinstance(data, dict):
        raise Problem(
            422,
            "query.cursor: not a cursor from this API (take it from X-Next-Cursor)",
            errors=[{"loc": "query.cursor", "msg": "invalid cursor", "type": "value_error"}],
        )
    return data


def fields_param(fields: list[str] | None) -> list[str] | None:
    """``fields`` as given (repeated, or comma-separated) as a list of names; None: all."""
    return [f.strip() for item in fields or [] for f in item.split(",") if f.strip()] or None


def wants_raw(fields: list[str] | None) -> bool:
    """Whether ``fields`` ask for Jira's own JSON too (``raw``)."""
    return bool(fields and "raw" in fields)


@dataclass
class ListParams:
    limit: int
    offset: int
    cursor: dict[str, Any] | None
    updated_gte: datetime | None
    sort: str | None
    order: str
    query: str | None
    fields: list[str] | None
    raw: dict[str, str]

    @property
    def want_raw(self) -> bool:
        return wants_raw(self.fields)

    @property
    def start(self) -> int:
        """Where the page starts: the cursor's offset, else ``offset``."""
        return int((self.cursor or {}).get("o", self.offset))


def list_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    cursor: Annotated[
        str | None, Query(max_length=4000, description="jirakit: from X-Next-Cursor")
    ] = None,
    updated_gte: Annotated[
        datetime | None, Query(description="Only objects updated at or after (ISO-8601)")
    ] = None,
    sort: Annotated[str | None, Query(max_length=64)] = None,
    order: Annotated[Literal["asc", "desc", "ASC", "DESC"] | None, Query()] = None,
    query: Annotated[str | None, Query(max_length=500)] = None,
    fields: Annotated[list[str] | None, Query(description="Fields to return")] = None,
    raw: Annotated[
        str | None,
        Query(
            max_length=4000,
            description="Extra parameters for the Jira request, URL-encoded (jql=..., expand=...)",
        ),
    ] = None,
) -> ListParams:
    direction = (order or "desc").lower()
    if direction not in ("asc", "desc"):
        raise invalid("query.order", "must be asc or desc")
    extra = dict(parse_qsl(raw or "", keep_blank_values=False))
    unknown = sorted(set(extra) - {"jql", "expand"})
    if unknown:
        raise invalid("query.raw", f"supports jql and expand, not {', '.join(unknown)}")
    return ListParams(
        limit=limit,
        offset=offset,
        cursor=decode_cursor(cursor) if cursor else None,
        updated_gte=(
            None
            if updated_gte is None
            else updated_gte
            if updated_gte.tzinfo
            else updated_gte.replace(tzinfo=UTC)
        ),
        sort=sort,
        order=direction,
        query=query,
        fields=fields_param(fields),
        raw=extra,
    )


Listing = Annotated[ListParams, Depends(list_params)]


async def window(items: AsyncIterator[T], offset: int, limit: int) -> tuple[list[T], bool]:
    """Items ``offset .. offset+limit`` of an async iterator, and whether more follow."""
    out: list[T] = []
    index = 0
    async for item in items:
        if index >= offset:
            if len(out) == limit:
                return out, True
            out.append(item)
        index += 1
    return out, False


def page_of(items: Sequence[T], params: ListParams, response: Response) -> Sequence[T]:
    """The page ``params`` ask for of a list held whole; a next cursor on ``response``
    when more follow."""
    offset = params.start
    page = items[offset : offset + params.limit]
    if offset + len(page) < len(items):
        response.headers[NEXT_CURSOR] = encode_cursor({"o": offset + len(page)})
    return page


def json_response(content: Any, headers: dict[str, str] | None = None) -> Response:
    """JSON rendered by orjson, skipping FastAPI's re-validation of what the mapping built
    (the hot routes: a list of 50 tasks is ~3x cheaper). Top-level nulls are dropped, as
    ``response_model_exclude_none`` does; schemathesis checks the result against the
    documented model."""

    def strip(item: Any) -> Any:
        return {k: v for k, v in item.items() if v is not None} if isinstance(item, dict) else item

    body = [strip(i) for i in content] if isinstance(content, list) else strip(content)
    return Response(orjson.dumps(body), media_type="application/json", headers=headers)
