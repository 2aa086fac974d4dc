"""Serving a `Receiver` with uvicorn (what ``jirakit webhooks serve`` runs)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

import uvicorn

__all__ = ["bind", "run", "serve_in_thread"]


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket. ``IPPROTO_TCP`` matters: asyncio only turns Nagle off
    (TCP_NODELAY) on accepted sockets whose protocol says TCP; without it a response can
    wait ~40 ms for a delayed ACK, which is most of an ack-latency budget."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def _config(
    app: Any, *, lifespan: Literal["auto", "on", "off"], log_level: str = "warning"
) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        lifespan=lifespan,
        ws="none",
        timeout_graceful_shutdown=5,
        timeout_keep_alive=30,
    )


def run(
    app: Any,
    host: str,
    port: int,
    *,
    on_ready: Callable[[str], None] | None = None,
    log_level: str = "warning",
) -> None:
    """Serve ``app`` in this thread until SIGINT/SIGTERM (the app's lifespan starts and
    stops its background work); ``on_ready(url)`` once it listens."""
    sock = bind(host, port)
    actual = sock.getsockname()[1]
    server = uvicorn.Server(_config(app, lifespan="on", log_level=log_level))
    if on_ready is not None:
        shown = f"[{host}]" if ":" in host else host

        def announce() -> None:
            while not server.started and not server.should_exit:
                time.sleep(0.02)
            if server.started:
                on_ready(f"http://{shown}:{actual}")

        threading.Thread(target=announce, daemon=True).start()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


@contextmanager
def serve_in_thread(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    lifespan: Literal["auto", "on", "off"] = "off",
) -> Iterator[str]:
    """Serve ``app`` on a background thread for the block; yields its base URL."""
    sock = bind(host, port)
    actual = sock.getsockname()[1]
    server = uvicorn.Server(_config(app, lifespan=lifespan))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"receiver-{actual}"
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("the receiver did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{actual}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
