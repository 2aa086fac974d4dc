"""Jira Software (Agile) at ``/rest/agile/1.0``: boards, sprints, backlog and epics.

State lives in the store: ``store.boards`` and ``store.sprints`` (the sprint dicts are the
very objects the issues' Sprint field points at, so a sprint starting or closing shows in
every issue at once) and the issues' Sprint custom field (``gh-sprint``). Moving issues
goes through `mutations.apply_changes` (changelog item, ``updated``, events).

Semantics, after the Jira Software Cloud REST reference (``software.swagger.v3.json``):

- Responses use the v2 issue shape (plain/wiki text, ``/rest/api/2`` links) as Jira's
  Agile API does, and add the Agile fields ``sprint`` (the open sprint), ``closedSprints``,
  ``flagged`` and ``epic`` to issues.
- Board issues are the board's project issues (epics excluded on scrum boards: "Epic
  issues do not belong to the scrum boards"); the backlog is the incomplete ones in no
  active or future sprint. Listings are ordered by Rank unless the JQL says otherwise; a
  ``jql`` filter is run by the search engine (`jirakit.jql`, same errors as search).
- Sprints: create (future, 201), partial update (POST) and full update (PUT). Starting
  needs a future sprint with start and end dates; closing needs an active sprint and
  sets ``completeDate`` (incomplete issues keep the closed sprint and so fall back to the
  backlog, as in Jira). Closed sprints only take name and goal. Starting a second sprint
  while one is active on the board is refused unless the site enables parallel sprints
  (``store.site["parallel_sprints"] = True``), like Jira's "Parallel sprints" feature.
  Only future sprints can be deleted (their issues go back to the backlog).
- Moving issues (``POST /sprint/{id}/issue``, ``POST /backlog/issue``): at most 50 per
  request, into future or active sprints only; closed sprints stay in the issue's history.
- Sprint changes emit ``sprint_created|updated|started|closed|deleted`` events
  (``sprint_updated`` with the sprint as it was: Jira's ``oldValue``).
- Boards: ``POST /board`` makes a board over a saved filter (the filter's JQL is the
  board's scope) located in a project, ``DELETE /board/{id}`` removes one (its sprints
  stay); they emit ``board_created`` / ``board_deleted``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from jirakit.sandbox import mutations
from jirakit.sandbox.app import Ctx, ctx
from jirakit.sandbox.errors import NOT_FOUND_ISSUE, bad_request, not_found
from jirakit.sandbox.search import SearchEngine
from jirakit.sandbox.store import API, BASE, IssueRecord, Json, Store
from jirakit.sandbox.views import issue_view, split_list

AGILE = f"{BASE}/rest/agile/1.0"
BOARD_NOT_FOUND = "Board does not exist or you do not have permission to see it."
SPRINT_NOT_FOUND = "Sprint does not exist or you do not have permission to see it."
NO_SPRINTS = "The board does not support sprints"
INVALID_PAYLOAD = "Invalid request payload. Refer to the REST API documentation and try again."
MOVE_MAX = 50
AGILE_FIELDS = ("sprint", "closedSprints", "flagged", "epic")
STATE_ORDER = {"closed": 0, "active": 1, "future": 2}
DONE_CATEGORY = 3
RANK_FIELD = "customfield_10019"
ESTIMATION_FIELD = "customfield_10016"


def _ctx(request: Request) -> Ctx:
    c = ctx(request)
    c.version = 2  # the Agile API speaks the v2 issue shape and links to /rest/api/2
    return c


def _engine(c: Ctx) -> SearchEngine:
    engine: SearchEngine = c.state.search
    return engine


def _int_path(request: Request, name: str) -> int | None:
    raw = request.path_params[name]
    return int(raw) if raw.isdigit() else None


def _now_iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _parse_date(field: str, raw: Any) -> str:
    try:
        dt = datetime.fromisoformat(str(raw).replace("+0000", "+00:00"))
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return _now_iso(dt)
    except (ValueError, OverflowError):
        raise bad_request(errors={field: f"Error parsing date string: {raw}"}) from None


def sprint_field(store: Store) -> str:
    for f in store.fields:
        if str(f.get("schema", {}).get("custom", "")).endswith(":gh-sprint"):
            return str(f["id"])
    return "customfield_10020"


def _is_epic(rec: IssueRecord) -> bool:
    return int(rec.fields["issuetype"].get("hierarchyLevel", 0)) == 1


def _is_done(rec: IssueRecord) -> bool:
    return int(rec.fields["status"]["statusCategory"]["id"]) == DONE_CATEGORY


def _rank(rec: IssueRecord) -> str:
    return str(rec.fields.get(RANK_FIELD) or "")


# -- lookups -------------------------------------------------------------------------------


def _board_projects(board: Json) -> list[int]:
    return [int(board["location"]["projectId"])]


def require_board(c: Ctx, raw: int | str | None) -> Json:
    bid = int(raw) if isinstance(raw, int) or (isinstance(raw, str) and raw.isdigit()) else None
    board = c.store.boards.get(bid) if bid is not None else None
    if board is None or not all(
        c.store.can_browse(c.account_id, pid) for pid in _board_projects(board)
    ):
        raise not_found(BOARD_NOT_FOUND)
    return board


def require_sprint(c: Ctx, raw: int | None) -> Json:
    sprint = c.store.sprints.get(raw) if raw is not None else None
    if sprint is None:
        raise not_found(SPRINT_NOT_FOUND)
    board = c.store.boards.get(int(sprint.get("boardId", 0)))
    if board is not None and not all(
        c.store.can_browse(c.account_id, pid) for pid in _board_projects(board)
    ):
        raise not_found(SPRINT_NOT_FOUND)
    return sprint


def _scrum(board: Json) -> Json:
    if board.get("type") != "scrum":
        raise bad_request(NO_SPRINTS)
    return board


# -- views ---------------------------------------------------------------------------------


def sprint_view(sprint: Json) -> Json:
    out: Json = {
        "id": sprint["id"],
        "self": f"{AGILE}/sprint/{sprint['id']}",
        "state": sprint["state"],
        "name": sprint["name"],
    }
    for k in ("startDate", "endDate", "completeDate", "createdDate"):
        if sprint.get(k):
            out[k] = sprint[k]
    out["originBoardId"] = sprint.get("boardId")
    out["goal"] = sprint.get("goal") or ""
    return out


def epic_view(rec: IssueRecord) -> Json:
    summary = rec.fields.get("summary") or ""
    return {
        "id": rec.id,
        "key": rec.key,
        "self": f"{AGILE}/epic/{rec.id}",
        "name": rec.fields.get("customfield_10011") or summary,
        "summary": summary,
        "color": {"key": f"color_{rec.id % 14 + 1}"},
        "done": _is_done(rec),
    }


def _board_view(board: Json) -> Json:
    return {k: v for k, v in board.items() if k != "filterId"}


def _agile_value(store: Store, rec: IssueRecord, name: str, sf: str) -> Any:
    sprints = rec.fields.get(sf) or []
    if name == "sprint":
        open_ = [s for s in sprints if s.get("state") in ("active", "future")]
        return sprint_view(open_[-1]) if open_ else None
    if name == "closedSprints":
        return [sprint_view(s) for s in sprints if s.get("state") == "closed"]
    if name == "flagged":
        return False
    parent = store.issues.get(rec.parent_id) if rec.parent_id is not None else None
    return epic_view(parent) if parent is not None and _is_epic(parent) else None


def _issue_json(
    c: Ctx, rec: IssueRecord, selected: list[str], expand: list[str], agile: list[str]
) -> Json:
    view = issue_view(
        c.store, rec, version=2, selected=selected, expand=expand, viewer=c.account_id
    )
    view["self"] = f"{AGILE}/issue/{rec.id}"
    if agile:
        sf = sprint_field(c.store)
        fields = view["fields"]
        for name in agile:
            value = _agile_value(c.store, rec, name, sf)
            if name == "closedSprints" and not value:
                continue  # Jira leaves it out when there are none
            fields[name] = value
    return view


def _field_selection(c: Ctx) -> tuple[list[str], list[str]]:
    tokens = split_list(c.params("fields"))
    selected = c.state.views.select(tokens, "*all")
    if not tokens or any(t in ("*all", "*navigable") for t in tokens):
        agile = [a for a in AGILE_FIELDS if f"-{a}" not in tokens]
    else:
        agile = [a for a in AGILE_FIELDS if a in tokens]
    return selected, agile


def _ordered(c: Ctx, scope: Iterable[IssueRecord]) -> list[IssueRecord]:
    """``scope`` that the caller may browse, narrowed by the ``jql`` parameter (its ORDER
    BY wins), else in Rank order."""
    text = (c.param("jql") or "").strip()
    allowed = c.store.browsable_projects(c.account_id)
    recs = [r for r in scope if allowed is None or r.project_id in allowed]
    if text:
        engine = _engine(c)
        query = engine.parse(text, bounded=False)
        ids = engine.execute(query, text, c.account_id).ids
        wanted = {r.id: r for r in recs}
        recs = [wanted[i] for i in ids if i in wanted]
        if not query.order_by:
            recs.sort(key=_rank)
    else:
        recs.sort(key=_rank)
    return recs


def _issue_page(c: Ctx, scope: Iterable[IssueRecord]) -> dict[str, Any]:
    """A ``SearchResults`` page over ``scope`` narrowed by the ``jql`` parameter."""
    start = max(0, c.int_param("startAt", 0))
    limit = 100 if c.config.flavour == "cloud" else 1000
    size = max(0, min(c.int_param("maxResults", 50), limit))
    recs = _ordered(c, scope)
    selected, agile = _field_selection(c)
    expand = [e for e in split_list(c.params("expand")) if e not in ("names", "schema")]
    issues = [_issue_json(c, r, selected, expand, agile) for r in recs[start : start + size]]
    return {
        "expand": "schema,names",
        "startAt": start,
        "maxResults": size,
        "total": len(recs),
        "issues": issues,
    }


def _values_page(c: Ctx, values: list[Json], *, total: bool = False) -> dict[str, Any]:
    start = max(0, c.int_param("startAt", 0))
    size = max(1, min(c.int_param("maxResults", 50), 50))
    out: dict[str, Any] = {"maxResults": size, "startAt": start}
    if total:
        out["total"] = len(values)
    out["isLast"] = start + size >= len(values)
    out["values"] = values[start : start + size]
    return out


# -- scopes --------------------------------------------------------------------------------


def _board_issues(c: Ctx, board: Json) -> list[IssueRecord]:
    """The board's issues: its filter's (boards made through the API), else its project's."""
    store = c.store
    scrum = board.get("type") == "scrum"
    saved = store.filters.get(str(board["filterId"])) if "filterId" in board else None
    recs: Iterable[IssueRecord]
    if saved is not None:
        engine = _engine(c)
        ids = engine.execute(
            engine.parse(saved["jql"], bounded=False), saved["jql"], c.account_id
        ).ids
        recs = (store.issues[i] for i in ids if i in store.issues)
    else:
        recs = (rec for pid in _board_projects(board) for rec in store.iter_project_issues(pid))
    return [rec for rec in recs if not (scrum and _is_epic(rec))]


