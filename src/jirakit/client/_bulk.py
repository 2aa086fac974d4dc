"""Bounded-concurrency bulk work: ``jira.bulk.run(items, fn)`` / ``await ajira.bulk.run(...)``.

Transitioning 500 issues one by one takes 500 round trips in a row; all at once floods
Jira and trips its rate limits. `run` keeps ``concurrency`` items in flight, reports each
item's result or error in input order (one failure never hides the others, and never
raises for the batch), and goes through the client as usual, so every request still
passes the client's pacer (``RateLimitConfig.rate``), its in-flight bound
(``max_concurrency``, async) and its retry policy (429s wait for ``Retry-After``).

The async helper runs ``fn`` as tasks on the event loop; the sync one runs ``fn`` on a
thread pool (the blocking client's connection pool and pacer are thread-safe), so the
same script shape works in both worlds with the same signature.

Only ``Exception``s are collected per item: cancellation and ``KeyboardInterrupt``
stop the run.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from jirakit.client.resources._base import Resource
from jirakit.errors import ConfigurationError

if TYPE_CHECKING:
    from jirakit.client._async import AsyncJira
    from jirakit.client._sync import Jira

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_CONCURRENCY = 8


@dataclass(frozen=True, slots=True)
class BulkItem(Generic[T, R]):
    """One input item and what became of it: ``result`` or ``error``."""

    index: int
    item: T
    result: R | None = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class BulkResults(Generic[T, R]):
    """Every item's outcome, in input order."""

    items: list[BulkItem[T, R]]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[BulkItem[T, R]]:
        return iter(self.items)

    @property
    def ok(self) -> bool:
        """True when no item failed."""
        return all(i.ok for i in self.items)

    @property
    def results(self) -> list[R | None]:
        """``fn``'s return value per input item (None where it failed)."""
        return [i.result for i in self.items]

    @property
    def succeeded(self) -> list[BulkItem[T, R]]:
        return [i for i in self.items if i.ok]

    @property
    def failed(self) -> list[BulkItem[T, R]]:
        return [i for i in self.items if not i.ok]

    def raise_errors(self) -> None:
        """Raise an `ExceptionGroup` of the per-item errors, if there are any."""
        errors = [i.error for i in self.items if i.error is not None]
        if errors:
            raise ExceptionGroup(f"{len(errors)} of {len(self.items)} items failed", errors)

    def __repr__(self) -> str:
        return f"<BulkResults {len(self.succeeded)} ok, {len(self.failed)} failed>"


class _Outcomes(Generic[T, R]):
    """One run's bookkeeping: the inputs, which are still to start, the outcomes so far."""

    def __init__(
        self,
        items: Iterable[T],
        concurrency: int,
        on_result: Callable[[BulkItem[T, R]], None] | None,
    ) -> None:
        if concurrency < 1:
            raise ConfigurationError("concurrency must be at least 1")
        self.inputs = list(items)
        self.pending = iter(enumerate(self.inputs))
        self._done: list[BulkItem[T, R] | None] = [None] * len(self.inputs)
        self._on_result = on_result

    def record(self, outcome: BulkItem[T, R]) -> None:
        self._done[outcome.index] = outcome
        if self._on_result is not None:
            self._on_result(outcome)

    def results(self) -> BulkResults[T, R]:
        return BulkResults([d for d in self._done if d is not None])


class Bulk(Resource):
    """``jira.bulk``: run a function over many items on a bounded thread pool."""

    _c: Jira

    def run(
        self,
        items: Iterable[T],
        fn: Callable[[T], R],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        on_result: Callable[[BulkItem[T, R]], None] | None = None,
    ) -> BulkResults[T, R]:
        """Call ``fn(item)`` for every item, at most ``concurrency`` at once (threads).
        ``on_result`` sees each outcome as it finishes (progress bars, logging)."""
        run: _Outcomes[T, R] = _Outcomes(items, concurrency, on_result)
        inputs, pending = run.inputs, run.pending
        running: dict[concurrent.futures.Future[R], int] = {}
        with concurrent.futures.ThreadPoolExecutor(
            max_workers=concurrency, thread_name_prefix="jirakit-bulk"
        ) as pool:
            try:
                while True:
                    while len(running) < concurrency:
                        nxt = next(pending, None)
                        if nxt is None:
                            break
                        running[pool.submit(fn, nxt[1])] = nxt[0]
                    if not running:
                        break
                    finished, _ = concurrent.futures.wait(
                        running, return_when=concurrent.futures.FIRST_COMPLETED
                    )
                    for future in finished:
                        index = running.pop(future)
                        error = future.exception()
                        if isinstance(error, Exception):
                            outcome: BulkItem[T, R] = BulkItem(index, inputs[index], None, error)
                        elif error is not None:
                            raise error
                        else:
                            outcome = BulkItem(index, inputs[index], future.result())
                        run.record(outcome)
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        return run.results()


class AsyncBulk(Resource):
    """``ajira.bulk``: run a coroutine function over many items, a bounded number at once."""

    _c: AsyncJira

    async def run(
        self,
        items: Iterable[T],
        fn: Callable[[T], Awaitable[R]],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        on_result: Callable[[BulkItem[T, R]], None] | None = None,
    ) -> BulkResults[T, R]:
        """Await ``fn(item)`` for every item, at most ``concurrency`` at once.
        ``on_result`` sees each outcome as it finishes (progress bars, logging)."""
        run: _Outcomes[T, R] = _Outcomes(items, concurrency, on_result)
        inputs, pending = run.inputs, run.pending

        async def worker() -> None:
            for index, item in pending:  # shared iterator: each item goes to one worker
                try:
                    outcome: BulkItem[T, R] = BulkItem(index, item, await fn(item))
                except Exception as exc:  # reported per item, by contract
                    outcome = BulkItem(index, item, None, exc)
                run.record(outcome)

        workers = [asyncio.ensure_future(worker()) for _ in range(min(concurrency, len(inputs)))]
        try:
            await asyncio.gather(*workers)
        except BaseException:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise
        return run.results()


__all__ = ["AsyncBulk", "Bulk", "BulkItem", "BulkResults"]
