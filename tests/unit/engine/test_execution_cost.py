"""A chain of N activities costs O(N) orchestrator work with a live execution, O(N^2) without.

Counts, not time: how often the orchestrator function is entered from scratch, how
many loop steps its body runs, how many recorded history events are re-read into a
rebuilt execution, and how many events the engine applied in all.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from durable._engine.context import OrchestrationContext
from durable._engine.execution import Execution
from durable._model.converter import PayloadConverter
from durable._model.definitions import OrchestratorDefinition
from durable._model.events import HistoryEvent, TaskScheduled
from durable._model.status import RuntimeStatus
from tests.unit.engine.histories import INSTANCE, T0, at, completed, started


@attrs.define
class Counts:
    starts: int = 0
    steps: int = 0
    reread: int = 0
    applied: int = 0


def counted_chain(counts: Counts) -> OrchestratorDefinition:
    """A chain orchestrator that counts its starts and the steps its body runs."""

    def body(ctx: OrchestrationContext, n: int) -> Any:
        value = 0
        for _ in range(n):
            counts.steps += 1
            value = yield ctx.call_activity("step", value)
        return value

    def chain(ctx: OrchestrationContext, n: int) -> Any:
        counts.starts += 1
        return body(ctx, n)

    return OrchestratorDefinition.of(chain, name="chain")


def _next_events(decision_actions: tuple[HistoryEvent, ...], episode: int) -> list[HistoryEvent]:
    (call,) = decision_actions
    assert isinstance(call, TaskScheduled)
    return [completed(call.seq, call.input + 1, t=at(episode))]


def run_chain(n: int, *, live: bool) -> tuple[Counts, list[HistoryEvent]]:
    """Run the chain episode by episode, keeping one execution or rebuilding it each time."""
    counts = Counts()
    definition = counted_chain(counts)
    history: list[HistoryEvent] = []
    # One converter for every execution, as a worker shares its app's.
    converter = PayloadConverter()
    execution = Execution(definition, instance_id=INSTANCE, converter=converter)
    new_events: list[HistoryEvent] = [started(n, name="chain")]
    for episode in range(n + 1):
        if not live:
            execution = Execution(definition, instance_id=INSTANCE, converter=converter)
            execution.replay(history)
            counts.reread += execution.history_length
        decision = execution.run(new_events, now=at(episode))
        if not live:
            counts.applied += execution.history_length
        history.extend(decision.new_events)
        if decision.status is RuntimeStatus.COMPLETED:
            assert (episode, decision.output) == (n, n)
            break
        new_events = _next_events(decision.actions, episode + 1)
    if live:
        counts.applied = execution.history_length
    return counts, history


@pytest.mark.parametrize("n", [100, 1000])
def test_chain_with_a_live_execution_starts_once_and_rereads_nothing(n: int) -> None:
    counts, history = run_chain(n, live=True)

    # Every event is applied once: the 3 of each of the n + 1 episodes.
    assert counts == Counts(starts=1, steps=n, reread=0, applied=3 * (n + 1))
    assert len(history) == 3 * (n + 1)


@pytest.mark.parametrize("n", [100, 1000])
def test_chain_rebuilt_every_episode_starts_each_time_and_rereads_the_history(n: int) -> None:
    counts, history = run_chain(n, live=False)

    # Episode k (0..n) re-reads the 3k events of the k episodes before it, and re-runs
    # the body up to its (k+1)-th call (n at most).
    assert counts == Counts(
        starts=n + 1,
        steps=sum(min(k + 1, n) for k in range(n + 1)),
        reread=3 * n * (n + 1) // 2,
        applied=3 * n * (n + 1) // 2 + 3 * (n + 1),
    )
    assert len(history) == 3 * (n + 1)


def test_chain_live_and_rebuilt_record_the_same_history() -> None:
    live = run_chain(50, live=True)[1]

    assert live == run_chain(50, live=False)[1]
    assert live[1] == started(50, name="chain", timestamp=T0)
