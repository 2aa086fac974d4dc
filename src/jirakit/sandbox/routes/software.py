"""Jira Software's token-paged issue reads at ``/rest/software/1.0``.

Atlassian added these "enhanced" reads beside the ``/rest/agile/1.0`` ones (which page by
``startAt``/``total``), as ``/rest/api/3/search/jql`` replaced ``search``. jira.js 6 has no
other way to read a board's issues. Our copy of the Software spec
(``../shared/jira/specs/software.swagger.v3.json``) predates them, so their shapes come
from Atlassian's Jira Software Cloud REST reference, group *Board* ("Get issues for board
enhanced", ``GET /rest/software/1.0/board/{boardId}/issue``, and its siblings for the
backlog, sprints and epics), as jira.js 6.2.0 (npm) encodes them in
``src/agile/api/{board,sprint,epic}.ts`` and validates them with the zod schema
``SoftwareIssueResults`` (``src/agile/models/softwareIssueResults.ts``):

- parameters ``nextPageToken``, ``maxResults`` (default 50; at most 5000 issues, and "the
  API may return fewer items per page where there is a large number of fields": here 100
  unless only ``id``/``key`` are asked for, as in ``search/jql``), ``jql``,
  ``validateQuery``, ``fields`` (default: every navigable field and the Software fields),
  ``expand``, ``reconcileIssues``; ``startAt`` is not a parameter and is ignored;
- the answer ``{"expand", "issues", "isLast", "nextPageToken"?}``: no ``startAt``, no
  ``total``; ``nextPageToken`` only when another page exists;
- ``.../approximate-count`` for the board and the backlog: ``{"count": n}``.

The scopes (which issues, in which order) are the Agile API's (`routes.agile`), and so are
the issues (v2 shape with ``sprint``, ``closedSprints``, ``flagged``, ``epic``). A page
token carries its offset, signed and bound to the path and JQL it was issued for.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from jirakit.sandbox.app import Ctx
from jirakit.sandbox.errors import bad_request
from jirakit.sandbox.routes import agile
from jirakit.sandbox.search import BAD_TOKEN
from jirakit.sandbox.store import IssueRecord, Store
from jirakit.sandbox.views import id_only, split_list

DEFAULT_PAGE = 50
MAX_IDS = 5000
MAX_FULL = 100


def _secret(c: Ctx) -> bytes:
    secret: bytes = c.state.search.secret
    return secret


def _mac(c: Ctx, scope: str, offset: int) -> str:
    msg = f"software:{scope}:{offset}".encode()
    return hmac.new(_secret(c), msg, hashlib.sha256).hexdigest()[:16]


def _token(c: Ctx, scope: str, offset: int) -> str:
    raw = f"{offset}.{_mac(c, scope, offset)}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _offset(c: Ctx, scope: str, token: str | None) -> int:
    if not token:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        offset_s, mac = raw.split(".")
        offset = int(offset_s)
    except (ValueError, UnicodeDecodeError):
        raise bad_request(BAD_TOKEN) from None
    if offset < 0 or not hmac.compare_digest(mac, _mac(c, scope, offset)):
        raise bad_request(BAD_TOKEN)
    return offset


def _page(c: Ctx, recs: list[IssueRecord]) -> dict[str, Any]:
    tokens = split_list(c.params("fields"))
    cap = MAX_IDS if tokens and id_only(tokens) else MAX_FULL
    size = c.int_param("maxResults", DEFAULT_PAGE)
    size = max(1, min(size, cap))
    scope = f"{c.request.url.path}?jql={c.param('jql') or ''}"
    offset = _offset(c, scope, c.param("nextPageToken"))
    chosen = recs[offset : offset + size]
    selected, extra = agile._field_selection(c)
    expand = [e for e in split_list(c.params("expand")) if e not in ("names", "schema")]
    out: dict[str, Any] = {
        "expand": "schema,names",
        "issues": [agile._issue_json(c, r, selected, expand, extra) for r in chosen],
    }
    more = offset + size < len(recs)
    out["isLast"] = not more
    if more:
        out["nextPageToken"] = _token(c, scope, offset + size)
    return out


# -- scopes (each: the Agile API's, narrowed by the request's JQL, in Rank order) ----------------

Scope = Callable[[Ctx, Request], list[IssueRecord]]


def _board(c: Ctx, request: Request) -> list[IssueRecord]:
    board = agile.require_board(c, request.path_params["board"])
    return agile._board_issues(c, board)


def _backlog(c: Ctx, request: Request) -> list[IssueRecord]:
    sf = agile.sprint_field(c.store)
    return [
        r for r in _board(c, request) if not agile._is_done(r) and not agile._in_open_sprint(r, sf)
    ]


def _board_sprint(c: Ctx, request: Request) -> list[IssueRecord]:
    board = agile._scrum(agile.require_board(c, request.path_params["board"]))
    sprint = agile.require_sprint(c, agile._int_path(request, "sprint"))
    in_board = {r.id for r in agile._board_issues(c, board)}
    return [r for r in agile._sprint_issues(c.store, sprint["id"]) if r.id in in_board]


def _board_epic(c: Ctx, request: Request) -> list[IssueRecord]:
    in_board = _board(c, request)
    ref = request.path_params["epic"]
    if ref == "none":
        return [r for r in in_board if not _has_epic(c.store, r) and not agile._is_epic(r)]
    epic = agile._require_epic(c, ref)
    kids = {r.id for r in agile._children(c.store, epic)}
    return [r for r in in_board if r.id in kids]


def _sprint(c: Ctx, request: Request) -> list[IssueRecord]:
    sprint = agile.require_sprint(c, agile._int_path(request, "sprint"))
    return agile._sprint_issues(c.store, sprint["id"])


def _epic(c: Ctx, request: Request) -> list[IssueRecord]:
    ref = request.path_params["epic"]
    if ref == "none":
        return [
            r
            for r in c.store.issues.values()
            if not _has_epic(c.store, r)
            and not agile._is_epic(r)
            and not r.fields["issuetype"].get("subtask")
        ]
    return agile._children(c.store, agile._require_epic(c, ref))


def _has_epic(store: Store, rec: IssueRecord) -> bool:
    parent = store.issues.get(rec.parent_id) if rec.parent_id is not None else None
    return parent is not None and agile._is_epic(parent)


def _ordered(c: Ctx, scope: list[IssueRecord]) -> list[IssueRecord]:
    """``scope`` that the caller may browse, narrowed by ``jql`` (its ORDER BY wins), else
    in Rank order (`agile._ordered`)."""
    if c.param("validateQuery", "true") not in ("true", "false"):
        raise bad_request("The 'validateQuery' parameter must be true or false.")
    return agile._ordered(c, scope)


def _issues(scope: Scope) -> Callable[[Request], Any]:
    async def handler(request: Request) -> Response:
        c = agile._ctx(request)
        with c.store.lock:
            recs = _ordered(c, scope(c, request))
            page = _page(c, recs)
        return c.respond(page)

    return handler


def _count(scope: Scope) -> Callable[[Request], Any]:
    async def handler(request: Request) -> Response:
        c = agile._ctx(request)
        with c.store.lock:
            n = len(_ordered(c, scope(c, request)))
        return c.respond({"count": n})

    return handler


ROUTES = [
    Route("/board/{board}/issue", _issues(_board)),
    Route("/board/{board}/issue/approximate-count", _count(_board)),
    Route("/board/{board}/backlog", _issues(_backlog)),
    Route("/board/{board}/backlog/approximate-count", _count(_backlog)),
    Route("/board/{board}/sprint/{sprint}/issue", _issues(_board_sprint)),
    Route("/board/{board}/epic/{epic}/issue", _issues(_board_epic)),
    Route("/sprint/{sprint}/issue", _issues(_sprint)),
    Route("/epic/{epic}/issue", _issues(_epic)),
]


def mount() -> Mount:
    return Mount("/rest/software/1.0", routes=ROUTES)