def _in_open_sprint(rec: IssueRecord, sf: str) -> bool:
    return any(s.get("state") in ("active", "future") for s in rec.fields.get(sf) or ())


def _sprint_issues(store: Store, sprint_id: int) -> list[IssueRecord]:
    sf = sprint_field(store)
    return [
        rec
        for rec in store.issues.values()
        if any(s.get("id") == sprint_id for s in rec.fields.get(sf) or ())
    ]


# -- boards --------------------------------------------------------------------------------


async def list_boards(request: Request) -> Response:
    c = _ctx(request)
    store = c.store
    types = {t.lower() for t in split_list(c.params("type"))}
    name = (c.param("name") or "").lower()
    project_ref = c.param("projectKeyOrId")
    project_id: int | None = None
    if project_ref:
        project = store.project(project_ref)
        if project is None or not store.can_browse(c.account_id, project["id"]):
            raise bad_request(
                errors={"projectKeyOrId": f"No project could be found with key '{project_ref}'."}
            )
        project_id = int(project["id"])
    boards = [
        _board_view(b)
        for b in sorted(store.boards.values(), key=lambda b: int(b["id"]))
        if (not types or b["type"] in types)
        and (not name or name in b["name"].lower())
        and (project_id is None or project_id in _board_projects(b))
        and all(store.can_browse(c.account_id, pid) for pid in _board_projects(b))
    ]
    return c.respond(_values_page(c, boards, total=True))


