"""Series of fresh-process runs, taken in rounds: one run of every series per round.

A shared machine's speed drifts by a third over the minutes a benchmark
takes. Figures that are compared (durable and each peer on one workload, seq
on SQLite and the raw commit ceiling) are therefore taken in the same rounds,
one right after the other, so that a slow minute falls on both sides of a
ratio instead of on one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from peers.measurement import Measurement, RunFailedError, Sample, summarise

__all__ = ["Series", "run_in_rounds"]


@dataclass
class Series:
    """The runs of one row of a table: ``runs`` calls of ``run_once``, folded into a Measurement.

    A run that raises `RunFailedError` ends the series: its row then says why.
    """

    workload: str
    size: int
    system: str
    """``durable`` or a peer's title."""
    storage: str
    """durable's store; ``-`` for a peer, whose runs say their backend."""
    figure: str
    """The key of the reported figure in each run's JSON object."""
    unit: str
    runs: int
    run_once: Callable[[], Sample]
    samples: list[Sample] = field(default_factory=list)
    failure: str | None = None

    @property
    def label(self) -> str:
        """How progress lines name the series."""
        where = "" if self.storage == "-" else f" ({self.storage})"
        return f"{self.workload} {self.size:,} {self.system}{where}"

    def result(self) -> Measurement:
        """The row of the runs taken so far, or of the failure that ended them."""
        if self.failure is not None or not self.samples:
            return Measurement(
                workload=self.workload,
                size=self.size,
                system=self.system,
                storage=self.storage,
                unit=self.unit,
                failure=self.failure or "no run was taken",
            )
        return summarise(
            self.samples,
            workload=self.workload,
            size=self.size,
            system=self.system,
            storage=self.storage,
            figure=self.figure,
            unit=self.unit,
        )


def run_in_rounds(
    series: Sequence[Series], on_run: Callable[[int, Series], None] = lambda *_: None
) -> None:
    """Take the runs of every series, round after round, in the order given.

    Round ``i`` runs each series that has fewer than ``i`` runs and has not
    failed; ``on_run`` sees the round (from 1) and the series after each run.
    """
    rounds = max((each.runs for each in series), default=0)
    for index in range(rounds):
        for each in series:
            if index >= each.runs or each.failure is not None:
                continue
            try:
                each.samples.append(each.run_once())
            except RunFailedError as error:
                each.failure = str(error)
            on_run(index + 1, each)
