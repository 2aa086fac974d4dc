"""Serving the app: `serve_in_thread` for tests, docs and embedding (uvicorn in a thread,
lifespan on, so the background jobs run and clients close on exit)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


def config(app: Any, **options: Any) -> uvicorn.Config:
    # log_config=None: uvicorn's logging setup would replace the application's handlers.
    return uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="on", ws="none",
        timeout_graceful_shutdown=2, log_config=None, **options,
    )  # fmt: skip


@contextmanager
def serve_in_thread(app: Any, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``app`` on ``host:port`` (0: a free port) until the block exits; yields the
    base URL."""
    # proto=IPPROTO_TCP: asyncio turns Nagle off only on sockets that say they are TCP.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    actual = sock.getsockname()[1]
    server = uvicorn.Server(config(app))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"jirakit-serve-{actual}"
    )
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("the service did not start (see its log)")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{actual}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])
