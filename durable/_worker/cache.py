"""A bounded cache of live executions, so running instances are not replayed every episode.

An entry is trusted only if it was left by the last committed episode: it is
taken out while an episode runs and put back only after that episode's commit
succeeded, keyed by the execution id and the history length it has seen.
Thread-safe: a worker runs episodes on its loop and continuations (see
`durable._store.protocol.Continuation`) in its I/O thread.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from durable._engine.execution import Execution

__all__ = ["ExecutionCache"]


class ExecutionCache:
    """Least-recently-used executions by instance id."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[str, tuple[str, Execution]] = OrderedDict()
        self._awaiting_one: set[str] = set()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def take(self, instance_id: str, execution_id: str, history_length: int) -> Execution | None:
        """Remove and return the execution if it matches the stored state exactly."""
        with self._lock:
            entry = self._entries.pop(instance_id, None)
            self._awaiting_one.discard(instance_id)
        if entry is not None:
            cached_id, execution = entry
            if cached_id == execution_id and execution.history_length == history_length:
                self.hits += 1
                return execution
            execution.close()
        self.misses += 1
        return None

    def put(
        self, instance_id: str, execution_id: str, execution: Execution, *, awaits_one: bool
    ) -> None:
        """Keep `execution` (just committed) for the instance's next episode.

        Args:
            awaits_one: its orchestrator waits on at most one activity, so the next
                result is worth an episode of its own (see `awaits_one`).
        """
        if self._capacity <= 0:
            execution.close()
            return
        evicted: list[Execution] = []
        with self._lock:
            self._entries[instance_id] = (execution_id, execution)
            self._entries.move_to_end(instance_id)
            if awaits_one:
                self._awaiting_one.add(instance_id)
            while len(self._entries) > self._capacity:
                evicted_id, (_, oldest) = self._entries.popitem(last=False)
                self._awaiting_one.discard(evicted_id)
                evicted.append(oldest)
        for oldest in evicted:
            oldest.close()

    def awaits_one(self, instance_id: str) -> bool:
        """Whether the instance is cached and waits on at most one activity.

        Then an activity result should run the next episode at once (a step of a
        chain); when many are outstanding (a fan-out), results are better left
        in the inbox and taken by one episode in batches.
        """
        return instance_id in self._awaiting_one

    def clear(self) -> None:
        """Drop every execution (a simulated crash, or a stop)."""
        with self._lock:
            executions = [execution for _, execution in self._entries.values()]
            self._entries.clear()
            self._awaiting_one.clear()
        for execution in executions:
            execution.close()

    def __len__(self) -> int:
        return len(self._entries)
