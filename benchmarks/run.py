"""Run durable's benchmark workloads and its peers' in fresh processes and record the figures.

Usage::

    python benchmarks/run.py                 # every workload, 5 runs each, and the peers
    python benchmarks/run.py seq fanout      # only these workloads (durable's and the peers')
    python benchmarks/run.py --no-peers      # durable alone
    python benchmarks/run.py throughput --peers dbos,temporal --peer-runs 1
    python benchmarks/run.py --runs 3 --quick --no-record

Each (workload, store, size) runs ``--runs`` times, each time in a fresh
Python process (``benchmarks/workloads.py``). Then each peer (DBOS,
durabletask, Temporal: ``benchmarks/peers/``) runs seq, fanout and throughput
at 1,000, ``--peer-runs`` times each, in fresh processes under its own
virtual environment in ``benchmarks/.venvs/``, which this script builds with
pip the first time. The script prints the median, min and max of each figure,
durable's own targets met or missed (`own_targets.py`), the ratios durable
(SQLite) / best peer against the targets and, unless
``--no-record``, appends the tables with the machine (nproc, CPU model,
Python, SQLite), the date and the commit to ``benchmarks/RESULTS.md`` (or
``--results``). The recorded tables are produced here, never typed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
from pathlib import Path

from own_targets import own_target_table
from peers.catalog import find_peers
from peers.measurement import Measurement, PeerResults, Sample, summarise
from peers.runner import measure_peers
from peers.tables import peer_row, peer_section, ratio_table
from recording import commit, machine

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"

# (workload, store, size, the figure to report, its unit)
PLAN = [
    ("ceiling", "sqlite", 2000, "per_second", "raw commits/s"),
    ("commits", "sqlite", 1000, "per_second", "episode commits/s"),
    ("seq", "memory", 1000, "per_second", "steps/s"),
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


def measure_durable(options: argparse.Namespace) -> list[Measurement]:
    """Run durable's plan, printing each row as it is measured."""
    rows = []
    for workload, store, size, figure, unit in PLAN:
        if options.workloads and workload not in options.workloads:
            continue
        if options.quick:
            size = QUICK_SIZES.get(workload, 10)
        samples = [run_once(workload, store, size) for _ in range(options.runs)]
        row = summarise(
            samples,
            workload=workload,
            size=size,
            system="durable",
            storage=store,
            figure=figure,
            unit=unit,
        )
        print(durable_row(row), flush=True)
        rows.append(row)
    return rows


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
        "each in a fresh process; SQLite store with synchronous=FULL in WAL mode; throughput "
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
        "--peer-runs", type=int, default=3, help="fresh-process runs per peer workload"
    )
    return parser.parse_args()


def main() -> None:
    """Run the plan and the peers, print the tables, record them."""
    options = parse_options()
    peers = () if options.no_peers else find_peers([n for n in options.peers.split(",") if n])
    ours = measure_durable(options)
    targets = own_target_table(ours)
    if targets:
        print(targets, flush=True)
    results = measure_peers(
        peers,
        options.workloads,
        options.peer_runs,
        quick=options.quick,
        on_row=lambda row: print(peer_row(row), flush=True),
    )
    if results.measurements:
        print(ratio_table(ours, results.measurements), flush=True)
    if not options.no_record:
        record(options.results, options, ours, results)


if __name__ == "__main__":
    main()
