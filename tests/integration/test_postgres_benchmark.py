"""The scaling benchmark runs at a tiny size, so that it never rots."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.integration.test_postgres_support import postgres_url

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "postgres_scaling.py"


def test_postgres_scaling_benchmark_prints_a_row_per_store_and_worker_count() -> None:
    completed = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--url",
            postgres_url(),
            "--instances",
            "3",
            "--rounds",
            "1",
            "--workers",
            "1",
            "2",
            "--no-record",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )

    assert completed.returncode == 0, completed.stderr
    rows = [line.split("|")[1:3] for line in completed.stdout.splitlines() if line.startswith("|")]
    assert [[cell.strip() for cell in row] for row in rows] == [
        ["postgres", "1"],
        ["postgres", "2"],
        ["sqlite", "1"],
        ["sqlite", "2"],
    ]
