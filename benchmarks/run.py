"""Run durable's benchmark workloads and its peers' in fresh processes and record the figures.

Usage::

    python benchmarks/run.py                 # every workload, 5 runs each, and the peers
    python benchmarks/run.py seq fanout      # only these workloads (durable's and the peers')
    python benchmarks/run.py --no-peers      # durable alone
    python benchmarks/run.py throughput --peers dbos,temporal --peer-runs 1
    python benchmarks/run.py --runs 3 --quick --no-record

Each (workload, store, size) runs ``--runs`` times, each time in a fresh
Python process (``benchmarks/workloads.py``), and each peer (DBOS,
durabletask, Temporal: ``benchmarks/peers/``) runs seq, fanout and throughput
at 1,000, ``--peer-runs`` times each, in fresh processes under its own
virtual environment in ``benchmarks/.venvs/``, which this script builds with
pip the first time. The runs are taken in rounds (``rounds.py``): one run of
every row per round, each peer's right after durable's on SQLite and the raw
commit ceiling right before seq on SQLite, so that the machine's drift falls
on both sides of each ratio. The script prints a line per run, then the
median, min and max of each figure, durable's own targets met or missed
(`own_targets.py`), the ratios durable (SQLite) / best peer against the
targets and, unless ``--no-record``, appends the tables with the machine
(nproc, CPU model, Python, SQLite), the date and the commit to
``benchmarks/RESULTS.md`` (or
``--results``). The recorded tables are produced here, never typed.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import subprocess
import sys
from pathlib import Path

from own_targets import own_target_table
from peers.catalog import find_peers
from peers.measurement import Measurement, PeerResults, Sample
from peers.runner import peer_series
from peers.tables import peer_row, peer_section, ratio_table
from recording import commit, machine
from rounds import Series, run_in_rounds

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"

# (workload, store, size, the figure to report, its unit)
PLAN = [
    ("commits", "sqlite", 1000, "per_second", "episode commits/s"),
    ("seq", "memory", 1000, "per_second", "steps/s"),
    ("ceiling", "sqlite", 2000, "per_second", "raw commits/s"),
    ("seq", "sqlite", 1000, "per_second", "steps/s"),
    ("seq", "memory", 10000, "per_second", "steps/s"),
    ("seq", "sqlite", 10000, "per_second", "steps/s"),
    ("fanout", "memory", 1000, "per_second", "activities/s"),
    ("fanout", "sqlite", 1000, "per_second", "activities/s"),
    ("fanout", "memory", 10000, "per_second", "activities/s"),
    ("fanout", "sqlite", 10000, "per_second", "activities/s"),
    ("throughput", "memory", 1000, "per_second", "instances/s"),
    ("throughput", "sqlite", 1000, "per_second", "instances/s"),
    ("replay", "sqlite", 10000, "us_per_event", "us/event"),
    ("simulate", "memory", 5, "milliseconds", "ms wall"),
]
QUICK_SIZES = {"ceiling": 50, "commits": 20, "replay": 20, "simulate": 1}


def run_once(workload: str, store: str, size: int) -> Sample:
    """Run one workload in a fresh process and return its figures."""
    completed = subprocess.run(
        [sys.executable, str(HERE / "workloads.py"), workload, store, str(size)],
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )
    if completed.returncode != 0:
        raise SystemExit(f"{workload} {store} {size} failed:\n{completed.stderr}")
    figures: Sample = json.loads(completed.stdout.strip().splitlines()[-1])
    return figures


def durable_row(row: Measurement) -> str:
    """One row of durable's table."""
    return (
        f"| {row.workload} {row.size:,} | {row.storage} | {row.median:,.1f} {row.unit} "
        f"| {min(row.values):,.1f} | {max(row.values):,.1f} | {row.peak_rss_mib:,.0f} |"
    )


