"""The official Python client, azure-functions-durable 1.x, against this server.

Its `DurableOrchestrationClient` is built from a hand-made client-binding
JSON (what the Functions host would hand an out-of-process worker) whose
``rpcBaseUrl`` points at a real uvicorn server on loopback. The client
JSON-encodes inputs and event data twice; the values must still reach the
orchestrator as its caller passed them (see `durable.http.params`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from azure.durable_functions import DurableOrchestrationClient, OrchestrationRuntimeStatus
from azure.durable_functions.models.utils import http_utils

from durable import RuntimeStatus
from tests.integration.test_http_support import Served, make_api, wait_until

INSTANCE = "INSTANCEID"


def _binding(base: str) -> str:
    """The client-binding JSON the Functions host would give, pointing at `base`."""
    instance = f"{base}instances/{INSTANCE}"
    create = f"{base}orchestrators/{{functionName}}[/{{instanceId}}]"
    return json.dumps(
        {
            "taskHubName": "durable",
            "creationUrls": {
                "createNewInstancePostUri": create,
                "createAndWaitOnNewInstancePostUri": (
                    f"{create}?timeout={{timeoutInSeconds}}&pollingInterval={{intervalInSeconds}}"
                ),
            },
            "managementUrls": {
                "id": INSTANCE,
                "statusQueryGetUri": instance,
                "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}",
                "terminatePostUri": f"{instance}/terminate?reason={{text}}",
                "rewindPostUri": f"{instance}/rewind?reason={{text}}",
                "purgeHistoryDeleteUri": instance,
                "restartPostUri": f"{instance}/restart",
                "suspendPostUri": f"{instance}/suspend?reason={{text}}",
                "resumePostUri": f"{instance}/resume?reason={{text}}",
            },
            "baseUrl": base.rstrip("/"),
            "requiredQueryStringParameters": "",
            "rpcBaseUrl": base,
        }
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with make_api(tmp_path_factory.mktemp("compat") / "durable.db") as api:
        yield api


def _run(server: Served, scenario: Any) -> Any:
    """Run `scenario(client)` on one event loop, closing the package's shared session after."""

    async def main() -> Any:
        client = DurableOrchestrationClient(_binding(server.api("")))
        try:
            return await scenario(client)
        finally:
            await http_utils._close_session()

    return asyncio.run(main())


def _until(server: Served, instance_id: str, check: Any, what: str) -> None:
    wait_until(
        server.store,
        lambda: (status := server.store.get_instance(instance_id)) and check(status),
        what=f"{instance_id} {what}",
    )


def _finished(server: Served, instance_id: str) -> None:
    _until(server, instance_id, lambda status: status.is_finished, "to finish")


@pytest.mark.parametrize(
    "value",
    [{"amount": 5, "tags": ["a"]}, "plain text", "42", 42, [1, None], None, True],
    ids=repr,
)
def test_start_new_input_reaches_the_orchestrator_as_passed(server: Served, value: Any) -> None:
    async def scenario(client: DurableOrchestrationClient) -> Any:
        instance_id = await client.start_new("echo", None, value)
        _finished(server, instance_id)
        status = await client.get_status(instance_id, show_input=True)
        return status.runtime_status, status.input_, status.output

    assert _run(server, scenario) == (OrchestrationRuntimeStatus.Completed, value, value)


def test_full_lifecycle_start_status_event_output_and_purge(server: Served) -> None:
    async def scenario(client: DurableOrchestrationClient) -> list[Any]:
        seen: list[Any] = []
        instance_id = await client.start_new("approval", "compat-approval-1", {"amount": 7})
        _until(server, instance_id, lambda s: "approve" in s.waiting.events, "to wait")
        running = await client.get_status(instance_id)
        seen.append((running.runtime_status, running.custom_status, running.name))
        await client.raise_event(instance_id, "approve", {"by": "ada"})
        _finished(server, instance_id)
        done = await client.get_status(instance_id, show_history=True, show_history_output=True)
        seen.append((done.runtime_status, done.output))
        seen.append([event["EventType"] for event in done.historyEvents])
        listed = await client.get_status_by(
            runtime_status=[OrchestrationRuntimeStatus.Completed], instance_id_prefix="compat-"
        )
        seen.append([status.instance_id for status in listed])
        purged = await client.purge_instance_history(instance_id)
        seen.append(purged.instances_deleted)
        gone = await client.get_status(instance_id)
        seen.append(bool(gone))
        return seen

    assert _run(server, scenario) == [
        (OrchestrationRuntimeStatus.Running, "waiting for approval", "approval"),
        (
            OrchestrationRuntimeStatus.Completed,
            {"request": {"amount": 7}, "decision": {"by": "ada"}},
        ),
        ["ExecutionStarted", "EventRaised", "ExecutionCompleted"],
        ["compat-approval-1"],
        1,
        False,
    ]


