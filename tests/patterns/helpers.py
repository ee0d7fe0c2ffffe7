"""Pattern test helpers: a fixed start time, activity calls as plain values, history sizes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import attrs

from durable.stores import MemoryStore
from durable.testing import Simulation

START = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)
"""Where every pattern simulation starts."""


@attrs.frozen
class Call:
    """One activity call: its name, its input as JSON, and the virtual time it ran."""

    name: str
    input: Any
    at: datetime


def calls(simulation: Simulation) -> list[Call]:
    """The simulation's activity calls so far, in the order they ran, as `Call` values."""
    return [Call(call.name, call.input, call.at) for call in simulation.calls()]


class GenerationSizes:
    """Records the stored history size of every execution, at every commit of a store.

    An execution that continues as new starts a new generation of history;
    `sizes` maps each execution id to the most events its history held.
    """

    def __init__(self, store: MemoryStore) -> None:
        self.sizes: dict[str, int] = {}
        self._commit: Callable[[Any, Any], None] = store.commit_episode
        store.commit_episode = self._recording  # type: ignore[method-assign]

    def _recording(self, item: Any, commit: Any) -> None:
        self._commit(item, commit)
        size = len(commit.history) + (0 if commit.reset_history else item.history_length)
        self.sizes[commit.execution_id] = max(self.sizes.get(commit.execution_id, 0), size)
