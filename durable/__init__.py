"""durable: durable, stateful workflows in plain Python.

Write orchestrators as generator functions or ``async def``; they are
checkpointed to an event-sourced history and replayed, so they survive
crashes, sleep on durable timers, wait for people and fan out to many
activities. See the README for a tour.
"""

from durable._app import App
from durable._client.async_client import AsyncClient
from durable._client.client import Client
from durable._engine.context import OrchestrationContext
from durable._engine.tasks import Task, TimerTask
from durable._model.failures import FailureDetails
from durable._model.retry import RetryPolicy
from durable._model.status import (
    InstanceStatus,
    PendingActivity,
    PendingSubOrchestration,
    PendingTimer,
    RuntimeStatus,
    Waiting,
)
from durable._store.protocol import InstancePage
from durable._worker.clock import Clock, SystemClock
from durable._worker.entry import run_worker
from durable._worker.worker import Worker

__all__ = [
    "App",
    "AsyncClient",
    "Client",
    "Clock",
    "FailureDetails",
    "InstancePage",
    "InstanceStatus",
    "OrchestrationContext",
    "PendingActivity",
    "PendingSubOrchestration",
    "PendingTimer",
    "RetryPolicy",
    "RuntimeStatus",
    "SystemClock",
    "Task",
    "TimerTask",
    "Waiting",
    "Worker",
    "run_worker",
]