async def get_board(request: Request) -> Response:
    c = _ctx(request)
    return c.respond(_board_view(require_board(c, request.path_params["board"])))


def _new_board_values(c: Ctx, body: Any) -> tuple[str, str, Json, Json]:
    """(name, type, saved filter, project) of a ``POST /board``, or Jira-style 400s."""
    if not isinstance(body, dict):
        raise bad_request(INVALID_PAYLOAD)
    errors: dict[str, str] = {}
    name = body["name"].strip() if isinstance(body.get("name"), str) else ""
    if not name:
        errors["name"] = "The board name must not be empty."
    elif len(name) >= 255:
        errors["name"] = "The board name must be less than 255 characters."
    kind = body.get("type")
    if kind not in ("scrum", "kanban"):
        errors["type"] = "The board type must be 'scrum' or 'kanban'."
    raw = body.get("filterId")
    saved = c.store.filters.get(str(raw)) if isinstance(raw, int | str) else None
    if saved is None or saved.get("owner") != c.account_id:  # filter sharing: not emulated
        errors["filterId"] = f"The filter with id '{raw}' does not exist."
    location = body.get("location")
    project = None
    if not isinstance(location, dict) or location.get("type") != "project":
        errors["location"] = "The sandbox creates boards in a project: location type 'project'."
    else:
        ref = str(location.get("projectKeyOrId") or "")
        project = c.store.project(ref) if ref else None
        if project is None or not c.store.can_browse(c.account_id, project["id"]):
            errors["location"] = f"No project could be found with key '{ref}'."
    if errors:
        raise bad_request(errors=errors)
    assert saved is not None
    assert project is not None
    assert isinstance(kind, str)
    return name, kind, saved, project


