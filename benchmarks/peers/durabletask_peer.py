"""Microsoft's durabletask SDK on one workload, once; prints one JSON line.

Usage: ``benchmarks/.venvs/durabletask/bin/python durabletask_peer.py WORKLOAD SIZE``
with WORKLOAD one of seq, fanout, throughput (see benchmarks/workloads.py).

The backend is the SDK's own ``durabletask.testing.InMemoryOrchestrationBackend``,
a gRPC sidecar in this process that keeps every instance in memory, bound
here to 127.0.0.1 on a free port. A ``TaskHubGrpcWorker`` and a
``TaskHubGrpcClient`` connect to it as they would to a real sidecar; the
throughput workload is an asyncio program, as for every peer: it starts every
chain at once with the SDK's ``AsyncTaskHubGrpcClient`` under
``asyncio.gather``, then awaits each. The SDK's
loggers are set to WARNING (by default they log every wait at INFO to stderr).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from concurrent import futures
from typing import Any

import grpc
from durabletask import client, task, worker
from durabletask.internal import orchestrator_service_pb2_grpc as stubs
from durabletask.testing import InMemoryOrchestrationBackend
from peer_report import emit, rate

WAIT_SECONDS = 1800
BACKEND = "in-memory (durabletask.testing.InMemoryOrchestrationBackend)"


class LoopbackBackend(InMemoryOrchestrationBackend):
    """The in-memory backend, listening on 127.0.0.1 only (the SDK binds every interface)."""

    def start(self) -> str:
        """Start the gRPC server on a free loopback port and return its address."""
        self._shutdown_event.clear()
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=10))
        stubs.add_TaskHubSidecarServiceServicer_to_server(self, server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self._server = server
        return f"127.0.0.1:{port}"


def touch(_: task.ActivityContext, value: int) -> int:
    """A trivial activity."""
    return value + 1


def sequence(ctx: task.OrchestrationContext, count: int) -> Any:
    """`count` activities, one after the other."""
    value = 0
    for _ in range(count):
        value = yield ctx.call_activity(touch, input=value)
    return value


def fan_out(ctx: task.OrchestrationContext, count: int) -> Any:
    """`count` activities at once, gathered."""
    results = yield task.when_all([ctx.call_activity(touch, input=i) for i in range(count)])
    return len(results)


def chain_of_three(ctx: task.OrchestrationContext, value: int) -> Any:
    """Three activities in a row."""
    for _ in range(3):
        value = yield ctx.call_activity(touch, input=value)
    return value


def _quiet_logger(name: str) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.setLevel(logging.WARNING)
    return logger


def _check_completed(instance_id: str, state: client.OrchestrationState | None) -> None:
    if state is None or state.runtime_status != client.OrchestrationStatus.COMPLETED:
        raise SystemExit(f"durabletask instance {instance_id} did not complete: {state}")


async def _throughput(address: str, size: int) -> None:
    """Start every chain at once from the SDK's asyncio client, then await each."""
    hub = client.AsyncTaskHubGrpcClient(
        host_address=address, logger=_quiet_logger("durabletask-client")
    )
    try:
        ids = await asyncio.gather(
            *(hub.schedule_new_orchestration(chain_of_three, input=i) for i in range(size))
        )
        for instance_id in ids:
            state = await hub.wait_for_orchestration_completion(instance_id, timeout=WAIT_SECONDS)
            _check_completed(instance_id, state)
    finally:
        await hub.close()


def run(workload: str, size: int) -> dict[str, float]:
    """Start the backend and a worker, time the workload, stop both."""
    # seq N writes about 3 history events per step; the backend's default cap is 10,000.
    backend = LoopbackBackend(max_history_size=max(10_000, 4 * size + 100))
    address = backend.start()
    hub = client.TaskHubGrpcClient(host_address=address, logger=_quiet_logger("durabletask-client"))
    runner = worker.TaskHubGrpcWorker(
        host_address=address, logger=_quiet_logger("durabletask-worker")
    )
    for orchestrator in (sequence, fan_out, chain_of_three):
        runner.add_orchestrator(orchestrator)
    runner.add_activity(touch)
    runner.start()
    try:
        began = time.perf_counter()
        if workload == "throughput":
            asyncio.run(_throughput(address, size))
        else:
            orchestrator = sequence if workload == "seq" else fan_out
            instance_id = hub.schedule_new_orchestration(orchestrator, input=size)
            state = hub.wait_for_orchestration_completion(instance_id, timeout=WAIT_SECONDS)
            _check_completed(instance_id, state)
        seconds = time.perf_counter() - began
    finally:
        runner.stop()
        hub.close()
        backend.stop()
    return rate(size, seconds)


def main(arguments: list[str]) -> None:
    """Run one workload once and print its figures as JSON."""
    workload, size = arguments
    if workload not in ("seq", "fanout", "throughput"):
        raise SystemExit(f"unknown workload {workload!r}; choose seq, fanout or throughput")
    emit(run(workload, int(size)), BACKEND)


if __name__ == "__main__":
    main(sys.argv[1:])
