"""`RunState`: calls from other threads reach the loop in order, sharing wake-ups."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from durable._worker.lifecycle import RunState


def run_with_state(scenario: Any) -> Any:
    async def main() -> Any:
        state = RunState(asyncio.get_running_loop(), "test", 2)
        try:
            return await scenario(state)
        finally:
            state.close()

    return asyncio.run(main())


def test_calls_from_another_thread_run_in_order_and_share_one_wake_up() -> None:
    async def scenario(state: RunState) -> tuple[list[int], int]:
        loop = state.loop
        ran: list[int] = []
        wake_ups = 0
        plain = loop.call_soon_threadsafe

        def counted(*args: Any) -> Any:
            nonlocal wake_ups
            wake_ups += 1
            return plain(*args)

        loop.call_soon_threadsafe = counted  # type: ignore[method-assign]
        done = asyncio.Event()

        def many() -> None:  # the loop is blocked in this call's join: it runs none of them yet
            for number in range(50):
                state.call_soon(ran.append, number)
            state.call_soon(done.set)

        thread = threading.Thread(target=many)
        thread.start()
        thread.join()
        await asyncio.wait_for(done.wait(), 5)
        return ran, wake_ups

    ran, wake_ups = run_with_state(scenario)

    assert ran == list(range(50))
    assert wake_ups == 1


def test_a_call_that_raises_is_reported_and_the_rest_still_run() -> None:
    async def scenario(state: RunState) -> tuple[list[str], list[BaseException]]:
        reported: list[BaseException] = []
        state.loop.set_exception_handler(lambda _, context: reported.append(context["exception"]))
        ran: list[str] = []

        def broken() -> None:
            raise RuntimeError("callback broke")

        state.call_soon(ran.append, "before")
        state.call_soon(broken)
        state.call_soon(ran.append, "after")
        await asyncio.sleep(0.01)
        return ran, reported

    ran, reported = run_with_state(scenario)

    assert ran == ["before", "after"]
    assert [str(error) for error in reported] == ["callback broke"]


def test_run_in_returns_the_result_or_raises_the_error_of_the_thread() -> None:
    async def scenario(state: RunState) -> tuple[str, str]:
        name = await state.run_in(state.io, lambda: threading.current_thread().name)

        def broken() -> None:
            raise ValueError("in the thread")

        with pytest.raises(ValueError, match="in the thread") as raised:
            await state.run_in(state.pool, broken)
        return name, str(raised.value)

    name, error = run_with_state(scenario)

    assert name.startswith("test-io")
    assert error == "in the thread"


def test_run_in_leaves_a_cancelled_wait_alone() -> None:
    async def scenario(state: RunState) -> tuple[bool, list[Any]]:
        reported: list[Any] = []
        state.loop.set_exception_handler(lambda _, context: reported.append(context))
        release = threading.Event()
        finished = threading.Event()

        def slow() -> str:
            release.wait(5)
            finished.set()
            return "late"

        waiting = asyncio.ensure_future(state.run_in(state.pool, slow))
        await asyncio.sleep(0.01)
        waiting.cancel()
        release.set()
        await asyncio.get_running_loop().run_in_executor(None, finished.wait, 5)
        await asyncio.sleep(0.01)  # the late outcome reaches the loop, and is dropped
        return waiting.cancelled(), reported

    assert run_with_state(scenario) == (True, [])


def test_run_in_does_not_call_what_was_given_up_before_a_thread_was_free() -> None:
    async def scenario(state: RunState) -> list[str]:
        ran: list[str] = []
        release = threading.Event()
        pool = state.io  # one thread

        def busy() -> None:
            release.wait(5)
            ran.append("busy")

        first = asyncio.ensure_future(state.run_in(pool, busy))
        queued = asyncio.ensure_future(state.run_in(pool, lambda: ran.append("queued")))
        await asyncio.sleep(0.01)
        queued.cancel()
        await asyncio.sleep(0)
        release.set()
        await first
        await asyncio.get_running_loop().run_in_executor(None, pool.submit(lambda: None).result)
        return ran

    assert run_with_state(scenario) == ["busy"]
