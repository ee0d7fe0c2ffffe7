"""The public surface, pinned: a change to it is a deliberate edit of this file."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "durable": [
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
    ],
    "durable.cli": ["main"],
    "durable.http": ["DEFAULT_BASE_PATH", "DEFAULT_MAX_BODY_BYTES", "create_app", "decode_body"],
    "durable.stores": [
        "InstancePage",
        "InstanceQuery",
        "MemoryStore",
        "PostgresStore",
        "SQLiteStore",
        "Store",
        "open_store",
    ],
    "durable.history": [
        "ContinuedAsNew",
        "EventRaised",
        "EventSent",
        "ExecutionCompleted",
        "ExecutionFailed",
        "ExecutionResumed",
        "ExecutionRewound",
        "ExecutionStarted",
        "ExecutionSuspended",
        "ExecutionTerminated",
        "HistoryEvent",
        "OrchestratorStarted",
        "ParentInstance",
        "SubOrchestrationCompleted",
        "SubOrchestrationCreated",
        "SubOrchestrationFailed",
        "TaskCompleted",
        "TaskFailed",
        "TaskScheduled",
        "TimerCreated",
        "TimerFired",
    ],
}


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_public_module_exports_exactly_its_pinned_names(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert module.__all__ == PUBLIC[module_name]
    assert all(hasattr(module, name) for name in module.__all__)


def test_errors_module_exports_every_error_sorted_under_one_root() -> None:
    errors = importlib.import_module("durable.errors")
    assert errors.__all__ == sorted(errors.__all__)
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.DurableError), name
