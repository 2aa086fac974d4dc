"""Freed heap goes back to the OS between sync phases (glibc)."""

from __future__ import annotations

import platform
import sys

from jirakit.sync._memory import _glibc, limit_arenas, release_memory

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


def test_the_c_library_is_found_exactly_where_it_is_glibc() -> None:
    assert (_glibc() is not None) is GLIBC
    # mallopt answers 1 when it took the setting, and nothing happens elsewhere.
    assert limit_arenas(8) is GLIBC


def test_release_is_safe_to_repeat() -> None:
    blocks = [bytearray(64 * 1024) for _ in range(200)]
    del blocks
    first, second = release_memory(), release_memory()
    assert isinstance(first, bool) and isinstance(second, bool)
    if not GLIBC:
        assert (first, second) == (False, False)
