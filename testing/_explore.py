"""`explore`: run one scenario under many seeds (many interleavings); name the seed that fails."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TypeVar

from durable import App
from durable.testing._errors import ExplorationError
from durable.testing._freezer import freezer
from durable.testing._simulation import DEFAULT_START, Simulation

__all__ = ["explore"]

T = TypeVar("T")


def explore(
    scenario: Callable[[Simulation], T],
    seeds: Iterable[int] = range(20),
    *,
    app: App,
    start: datetime = DEFAULT_START,
    replay_check: bool = True,
    lease: timedelta = timedelta(minutes=1),
    max_steps: int = 100_000,
) -> dict[int, T]:
    """Run ``scenario(simulation)`` once per seed, each in a new `Simulation` of `app`.

    Each seed orders concurrent work differently (and feeds fault
    probabilities), so many seeds explore many interleavings. The first
    failure stops the exploration.

    Args:
        scenario: drives one simulation and asserts what must hold; may return a value.
        seeds: the seeds to try.
        app: the app the simulations run.
        start, replay_check, lease, max_steps: as for `Simulation`.

    Returns:
        What the scenario returned, by seed.

    Raises:
        ExplorationError: the scenario raised under a seed; it names the seed
            and carries the original error (also its ``__cause__``).
    """
    results: dict[int, T] = {}
    freezer.acquire(start)  # one freezer start for all the seeds, not one each
    try:
        for seed in seeds:
            with Simulation(
                app,
                seed=seed,
                start=start,
                replay_check=replay_check,
                lease=lease,
                max_steps=max_steps,
            ) as simulation:
                try:
                    results[seed] = scenario(simulation)
                except Exception as error:
                    raise ExplorationError(seed, error) from error
    finally:
        freezer.release()
    return results
