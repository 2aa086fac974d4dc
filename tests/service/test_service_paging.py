"""The paging helpers every Unified route shares (`jirakit.service.paging`)."""

from __future__ import annotations

from fastapi import Response

from jirakit.service.paging import (
    NEXT_CURSOR,
    ListParams,
    decode_cursor,
    fields_param,
    page_of,
    wants_raw,
)


def params(limit: int, offset: int = 0, cursor: dict[str, int] | None = None) -> ListParams:
    return ListParams(
        limit=limit, offset=offset, cursor=cursor, updated_gte=None, sort=None,
        order="desc", query=None, fields=None, raw={},
    )  # fmt: skip


def test_page_of_walks_a_whole_list_on_its_cursors() -> None:
    items = list(range(5))
    seen: list[int] = []
    cursor: dict[str, int] | None = None
    for _ in range(5):
        response = Response()
        seen += page_of(items, params(2, cursor=cursor), response)
        if NEXT_CURSOR not in response.headers:
            break
        cursor = decode_cursor(response.headers[NEXT_CURSOR])
    assert seen == items


def test_page_of_starts_at_the_offset_and_says_nothing_after_the_last_page() -> None:
    response = Response()
    assert page_of(list("abcde"), params(10, offset=3), response) == ["d", "e"]
    assert NEXT_CURSOR not in response.headers
    response = Response()
    assert page_of(list("abcde"), params(2, offset=1), response) == ["b", "c"]
    assert decode_cursor(response.headers[NEXT_CURSOR]) == {"o": 3}


def test_fields_are_split_on_commas_and_raw_is_one_of_them() -> None:
    assert fields_param(["name, status", "raw", " "]) == ["name", "status", "raw"]
    assert fields_param([""]) is None and fields_param(None) is None
    assert wants_raw(["name", "raw"]) and not wants_raw(["name"]) and not wants_raw(None)