async def create_board(request: Request) -> Response:
    """``POST /board``: a board over a saved filter (its JQL is the board's scope),
    located in a project; publishes ``board_created``."""
    c = _ctx(request)
    body = await c.json()
    with c.store.lock:
        name, kind, saved, project = _new_board_values(c, body)
        store = c.store
        store.counters.setdefault("board", max(store.boards, default=0))
        bid = store.next_id("board")  # never reused, like Jira's ids
        board: Json = {
            "id": bid,
            "self": f"{AGILE}/board/{bid}",
            "name": name,
            "type": kind,
            "location": {
                "projectId": int(project["id"]),
                "projectKey": project["key"],
                "projectName": project["name"],
                "projectTypeKey": project["projectTypeKey"],
                "displayName": f"{project['name']} ({project['key']})",
                "name": project["name"],
            },
            "filterId": int(saved["id"]),
        }
        store.boards[bid] = board
        store.changed()
        view = _board_view(board)
        mutations.emit(store, "board_created", None, c.account_id, c.now(), board=view)
    return c.respond(view, 201)


async def delete_board(request: Request) -> Response:
    """``DELETE /board/{id}``: the board goes, its sprints stay (issues keep them);
    publishes ``board_deleted``."""
    c = _ctx(request)
    with c.store.lock:
        board = require_board(c, request.path_params["board"])
        del c.store.boards[int(board["id"])]
        c.store.changed()
        mutations.emit(
            c.store, "board_deleted", None, c.account_id, c.now(), board=_board_view(board)
        )
    return c.empty()


