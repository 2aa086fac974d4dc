"""`Background`: a generator of dlt items run on its own thread, drained by the extraction."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from jirakit.sync.source import Background


def test_items_arrive_in_order_between_and_after() -> None:
    release = threading.Event()

    def produce() -> Iterator[int]:
        yield 1
        yield 2
        release.wait(30)  # released below; the limit only ends a failed run
        yield 3

    bg = Background(produce())
    seen: list[int] = []
    deadline = time.monotonic() + 30  # a hang limit, not a speed bound
    while len(seen) < 2 and time.monotonic() < deadline:
        seen.extend(bg.ready())
    assert seen == [1, 2]  # what was ready, without waiting for the rest
    release.set()
    assert list(bg.rest()) == [3]
    assert list(bg.ready()) == []


def test_a_failure_in_the_producer_is_raised_in_the_consumer() -> None:
    def produce() -> Iterator[int]:
        yield 1
        raise RuntimeError("worklogs failed")

    bg = Background(produce())
    with pytest.raises(RuntimeError, match="worklogs failed"):
        list(bg.rest())


def test_the_producer_stays_bounded_and_stops_when_told() -> None:
    made: list[int] = []

    def produce() -> Iterator[int]:
        for i in range(1000):
            made.append(i)
            yield i

    bg = Background(produce(), limit=3)
    time.sleep(0.3)
    assert len(made) <= 5  # limit waiting + the one being put + the one being made
    bg.stop()
    bg._thread.join(2)
    assert not bg._thread.is_alive()
    assert len(made) < 1000
