"""`Batcher`: store writes gathered while the I/O thread is busy, made in one transaction.

Episodes end and activities finish on the event loop while the worker's one
I/O thread is busy with the previous store call. Their writes (episode commits,
activity results) wait here; when the I/O thread is free, everything that has
gathered goes in one call, one transaction. A write that finds its batcher idle
goes at once, so a lone chain step waits for nothing. `AsyncClient` gathers its
concurrent starts the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["Batcher"]

T = TypeVar("T")
R = TypeVar("R")


class Batcher(Generic[T, R]):
    """Values gathered while a batch is in flight, written together next.

    Args:
        write: writes one batch (in the I/O thread) and says what became of each value.
        abandoned: takes the outcome of a value whose waiter was cancelled (the
            worker is stopping), so that what it holds (leases) can be given back.
        drop_cancelled: leave out of its batch a value whose waiter was
            cancelled before the batch was written (a client's start that
            nobody waits for), instead of writing it and abandoning its outcome.
    """

    def __init__(
        self,
        write: Callable[[list[T]], Awaitable[Sequence[R]]],
        abandoned: Callable[[R], Awaitable[None]],
        *,
        drop_cancelled: bool = False,
    ) -> None:
        self._write = write
        self._abandoned = abandoned
        self._drop_cancelled = drop_cancelled
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, value: T) -> R:
        """Write `value` with the next batch; what became of it.

        Raises:
            Exception: the store call for its batch failed.
        """
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((value, future))
        if self._flusher is None:
            self._flusher = asyncio.ensure_future(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                if self._drop_cancelled:
                    batch = [(value, future) for value, future in batch if not future.done()]
                    if not batch:
                        continue
                try:
                    outcomes = await self._write([value for value, _ in batch])
                except Exception as error:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                except BaseException:  # the flusher was cancelled: no waiter is left hanging
                    for _, future in batch:
                        future.cancel()
                    raise
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if future.done():  # its waiter was cancelled meanwhile
                        await self._abandoned(outcome)
                    else:
                        future.set_result(outcome)
        finally:
            self._flusher = None