def _columns(store: Store, board: Json) -> list[Json]:
    pid = str(board["location"]["projectId"])
    workflow = store.workflows[store.project_workflow.get(pid, "software")]["transitions"]
    status_ids: list[str] = []
    for t in workflow:
        for sid in (*t["from"], t["to"]):
            if sid not in status_ids:
                status_ids.append(sid)
    statuses = sorted(
        (store.statuses[s] for s in status_ids if s in store.statuses),
        key=lambda s: ({2: 0, 4: 1, 3: 2}.get(int(s["statusCategory"]["id"]), 1), int(s["id"])),
    )
    return [
        {
            "name": s["name"],
            "statuses": [{"id": s["id"], "self": f"{API}/status/{s['id']}"}],
        }
        for s in statuses
    ]


async def board_configuration(request: Request) -> Response:
    c = _ctx(request)
    board = require_board(c, request.path_params["board"])
    loc = board["location"]
    scrum = board["type"] == "scrum"
    out: Json = {
        "id": board["id"],
        "name": board["name"],
        "type": board["type"],
        "self": f"{AGILE}/board/{board['id']}/configuration",
        # Real Jira returns the project's type/key/id/self/name here (the spec's own example,
        # go-jira's board_configuration.json), not the schema's {projectKeyOrId, type}.
        "location": {
            "type": "project",
            "key": loc["projectKey"],
            "id": str(loc["projectId"]),
            "self": f"{API}/project/{loc['projectId']}",
            "name": loc["projectName"],
        },
        "filter": {
            "id": str(board.get("filterId", 10000 + int(board["id"]))),
            "self": f"{API}/filter/{board.get('filterId', 10000 + int(board['id']))}",
        },
        "columnConfig": {
            "columns": _columns(c.store, board),
            "constraintType": "none" if scrum else "issueCount",
        },
    }
    if scrum:
        field = c.store.field(ESTIMATION_FIELD)
        out["estimation"] = {
            "type": "field",
            "field": {
                "fieldId": ESTIMATION_FIELD,
                "displayName": field["name"] if field else "Story point estimate",
            },
        }
    else:
        out["subQuery"] = {"query": "fixVersion in unreleasedVersions() OR fixVersion is EMPTY"}
    out["ranking"] = {"rankCustomFieldId": int(RANK_FIELD.rsplit("_", 1)[1])}
    return c.respond(out)


async def board_issues(request: Request) -> Response:
    c = _ctx(request)
    with c.store.lock:
        board = require_board(c, request.path_params["board"])
        page = _issue_page(c, _board_issues(c, board))
    return c.respond(page)


async def board_backlog(request: Request) -> Response:
    c = _ctx(request)
    with c.store.lock:
        board = require_board(c, request.path_params["board"])
        sf = sprint_field(c.store)
        scope = [
            r for r in _board_issues(c, board) if not _is_done(r) and not _in_open_sprint(r, sf)
        ]
        page = _issue_page(c, scope)
    return c.respond(page)


async def board_sprints(request: Request) -> Response:
    c = _ctx(request)
    board = _scrum(require_board(c, request.path_params["board"]))
    states = {s.lower() for s in split_list(c.params("state"))}
    unknown = states - set(STATE_ORDER)
    if unknown:
        raise bad_request(f"The sprint state '{sorted(unknown)[0]}' is not valid.")
    sprints = sorted(
        (s for s in c.store.sprints.values() if s.get("boardId") == board["id"]),
        key=lambda s: (STATE_ORDER.get(s["state"], 3), s["id"]),
    )
    values = [sprint_view(s) for s in sprints if not states or s["state"] in states]
    return c.respond(_values_page(c, values))


