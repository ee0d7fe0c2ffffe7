"""The errors of the simulation harness.

Under `durable.errors.DurableError`::

    DurableError
    ├── SimulationError                      the simulation cannot go on (a test set it up wrongly,
    │                                        or it ran away); the message says what to change
    ├── HistoryFileError (ValueError)        a history file is not valid; names the JSON path
    └── ExplorationError (AssertionError)    a scenario failed under one seed; names the seed

`InjectedFailure` is the odd one out on purpose: it stands in for an error of
the user's own activity code (what `Simulation.fail` makes an activity raise),
so it is a plain `RuntimeError`, and retry policies see it as user code would.
"""

from __future__ import annotations

from durable.errors import DurableError

__all__ = ["ExplorationError", "HistoryFileError", "InjectedFailure", "SimulationError"]


class SimulationError(DurableError):
    """The simulation cannot go on: a fake ran out, or work did not settle."""


class HistoryFileError(DurableError, ValueError):
    """A history file does not match the history format.

    Attributes:
        path: the JSON path of the offending value, e.g. ``$.events[3].seq``.
        source: the file (or ``"<document>"``) the history came from.
    """

    def __init__(self, source: str, path: str, problem: str) -> None:
        self.source = source
        self.path = path
        super().__init__(f"{source} is not a valid durable history file: at {path}: {problem}")


class ExplorationError(DurableError, AssertionError):
    """A scenario failed under one seed; rerun that seed alone to debug it.

    Attributes:
        seed: the seed the scenario failed under.
        error: the exception the scenario raised.
    """

    def __init__(self, seed: int, error: BaseException) -> None:
        self.seed = seed
        self.error = error
        super().__init__(
            f"the scenario failed with seed {seed}: {type(error).__name__}: {error} "
            f"(rerun it alone with Simulation(app, seed={seed}))"
        )


class InjectedFailure(RuntimeError):  # noqa: N818 - it is a failure, named as such
    """The error an activity raises when `Simulation.fail` tells it to."""
