"""Attachments stream both ways, sync and async: uploads are read in 64 KiB pieces (httpx
multipart), downloads are handed to the target chunk by chunk as they arrive, against the
served sandbox with a multi-megabyte file; MockTransport stages a cut-short transfer and
measures memory."""

from __future__ import annotations

import asyncio
import hashlib
import io
import random
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from jirakit import AsyncJira, BasicAuth, Jira
from jirakit.client._call import STREAM_CHUNK
from jirakit.errors import NotFound, TransportError
from jirakit.sandbox import Sandbox

SIZE = 4 * 1024 * 1024 + 12_345  # a few megabytes, not a multiple of any chunk size
DATA = random.Random(5).randbytes(SIZE)
DIGEST = hashlib.sha256(DATA).hexdigest()


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[str, Sandbox]]:
    sandbox = Sandbox(seed=3, issues=5)
    with sandbox.serve() as url:
        yield url, sandbox


class SpyReader(io.BytesIO):
    """A binary file that records how much each ``read`` asked for."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.asked: list[int | None] = []

    def read(self, size: int | None = -1, /) -> bytes:
        self.asked.append(size)
        return super().read(size)


class HashingSink:
    """A binary 'file' that keeps only a hash and the size of each write."""

    def __init__(self) -> None:
        self.hash = hashlib.sha256()
        self.writes: list[int] = []

    def write(self, chunk: bytes) -> int:
        self.hash.update(chunk)
        self.writes.append(len(chunk))
        return len(chunk)


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _assert_streamed_upload(reader: SpyReader) -> None:
    # httpx reads the file in 64 KiB pieces while sending: never read() whole
    assert reader.asked and all(n == 64 * 1024 for n in reader.asked)
    assert len(reader.asked) > SIZE // (64 * 1024)


def _assert_streamed_download(sink: HashingSink) -> None:
    assert sink.hash.hexdigest() == DIGEST and sum(sink.writes) == SIZE
    assert len(sink.writes) >= SIZE // STREAM_CHUNK and max(sink.writes) <= STREAM_CHUNK


def test_large_attachment_streams_up_and_down(site, tmp_path: Path):
    url, sandbox = site
    with Jira(url, auth=BasicAuth(*sandbox.auth)) as jira:
        reader = SpyReader(DATA)
        [att] = jira.attachments.add("ENG-1", reader, "big.bin")
        assert att["size"] == SIZE
        _assert_streamed_upload(reader)

        sink = HashingSink()
        assert jira.attachments.download_to(att["id"], sink) == SIZE  # type: ignore[arg-type]
        _assert_streamed_download(sink)

        target = tmp_path / "big.bin"
        assert jira.attachments.download_to(att["id"], target) == SIZE
        assert _digest(target) == DIGEST
        assert _names(tmp_path) == ["big.bin"]  # no .part left

        # a path is uploaded from disk in pieces too: it comes back byte for byte
        [again] = jira.attachments.add("ENG-2", target)
        assert again["filename"] == "big.bin" and again["size"] == SIZE
        assert hashlib.sha256(jira.attachments.download(again["id"])).hexdigest() == DIGEST

        jira.attachments.delete(att["id"])
        missing = tmp_path / "missing.bin"
        with pytest.raises(NotFound):
            jira.attachments.download_to(att["id"], missing)
        assert _names(tmp_path) == ["big.bin"]  # nothing created


async def test_async_large_attachment_streams_up_and_down(site, tmp_path: Path):
    url, sandbox = site
    async with AsyncJira(url, auth=BasicAuth(*sandbox.auth)) as ajira:
        reader = SpyReader(DATA)
        [att] = await ajira.attachments.add("ENG-3", reader, "big-async.bin")
        assert att["size"] == SIZE
        _assert_streamed_upload(reader)

        sink = HashingSink()
        written = await ajira.attachments.download_to(att["id"], sink)  # type: ignore[arg-type]
        assert written == SIZE
        _assert_streamed_download(sink)

        target = tmp_path / "a.bin"
        assert await ajira.attachments.download_to(att["id"], target) == SIZE
        assert _digest(target) == DIGEST
        await ajira.attachments.delete(att["id"])
        with pytest.raises(NotFound):
            await ajira.attachments.download_to(att["id"], tmp_path / "gone.bin")
        assert _names(tmp_path) == ["a.bin"]


# -- staged with MockTransport: memory, and a transfer cut short --------------------------

BIG = 16 * 1024 * 1024
PIECE = b"\x5a" * STREAM_CHUNK


class Body(httpx.SyncByteStream, httpx.AsyncByteStream):
    """``BIG`` bytes made on the fly; with ``cut``, the connection drops after that many."""

    def __init__(self, cut: int | None = None) -> None:
        self.cut = cut

    def _pieces(self) -> Iterator[bytes]:
        sent = 0
        while sent < BIG:
            if self.cut is not None and sent >= self.cut:
                raise httpx.ReadError("connection reset by peer")
            yield PIECE
            sent += len(PIECE)

    def __iter__(self) -> Iterator[bytes]:
        yield from self._pieces()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self._pieces():
            yield piece


def _handler(cut: int | None, seen: list[str]):
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.host == "media.example.net":
            return httpx.Response(200, stream=Body(cut))
        return httpx.Response(303, headers={"location": "https://media.example.net/f/9?token=t"})

    return handle


class CountingSink:
    def __init__(self) -> None:
        self.total = 0

    def write(self, chunk: bytes) -> int:
        self.total += len(chunk)
        return len(chunk)


def test_download_to_never_holds_the_whole_file():
    seen: list[str] = []
    transport = httpx.MockTransport(_handler(None, seen))
    sink = CountingSink()
    with Jira("https://acme.atlassian.net", auth=BasicAuth("a@b.c", "t"), transport=transport) as j:
        tracemalloc.start()
        try:
            assert j.attachments.download_to("9", sink) == BIG  # type: ignore[arg-type]
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert sink.total == BIG
    assert peak < BIG // 8, f"peak {peak} bytes for a {BIG}-byte download"
    assert seen == ["/rest/api/3/attachment/content/9", "/f/9"]


async def test_async_download_to_never_holds_the_whole_file():
    seen: list[str] = []
    transport = httpx.MockTransport(_handler(None, seen))
    sink = CountingSink()
    auth = BasicAuth("a@b.c", "t")
    async with AsyncJira("https://acme.atlassian.net", auth=auth, transport=transport) as aj:
        tracemalloc.start()
        try:
            assert await aj.attachments.download_to("9", sink) == BIG  # type: ignore[arg-type]
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert sink.total == BIG and peak < BIG // 8


def test_a_transfer_cut_short_is_raised_not_retried_and_leaves_no_file(tmp_path: Path):
    seen: list[str] = []
    transport = httpx.MockTransport(_handler(3 * STREAM_CHUNK, seen))
    target = tmp_path / "partial.bin"
    with Jira("https://acme.atlassian.net", auth=BasicAuth("a@b.c", "t"), transport=transport) as j:
        with pytest.raises(TransportError, match="connection reset"):
            j.attachments.download_to("9", target)
    assert seen == ["/rest/api/3/attachment/content/9", "/f/9"]  # the GET was not re-sent
    assert _names(tmp_path) == []


async def test_async_transfer_cut_short(tmp_path: Path):
    seen: list[str] = []
    transport = httpx.MockTransport(_handler(2 * STREAM_CHUNK, seen))
    auth = BasicAuth("a@b.c", "t")
    async with AsyncJira("https://acme.atlassian.net", auth=auth, transport=transport) as aj:
        with pytest.raises(TransportError):
            await aj.attachments.download_to("9", tmp_path / "p.bin")
    assert len(seen) == 2 and _names(tmp_path) == []


class Interleaved(httpx.AsyncByteStream):
    """``pieces`` chunks of one byte value, yielding to the event loop between them, so
    concurrent downloads take turns writing."""

    def __init__(self, byte: bytes, pieces: int) -> None:
        self.byte, self.pieces = byte, pieces

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.pieces):
            await asyncio.sleep(0)
            yield self.byte * STREAM_CHUNK


async def test_concurrent_downloads_to_one_path_do_not_clash(tmp_path: Path):
    bodies = iter([b"a", b"b"])
    seen: list[str] = []

    async def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(200, stream=Interleaved(next(bodies), 8))

    target = tmp_path / "same.bin"
    auth = BasicAuth("a@b.c", "t")
    transport = httpx.MockTransport(handle)
    async with AsyncJira("https://acme.atlassian.net", auth=auth, transport=transport) as aj:
        sizes = await asyncio.gather(
            aj.attachments.download_to("1", target), aj.attachments.download_to("2", target)
        )
    assert sizes == [8 * STREAM_CHUNK] * 2 and len(seen) == 2
    # one whole download won, byte for byte; nothing was mixed, no temporary file is left
    assert target.read_bytes() in (b"a" * 8 * STREAM_CHUNK, b"b" * 8 * STREAM_CHUNK)
    assert _names(tmp_path) == ["same.bin"]


def test_a_download_keeps_the_usual_file_permissions(site, tmp_path: Path):
    url, sandbox = site
    with Jira(url, auth=BasicAuth(*sandbox.auth)) as jira:
        [att] = jira.attachments.add("ENG-1", io.BytesIO(b"hello"), "small.txt")
        target = tmp_path / "small.txt"
        assert jira.attachments.download_to(att["id"], target) == 5
    plain = tmp_path / "plain.txt"
    plain.write_bytes(b"x")  # what open() gives under this umask
    assert target.stat().st_mode == plain.stat().st_mode
    assert target.read_bytes() == b"hello" and _names(tmp_path) == ["plain.txt", "small.txt"]