def _epics(store: Store, board: Json) -> list[IssueRecord]:
    return sorted(
        (
            rec
            for pid in _board_projects(board)
            for rec in store.iter_project_issues(pid)
            if _is_epic(rec)
        ),
        key=_rank,
    )


async def board_epics(request: Request) -> Response:
    c = _ctx(request)
    board = require_board(c, request.path_params["board"])
    done = c.param("done")
    epics = [
        epic_view(e)
        for e in _epics(c.store, board)
        if done is None or _is_done(e) == (done.lower() == "true")
    ]
    return c.respond(_values_page(c, epics))


async def board_sprint_issues(request: Request) -> Response:
    c = _ctx(request)
    with c.store.lock:
        board = _scrum(require_board(c, request.path_params["board"]))
        sprint = require_sprint(c, _int_path(request, "sprint"))
        in_board = {r.id for r in _board_issues(c, board)}
        scope = [r for r in _sprint_issues(c.store, sprint["id"]) if r.id in in_board]
        page = _issue_page(c, scope)
    return c.respond(page)


async def board_epic_issues(request: Request) -> Response:
    c = _ctx(request)
    with c.store.lock:
        board = require_board(c, request.path_params["board"])
        epic = _require_epic(c, request.path_params["epic"])
        in_board = {r.id for r in _board_issues(c, board)}
        scope = [r for r in _children(c.store, epic) if r.id in in_board]
        page = _issue_page(c, scope)
    return c.respond(page)


# -- epics ---------------------------------------------------------------------------------


def _require_epic(c: Ctx, id_or_key: str) -> IssueRecord:
    rec = mutations.require_issue(c.store, id_or_key, c.account_id)
    if not _is_epic(rec):
        raise not_found(f"Issue '{rec.key}' is not an epic.")
    return rec


def _children(store: Store, epic: IssueRecord) -> list[IssueRecord]:
    return [store.issues[i] for i in store.children.get(epic.id, ()) if i in store.issues]


async def get_epic(request: Request) -> Response:
    c = _ctx(request)
    return c.respond(epic_view(_require_epic(c, request.path_params["epic"])))


async def epic_issues(request: Request) -> Response:
    c = _ctx(request)
    with c.store.lock:
        epic = _require_epic(c, request.path_params["epic"])
        page = _issue_page(c, _children(c.store, epic))
    return c.respond(page)


async def get_agile_issue(request: Request) -> Response:
    c = _ctx(request)
    rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
    selected, agile = _field_selection(c)
    expand = split_list(c.params("expand"))
    return c.respond(_issue_json(c, rec, selected, expand, agile))


# -- sprints -------------------------------------------------------------------------------


def _changed(
    c: Ctx, name: str, sprint: Json, *, meta: bool = False, old: Json | None = None
) -> None:
    """A sprint changed: drop search/view caches, tell subscribers (``sprint_updated``
    carries the sprint as it was in ``old``, Jira's ``oldValue``)."""
    c.store.changed()
    if meta:
        _engine(c).invalidate_meta()  # new/renamed/deleted sprints: JQL resolves names/ids
    data: Json = {"sprint": sprint_view(sprint)}
    if old is not None and name == "sprint_updated":
        data["old"] = old
    mutations.emit(c.store, name, None, c.account_id, c.now(), **data)


def _name(raw: Any) -> str:
    name = raw.strip() if isinstance(raw, str) else ""
    if not name:
        raise bad_request(errors={"name": "The sprint name must not be empty."})
    return name


