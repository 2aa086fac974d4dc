"""Issue links and link types, remote links, watchers and votes.

Linking and unlinking write a ``Link`` changelog item on both issues and publish
``issuelink_created|deleted``; adding or removing a remote link writes a
``RemoteIssueLink`` item (both bump ``updated`` and publish ``jira:issue_updated``).
Watchers and votes change no history and no ``updated``, as in Jira.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jirakit.sandbox import mutations
from jirakit.sandbox.app import Ctx, ctx
from jirakit.sandbox.errors import JiraHttpError, bad_request
from jirakit.sandbox.inputs import INVALID_PAYLOAD
from jirakit.sandbox.store import ChangeItem, IssueRecord
from jirakit.sandbox.views import full_link_view


def _link_type(c: Ctx, raw: Any) -> str:
    if isinstance(raw, dict):
        for t in c.store.link_types.values():
            if (
                str(raw.get("id")) == t["id"]
                or (raw.get("name") or "").lower() == t["name"].lower()
            ):
                return str(t["id"])
    name = raw.get("name") if isinstance(raw, dict) else raw
    raise JiraHttpError(404, [f"No issue link type with name '{name}' found."])


def _end(c: Ctx, raw: Any) -> IssueRecord:
    ref = (raw.get("key") or raw.get("id")) if isinstance(raw, dict) else None
    rec = c.store.issue(str(ref)) if ref else None
    if rec is None or not c.store.can_browse(c.account_id, rec.project_id):
        raise JiraHttpError(404, ["Issue Does Not Exist"])
    return rec


async def create_link(request: Request) -> Response:
    c = ctx(request)
    body = await c.json()
    if not isinstance(body, dict) or not all(
        k in body for k in ("type", "inwardIssue", "outwardIssue")
    ):
        raise bad_request(
            "Invalid request payload. Refer to the REST API documentation and try again."
        )
    with c.store.lock:
        type_id = _link_type(c, body["type"])
        source, target = _end(c, body["inwardIssue"]), _end(c, body["outwardIssue"])
        if source.id == target.id:
            raise bad_request("You cannot link an issue to itself.")
        lid = c.store.add_link(type_id, source.id, target.id)
        now = c.now()
        entry = (type_id, source.id, target.id)
        mutations.emit(
            c.store, "issuelink_created", source, c.account_id, now, link=lid, entry=entry
        )
        _record_link(c, type_id, source, target, removed=False)
        comment = body.get("comment")
        if isinstance(comment, dict) and comment.get("body") is not None:
            mutations.add_comment(c.store, source, comment, c.account_id, now, c.version)
    return c.empty(201)


def _require_link(c: Ctx, raw: str) -> int:
    """A link the caller can see both ends of (else Jira's 404, as for a missing one)."""
    if raw.isdigit() and int(raw) in c.store.links:
        lid = int(raw)
        _, a, b = c.store.links[lid]
        ends = (c.store.issues[a], c.store.issues[b])
        if all(c.store.can_browse(c.account_id, e.project_id) for e in ends):
            return lid
    raise JiraHttpError(404, [f"No issue link with id '{raw}' exists."])


async def get_link(request: Request) -> Response:
    c = ctx(request)
    with c.store.lock:  # a concurrent DELETE must not remove it between check and view
        lid = _require_link(c, request.path_params["id"])
        view = full_link_view(c.store, lid)
    return c.respond(view)


async def delete_link(request: Request) -> Response:
    c = ctx(request)
    with c.store.lock:
        lid = _require_link(c, request.path_params["id"])
        type_id, a, b = c.store.links[lid]
        source, target = c.store.issues[a], c.store.issues[b]
        c.store.remove_link(lid)
        mutations.emit(
            c.store,
            "issuelink_deleted",
            source,
            c.account_id,
            c.now(),
            link=lid,
            entry=(type_id, a, b),
        )
        _record_link(c, type_id, source, target, removed=True)
    return c.empty()


def _record_link(
    c: Ctx, type_id: str, source: IssueRecord, target: IssueRecord, *, removed: bool
) -> None:
    """A ``Link`` changelog item on both ends, in Jira's wording ("This issue blocks
    ENG-2" on the source, "This issue is blocked by ENG-1" on the destination): each issue
    gets a history, a new ``updated`` and a ``jira:issue_updated`` event."""
    t = c.store.link_types.get(type_id) or {}
    now = c.now()
    ends = ((source, target, t.get("outward", "")), (target, source, t.get("inward", "")))
    for rec, other, wording in ends:
        text = f"This issue {wording} {other.key}"
        item: ChangeItem = (
            ("Link", "jira", "issuelinks", other.key, text, None, None)
            if removed
            else ("Link", "jira", "issuelinks", None, None, other.key, text)
        )
        mutations.apply_changes(c.store, rec, {}, c.account_id, now, extra_items=[item])


async def link_types(request: Request) -> Response:
    c = ctx(request)
    return c.respond({"issueLinkTypes": list(c.store.link_types.values())})


async def link_type(request: Request) -> Response:
    c = ctx(request)
    t = c.store.link_types.get(request.path_params["id"])
    if t is None:
        raise JiraHttpError(
            404, [f"No issue link type with id '{request.path_params['id']}' found."]
        )
    return c.respond(t)


async def remove_watcher(request: Request) -> Response:
    c = ctx(request)
    aid = c.param("accountId") or c.param("username")
    if not aid:
        raise bad_request("The accountId query parameter needs to be provided.")
    with c.store.lock:
        rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
        user = c.store.users.get(aid) or c.store.user_by_login(aid)
        if user is None:
            raise bad_request(errors={"accountId": "The user does not exist."})
        rec.watchers = [w for w in rec.watchers if w != user["accountId"]]
        c.store.changed()
    return c.empty()


async def vote(request: Request) -> Response:
    c = ctx(request)
    with c.store.lock:
        rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
        if rec.fields.get("reporter", {}).get("accountId") == c.account_id:
            raise bad_request("You cannot vote for an issue you have reported.")
        if c.account_id not in rec.voters:
            rec.voters = sorted([*rec.voters, c.account_id])
            c.store.changed()
    return c.empty()


async def unvote(request: Request) -> Response:
    c = ctx(request)
    with c.store.lock:
        rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
        rec.voters = [v for v in rec.voters if v != c.account_id]
        c.store.changed()
    return c.empty()


# -- remote links ------------------------------------------------------------------------


def _remote_payload(body: object) -> dict[str, object]:
    obj = body.get("object") if isinstance(body, dict) else None
    if not isinstance(obj, dict):
        raise bad_request(errors={"object": "'object' is required."})
    errors = {}
    if not obj.get("url"):
        errors["url"] = "'url' is required."
    if not obj.get("title"):
        errors["title"] = "'title' is required."
    if errors:
        raise bad_request(errors=errors)
    assert isinstance(body, dict)
    # Members Jira binds to strings or objects: anything else cannot be deserialised.
    strings = (
        obj.get("url"),
        obj.get("title"),
        obj.get("summary"),
        body.get("globalId"),
        body.get("relationship"),
    )
    objects = (body.get("application"), obj.get("icon"), obj.get("status"))
    if any(v is not None and not isinstance(v, str) for v in strings) or any(
        v is not None and not isinstance(v, dict) for v in objects
    ):
        raise bad_request(INVALID_PAYLOAD)
    return body


def _remote_view(c: Ctx, rec: IssueRecord, link: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": link["id"],
        "self": f"{c.api}/issue/{rec.key}/remotelink/{link['id']}",
        **{k: v for k, v in link.items() if k != "id"},
    }


def _find_remote(c: Ctx, rec: IssueRecord, raw: str) -> dict[str, Any]:
    for link in c.store.remote_links.get(rec.sid, []):
        if str(link["id"]) == raw:
            return link
    raise JiraHttpError(404, [f"No remote link with id '{raw}' exists on issue '{rec.key}'."])


def _remote_fields(body: dict[str, Any]) -> dict[str, Any]:
    obj = body["object"]
    out: dict[str, Any] = {
        "application": body.get("application") or {},
        "object": {
            "url": obj["url"],
            "title": obj["title"],
            **{k: obj[k] for k in ("summary", "icon", "status") if k in obj},
        },
    }
    if not out["object"].get("icon"):
        out["object"]["icon"] = {}
    out["object"].setdefault("status", {"icon": {}})
    if body.get("globalId"):
        out["globalId"] = str(body["globalId"])
    if body.get("relationship"):
        out["relationship"] = str(body["relationship"])
    return out


async def remote_links(request: Request) -> Response:
    c = ctx(request)
    rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
    links = c.store.remote_links.get(rec.sid, [])
    gid = c.param("globalId")
    if gid is not None:
        found = [x for x in links if x.get("globalId") == gid]
        if not found:
            raise JiraHttpError(404, [f"No remote link with global id '{gid}' exists."])
        return c.respond(_remote_view(c, rec, found[0]))
    return c.respond([_remote_view(c, rec, x) for x in links])


async def create_remote_link(request: Request) -> Response:
    c = ctx(request)
    body = _remote_payload(await c.json())
    with c.store.lock:
        rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
        fields = _remote_fields(body)
        links = list(c.store.remote_links.get(rec.sid, []))
        gid = fields.get("globalId")
        existing = next((x for x in links if gid and x.get("globalId") == gid), None)
        if existing is not None:
            updated = {"id": existing["id"], **fields}
            links = [updated if x is existing else x for x in links]
            status, lid = 200, existing["id"]
        else:
            lid = c.store.next_id("remotelink")
            links.append({"id": lid, **fields})
            status = 201
        c.store.remote_links[rec.sid] = links
        if existing is None:
            _record_remote(c, rec, links[-1], removed=False)
        else:
            mutations.touch(c.store, rec, c.now())
    return c.respond({"id": lid, "self": f"{c.api}/issue/{rec.key}/remotelink/{lid}"}, status)


async def get_remote_link(request: Request) -> Response:
    c = ctx(request)
    rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
    return c.respond(_remote_view(c, rec, _find_remote(c, rec, request.path_params["id"])))


async def update_remote_link(request: Request) -> Response:
    c = ctx(request)
    body = _remote_payload(await c.json())
    with c.store.lock:
        rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
        old = _find_remote(c, rec, request.path_params["id"])
        new = {"id": old["id"], **_remote_fields(body)}
        c.store.remote_links[rec.sid] = [
            new if x is old else x for x in c.store.remote_links[rec.sid]
        ]
        mutations.touch(c.store, rec, c.now())
    return c.empty()


async def delete_remote_link(request: Request) -> Response:
    c = ctx(request)
    with c.store.lock:
        rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
        if "id" in request.path_params:
            gone = [_find_remote(c, rec, request.path_params["id"])]
        else:
            gid = c.param("globalId")
            if not gid:
                raise bad_request("The 'globalId' query parameter is required.")
            gone = [x for x in c.store.remote_links.get(rec.sid, []) if x.get("globalId") == gid]
            if not gone:
                raise JiraHttpError(404, [f"No remote link with global id '{gid}' exists."])
        c.store.remote_links[rec.sid] = [
            x for x in c.store.remote_links.get(rec.sid, []) if all(x is not g for g in gone)
        ]
        for link in gone:
            _record_remote(c, rec, link, removed=True)
    return c.empty()


def _record_remote(c: Ctx, rec: IssueRecord, link: dict[str, Any], *, removed: bool) -> None:
    """A ``RemoteIssueLink`` changelog item, as Jira writes it: the link id and
    ``This issue links to "Title (Application)"`` ("Web Link" without an application)."""
    app = (link.get("application") or {}).get("name") or "Web Link"
    text = f'This issue links to "{link["object"]["title"]} ({app})"'
    lid = str(link["id"])
    item: ChangeItem = (
        ("RemoteIssueLink", "jira", "RemoteIssueLink", lid, text, None, None)
        if removed
        else ("RemoteIssueLink", "jira", "RemoteIssueLink", None, None, lid, text)
    )
    mutations.apply_changes(c.store, rec, {}, c.account_id, c.now(), extra_items=[item])


ROUTES = [
    Route("/issue/{key}/remotelink", remote_links, methods=["GET"]),
    Route("/issue/{key}/remotelink", create_remote_link, methods=["POST"]),
    Route("/issue/{key}/remotelink", delete_remote_link, methods=["DELETE"]),
    Route("/issue/{key}/remotelink/{id}", get_remote_link, methods=["GET"]),
    Route("/issue/{key}/remotelink/{id}", update_remote_link, methods=["PUT"]),
    Route("/issue/{key}/remotelink/{id}", delete_remote_link, methods=["DELETE"]),
    Route("/issueLink", create_link, methods=["POST"]),
    Route("/issueLink/{id}", get_link, methods=["GET"]),
    Route("/issueLink/{id}", delete_link, methods=["DELETE"]),
    Route("/issueLinkType", link_types),
    Route("/issueLinkType/{id}", link_type),
    Route("/issue/{key}/watchers", remove_watcher, methods=["DELETE"]),
    Route("/issue/{key}/votes", vote, methods=["POST"]),
    Route("/issue/{key}/votes", unvote, methods=["DELETE"]),
]
