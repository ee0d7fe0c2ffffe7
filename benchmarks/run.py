"""Run durable's benchmark workloads in fresh processes and record the figures.

Usage::

    python benchmarks/run.py                 # every workload, 5 runs each
    python benchmarks/run.py seq fanout      # only these workloads
    python benchmarks/run.py --runs 3 --quick --no-record

Each (workload, store, size) runs ``--runs`` times, each time in a fresh
Python process (``benchmarks/workloads.py``). The script prints the median,
min and max of each figure and, unless ``--no-record``, appends a table with
the machine (nproc, CPU model, Python, SQLite), the date and the commit to
``benchmarks/RESULTS.md``. The recorded tables are produced here, never typed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import subprocess
import sys
from pathlib import Path

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


def run_once(workload: str, store: str, size: int) -> dict[str, float]:
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
    figures: dict[str, float] = json.loads(completed.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    """Run the plan, print the table, record it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", help="only these workloads (default: all)")
    parser.add_argument("--runs", type=int, default=5, help="fresh-process runs per workload")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test)")
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    options = parser.parse_args()
    rows = []
    for workload, store, size, figure, unit in PLAN:
        if options.workloads and workload not in options.workloads:
            continue
        if options.quick:
            size = QUICK_SIZES.get(workload, 10)
        samples = [run_once(workload, store, size) for _ in range(options.runs)]
        values = [sample[figure] for sample in samples]
        rss = max(sample["peak_rss_mib"] for sample in samples)
        row = (
            f"| {workload} {size:,} | {store} | {statistics.median(values):,.1f} {unit} "
            f"| {min(values):,.1f} | {max(values):,.1f} | {rss:,.0f} |"
        )
        print(row, flush=True)
        rows.append(row)
    table = "\n".join(
        [
            "| workload | store | median | min | max | peak RSS MiB |",
            "|---|---|---|---|---|---|",
            *rows,
        ]
    )
    if options.no_record:
        return
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    with RESULTS.open("a") as results:
        results.write(
            f"\n## {stamp}, commit {commit()}\n\n{machine()}; {options.runs} runs per row, "
            "each in a fresh process; SQLite store with synchronous=FULL in WAL mode.\n\n"
            f"{table}\n"
        )


if __name__ == "__main__":
    main()