async def create_sprint(request: Request) -> Response:
    c = _ctx(request)
    body = await c.json()
    if not isinstance(body, dict):
        raise bad_request(INVALID_PAYLOAD)
    name = _name(body.get("name"))
    if body.get("originBoardId") is None:
        raise bad_request(errors={"originBoardId": "The sprint must have an origin board."})
    with c.store.lock:
        board = _scrum(require_board(c, str(body["originBoardId"])))
        dates = {
            k: _parse_date(k, body[k]) for k in ("startDate", "endDate") if body.get(k) is not None
        }
        store = c.store
        store.counters.setdefault("sprint", max(store.sprints, default=0))
        sid = store.next_id("sprint")
        sprint: Json = {
            "id": sid,
            "name": name,
            "state": "future",
            "boardId": board["id"],
            "goal": str(body.get("goal") or ""),
            **dates,
        }
        store.sprints[sid] = sprint
        _changed(c, "sprint_created", sprint, meta=True)
    return c.respond(sprint_view(sprint), 201)


async def get_sprint(request: Request) -> Response:
    c = _ctx(request)
    return c.respond(sprint_view(require_sprint(c, _int_path(request, "sprint"))))


def _update(c: Ctx, sprint: Json, body: dict[str, Any], *, full: bool) -> str:
    """Apply an update to ``sprint`` in place; returns the event name."""
    state = sprint["state"]
    new_state = str(body.get("state") or state).lower()
    if new_state not in STATE_ORDER:
        raise bad_request(f"The sprint state '{body.get('state')}' is not valid.")
    changes: Json = {}
    if "name" in body or full:
        changes["name"] = _name(body.get("name"))
    if "goal" in body or full:
        changes["goal"] = str(body.get("goal") or "")
    if state == "closed":  # only name and goal; the rest is ignored
        sprint.update(changes)
        return "sprint_updated"
    for k in ("startDate", "endDate"):
        if body.get(k) is not None:
            changes[k] = _parse_date(k, body[k])
        elif full and k in body and state == "future":
            changes[k] = None
    merged = {**sprint, **changes}
    event = "sprint_updated"
    if new_state != state:
        if state == "future" and new_state == "active":
            if not merged.get("startDate") or not merged.get("endDate"):
                raise bad_request(
                    "The sprint cannot be started: it must have a start date and an end date."
                )
            others = [
                s
                for s in c.store.sprints.values()
                if s is not sprint and s.get("boardId") == sprint.get("boardId")
                if s["state"] == "active"
            ]
            if others and not c.store.site.get("parallel_sprints", False):
                raise bad_request(
                    "The sprint cannot be started: another sprint is already active on this "
                    "board and parallel sprints are disabled."
                )
            event = "sprint_started"
        elif state == "active" and new_state == "closed":
            changes["completeDate"] = _now_iso(c.now())
            event = "sprint_closed"
        else:
            raise bad_request(
                f"The sprint state cannot be changed from '{state}' to '{new_state}'."
            )
        changes["state"] = new_state
    if (
        merged.get("startDate")
        and merged.get("endDate")
        and merged["endDate"] < merged["startDate"]
    ):
        raise bad_request(errors={"endDate": "The end date must be after the start date."})
    for k, v in changes.items():
        if v is None:
            sprint.pop(k, None)
        else:
            sprint[k] = v
    return event


async def update_sprint(request: Request) -> Response:
    c = _ctx(request)
    body = await c.json()
    if not isinstance(body, dict):
        raise bad_request(INVALID_PAYLOAD)
    with c.store.lock:
        sprint = require_sprint(c, _int_path(request, "sprint"))
        before = sprint_view(sprint)
        event = _update(c, sprint, body, full=request.method == "PUT")
        _changed(c, event, sprint, meta=True, old=before)
    return c.respond(sprint_view(sprint))


async def delete_sprint(request: Request) -> Response:
    c = _ctx(request)
    with c.store.lock:
        sprint = require_sprint(c, _int_path(request, "sprint"))
        if sprint["state"] != "future":
            raise bad_request("Only future sprints can be deleted.")
        sf = sprint_field(c.store)
        now = c.now()
        for rec in _sprint_issues(c.store, sprint["id"]):
            rest = [s for s in rec.fields.get(sf) or () if s is not sprint]
            mutations.apply_changes(c.store, rec, {sf: rest or None}, c.account_id, now)
        del c.store.sprints[sprint["id"]]
        _changed(c, "sprint_deleted", sprint, meta=True)
    return c.empty()