def durable_series(options: argparse.Namespace) -> list[Series]:
    """durable's plan (the chosen workloads) as series of runs, in the plan's order."""
    planned = []
    for workload, store, size, figure, unit in PLAN:
        if options.workloads and workload not in options.workloads:
            continue
        if options.quick:
            size = QUICK_SIZES.get(workload, 10)
        planned.append(
            Series(
                workload=workload,
                size=size,
                system="durable",
                storage=store,
                figure=figure,
                unit=unit,
                runs=options.runs,
                run_once=functools.partial(run_once, workload, store, size),
            )
        )
    return planned


def side_by_side(ours: list[Series], theirs: list[Series]) -> list[Series]:
    """The order of each round: the plan's, each peer workload right after durable's on SQLite.

    The raw commit ceiling is already next to seq on SQLite in the plan.
    """
    order: list[Series] = []
    for each in ours:
        order.append(each)
        first_on_sqlite = each.storage == "sqlite" and not any(
            earlier.workload == each.workload and earlier.storage == "sqlite"
            for earlier in order[:-1]
        )
        if first_on_sqlite:
            order.extend(peer for peer in theirs if peer.workload == each.workload)
    order.extend(peer for peer in theirs if peer not in order)
    return order


def progress(round_number: int, series: Series) -> None:
    """One line per run, as it ends."""
    if series.failure is not None:
        figure = f"failed: {series.failure}"
    else:
        figure = f"{float(series.samples[-1][series.figure]):,.1f} {series.unit}"
    print(f"round {round_number}/{series.runs}: {series.label}: {figure}", flush=True)


def record(
    path: Path, options: argparse.Namespace, ours: list[Measurement], peers: PeerResults
) -> None:
    """Append this run's tables, with the machine, date and commit, to ``path``."""
    table = "\n".join(
        [
            "| workload | store | median | min | max | peak RSS MiB |",
            "|---|---|---|---|---|---|",
            *(durable_row(row) for row in ours),
        ]
    )
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = (
        f"\n## {stamp}, commit {commit()}\n\n{machine()}; {options.runs} runs per row, "
        "each in a fresh process, taken in rounds with the peers' runs; SQLite store with "
        "synchronous=FULL in WAL mode; throughput "
        "starts its 1,000 chains at once from AsyncClient (asyncio.gather), then awaits each."
        "\n\n"
        f"{table}\n"
    )
    targets = own_target_table(ours)
    if targets:
        section += f"\ndurable's own targets, from the medians above:\n\n{targets}\n"
    if peers.measurements:
        section += "\n" + peer_section(peers, options.peer_runs, ours)
    with path.open("a") as results:
        results.write(section)


def parse_options() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", help="only these workloads (default: all)")
    parser.add_argument("--runs", type=int, default=5, help="fresh-process runs per workload")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test)")
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    parser.add_argument("--results", type=Path, default=RESULTS, help="the file to append to")
    parser.add_argument("--no-peers", action="store_true", help="measure durable alone")
    parser.add_argument(
        "--peers", default="", help="only these peers, comma-separated: dbos,durabletask,temporal"
    )
    parser.add_argument(
        "--peer-runs", type=int, default=5, help="fresh-process runs per peer workload"
    )
    return parser.parse_args()


def main() -> None:
    """Run the plan and the peers in rounds, print the tables, record them."""
    options = parse_options()
    peers = () if options.no_peers else find_peers([n for n in options.peers.split(",") if n])
    ours = durable_series(options)
    theirs, results = peer_series(peers, options.workloads, options.peer_runs, quick=options.quick)
    run_in_rounds(side_by_side(ours, theirs), on_run=progress)
    measured = [each.result() for each in ours]
    results.measurements.extend(each.result() for each in theirs)
    print("\n".join(durable_row(row) for row in measured), flush=True)
    targets = own_target_table(measured)
    if targets:
        print(targets, flush=True)
    for row in results.measurements:
        print(peer_row(row), flush=True)
    if results.measurements:
        print(ratio_table(measured, results.measurements), flush=True)
    if not options.no_record:
        record(options.results, options, measured, results)


if __name__ == "__main__":
    main()
