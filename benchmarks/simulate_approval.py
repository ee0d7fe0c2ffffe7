"""Wall time of the simulated 30-day approval (examples/testing/approval.py).

Usage: ``python benchmarks/simulate_approval.py [RUNS]`` (default 15).

Each run opens a `Simulation` (seed = run number), approves on day 17, runs
until idle with the replay check on, checks the outcome and closes the
simulation; the figure covers all of it, freezegun's start and stop
included. The script prints the median, min and max. The clock is read
outside each simulation, where time is real.
"""

from __future__ import annotations

import importlib.util
import statistics
import sys
import time
from pathlib import Path
from types import ModuleType

from durable.testing import Simulation

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "testing" / "approval.py"


def load_example() -> ModuleType:
    """Import examples/testing/approval.py by its path."""
    spec = importlib.util.spec_from_file_location("approval_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_once(example: ModuleType, seed: int) -> float:
    """Seconds of wall time for one full simulation of the scenario."""
    started = time.perf_counter()
    with Simulation(example.app, seed=seed) as simulation:
        instance_id = example.scenario(simulation)
        output = simulation.status(instance_id).output
    elapsed = time.perf_counter() - started
    if output != {"approved": True, "day": 17, "ticket": "ticket-17"}:
        raise SystemExit(f"unexpected outcome with seed {seed}: {output}")
    return elapsed


def main(runs: int) -> None:
    """Warm up once, then time `runs` runs and print the figures."""
    example = load_example()
    run_once(example, seed=0)  # imports, cattrs hook generation
    times = [run_once(example, seed) for seed in range(runs)]
    print(
        f"30-day approval (30 days, reminder daily, approved on day 17), {runs} runs: "
        f"median {statistics.median(times) * 1000:.1f} ms, "
        f"min {min(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
