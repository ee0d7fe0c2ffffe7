"""Fan-out/fan-in: measure many files in parallel, at most eight at a time, then add up.

Run it with ``python examples/fan_out_fan_in.py [path/to/file.db]`` (default:
a temporary file). One instance maps an activity over 200 items with
``max_parallel=8`` and an aggregation step; a second one uses the
``"collect"`` policy, so the items that fail are reported instead of failing
the whole fan-out. The script reads the history back to show that no more
than eight calls were ever outstanding.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from durable import App, Client, OrchestrationContext, Worker
from durable.history import TaskCompleted, TaskFailed, TaskScheduled
from durable.patterns import fan_out, register_fan_out
from durable.stores import SQLiteStore

app = App()


@app.activity
def measure(name: str) -> int:
    """Pretend to measure a file: its size is its name's length times 100."""
    if name.startswith("missing"):
        raise FileNotFoundError(name)
    return len(name) * 100


@app.activity
def add_up(sizes: list[int]) -> int:
    """The aggregation step: the total size."""
    return sum(sizes)


register_fan_out(app, "total_size", activity=measure, max_parallel=8, aggregate=add_up)


@app.orchestrator
async def sizes_or_errors(ctx: OrchestrationContext, names: list[str]) -> dict[str, Any]:
    """Measure every file; report per-item errors instead of failing."""
    result = await fan_out(ctx, names, activity=measure, failure_policy="collect")
    return {
        "sizes": result.results,
        "errors": {names[each.index]: each.failure.type_name for each in result.failures},
    }


def most_outstanding(client: Client, instance_id: str) -> int:
    """The most activity calls that were scheduled and not yet answered, over the history."""
    outstanding = most = 0
    for event in client.history(instance_id):
        if isinstance(event, TaskScheduled):
            outstanding += 1
            most = max(most, outstanding)
        elif isinstance(event, TaskCompleted | TaskFailed):
            outstanding -= 1
    return most


def main(path: str | None = None) -> None:
    """Run both fan-outs and print their results."""
    path = path or str(Path(tempfile.mkdtemp(prefix="durable-")) / "fan_out.db")
    store = SQLiteStore(path)
    client = Client(store, app=app)
    files = [f"file-{number:03}.txt" for number in range(200)]
    with Worker(app, store, max_activities=8):
        total = client.start("total_size", files)
        mixed = client.start(sizes_or_errors, ["a.txt", "missing.txt", "bb.txt"])
        total_status = client.wait(total, timeout=timedelta(seconds=60))
        mixed_status = client.wait(mixed, timeout=timedelta(seconds=60))
    print(f"store: {path}")
    print(f"total_size of {len(files)} files: {total_status.status.value}, {total_status.output}")
    print(f"  most calls outstanding at once: {most_outstanding(client, total)} (max_parallel=8)")
    print(f"sizes_or_errors: {mixed_status.status.value}, {mixed_status.output}")
    store.close()


if __name__ == "__main__":
    main(*sys.argv[1:2])
