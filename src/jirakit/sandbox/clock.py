"""Injectable clocks: the sandbox never reads the wall clock directly."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Protocol


class Clock(Protocol):
    """Anything with ``now() -> aware datetime``."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock (UTC)."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A manual clock for tests: it only moves when told to.

    >>> c = FrozenClock(datetime(2026, 1, 1, tzinfo=UTC))
    >>> c.advance(seconds=5).isoformat()
    '2026-01-01T00:00:05+00:00'
    """

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 1, 1, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float = 0.0, **kwargs: float) -> datetime:
        with self._lock:
            self._now = self._now + timedelta(seconds=seconds, **kwargs)
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when


def jira_time(dt: datetime) -> str:
    """Jira's timestamp format: ``2024-01-15T10:23:45.123+0000`` (always UTC here)."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+0000"


def jira_time_ms(ms: int) -> str:
    """`jira_time` from epoch milliseconds (fast path used by the generator)."""
    day, rem = divmod(ms, 86_400_000)
    secs, milli = divmod(rem, 1000)
    hours, secs = divmod(secs, 3600)
    minutes, secs = divmod(secs, 60)
    return f"{_day_prefix(day)}T{hours:02d}:{minutes:02d}:{secs:02d}.{milli:03d}+0000"


@lru_cache(maxsize=4096)
def _day_prefix(day: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=day)).strftime("%Y-%m-%d")


def to_ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def parse_jira_time(text: str) -> datetime:
    """Parse Jira's timestamp format (``+0000`` offsets) or ISO-8601."""
    return (
        datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")
        if "." in text
        else datetime.fromisoformat(text)
    )
