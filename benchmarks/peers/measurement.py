"""One row of figures: a workload at a size, on one system, over several fresh-process runs.

durable's own rows (benchmarks/run.py) and the peers' rows share this shape,
so the tables and the ratios read both the same way. A row that could not be
measured carries the reason in ``failure`` and no values.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

__all__ = ["Measurement", "PeerResults", "RunFailedError", "Sample", "summarise"]

Sample = dict[str, float | str]
"""One run's JSON object, as a workload or peer script printed it."""


class RunFailedError(Exception):
    """One run failed (its script exited with an error, overran, or printed no figures)."""


@dataclass(frozen=True)
class Measurement:
    """The samples of one (workload, size, system, storage) over its runs."""

    workload: str
    size: int
    system: str
    """``durable`` or a peer's title."""
    storage: str
    """durable's store (memory, sqlite) or the peer's backend as its script described it."""
    unit: str
    values: tuple[float, ...] = ()
    """The reported figure of each run (items per second, or us/event, or ms)."""
    peak_rss_mib: float = 0.0
    """The largest peak resident memory of the measuring process over the runs."""
    server_cpu_seconds: tuple[float, ...] = ()
    """A separate server's CPU seconds during each timed run (Temporal only)."""
    server_peak_rss_mib: float | None = None
    """A separate server's largest peak resident memory over the runs (Temporal only)."""
    failure: str | None = None
    """Why there are no values: the peer could not be installed or its script failed."""

    @property
    def median(self) -> float:
        """The median of the values."""
        return statistics.median(self.values)


@dataclass
class PeerResults:
    """The peers' rows, and for each peer its installed versions or why it is missing."""

    measurements: list[Measurement] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)


def summarise(
    samples: list[Sample],
    *,
    workload: str,
    size: int,
    system: str,
    storage: str,
    figure: str,
    unit: str,
) -> Measurement:
    """Fold the JSON objects of several runs into one Measurement.

    Each sample has ``figure`` and ``peak_rss_mib``; a peer's also has
    ``backend`` (which replaces ``storage``) and Temporal's has
    ``server_cpu_seconds`` and ``server_peak_rss_mib``.
    """
    server_rss = [
        float(sample["server_peak_rss_mib"])
        for sample in samples
        if "server_peak_rss_mib" in sample
    ]
    return Measurement(
        workload=workload,
        size=size,
        system=system,
        storage=str(samples[0].get("backend", storage)),
        unit=unit,
        values=tuple(float(sample[figure]) for sample in samples),
        peak_rss_mib=max(float(sample["peak_rss_mib"]) for sample in samples),
        server_cpu_seconds=tuple(
            float(sample["server_cpu_seconds"])
            for sample in samples
            if "server_cpu_seconds" in sample
        ),
        server_peak_rss_mib=max(server_rss) if server_rss else None,
    )
