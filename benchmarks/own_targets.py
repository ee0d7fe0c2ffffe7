"""durable's own targets, the ones that need no peer: checked against this run's figures.

Each line is produced from the measured medians of the same run; a target whose
figures were not measured (a run of some workloads only) is left out.
"""

from __future__ import annotations

from collections.abc import Callable

from peers.measurement import Measurement

__all__ = ["own_target_table"]

Find = Callable[[str, str, int], Measurement | None]


def own_target_table(ours: list[Measurement]) -> str:
    """The Markdown table of durable's own targets met or missed in this run; "" if none."""

    def find(workload: str, storage: str, size: int) -> Measurement | None:
        return next(
            (
                row
                for row in ours
                if (row.workload, row.storage, row.size) == (workload, storage, size) and row.values
            ),
            None,
        )

    lines = [line for check in _CHECKS if (line := check(find)) is not None]
    if not lines:
        return ""
    header = ["| target | measured | limit | met |", "|---|---|---|---|"]
    return "\n".join([*header, *lines])


def _line(name: str, measured: str, limit: str, met: bool) -> str:
    return f"| {name} | {measured} | {limit} | {'yes' if met else 'no'} |"


def _seq_against_ceiling(find: Find) -> str | None:
    seq, ceiling = find("seq", "sqlite", 1000), find("ceiling", "sqlite", 2000)
    if seq is None or ceiling is None:
        return None
    share = seq.median / ceiling.median
    measured = f"{share:.0%} ({seq.median:,.0f} of {ceiling.median:,.0f} commits/s)"
    return _line("seq 1,000 on SQLite / raw commit ceiling", measured, "at least 50%", share >= 0.5)


def _seq_growth(find: Find) -> str | None:
    small, large = find("seq", "sqlite", 1000), find("seq", "sqlite", 10000)
    if small is None or large is None:
        return None
    ratio = (10000 / large.median) / (1000 / small.median)
    name = "seq 10,000 / seq 1,000 on SQLite, time"
    return _line(name, f"{ratio:.1f}", "at most 12", ratio <= 12)


def _replay(find: Find) -> str | None:
    row = find("replay", "sqlite", 10000)
    if row is None:
        return None
    measured = f"{row.median:.1f} us/event"
    return _line("replay 10,000, per history event", measured, "at most 5 us", row.median <= 5)


def _fanout_memory(find: Find) -> str | None:
    row = find("fanout", "sqlite", 10000)
    if row is None:
        return None
    measured, met = f"{row.peak_rss_mib:,.0f} MiB", row.peak_rss_mib < 150
    return _line("fanout 10,000 on SQLite, peak RSS", measured, "under 150 MiB", met)


def _simulate(find: Find) -> str | None:
    row = find("simulate", "memory", 5)
    if row is None:
        return None
    measured = f"{row.median:,.1f} ms"
    return _line("simulate, wall time", measured, "under 100 ms", row.median < 100)


_CHECKS: tuple[Callable[[Find], str | None], ...] = (
    _seq_against_ceiling,
    _seq_growth,
    _replay,
    _fanout_memory,
    _simulate,
)
