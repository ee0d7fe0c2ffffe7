"""benchmarks/declarative.py runs at a tiny size and reports every figure, so it never rots."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "declarative.py"


def test_declarative_benchmark_reports_validation_and_overhead_without_recording() -> None:
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--steps", "12", "--rounds", "1", "--no-record"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    rows = [
        line.split("|")[1].strip() for line in completed.stdout.splitlines() if line[:2] == "| "
    ]
    assert rows == [
        "figure",
        "validate a 12-step document (YAML text to plan)",
        "replay a 12-call chain, Python orchestrator",
        "replay the same chain, declarative",
        "simulate the chain end to end, Python",
        "simulate the chain end to end, declarative",
    ]
    assert completed.stdout.splitlines()[-1].startswith("Interpretation overhead: ")
