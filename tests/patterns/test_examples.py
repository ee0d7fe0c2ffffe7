"""Every pattern example runs as ``python examples/<name>.py <db>``, exits 0 and says what happened.

The five examples run at once (each in its own process, on its own SQLite
file) so that the module costs about as long as the slowest one.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = {
    "chaining": [
        "good trip: COMPLETED",
        "declined trip: FAILED",
        "book_flight -> book_hotel -> charge_card -> charge_card -> cancel_hotel -> cancel_flight",
        "compensated: book_hotel, book_flight",
    ],
    "fan_out_fan_in": [
        "total_size of 200 files: COMPLETED, 240000",
        "most calls outstanding at once: 8 (max_parallel=8)",
        "'errors': {'missing.txt': 'FileNotFoundError'}",
    ],
    "async_http": [
        "/runtime/webhooks/durabletask/orchestrators/export_report -> 202",
        "export service: GET /exports/1 -> 202",
        "export service: GET /exports/1 -> 200",
        "GET statusQueryGetUri -> 200: {'status': 200, 'result': {'file': 'export-1.csv'}}",
        "same answer: 202, same body: True",
    ],
    "monitor": [
        "export-7: satisfied after 12 checks",
        "job export-7 is done after 12 checks",
        "stuck: expired after",
    ],
    "approval": [
        "taxi: approved by alice at level 1",
        "ignored: 'mallory' is not the current approver 'alice'",
        "hotel: rejected by bob at level 2",
        "dinner: timed_out with no answer at level 2",
    ],
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    folder = tmp_path_factory.mktemp("examples")
    started = {
        name: subprocess.Popen(
            [sys.executable, str(ROOT / "examples" / f"{name}.py"), str(folder / f"{name}.db")],
            cwd=folder,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in EXPECTED
    }
    done = {}
    for name, process in started.items():
        out, err = process.communicate(timeout=120)
        done[name] = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    return done


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs_and_prints_what_happened(
    runs: dict[str, subprocess.CompletedProcess[str]], name: str
) -> None:
    run = runs[name]
    assert (run.returncode, run.stderr) == (0, "")
    missing = [line for line in EXPECTED[name] if line not in run.stdout]
    assert missing == [], run.stdout
