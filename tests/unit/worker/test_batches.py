"""`Batcher`: writes that arrive while a batch is in flight go together in the next one."""

from __future__ import annotations

import asyncio

import pytest

from durable._worker.batches import Batcher


async def settle() -> None:
    """Let every task that is ready run (a few turns of the loop)."""
    for _ in range(5):
        await asyncio.sleep(0)


class Writer:
    """A batch writer the test releases by hand; it records every batch."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.gate = asyncio.Event()
        self.abandoned: list[str] = []
        self.fail_with: Exception | None = None

    async def write(self, batch: list[str]) -> list[str]:
        self.batches.append(batch)
        await self.gate.wait()
        if self.fail_with is not None:
            raise self.fail_with
        return [value.upper() for value in batch]

    async def abandon(self, outcome: str) -> None:
        self.abandoned.append(outcome)


def test_a_lone_write_goes_at_once_and_later_ones_gather_behind_it() -> None:
    async def scenario() -> tuple[list[str], Writer]:
        writer = Writer()
        batcher = Batcher(writer.write, writer.abandon)
        first = asyncio.ensure_future(batcher.submit("a"))
        await settle()
        assert writer.batches == [["a"]]  # went at once, nothing to wait for
        later = [asyncio.ensure_future(batcher.submit(value)) for value in "bcd"]
        await settle()
        assert writer.batches == [["a"]]  # the first is still in flight
        writer.gate.set()
        results = await asyncio.gather(first, *later)
        return results, writer

    results, writer = asyncio.run(scenario())
    assert results == ["A", "B", "C", "D"]
    assert writer.batches == [["a"], ["b", "c", "d"]]


def test_a_failed_batch_fails_each_of_its_writes_and_the_next_batch_goes_on() -> None:
    async def scenario() -> tuple[list[object], Writer]:
        writer = Writer()
        batcher = Batcher(writer.write, writer.abandon)
        writer.fail_with = RuntimeError("the disk is full")
        failing = [asyncio.ensure_future(batcher.submit(value)) for value in "ab"]
        await settle()
        writer.gate.set()
        outcomes: list[object] = list(await asyncio.gather(*failing, return_exceptions=True))
        writer.fail_with = None
        outcomes.append(await batcher.submit("c"))
        return outcomes, writer

    outcomes, writer = asyncio.run(scenario())
    assert [str(outcome) for outcome in outcomes] == ["the disk is full"] * 2 + ["C"]
    assert writer.batches == [["a", "b"], ["c"]]


def test_the_outcome_of_a_cancelled_write_goes_to_abandoned() -> None:
    async def scenario() -> Writer:
        writer = Writer()
        batcher = Batcher(writer.write, writer.abandon)
        kept = asyncio.ensure_future(batcher.submit("a"))
        dropped = asyncio.ensure_future(batcher.submit("b"))
        await settle()
        dropped.cancel()
        writer.gate.set()
        assert await kept == "A"
        with pytest.raises(asyncio.CancelledError):
            await dropped
        await settle()
        return writer

    writer = asyncio.run(scenario())
    assert writer.abandoned == ["B"]


def test_a_value_cancelled_before_its_batch_is_written_is_dropped_when_asked() -> None:
    async def scenario() -> Writer:
        writer = Writer()
        batcher = Batcher(writer.write, writer.abandon, drop_cancelled=True)
        first = asyncio.ensure_future(batcher.submit("a"))
        await settle()  # "a" is being written
        kept = asyncio.ensure_future(batcher.submit("b"))
        dropped = asyncio.ensure_future(batcher.submit("c"))
        await settle()
        dropped.cancel()
        writer.gate.set()
        assert (await first, await kept) == ("A", "B")
        with pytest.raises(asyncio.CancelledError):
            await dropped
        return writer

    writer = asyncio.run(scenario())
    assert writer.batches == [["a"], ["b"]]
    assert writer.abandoned == []


def test_a_batch_whose_every_value_was_cancelled_is_not_written() -> None:
    async def scenario() -> Writer:
        writer = Writer()
        batcher = Batcher(writer.write, writer.abandon, drop_cancelled=True)
        first = asyncio.ensure_future(batcher.submit("a"))
        await settle()
        dropped = asyncio.ensure_future(batcher.submit("b"))
        await settle()
        dropped.cancel()
        writer.gate.set()
        assert await first == "A"
        await settle()
        return writer

    writer = asyncio.run(scenario())
    assert writer.batches == [["a"]]


def test_a_cancelled_flush_cancels_the_waiters_of_its_batch_instead_of_leaving_them() -> None:
    async def scenario() -> None:
        writer = Writer()
        batcher = Batcher(writer.write, writer.abandon)
        waiter = asyncio.ensure_future(batcher.submit("a"))
        await settle()  # "a" is being written, and the write never ends
        assert batcher._flusher is not None
        batcher._flusher.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(waiter, timeout=5)

    asyncio.run(scenario())
