"""Issue comments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jirakit.client._call import Call, single
from jirakit.client._paging import OffsetPaging, Paginator
from jirakit.client._richtext import rich_text
from jirakit.client.models import Comment
from jirakit.client.resources._base import Resource

if TYPE_CHECKING:
    from jirakit.client._async import AsyncJira
    from jirakit.client._sync import Jira


def list_call(key: str, order_by: str | None, expand: str | None) -> Call[Any]:
    params = {"orderBy": order_by, "expand": expand}
    return Call("GET", "/issue/{key}/comment", {"key": key}, params=params)


def body_of(flavour: str, body: Any, visibility: Mapping[str, str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {"body": rich_text(body, flavour)}
    if visibility is not None:
        out["visibility"] = dict(visibility)
    return out


def add_call(
    flavour: str, key: str, body: Any, visibility: Mapping[str, str] | None
) -> Call[Comment]:
    return Call(
        "POST",
        "/issue/{key}/comment",
        {"key": key},
        json=body_of(flavour, body, visibility),
        parse=lambda r: Comment.parse(r.json()),
    )


def update_call(
    flavour: str, key: str, comment_id: str, body: Any, visibility: Mapping[str, str] | None
) -> Call[Comment]:
    return Call(
        "PUT",
        "/issue/{key}/comment/{id}",
        {"key": key, "id": comment_id},
        json=body_of(flavour, body, visibility),
        parse=lambda r: Comment.parse(r.json()),
    )


def get_call(key: str, comment_id: str) -> Call[Comment]:
    return Call(
        "GET",
        "/issue/{key}/comment/{id}",
        {"key": key, "id": comment_id},
        parse=lambda r: Comment.parse(r.json()),
    )


def delete_call(key: str, comment_id: str) -> Call[None]:
    return Call(
        "DELETE", "/issue/{key}/comment/{id}", {"key": key, "id": comment_id}, parse=lambda r: None
    )


class Comments(Resource):
    """``jira.comments``."""

    _c: Jira

    def list(
        self, key: str, *, order_by: str | None = None, expand: str | None = None
    ) -> Paginator[Comment]:
        """All comments of an issue, paged (``order_by="-created"`` for newest first)."""
        call = list_call(key, order_by, expand)
        return self._c._paginate(call, OffsetPaging("comments", 100), Comment.parse)

    def get(self, key: str, comment_id: str) -> Comment:
        return self._c._run(single(get_call(key, comment_id)))

    def add(self, key: str, body: Any, *, visibility: Mapping[str, str] | None = None) -> Comment:
        """Add a comment. ``body`` is text (converted per flavour) or an ADF document."""
        return self._c._run(single(add_call(self._c.flavour, key, body, visibility)))

    def update(
        self,
        key: str,
        comment_id: str,
        body: Any,
        *,
        visibility: Mapping[str, str] | None = None,
    ) -> Comment:
        call = update_call(self._c.flavour, key, comment_id, body, visibility)
        return self._c._run(single(call))

    def delete(self, key: str, comment_id: str) -> None:
        self._c._run(single(delete_call(key, comment_id)))


class AsyncComments(Resource):
    """``ajira.comments``."""

    _c: AsyncJira

    def list(
        self, key: str, *, order_by: str | None = None, expand: str | None = None
    ) -> Paginator[Comment]:
        """All comments of an issue, paged (``async for``)."""
        call = list_call(key, order_by, expand)
        return self._c._paginate(call, OffsetPaging("comments", 100), Comment.parse)

    async def get(self, key: str, comment_id: str) -> Comment:
        return await self._c._run(single(get_call(key, comment_id)))

    async def add(
        self, key: str, body: Any, *, visibility: Mapping[str, str] | None = None
    ) -> Comment:
        """Add a comment. ``body`` is text (converted per flavour) or an ADF document."""
        return await self._c._run(single(add_call(self._c.flavour, key, body, visibility)))

    async def update(
        self,
        key: str,
        comment_id: str,
        body: Any,
        *,
        visibility: Mapping[str, str] | None = None,
    ) -> Comment:
        call = update_call(self._c.flavour, key, comment_id, body, visibility)
        return await self._c._run(single(call))

    async def delete(self, key: str, comment_id: str) -> None:
        await self._c._run(single(delete_call(key, comment_id)))
