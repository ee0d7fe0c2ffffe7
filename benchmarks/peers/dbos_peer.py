"""DBOS Transact on one workload, once; prints one JSON line.

Usage: ``benchmarks/.venvs/dbos/bin/python dbos_peer.py WORKLOAD SIZE`` with
WORKLOAD one of seq, fanout, throughput (see benchmarks/workloads.py).

DBOS runs in this process on its default system database, SQLite, in a fresh
file of a temporary directory, with DBOS's own connection settings (the script
reads back the journal mode and synchronous level it ran with and prints them).
Activities are steps; the fan-out starts one child workflow per item with
``DBOS.start_workflow`` and gathers their handles; the throughput workload is
an asyncio program, as for every peer: it starts every chain (async workflow,
async steps) at once with ``DBOS.start_workflow_async`` under
``asyncio.gather``, and then awaits each handle.
DBOS logs at WARNING (its default INFO logs every launch step).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy
from dbos import DBOS, DBOSConfig
from dbos._dbos import _get_dbos_instance
from peer_report import emit, rate


@DBOS.step()
def touch(value: int) -> int:
    """A trivial activity."""
    return value + 1


@DBOS.workflow()
def sequence(count: int) -> int:
    """`count` steps, one after the other."""
    value = 0
    for _ in range(count):
        value = touch(value)
    return value


@DBOS.workflow()
def touch_once(value: int) -> int:
    """One child of the fan-out: a workflow of one step."""
    return touch(value)


@DBOS.workflow()
def fan_out(count: int) -> int:
    """`count` child workflows at once, gathered."""
    handles = [DBOS.start_workflow(touch_once, index) for index in range(count)]
    return len([handle.get_result() for handle in handles])


@DBOS.step()
async def touch_async(value: int) -> int:
    """A trivial activity, for the asyncio program of the throughput workload."""
    return value + 1


@DBOS.workflow()
async def chain_of_three_async(value: int) -> int:
    """Three steps in a row, started from asyncio."""
    for _ in range(3):
        value = await touch_async(value)
    return value


async def _throughput(size: int) -> None:
    """Start every chain at once from asyncio, then await each."""
    handles = await asyncio.gather(
        *(DBOS.start_workflow_async(chain_of_three_async, index) for index in range(size))
    )
    for handle in handles:
        await handle.get_result()


def _sqlite_settings() -> str:
    """The journal mode and synchronous level of DBOS's own system database connection."""
    engine: sqlalchemy.Engine = _get_dbos_instance()._sys_db.engine
    with engine.connect() as connection:
        journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        synchronous = connection.exec_driver_sql("PRAGMA synchronous").scalar_one()
    level = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(synchronous, str(synchronous))
    return f"journal_mode={journal}, synchronous={level}"


def run(workload: str, size: int, directory: Path) -> tuple[dict[str, float], str]:
    """Launch DBOS on a fresh SQLite file, time the workload, shut DBOS down."""
    config: DBOSConfig = {
        "name": "durable-bench-peer",
        "system_database_url": f"sqlite:///{directory / 'dbos.sqlite'}",
        "log_level": "WARNING",
    }
    DBOS(config=config)
    DBOS.launch()
    try:
        backend = f"SQLite ({_sqlite_settings()})"
        began = time.perf_counter()
        if workload == "throughput":
            asyncio.run(_throughput(size))
        else:
            handle = DBOS.start_workflow(sequence if workload == "seq" else fan_out, size)
            handle.get_result()
        seconds = time.perf_counter() - began
    finally:
        DBOS.destroy()
    return rate(size, seconds), backend


def main(arguments: list[str]) -> None:
    """Run one workload once and print its figures as JSON."""
    workload, size = arguments
    if workload not in ("seq", "fanout", "throughput"):
        raise SystemExit(f"unknown workload {workload!r}; choose seq, fanout or throughput")
    with tempfile.TemporaryDirectory(prefix="durable-bench-dbos-") as directory:
        figures, backend = run(workload, int(size), Path(directory))
    emit(figures, backend)


if __name__ == "__main__":
    main(sys.argv[1:])
