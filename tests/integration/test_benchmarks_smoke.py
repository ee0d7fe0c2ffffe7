"""Every benchmark workload runs once at a tiny size, so the suite never rots."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
CASES = [
    ("seq", "memory"),
    ("seq", "sqlite"),
    ("fanout", "sqlite"),
    ("throughput", "sqlite"),
    ("replay", "sqlite"),
    ("commits", "sqlite"),
    ("ceiling", "sqlite"),
    ("simulate", "memory"),
]


@pytest.mark.parametrize(("workload", "store"), CASES)
def test_benchmark_workload_runs_and_reports_its_figures(workload: str, store: str) -> None:
    completed = subprocess.run(
        [sys.executable, str(BENCHMARKS / "workloads.py"), workload, store, "5"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    figures = json.loads(completed.stdout.strip().splitlines()[-1])
    assert figures["seconds"] > 0
    assert figures["peak_rss_mib"] > 0
    figure = figures.get("per_second") or figures.get("us_per_event") or figures.get("milliseconds")
    assert (figure or 0) > 0


def test_benchmark_runner_prints_a_row_per_workload_without_recording() -> None:
    completed = subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "run.py"),
            "seq",
            "--quick",
            "--runs",
            "1",
            "--no-record",
            "--no-peers",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    rows = [line for line in completed.stdout.splitlines() if line.startswith("| seq")]
    assert [row.split("|")[2].strip() for row in rows] == ["memory", "sqlite", "memory", "sqlite"]
