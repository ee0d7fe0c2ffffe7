"""A bounded cache of live executions, so running instances are not replayed every episode.

An entry is trusted only if it was left by the last committed episode: it is
taken out while an episode runs and put back only after that episode's commit
succeeded, keyed by the execution id and the history length it has seen.
"""

from __future__ import annotations

from collections import OrderedDict

from durable._engine.execution import Execution

__all__ = ["ExecutionCache"]


class ExecutionCache:
    """Least-recently-used executions by instance id."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[str, tuple[str, Execution]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def take(self, instance_id: str, execution_id: str, history_length: int) -> Execution | None:
        """Remove and return the execution if it matches the stored state exactly."""
        entry = self._entries.pop(instance_id, None)
        if entry is not None:
            cached_id, execution = entry
            if cached_id == execution_id and execution.history_length == history_length:
                self.hits += 1
                return execution
            execution.close()
        self.misses += 1
        return None

    def put(self, instance_id: str, execution_id: str, execution: Execution) -> None:
        """Keep `execution` (just committed) for the instance's next episode."""
        if self._capacity <= 0:
            execution.close()
            return
        self._entries[instance_id] = (execution_id, execution)
        self._entries.move_to_end(instance_id)
        while len(self._entries) > self._capacity:
            _, (_, evicted) = self._entries.popitem(last=False)
            evicted.close()

    def clear(self) -> None:
        """Drop every execution (a simulated crash, or a stop)."""
        for _, execution in self._entries.values():
            execution.close()
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