async def sprint_issues(request: Request) -> Response:
    c = _ctx(request)
    with c.store.lock:
        sprint = require_sprint(c, _int_path(request, "sprint"))
        page = _issue_page(c, _sprint_issues(c.store, sprint["id"]))
    return c.respond(page)


def _move_targets(c: Ctx, body: Any) -> list[IssueRecord]:
    if not isinstance(body, dict):
        raise bad_request(INVALID_PAYLOAD)
    raw = body.get("issues")
    if not isinstance(raw, list) or not raw:
        raise bad_request(errors={"issues": "You must specify at least one issue."})
    if len(raw) > MOVE_MAX:
        raise bad_request(
            f"The number of issues to move must not exceed {MOVE_MAX}; {len(raw)} were given."
        )
    recs: list[IssueRecord] = []
    for ref in raw:
        rec = c.store.issue(str(ref))
        if rec is None or not c.store.can_browse(c.account_id, rec.project_id):
            raise bad_request(f"{NOT_FOUND_ISSUE} ({ref})")
        if rec not in recs:
            recs.append(rec)
    return recs


def _move(c: Ctx, recs: list[IssueRecord], target: Json | None) -> None:
    """Set each issue's open sprint to ``target`` (None: the backlog); closed sprints stay."""
    sf = sprint_field(c.store)
    now = c.now()
    for rec in recs:
        current = list(rec.fields.get(sf) or ())
        new = [s for s in current if s.get("state") == "closed"]
        if target is not None:
            new.append(target)
        mutations.apply_changes(c.store, rec, {sf: new or None}, c.account_id, now)


async def move_to_sprint(request: Request) -> Response:
    c = _ctx(request)
    body = await c.json()
    with c.store.lock:
        sprint = require_sprint(c, _int_path(request, "sprint"))
        recs = _move_targets(c, body)
        if sprint["state"] == "closed":
            raise bad_request("Issues can only be moved to future or active sprints.")
        _move(c, recs, sprint)
    return c.empty()


async def move_to_backlog(request: Request) -> Response:
    c = _ctx(request)
    body = await c.json()
    with c.store.lock:
        _move(c, _move_targets(c, body), None)
    return c.empty()


def _route(path: str, endpoint: Callable[[Request], Any], *methods: str) -> Route:
    return Route(path, endpoint, methods=list(methods or ("GET",)))


ROUTES = [
    _route("/board", list_boards),
    _route("/board", create_board, "POST"),
    _route("/board/{board}", get_board),
    _route("/board/{board}", delete_board, "DELETE"),
    _route("/board/{board}/configuration", board_configuration),
    _route("/board/{board}/issue", board_issues),
    _route("/board/{board}/backlog", board_backlog),
    _route("/board/{board}/sprint", board_sprints),
    _route("/board/{board}/sprint/{sprint}/issue", board_sprint_issues),
    _route("/board/{board}/epic", board_epics),
    _route("/board/{board}/epic/{epic}/issue", board_epic_issues),
    _route("/sprint", create_sprint, "POST"),
    _route("/sprint/{sprint}", get_sprint),
    _route("/sprint/{sprint}", update_sprint, "POST", "PUT"),
    _route("/sprint/{sprint}", delete_sprint, "DELETE"),
    _route("/sprint/{sprint}/issue", sprint_issues),
    _route("/sprint/{sprint}/issue", move_to_sprint, "POST"),
    _route("/backlog/issue", move_to_backlog, "POST"),
    _route("/epic/{epic}", get_epic),
    _route("/epic/{epic}/issue", epic_issues),
    _route("/issue/{key}", get_agile_issue),
]


def mount() -> Mount:
    return Mount("/rest/agile/1.0", routes=ROUTES)
