"""`_CommitSignal`: how `AsyncClient.wait` hears of commits without waking the loop at each one."""

from __future__ import annotations

import asyncio
import threading

from durable._client.async_client import _CommitSignal

COMMITS = 1000


def _counting_wakes(loop: asyncio.AbstractEventLoop) -> list[int]:
    """Count the loop's `call_soon_threadsafe` calls from here on."""
    wakes = [0]
    schedule = loop.call_soon_threadsafe

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        wakes[0] += 1
        return schedule(*args, **kwargs)

    loop.call_soon_threadsafe = counted  # type: ignore[method-assign]
    return wakes


def test_commits_while_nobody_listens_do_not_wake_the_loop_and_are_seen_at_once() -> None:
    async def scenario() -> int:
        loop = asyncio.get_running_loop()
        wakes = _counting_wakes(loop)
        signal = _CommitSignal(loop)
        signal.clear()
        for _ in range(COMMITS):
            signal.notify()
        await asyncio.wait_for(signal.wait(3600), timeout=5)  # returns without sleeping
        return wakes[0]

    assert asyncio.run(scenario()) == 0


def test_commits_from_another_thread_wake_a_listening_waiter_once() -> None:
    async def scenario() -> int:
        loop = asyncio.get_running_loop()
        wakes = _counting_wakes(loop)
        signal = _CommitSignal(loop)
        signal.clear()
        waiter = asyncio.create_task(signal.wait(3600))
        await asyncio.sleep(0)  # the waiter is listening now
        committer = threading.Thread(target=lambda: [signal.notify() for _ in range(COMMITS)])
        committer.start()
        committer.join()  # every commit came before the loop ran the wake-up
        await asyncio.wait_for(waiter, timeout=5)
        return wakes[0]

    assert asyncio.run(scenario()) == 1


def test_a_cleared_signal_keeps_its_waiter_waiting_until_a_commit() -> None:
    async def scenario() -> bool:
        signal = _CommitSignal(asyncio.get_running_loop())
        signal.notify()
        signal.clear()
        waiter = asyncio.create_task(signal.wait(3600))
        for _ in range(10):  # every ready callback runs; none of them ends the wait
            await asyncio.sleep(0)
        still_waiting = not waiter.done()
        signal.notify()
        await asyncio.wait_for(waiter, timeout=5)
        return still_waiting

    assert asyncio.run(scenario())
