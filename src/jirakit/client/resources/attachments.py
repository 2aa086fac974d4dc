"""Attachments: upload (streamed multipart), metadata, download, delete.

Uploads send ``X-Atlassian-Token: no-check`` (Jira refuses multipart posts without it)
and stream the file: httpx reads a file object in chunks, it is never loaded whole. A
path is opened by the flow and closed when the call is done, whatever happens.

Downloads follow Jira Cloud's 303 to its media host. httpx follows the redirect and drops
the ``Authorization`` header when the redirect leaves the site's origin, so credentials
never reach another host; the media URL carries its own signed token.
"""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from jirakit.client._call import Call, Flow, single
from jirakit.client.resources._base import Resource

if TYPE_CHECKING:
    from jirakit.client._async import AsyncJira
    from jirakit.client._sync import Jira

FileOrPath = str | os.PathLike[str] | IO[bytes]
XSRF_HEADERS = {"X-Atlassian-Token": "no-check"}


def _json_list(r: Any) -> list[dict[str, Any]]:
    return [dict(a) for a in r.json()]


def add_flow(key: str, file: FileOrPath, filename: str | None) -> Flow[list[dict[str, Any]]]:
    """POST the file as multipart field ``file``; a path is opened here and closed after."""
    owned: IO[bytes] | None = None
    stream: IO[bytes]
    if isinstance(file, str | os.PathLike):
        path = Path(file)
        owned = stream = path.open("rb")
        name = filename or path.name
    else:
        stream = file
        name = filename or Path(str(getattr(file, "name", "") or "file")).name
    mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
    try:
        result: list[dict[str, Any]] = yield Call(
            "POST",
            "/issue/{key}/attachments",
            {"key": key},
            files={"file": (name, stream, mime)},
            headers=XSRF_HEADERS,
            parse=_json_list,
        )
    finally:
        if owned is not None:
            owned.close()
    return result


def get_call(attachment_id: str) -> Call[dict[str, Any]]:
    return Call("GET", "/attachment/{id}", {"id": attachment_id}, parse=lambda r: dict(r.json()))


def download_call(attachment_id: str) -> Call[bytes]:
    return Call(
        "GET",
        "/attachment/content/{id}",
        {"id": attachment_id},
        headers={"Accept": "*/*"},
        follow_redirects=True,
        parse=lambda r: bytes(r.content),
    )


def delete_call(attachment_id: str) -> Call[None]:
    return Call("DELETE", "/attachment/{id}", {"id": attachment_id}, parse=lambda r: None)


def write_to(data: bytes, target: FileOrPath) -> int:
    """Write downloaded bytes to a path (replaced atomically) or a binary file object."""
    if isinstance(target, str | os.PathLike):
        path = Path(target)
        tmp = path.with_name(f".{path.name}.part")
        tmp.write_bytes(data)
        tmp.replace(path)
    else:
        target.write(data)
    return len(data)


class Attachments(Resource):
    """``jira.attachments``."""

    _c: Jira

    def add(
        self, key: str, file_or_path: FileOrPath, filename: str | None = None
    ) -> list[dict[str, Any]]:
        """Attach a file (path or binary file object, streamed) to an issue; returns the
        created attachments' JSON (``id``, ``filename``, ``size``, ``mimeType`` ...)."""
        return self._c._run(add_flow(key, file_or_path, filename))

    def get(self, attachment_id: str) -> dict[str, Any]:
        """The attachment's metadata."""
        return self._c._run(single(get_call(attachment_id)))

    def download(self, attachment_id: str) -> bytes:
        """The attachment's bytes (credentials are not sent to another host)."""
        return self._c._run(single(download_call(attachment_id)))

    def download_to(self, attachment_id: str, path_or_file: FileOrPath) -> int:
        """Save the attachment to a path or binary file object; returns the byte count."""
        return write_to(self.download(attachment_id), path_or_file)

    def delete(self, attachment_id: str) -> None:
        self._c._run(single(delete_call(attachment_id)))


class AsyncAttachments(Resource):
    """``ajira.attachments``."""

    _c: AsyncJira

    async def add(
        self, key: str, file_or_path: FileOrPath, filename: str | None = None
    ) -> list[dict[str, Any]]:
        """Attach a file (path or binary file object, streamed) to an issue; returns the
        created attachments' JSON (``id``, ``filename``, ``size``, ``mimeType`` ...)."""
        return await self._c._run(add_flow(key, file_or_path, filename))

    async def get(self, attachment_id: str) -> dict[str, Any]:
        """The attachment's metadata."""
        return await self._c._run(single(get_call(attachment_id)))

    async def download(self, attachment_id: str) -> bytes:
        """The attachment's bytes (credentials are not sent to another host)."""
        return await self._c._run(single(download_call(attachment_id)))

    async def download_to(self, attachment_id: str, path_or_file: FileOrPath) -> int:
        """Save the attachment to a path or binary file object; returns the byte count."""
        return write_to(await self.download(attachment_id), path_or_file)

    async def delete(self, attachment_id: str) -> None:
        await self._c._run(single(delete_call(attachment_id)))
