"""`Lane`: slots are taken by admitted items until they start, and by running ones until done."""

from __future__ import annotations

import asyncio

from durable._worker.lanes import Lane


def test_admitted_and_running_items_take_slots_until_they_end() -> None:
    async def scenario() -> list[tuple[str, int, bool]]:
        gate = asyncio.Event()
        handled: list[str] = []

        async def handle(item: str) -> None:
            handled.append(item)
            await gate.wait()

        lane: Lane[str] = Lane(3, handle)
        seen = [("empty", lane.free(), lane.full)]
        lane.admit(2)  # leased by a store call, not started yet
        seen.append(("admitted 2", lane.free(), lane.full))
        lane.start("a")
        lane.start("b")
        seen.append(("started 2", lane.free(), lane.full))
        lane.admit(1)
        seen.append(("admitted 1 more", lane.free(extra=1), lane.full))
        lane.drop()  # the worker is stopping: it will never start
        seen.append(("dropped it", lane.free(), lane.full))
        await asyncio.sleep(0)
        gate.set()
        await asyncio.gather(*lane.running)
        await asyncio.sleep(0)
        seen.append(("all done", lane.free(), lane.full))
        assert handled == ["a", "b"]
        return seen

    assert asyncio.run(scenario()) == [
        ("empty", 3, False),
        ("admitted 2", 1, False),
        ("started 2", 1, False),
        ("admitted 1 more", 1, True),
        ("dropped it", 1, False),
        ("all done", 3, False),
    ]


def test_wait_for_slot_returns_when_a_task_ends_or_the_worker_stops() -> None:
    async def scenario() -> tuple[bool, bool]:
        gate = asyncio.Event()

        async def handle(_: str) -> None:
            await gate.wait()

        lane: Lane[str] = Lane(1, handle)
        lane.admit(1)
        lane.start("a")
        stopping = asyncio.Event()
        waiter = asyncio.ensure_future(lane.wait_for_slot(stopping))
        await asyncio.sleep(0)
        still_waiting = not waiter.done()
        gate.set()
        await asyncio.wait_for(waiter, 5)
        lane.admit(1)  # full again, and nothing running: only a stop ends the wait
        stopped = asyncio.ensure_future(lane.wait_for_slot(stopping))
        await asyncio.sleep(0)
        stopping.set()
        await asyncio.wait_for(stopped, 5)
        return still_waiting, lane.full

    assert asyncio.run(scenario()) == (True, True)


def test_an_item_carried_on_in_a_running_slot_gives_up_its_admission() -> None:
    async def scenario() -> list[int]:
        gate = asyncio.Event()

        async def handle(item: str) -> None:
            await gate.wait()

        lane: Lane[str] = Lane(2, handle)
        lane.admit(1)
        lane.start("chain")  # the run that goes on
        lane.admit(1)  # the next step, leased to the worker by that run's delivery
        seen = [lane.free()]
        lane.carry_on()  # ... and taken on by the running one, not started anew
        seen.append(lane.free())
        gate.set()
        await asyncio.gather(*lane.running)
        await asyncio.sleep(0)
        seen.append(lane.free())
        return seen

    assert asyncio.run(scenario()) == [0, 1, 2]