def test_event_without_data_arrives_as_none(server: Served) -> None:
    async def scenario(client: DurableOrchestrationClient) -> Any:
        instance_id = await client.start_new("approval", None, {})
        await client.raise_event(instance_id, "approve")
        _finished(server, instance_id)
        return (await client.get_status(instance_id)).output

    assert _run(server, scenario) == {"request": {}, "decision": None}


def test_terminate_suspend_and_resume(server: Served) -> None:
    async def scenario(client: DurableOrchestrationClient) -> list[Any]:
        seen: list[Any] = []
        paused = await client.start_new("approval", None, {})
        stopped = await client.start_new("approval", None, {})
        _until(server, paused, lambda s: "approve" in s.waiting.events, "to wait")
        await client.suspend(paused, "hold on")
        _until(server, paused, lambda s: s.status is RuntimeStatus.SUSPENDED, "to suspend")
        seen.append((await client.get_status(paused)).runtime_status)
        await client.resume(paused, "carry on")
        _until(server, paused, lambda s: s.status is RuntimeStatus.RUNNING, "to resume")
        await client.raise_event(paused, "approve", "yes")
        await client.terminate(stopped, "not needed")
        _finished(server, paused)
        _finished(server, stopped)
        for instance_id in (paused, stopped):
            status = await client.get_status(instance_id)
            seen.append((status.runtime_status, status.output))
        return seen

    assert _run(server, scenario) == [
        OrchestrationRuntimeStatus.Suspended,
        (OrchestrationRuntimeStatus.Completed, {"request": {}, "decision": "yes"}),
        (OrchestrationRuntimeStatus.Terminated, "not needed"),
    ]


def test_rewind_runs_a_failed_instance_on_and_refuses_a_completed_one(server: Served) -> None:
    async def scenario(client: DurableOrchestrationClient) -> list[Any]:
        seen: list[Any] = []
        instance_id = await client.start_new("flaky", None, "compat-rewind")
        _finished(server, instance_id)
        seen.append((await client.get_status(instance_id)).runtime_status)
        await client.rewind(instance_id, "retry")
        _until(server, instance_id, lambda s: s.status is RuntimeStatus.COMPLETED, "to complete")
        done = await client.get_status(instance_id)
        seen.append((done.runtime_status, done.output))
        with pytest.raises(Exception, match="only supported on failed") as refused:
            await client.rewind(instance_id, "again")
        seen.append(str(refused.value))
        return seen

    assert _run(server, scenario) == [
        OrchestrationRuntimeStatus.Failed,
        (OrchestrationRuntimeStatus.Completed, ["COMPAT-REWIND", "compat-rewind done"]),
        "The rewind operation is only supported on failed orchestration instances.",
    ]


def test_unknown_orchestrator_raises_the_server_message(server: Served) -> None:
    async def scenario(client: DurableOrchestrationClient) -> None:
        await client.start_new("nope")

    with pytest.raises(Exception, match="no orchestrator is registered under the name 'nope'"):
        _run(server, scenario)


def test_wait_for_completion_or_create_check_status_response(server: Served) -> None:
    request = func.HttpRequest(method="POST", url="http://public.example:8080/api/start", body=b"")

    async def scenario(client: DurableOrchestrationClient) -> list[Any]:
        done = await client.start_new("hello", None, "Ada")
        _finished(server, done)
        completed = await client.wait_for_completion_or_create_check_status_response(
            request, done, timeout_in_milliseconds=2000, retry_interval_in_milliseconds=100
        )
        waiting = await client.start_new("approval", "compat-waiting", {})
        pending = await client.wait_for_completion_or_create_check_status_response(
            request, waiting, timeout_in_milliseconds=50, retry_interval_in_milliseconds=10
        )
        return [
            (completed.status_code, completed.get_body()),
            (pending.status_code, pending.headers["Location"]),
        ]

    assert _run(server, scenario) == [
        (200, b"Hello, Ada!"),  # the client passes a str output through as the body
        (
            202,
            "http://public.example:8080/runtime/webhooks/durabletask/instances/compat-waiting",
        ),
    ]


def test_get_status_all_and_purge_instance_history_by(tmp_path: Path) -> None:
    with make_api(tmp_path / "durable.db") as fresh:

        async def scenario(client: DurableOrchestrationClient) -> list[Any]:
            done = [await client.start_new("hello", None, name) for name in ("A", "B")]
            waiting = await client.start_new("approval", "compat-left", {})
            for instance_id in done:
                _finished(fresh, instance_id)
            _until(fresh, waiting, lambda s: "approve" in s.waiting.events, "to wait")
            everything = await client.get_status_all()
            purged = await client.purge_instance_history_by(
                created_time_from=datetime(2000, 1, 1, tzinfo=UTC),
                runtime_status=[OrchestrationRuntimeStatus.Completed],
            )
            left = await client.get_status_all()
            return [
                sorted(status.instance_id for status in everything) == sorted([*done, waiting]),
                purged.instances_deleted,
                [(status.instance_id, status.runtime_status) for status in left],
            ]

        assert _run(fresh, scenario) == [
            True,
            2,
            [("compat-left", OrchestrationRuntimeStatus.Running)],
        ]
