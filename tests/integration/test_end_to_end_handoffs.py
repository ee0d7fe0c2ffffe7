"""The worker hands work to itself in the transaction that creates it: counted store calls.

A chain step is one store write: the activity's completion runs the next
episode as a continuation, and that episode's commit leases the next task to
the worker. A fan-out leaves results in the inbox (no continuation while many
activities are outstanding) so that one episode takes many of them. These
tests count calls on a recording store; they assert the shape of the work, not
its speed.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import attrs
import pytest

from durable import App, Client, OrchestrationContext, RuntimeStatus, Worker
from durable._store.protocol import Continuation, EpisodeCommit, OrchestrationWorkItem
from durable.stores import MemoryStore, SQLiteStore, Store
from tests.integration.test_end_to_end_support import WAIT

app = App()


@app.activity
def increment(number: int) -> int:
    return number + 1


@app.orchestrator
def chain(ctx: OrchestrationContext, length: int):  # type: ignore[no-untyped-def]
    total = 0
    for _ in range(length):
        total = yield ctx.call_activity(increment, total)
    return total


@app.orchestrator
def fan_out(ctx: OrchestrationContext, width: int):  # type: ignore[no-untyped-def]
    results = yield ctx.when_all([ctx.call_activity(increment, n) for n in range(width)])
    return sum(results)


class Recorder:
    """Wraps a store's work-taking methods and counts what they did."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        for name in ("take_orchestrations", "take_activities"):
            setattr(store, name, self._counted(name, getattr(store, name)))
        commit, complete = store.commit_episodes, store.complete_activities

        def commit_episodes(writes: Any) -> Any:
            outcomes = commit(writes)
            for outcome in outcomes:
                self._count("commit_episode", leased=len(outcome.leased))
            return outcomes

        def complete_activities(completions: Any, **kw: Any) -> Any:
            ran = [False] * len(completions)

            def watched(then: Any, index: int) -> Continuation:
                def episode(work: OrchestrationWorkItem, history: Any) -> EpisodeCommit:
                    ran[index] = True
                    return then.episode(work, history)  # type: ignore[no-any-return]

                return Continuation(claim=then.claim, episode=episode)

            wrapped = [
                each if each.then is None else attrs.evolve(each, then=watched(each.then, index))
                for index, each in enumerate(completions)
            ]
            delivery = complete(wrapped, **kw)
            self._count("complete_activities")
            self._count("taken by deliveries", amount=len(delivery.taken))
            for index, (each, outcome) in enumerate(zip(wrapped, delivery.handovers, strict=True)):
                kind = "continued" if ran[index] else "offered" if each.then else "plain"
                self._count(f"complete_activity {kind}", leased=len(outcome.leased))
            return delivery

        store.commit_episodes = commit_episodes  # type: ignore[method-assign]
        store.complete_activities = complete_activities  # type: ignore[method-assign]

    def _counted(self, name: str, method: Any) -> Any:
        def counted(**kw: Any) -> Any:
            taken = method(**kw)
            if taken:
                self._count(f"{name} took")
            return taken

        return counted

    def _count(self, name: str, *, amount: int = 1, leased: int = 0) -> None:
        with self._lock:
            self.calls[name] += amount
            self.calls["leased"] += leased


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Any) -> Store:
    if request.param == "memory":
        return MemoryStore()
    return SQLiteStore(tmp_path / "handoffs.db")


def run(store: Store, orchestrator: Any, size: int) -> Recorder:
    recorder = Recorder(store)
    client = Client(store, app=app)
    with Worker(app, store) as worker:
        instance_id = client.start(orchestrator, size)
        status = client.wait(instance_id, timeout=WAIT)
    assert status.status is RuntimeStatus.COMPLETED
    recorder.calls["episodes"] = worker.episodes.stats.episodes
    recorder.calls["output"] = status.output
    return recorder


def test_a_chain_step_is_one_store_write(store: Store) -> None:
    calls = run(store, chain, 50).calls

    assert calls["output"] == 50
    assert calls["take_orchestrations took"] == 1  # the start
    assert calls["commit_episode"] == 1  # the first episode; the rest are continuations
    assert calls["complete_activity continued"] == 50
    assert calls["complete_activity plain"] == calls["complete_activity offered"] == 0
    assert calls["take_activities took"] == 0
    assert calls["leased"] == 50  # every task was handed over as it was created
    assert calls["episodes"] == 51


def test_a_fan_out_leaves_results_for_episodes_that_take_them_together(store: Store) -> None:
    width = 200
    calls = run(store, fan_out, width).calls

    assert calls["output"] == sum(range(1, width + 1))
    assert calls["complete_activity continued"] == calls["complete_activity offered"] == 0
    assert calls["complete_activity plain"] == width
    assert calls["leased"] == 16  # the worker's free activity slots, handed over at once
    # The rest were taken by the deliveries of results (which free the slots) or
    # by the take loop, several at a time.
    assert calls["taken by deliveries"] > 0
    assert calls["episodes"] < width  # results were gathered, not one episode each
