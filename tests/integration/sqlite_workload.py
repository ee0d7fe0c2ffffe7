"""A workload for the SQLite multi-process tests, run as a worker subprocess.

Each instance runs N sequential activities, then a fan-out of M (50 and 50 by default). Every
activity appends one line to a side-effect file, so a test can check that each
one ran at least once. As a script::

    python sqlite_workload.py worker DB SIDE_EFFECTS EPISODE_LOG [--until-done N]

runs a worker on DB (short leases, fast polling) and logs every committed
episode (instance, history length before and after, pid) to EPISODE_LOG; with --until-done it
exits once N instances have finished.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from durable import App, Client, OrchestrationContext, Worker
from durable.stores import SQLiteStore

SEQUENTIAL = 50
FAN_OUT = 50
app = App()
_side_effects = Path(os.devnull)


def _record(line: str) -> None:
    with _side_effects.open("a") as sink:
        sink.write(line + "\n")


@app.activity
def add_one(step: dict[str, Any]) -> int:
    """Return value + 1, recording that step `index` of `instance` ran."""
    _record(f"{step['instance']} seq {step['index']}")
    return int(step["value"]) + 1


@app.activity
def square(item: dict[str, Any]) -> int:
    """Return value squared, recording that item `index` of `instance` ran."""
    _record(f"{item['instance']} fan {item['index']}")
    return int(item["value"]) ** 2


@app.orchestrator
def chain_then_fan_out(ctx: OrchestrationContext, shape: dict[str, int]):  # type: ignore[no-untyped-def]
    """`sequential` steps in a row, then `fan_out` at once; returns the sum of the squares."""
    value = shape["start"]
    for index in range(shape["sequential"]):
        step = {"instance": ctx.instance_id, "index": index, "value": value}
        value = yield ctx.call_activity(add_one, step)
    items = [
        {"instance": ctx.instance_id, "index": index, "value": value + index}
        for index in range(shape["fan_out"])
    ]
    squares = yield ctx.when_all([ctx.call_activity(square, item) for item in items])
    return sum(squares)


def shape(start: int, sequential: int = SEQUENTIAL, fan_out: int = FAN_OUT) -> dict[str, int]:
    """The input of `chain_then_fan_out`."""
    return {"start": start, "sequential": sequential, "fan_out": fan_out}


def expected_output(given: dict[str, int]) -> int:
    """The output an uninterrupted run of `chain_then_fan_out` gives."""
    value = given["start"] + given["sequential"]
    return sum((value + index) ** 2 for index in range(given["fan_out"]))


def main(arguments: list[str]) -> None:
    """Run a worker on the database until killed (or until N instances finished)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script
    from tests.integration.episode_log import log_episodes

    database, side_effects, episode_log, *rest = arguments
    global _side_effects
    _side_effects = Path(side_effects)
    until_done = int(rest[1]) if rest[:1] == ["--until-done"] else None
    store = SQLiteStore(database)
    worker = Worker(
        app,
        store,
        lease=timedelta(seconds=1),
        poll_interval=timedelta(milliseconds=20),
        max_activities=8,
    )
    log_episodes(worker.store, Path(episode_log))
    client = Client(store, app=app)
    with worker:
        while True:
            time.sleep(0.05)
            if until_done is not None:
                page = client.list(page_size=10_000)
                if sum(status.is_finished for status in page.instances) >= until_done:
                    break
    store.close()


if __name__ == "__main__":
    main(sys.argv[1:])
