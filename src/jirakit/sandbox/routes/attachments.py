"""Attachments: upload (multipart), metadata, download, delete.

Uploads need ``X-Atlassian-Token: no-check`` (Jira's XSRF guard) and a multipart field
``file`` (repeatable). Downloads behave like Cloud: ``/attachment/content/{id}`` answers
303 with a signed link to the bytes (here ``/media/{id}/{filename}?token=...``, served
without credentials, possibly from another origin: ``SandboxState.media_base``), so a
client must not carry its ``Authorization`` header along.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import mimetypes
import re
from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from jirakit.sandbox import mutations
from jirakit.sandbox.app import Ctx, SandboxState, ctx
from jirakit.sandbox.clock import jira_time
from jirakit.sandbox.errors import JiraHttpError, bad_request
from jirakit.sandbox.store import ChangeItem, IssueRecord, Json, Store
from jirakit.sandbox.views import attachment_view

MAX_BYTES = 10 * 1024 * 1024  # the sandbox's attachment size limit
_MIME = re.compile(r"^[A-Za-z0-9][\w.+-]*/[A-Za-z0-9][\w.+-]*$", re.ASCII)  # a header can carry it
XSRF_FAILED = "XSRF check failed"


def media_token(secret: bytes, att_id: str) -> str:
    return hmac.new(secret, f"attachment:{att_id}".encode(), hashlib.sha256).hexdigest()[:32]


def _require(c: Ctx, att_id: str) -> tuple[Json, IssueRecord]:
    att = c.store.attachments.get(att_id)
    rec = c.store.issues.get(att["issue"]) if att else None
    if att is None or rec is None or not c.store.can_browse(c.account_id, rec.project_id):
        raise JiraHttpError(404, [f"The attachment with id '{att_id}' does not exist"])
    return att, rec


def add_attachment(
    store: Store,
    rec: IssueRecord,
    filename: str,
    data: bytes,
    mime: str | None,
    author: str,
    c: Ctx,
) -> Json:
    """Store one attachment on ``rec``: changelog item, ``updated``, event."""
    now = c.now()
    att: Json = {
        "id": str(store.next_id("attachment")),
        "issue": rec.id,
        "filename": filename,
        "author": author,
        "created": jira_time(now),
        "size": len(data),
        "mimeType": (mime if mime and _MIME.match(mime) else None)
        or mimetypes.guess_type(filename)[0]
        or "application/octet-stream",
        "data": base64.b64encode(data).decode("ascii"),
    }
    store.add_attachment(att)
    item: ChangeItem = ("Attachment", "jira", "attachment", None, None, att["id"], filename)
    mutations.apply_changes(store, rec, {}, author, now, extra_items=[item])
    mutations.emit(store, "attachment_created", rec, author, now, attachment=att)
    return att


def _filename(raw: str | None) -> str:
    """The name to store: the last path segment of what the client sent (browsers send
    ``C:\\fakepath\\x.txt`` or ``dir/x.txt`` too), without control characters; a name
    that is empty or only dots is refused."""
    name = (raw or "file").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    if not name.strip("."):
        raise bad_request("The attachment filename is invalid: it must name a file.")
    if len(name) > 255:
        raise bad_request("The attachment filename must not be longer than 255 characters.")
    return name


async def upload(request: Request) -> Response:
    c = ctx(request)
    if request.headers.get("x-atlassian-token", "").lower() not in ("no-check", "nocheck"):
        raise JiraHttpError(403, [XSRF_FAILED])
    rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise JiraHttpError(415, ["Unsupported Media Type: use multipart/form-data."])
    files: list[tuple[str, bytes, str | None]] = []
    async with request.form(max_part_size=MAX_BYTES) as form:
        for part in form.getlist("file"):
            if not isinstance(part, UploadFile):
                continue
            data = await part.read()
            if len(data) > MAX_BYTES:
                raise JiraHttpError(413, ["The attachment is larger than the limit."])
            files.append((_filename(part.filename), data, part.content_type))
    if not files:
        raise bad_request("No attachment was sent: use the multipart field 'file'.")
    with c.store.lock:
        rec = mutations.require_issue(c.store, request.path_params["key"], c.account_id)
        created = [add_attachment(c.store, rec, n, d, m, c.account_id, c) for n, d, m in files]
        out = [attachment_view(c.store, a) for a in created]
    return c.respond(out)


async def get_attachment(request: Request) -> Response:
    c = ctx(request)
    att, _ = _require(c, request.path_params["id"])
    return c.respond(attachment_view(c.store, att, metadata=True))


async def content(request: Request) -> Response:
    c = ctx(request)
    att, _ = _require(c, request.path_params["id"])
    state: SandboxState = c.state
    token = media_token(state.media_secret, att["id"])
    name = quote(att["filename"], safe="")  # one path segment, whatever the name holds
    url = f"{state.media_base or c.base}/media/{att['id']}/{name}?token={token}"
    if c.config.flavour == "cloud" and c.bool_param("redirect", True):
        return RedirectResponse(url, status_code=303)
    return _bytes(att)  # Data Center serves the bytes itself


async def delete_attachment(request: Request) -> Response:
    c = ctx(request)
    with c.store.lock:
        att, rec = _require(c, request.path_params["id"])
        c.store.remove_attachment(att["id"])
        now = c.now()
        item: ChangeItem = (
            "Attachment",
            "jira",
            "attachment",
            att["id"],
            att["filename"],
            None,
            None,
        )
        mutations.apply_changes(c.store, rec, {}, c.account_id, now, extra_items=[item])
        mutations.emit(c.store, "attachment_deleted", rec, c.account_id, now, attachment=att)
    return c.empty()


def _bytes(att: Json) -> Response:
    return Response(
        base64.b64decode(att["data"]),
        media_type=att["mimeType"],
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(att['filename'])}"},
    )


async def media(request: Request) -> Response:
    """The bytes behind a signed link: no credentials, the token is the permission."""
    state: SandboxState = request.app.state.sandbox
    att_id = request.path_params["id"]
    token = request.query_params.get("token", "")
    att = state.store.attachments.get(att_id)
    if att is None or not hmac.compare_digest(token, media_token(state.media_secret, att_id)):
        return Response("Not found", status_code=404, media_type="text/plain")
    return _bytes(att)


ROUTES = [
    Route("/issue/{key}/attachments", upload, methods=["POST"]),
    Route("/attachment/content/{id}", content, methods=["GET"]),
    Route("/attachment/{id}", get_attachment, methods=["GET"]),
    Route("/attachment/{id}", delete_attachment, methods=["DELETE"]),
]

MEDIA_ROUTES = [
    Route("/media/{id}/{filename}", media, methods=["GET"]),
]
