"""Handing freed heap back to the operating system between the phases of a sync.

Extraction parses JSON on several threads; glibc keeps what those threads free in
per-thread arenas, so a long sync's resident size climbs well past what it holds
(measured at 20,000 issues: ~100 MiB of live Python objects, ~500 MiB resident).
``malloc_trim`` returns the free pages; fewer arenas keep less to return. Both are no-ops
where the C library is not glibc (macOS, musl, Windows).

pyarrow allocates through its own mimalloc pool, which keeps what it freed in a 1 GiB
reservation that ``malloc_trim`` cannot reach (measured: 46 MiB resident with no Arrow
buffer alive at the end of extraction, 20,000 issues). Sending Arrow to the system
allocator puts its buffers where the trim finds them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import cache
from typing import Any

_M_ARENA_MAX = -8  # glibc's mallopt parameter number


@cache
def _glibc() -> Any | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim  # noqa: B018  (glibc only)
        libc.mallopt  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def release_memory() -> bool:
    """Return free heap pages to the OS; True if the C library could."""
    libc = _glibc()
    return bool(libc is not None and libc.malloc_trim(0))


def arrow_to_system_allocator() -> bool:
    """Make pyarrow allocate with malloc (process-wide, like `limit_arenas`); True if it
    took. Without pyarrow (no ``sync`` extra) there is nothing to change."""
    try:
        import pyarrow
    except ImportError:
        return False
    pyarrow.set_memory_pool(pyarrow.system_memory_pool())
    return bool(pyarrow.default_memory_pool().backend_name == "system")


def limit_arenas(count: int = 2) -> bool:
    """Cap glibc's malloc arenas for threads created from now on (process-wide: for
    programs that are a sync, like ``jirakit sync``, not for a library to call)."""
    libc = _glibc()
    return bool(libc is not None and libc.mallopt(_M_ARENA_MAX, count))
