"""A chain of N activities costs O(N) orchestrator work through the worker: counted, not timed.

With the execution cache the orchestrator is started once and no stored event
is read back, for N = 100 and N = 1,000; without it (``cache_size=0``) every
one of the N+1 episodes starts the orchestrator from scratch and re-reads the
whole history so far: 3N(N+1)/2 events, quadratic. That baseline is counted
for N = 100 and N = 200 only: at N = 1,000 it re-reads 1.5 million events,
some 15 seconds, which is the cost the cache exists to avoid.
"""

from __future__ import annotations

import pytest

from durable import App, Client, OrchestrationContext, RuntimeStatus, Worker
from durable._worker.episodes import EpisodeStats
from durable.stores import MemoryStore
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


def run_chain(length: int, *, cache_size: int) -> tuple[EpisodeStats, int]:
    """Run one chain to completion; the worker's counters and the final history length."""
    store = MemoryStore()
    client = Client(store, app=app)
    with Worker(app, store, cache_size=cache_size) as worker:
        instance_id = client.start(chain, length)
        status = client.wait(instance_id, timeout=WAIT)
    assert (status.status, status.output) == (RuntimeStatus.COMPLETED, length)
    return worker.episodes.stats, len(client.history(instance_id))


@pytest.mark.parametrize("length", [100, 1000])
def test_chain_with_the_cache_starts_the_orchestrator_once_and_rereads_nothing(
    length: int,
) -> None:
    stats, history_length = run_chain(length, cache_size=1024)
    assert history_length == 3 * (length + 1)
    assert (stats.episodes, stats.executions_built, stats.events_replayed) == (length + 1, 1, 0)


@pytest.mark.parametrize("length", [100, 200])
def test_chain_without_the_cache_replays_the_history_at_every_episode(length: int) -> None:
    stats, history_length = run_chain(length, cache_size=0)
    # Each episode appends three events (OrchestratorStarted, the completion or
    # ExecutionStarted, the next call or ExecutionCompleted), so episode k
    # (0-based) re-reads the 3k events before it.
    assert history_length == 3 * (length + 1)
    replayed = sum(3 * episode for episode in range(length + 1))
    assert (stats.episodes, stats.executions_built, stats.events_replayed) == (
        length + 1,
        length + 1,
        replayed,
    )
