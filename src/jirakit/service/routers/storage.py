"""``/storage/{connection_id}/file``: Jira attachments as Unified's StorageFile.

A Jira attachment lives on an issue: ``parent_id`` is the task id, required to list.
``download_url`` points at this service (``.../file/{id}/download``), which streams the
bytes with the connection's credentials.
"""

from __future__ import annotations

import base64
import binascii
import io
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from jirakit.service import mapping
from jirakit.service.deps import Jira
from jirakit.service.paging import FieldsQuery, Listing, RawQuery, fields_param, page_of, wants_raw
from jirakit.service.problems import invalid
from jirakit.service.schemas.storage import StorageFile

router = APIRouter(prefix="/storage/{connection_id}", tags=["storage"])

MAX_UPLOAD = 10 * 1024 * 1024


def _file(
    request: Request, conn_id: str, att: dict[str, Any], parent: str | None, raw: bool
) -> dict[str, Any]:
    out = mapping.file_from_attachment(att, parent, raw=raw)
    out["download_url"] = str(request.url_for("download_file", connection_id=conn_id, id=out["id"]))
    return out


@router.get("/file", response_model=list[StorageFile], response_model_exclude_none=True)
async def list_files(
    jira: Jira,
    request: Request,
    params: Listing,
    response: Response,
    parent_id: Annotated[str | None, Query(max_length=100)] = None,
) -> list[dict[str, Any]]:
    if not parent_id:
        raise invalid("query.parent_id", "Jira keeps files on tasks: give the task id as parent_id")
    issue = await jira.call(lambda j: j.issues.get(parent_id, fields=["attachment"]))
    files = list(issue.fields.get("attachment") or [])
    page = page_of(files, params, response)
    return [
        mapping.pick_fields(_file(request, jira.id, a, issue.id, params.want_raw), params.fields)
        for a in page
    ]


@router.get("/file/{id}", response_model=StorageFile, response_model_exclude_none=True)
async def get_file(
    jira: Jira, request: Request, id: str, fields: FieldsQuery = None, raw: RawQuery = None
) -> dict[str, Any]:
    att = await jira.call(lambda j: j.attachments.get(id))
    wanted = fields_param(fields)
    return mapping.pick_fields(_file(request, jira.id, att, None, wants_raw(wanted)), wanted)


@router.get("/file/{id}/download", name="download_file", response_class=Response)
async def download_file(jira: Jira, id: str) -> Response:
    """jirakit: the attachment's bytes, fetched with the connection's credentials."""
    meta = await jira.call(lambda j: j.attachments.get(id))
    data = await jira.call(lambda j: j.attachments.download(id))
    return Response(data, media_type=str(meta.get("mimeType") or "application/octet-stream"))


class FileCreate(BaseModel):
    name: str
    parent_id: str
    data: str  # base64, as Unified sends file contents
    mime_type: str | None = None


@router.post("/file", response_model=StorageFile, response_model_exclude_none=True)
async def create_file(jira: Jira, request: Request, body: FileCreate) -> dict[str, Any]:
    try:
        content = base64.b64decode(body.data, validate=True)
    except (binascii.Error, ValueError):
        raise invalid("body.data", "must be base64") from None
    if len(content) > MAX_UPLOAD:
        raise invalid("body.data", f"files are limited to {MAX_UPLOAD} bytes here")
    made = await jira.call(
        lambda j: j.attachments.add(body.parent_id, io.BytesIO(content), filename=body.name)
    )
    issue = await jira.call(lambda j: j.issues.get(body.parent_id, fields=["summary"]))
    return _file(request, jira.id, made[0], issue.id, False)


@router.delete("/file/{id}", status_code=200, response_class=Response)
async def remove_file(jira: Jira, id: str) -> Response:
    await jira.call(lambda j: j.attachments.delete(id))
    return Response(status_code=200)
