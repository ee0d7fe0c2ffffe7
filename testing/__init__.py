"""durable.testing: run workflows in simulated time, deterministically, and check their histories.

`Simulation` runs an app's orchestrations on the real engine and an in-memory
store under a virtual clock, with a seeded scheduler of its own: start
instances, fake activities or make them fail or take time, raise events at
virtual times, crash the worker, then `advance` or `run_until_idle`. Every
episode is replayed from scratch and compared (`NonDeterminismError` on the
first difference). `explore` runs a scenario under many seeds. History files
(`export_history`, `save_history`, `load_history`, `replay`) keep the
histories of real runs as regression tests; `assert_history` and the pytest
plugin (fixtures ``simulation``, ``simulation_factory``, ``golden_history``;
option ``--durable-record``) keep golden histories of simulated ones.
"""

from durable.testing._calls import ActivityCallRecord
from durable.testing._errors import (
    ExplorationError,
    HistoryFileError,
    InjectedFailure,
    SimulationError,
)
from durable.testing._explore import explore
from durable.testing._golden import assert_history
from durable.testing._history_file import (
    export_history,
    history_schema,
    load_history,
    save_history,
    validate_history,
)
from durable.testing._replay import ReplayResult, replay
from durable.testing._simulation import Simulation

__all__ = [
    "ActivityCallRecord",
    "ExplorationError",
    "HistoryFileError",
    "InjectedFailure",
    "ReplayResult",
    "Simulation",
    "SimulationError",
    "assert_history",
    "explore",
    "export_history",
    "history_schema",
    "load_history",
    "replay",
    "save_history",
    "validate_history",
]
