"""Freed heap goes back to the OS between sync phases (glibc)."""

from __future__ import annotations

import platform
import sys
from pathlib import Path
from typing import Any

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


def test_arrow_buffers_go_to_the_system_allocator() -> None:
    import pyarrow

    from jirakit.sync._memory import arrow_to_system_allocator

    before = pyarrow.default_memory_pool()
    try:
        assert arrow_to_system_allocator() is True
        assert pyarrow.default_memory_pool().backend_name == "system"
        # Buffers made from now on are counted by that pool, and freed back to it.
        pool = pyarrow.default_memory_pool()
        held = pool.bytes_allocated()
        buffer = pyarrow.allocate_buffer(1 << 20)
        assert pool.bytes_allocated() >= held + (1 << 20)
        del buffer
        assert pool.bytes_allocated() == held
    finally:
        pyarrow.set_memory_pool(before)


def test_duckdb_loads_and_models_within_one_thread_and_the_memory_limit(tmp_path: Path) -> None:
    from jirakit.sync.pipeline import DUCKDB_MEMORY, warehouse_for

    def settings(**kwargs: Any) -> tuple[int, str]:
        warehouse = warehouse_for(f"duckdb:///{tmp_path / 'w.duckdb'}", **kwargs)
        conn = warehouse.connect()
        try:
            threads, limit = conn.execute(
                "SELECT current_setting('threads'), current_setting('memory_limit')"
            ).fetchone()
        finally:
            conn.close()
        return int(threads), str(limit)

    threads, limit = settings()
    assert threads == 1
    # DuckDB shows the limit in MiB: 128 MB = 122.0 MiB.
    assert DUCKDB_MEMORY == "128MB" and limit == "122.0 MiB"
    threads, limit = settings(duckdb_memory="1GB", duckdb_threads=2)
    assert (threads, limit) == (2, "953.6 MiB")
