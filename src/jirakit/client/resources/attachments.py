"""Attachments: upload (streamed multipart), metadata, download, delete.

Uploads send ``X-Atlassian-Token: no-check`` (Jira refuses multipart posts without it)
and stream the file: httpx reads a file object in chunks, it is never loaded whole. A
path is opened by the flow and closed when the call is done, whatever happens.

Downloads follow Jira Cloud's 303 to its media host. httpx follows the redirect and drops
the ``Authorization`` header when the redirect leaves the site's origin, so credentials
never reach another host; the media URL carries its own signed token. ``download_to``
streams: the send loop hands the body to the file in chunks of at most
``STREAM_CHUNK`` bytes as they arrive, so a large file is never held in memory; a path
is written to a temporary file of its own beside the target (so concurrent downloads to
one path do not clash) and moved into place only once complete. With `AsyncJira` the
writes happen on the event loop's thread, one chunk (64 KiB at most) at a time.
"""

from __future__ import annotations

import mimetypes
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from jirakit.client._call import Call, Flow, single
from jirakit.client.resources._base import Resource

if TYPE_CHECKING:
    from jirakit.client._async import AsyncJira
    from jirakit.client._sync import Jira

FileOrPath = str | os.PathLike[str] | IO[bytes]
T = TypeVar("T")
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


def _content_call(attachment_id: str, parse: Callable[[Any], T], **options: Any) -> Call[T]:
    """The attachment's bytes (Jira answers with a redirect to the media store)."""
    return Call(
        "GET",
        "/attachment/content/{id}",
        {"id": attachment_id},
        headers={"Accept": "*/*"},
        follow_redirects=True,
        parse=parse,
        **options,
    )


def download_call(attachment_id: str) -> Call[bytes]:
    return _content_call(attachment_id, lambda r: bytes(r.content))


def delete_call(attachment_id: str) -> Call[None]:
    return Call("DELETE", "/attachment/{id}", {"id": attachment_id}, parse=lambda r: None)


def _part_file(path: Path) -> tuple[Path, IO[bytes]]:
    """A new, uniquely named ``.<name>.<random>.part`` beside ``path``, open for writing.
    Like `tempfile.mkstemp` (created exclusively, never reused), but with the usual
    permissions (``0o666`` less the umask, as ``open`` gives) rather than ``0o600``: the
    file becomes the download."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        return tmp, os.fdopen(fd, "wb")


def download_to_flow(attachment_id: str, target: FileOrPath) -> Flow[int]:
    """Stream the attachment into ``target``; returns the byte count. A path is written
    to a temporary ``.<name>.<random>.part`` beside it and renamed when complete
    (removed if the download fails); a file object gets the chunks as they come."""
    written = 0
    path: Path | None = None
    tmp: Path | None = None
    out: IO[bytes]
    if isinstance(target, str | os.PathLike):
        path = Path(target)
        tmp, out = _part_file(path)
    else:
        out = target

    def write(chunk: bytes) -> None:
        nonlocal written
        out.write(chunk)
        written += len(chunk)

    complete = False
    try:
        yield _content_call(attachment_id, _none, stream=True, sink=write)
        complete = True
    finally:
        if tmp is not None and path is not None:
            out.close()
            if complete:
                tmp.replace(path)
            else:
                tmp.unlink(missing_ok=True)
    return written


def _none(_response: Any) -> None:
    return None


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
        """Stream the attachment to a path or binary file object, chunk by chunk (never
        whole in memory); returns the byte count."""
        return self._c._run(download_to_flow(attachment_id, path_or_file))

    def delete(self, attachment_id: str) -> None:
        """Delete the attachment."""
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
        """Stream the attachment to a path or binary file object, chunk by chunk (never
        whole in memory); returns the byte count. The writes are plain blocking calls
        made on the event loop's thread, one chunk of at most 64 KiB at a time: quick on
        a local disk; for a slow file system or file object, give a file object whose
        ``write`` hands the work off."""
        return await self._c._run(download_to_flow(attachment_id, path_or_file))

    async def delete(self, attachment_id: str) -> None:
        """Delete the attachment."""
        await self._c._run(single(delete_call(attachment_id)))
