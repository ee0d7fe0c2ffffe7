"""Bad input end to end: each mistake raises a documented `DurableError` subclass whose
message says what was wrong, and nothing stored changes; mistakes inside orchestrator
or activity code fail that instance only, with its failure as data."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from durable import App, Client, OrchestrationContext, RuntimeStatus, Worker
from durable.errors import (
    ActivityError,
    DurableError,
    InstanceFinishedError,
    InstanceNotFoundError,
    InvalidArgumentError,
    OrchestratorNotFoundError,
    PayloadError,
    RegistrationError,
)
from durable.history import TaskFailed
from durable.stores import MemoryStore
from tests.integration.test_end_to_end_support import T0, WAIT, store_state, wait_until

app = App()


class Widget:
    """Not JSON, and no converter hook knows it."""


@app.activity
def echo(value: Any) -> Any:
    return value


@app.activity
def make_widget() -> Widget:
    return Widget()


@app.orchestrator
def hold(ctx: OrchestrationContext, label: str):  # type: ignore[no-untyped-def]
    return [label, (yield ctx.wait_for_event("go"))]


@app.orchestrator
def finishes(ctx: OrchestrationContext, value: Any):  # type: ignore[no-untyped-def]
    return (yield ctx.call_activity(echo, value))


@app.orchestrator
def calls_a_ghost(ctx: OrchestrationContext):  # type: ignore[no-untyped-def]
    return (yield ctx.call_activity("ghost_activity", 1))


@app.orchestrator
def raises(ctx: OrchestrationContext, amount: int):  # type: ignore[no-untyped-def]
    yield ctx.call_activity(echo, amount)
    raise LookupError(f"no account for amount {amount}")


@app.orchestrator
def keeps_a_widget(ctx: OrchestrationContext):  # type: ignore[no-untyped-def]
    return (yield ctx.call_activity(make_widget))


@app.orchestrator
def bad_timer(ctx: OrchestrationContext, which: str):  # type: ignore[no-untyped-def]
    yield ctx.create_timer(BAD_TIMERS[which])


@app.orchestrator
async def sleeps(ctx: OrchestrationContext) -> None:
    await asyncio.sleep(1)


CALLED = ["echo"]  # what `drifting` calls first; a test changes it mid-flight


@app.orchestrator
def drifting(ctx: OrchestrationContext):  # type: ignore[no-untyped-def]
    yield ctx.call_activity(CALLED[0], 1)
    return (yield ctx.wait_for_event("go"))


BAD_TIMERS: dict[str, Any] = {
    "negative": timedelta(seconds=-1),
    "absurd-delay": timedelta(days=366 * 101),
    "absurd-time": datetime(2300, 1, 1, tzinfo=T0.tzinfo),
    "naive": datetime(2030, 1, 1),
    "not-a-time": 5,
}


def stray(ctx: OrchestrationContext) -> None:
    """Never registered."""


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def client(store: MemoryStore) -> Client:
    return Client(store, app=app)


@pytest.fixture
def worker(store: MemoryStore) -> Iterator[Worker]:
    with Worker(app, store) as running:
        yield running


@pytest.fixture
def populated(store: MemoryStore, client: Client, worker: Worker) -> Client:
    """A store with one completed instance ('done') and one waiting for 'go' ('waiting')."""
    client.start(finishes, {"n": 1}, instance_id="done")
    client.start(hold, "w", instance_id="waiting")
    client.wait("done", timeout=WAIT)
    wait_until(store, lambda: client.status("waiting").waiting.events, what="'waiting' to wait")
    return client


@contextlib.contextmanager
def nothing_changes(client: Client) -> Iterator[None]:
    """Assert that the block leaves every instance row and history as it found them."""
    before = store_state(client)
    yield
    assert store_state(client) == before


# -- client calls ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("orchestrator", "message"),
    [
        ("nope", "no orchestrator is registered under the name 'nope'; registered: "),
        (stray, r"stray \(function not registered with this app\)"),
    ],
    ids=["name", "function"],
)
def test_start_of_an_unregistered_orchestrator_is_refused(
    populated: Client, orchestrator: Any, message: str
) -> None:
    with (
        nothing_changes(populated),
        pytest.raises(OrchestratorNotFoundError, match=message) as raised,
    ):
        populated.start(orchestrator, instance_id="new")
    assert "drifting, finishes, hold, keeps_a_widget, raises" in str(raised.value)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (Widget(), "input of orchestrator 'hold': cannot convert a value of type Widget to JSON"),
        (
            {"ok": [1, Widget()]},
            r"cannot convert a value of type Widget \(inside dict, at \$\.ok\[1\]\) to JSON",
        ),
        ({1: "int key"}, "a dict key of type int at \\$ cannot become JSON"),
        (float("nan"), "NaN at \\$ is not valid JSON"),
        (1 + 2j, "cannot convert a value of type complex to JSON"),
    ],
    ids=["object", "nested", "int-key", "nan", "complex"],
)
def test_start_with_an_input_that_is_not_json_is_refused_naming_the_type(
    populated: Client, payload: Any, message: str
) -> None:
    with nothing_changes(populated), pytest.raises(PayloadError, match=message):
        populated.start(hold, payload, instance_id="new")


def test_raise_event_with_data_that_is_not_json_is_refused_naming_the_type(
    populated: Client,
) -> None:
    message = "data of event 'go': cannot convert a value of type Widget to JSON"
    with nothing_changes(populated), pytest.raises(PayloadError, match=message):
        populated.raise_event("waiting", "go", Widget())


@pytest.mark.parametrize(
    ("instance_id", "message"),
    [
        ("a/b", "instance id 'a/b' contains '/'"),
        ("a#b", "instance id 'a#b' contains '#'"),
        ("", "instance id must be a non-empty str, got ''"),
        ("x" * 300, "instance id is 300 characters long; at most 256 are allowed"),
        ("a\nb", r"instance id 'a\\nb' contains '\\n'"),
        ("a\x00b", r"instance id 'a\\x00b' contains '\\x00'"),
        (42, "instance id must be a non-empty str, got 42"),
        ("a\ud800b", r"instance id 'a\\ud800b' contains '\\ud800'.*unpaired surrogates"),
    ],
    ids=["slash", "hash", "empty", "too-long", "newline", "nul", "not-a-str", "surrogate"],
)
def test_start_with_an_invalid_instance_id_is_refused(
    populated: Client, instance_id: Any, message: str
) -> None:
    with nothing_changes(populated), pytest.raises(InvalidArgumentError, match=message):
        populated.start(hold, "x", instance_id=instance_id)


def test_start_with_a_naive_start_time_is_refused(populated: Client) -> None:
    with (
        nothing_changes(populated),
        pytest.raises(InvalidArgumentError, match="start_at must be an aware datetime"),
    ):
        populated.start(hold, "x", instance_id="new", start_at=datetime(2030, 1, 1))


@pytest.mark.parametrize(
    "operation",
    [
        lambda client: client.status("ghost"),
        lambda client: client.raise_event("ghost", "go", 1),
        lambda client: client.terminate("ghost", "why"),
        lambda client: client.suspend("ghost"),
        lambda client: client.resume("ghost"),
        lambda client: client.history("ghost"),
        lambda client: client.wait("ghost", timeout=WAIT),
    ],
    ids=["status", "raise_event", "terminate", "suspend", "resume", "history", "wait"],
)
def test_unknown_instance_ids_are_reported(populated: Client, operation: Any) -> None:
    with (
        nothing_changes(populated),
        pytest.raises(InstanceNotFoundError, match="no instance with id 'ghost'") as raised,
    ):
        operation(populated)
    assert raised.value.instance_id == "ghost"


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        (lambda c: c.raise_event("done", "go", 1), "cannot raise event 'go' to instance 'done'"),
        (lambda c: c.terminate("done", "late"), "cannot terminate instance 'done'"),
        (lambda c: c.suspend("done"), "cannot suspend instance 'done'"),
        (lambda c: c.resume("done"), "cannot resume instance 'done'"),
    ],
    ids=["raise_event", "terminate", "suspend", "resume"],
)
def test_requests_to_a_completed_instance_are_refused(
    populated: Client, operation: Any, message: str
) -> None:
    with (
        nothing_changes(populated),
        pytest.raises(InstanceFinishedError, match=f"{message}: it is already COMPLETED"),
    ):
        operation(populated)


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "event name must be a non-empty str"), ("a/b", "event name 'a/b' contains '/'")],
    ids=["empty", "slash"],
)
def test_raise_event_with_an_invalid_name_is_refused(
    populated: Client, name: str, message: str
) -> None:
    with nothing_changes(populated), pytest.raises(InvalidArgumentError, match=message):
        populated.raise_event("waiting", name, 1)


@pytest.mark.parametrize(
    ("timeout", "message"),
    [
        (timedelta(seconds=-1), "timeout must be zero or more, got -1 day, 23:59:59"),
        (timedelta(days=366 * 101), "timeout must be at most 36600 days"),
        (5, "timeout must be a timedelta, got int"),
    ],
    ids=["negative", "absurd", "seconds-as-int"],
)
def test_wait_with_a_bad_timeout_is_refused(populated: Client, timeout: Any, message: str) -> None:
    with nothing_changes(populated), pytest.raises(InvalidArgumentError, match=message):
        populated.wait("waiting", timeout=timeout)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"page_size": 0}, "page_size must be an int from 1 to 10000, got 0"),
        ({"continuation": "not a token"}, "continuation token 'not a token' is not valid"),
    ],
    ids=["page-size", "continuation"],
)
def test_list_with_bad_paging_is_refused(
    populated: Client, query: dict[str, Any], message: str
) -> None:
    with nothing_changes(populated), pytest.raises(InvalidArgumentError, match=message):
        populated.list(**query)


def test_every_client_error_derives_from_durable_error() -> None:
    for error in (
        OrchestratorNotFoundError,
        PayloadError,
        InvalidArgumentError,
        InstanceNotFoundError,
        InstanceFinishedError,
        RegistrationError,
    ):
        assert issubclass(error, DurableError)


# -- registrations and worker arguments -------------------------------------------------------


def test_registering_a_name_twice_is_refused_and_keeps_the_first() -> None:
    fresh = App()

    @fresh.orchestrator(name="flow")
    def first(ctx: OrchestrationContext) -> str:
        return "first"

    def second(ctx: OrchestrationContext) -> str:
        return "second"

    @fresh.activity(name="step")
    def one() -> None: ...

    def two() -> None: ...

    with pytest.raises(RegistrationError, match="an orchestrator named 'flow' is already"):
        fresh.orchestrator(name="flow")(second)
    with pytest.raises(RegistrationError, match="an activity named 'step' is already registered"):
        fresh.activity(name="step")(two)
    assert fresh.find_orchestrator("flow").function is first
    assert fresh.find_activity("step").function is one
    assert (fresh.orchestrator_names, fresh.activity_names) == (["flow"], ["step"])


def test_registering_a_function_twice_is_refused() -> None:
    fresh = App()

    @fresh.activity
    def step() -> None: ...

    with pytest.raises(RegistrationError, match="step' is already registered as 'step'"):
        fresh.activity(name="step_again")(step)
    with pytest.raises(RegistrationError, match="step' is already registered as 'step'"):
        fresh.orchestrator(name="step_flow")(step)
    assert (fresh.orchestrator_names, fresh.activity_names) == ([], ["step"])


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"max_activities": 0}, "max_activities must be an int of at least 1, got 0"),
        ({"max_orchestrations": -1}, "max_orchestrations must be an int of at least 1, got -1"),
        ({"max_activities": 2.5}, "max_activities must be an int of at least 1, got 2.5"),
        ({"max_activities": True}, "max_activities must be an int of at least 1, got True"),
        ({"cache_size": -1}, "cache_size must be an int of at least 0, got -1"),
        ({"lease": timedelta(seconds=-5)}, "lease must be more than zero, got -1 day, 23:59:55"),
        ({"lease": timedelta(0)}, "lease must be more than zero, got 0:00:00"),
        ({"lease": 30}, "lease must be a timedelta, got int"),
        ({"poll_interval": timedelta(0)}, "poll_interval must be more than zero"),
    ],
    ids=[
        "no-activities",
        "negative-orchestrations",
        "float",
        "bool",
        "negative-cache",
        "negative-lease",
        "zero-lease",
        "lease-in-seconds",
        "zero-poll",
    ],
)
def test_worker_with_bad_arguments_is_refused(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        Worker(app, MemoryStore(), **arguments)


# -- mistakes inside orchestrations -----------------------------------------------------------


def test_orchestrator_calling_an_unregistered_activity_fails_and_the_worker_serves_on(
    client: Client, worker: Worker
) -> None:
    failed = client.wait(client.start(calls_a_ghost, instance_id="ghostly"), timeout=WAIT)
    assert failed.status is RuntimeStatus.FAILED
    assert failed.failure is not None
    assert (failed.failure.type_name, failed.failure.message) == (
        "ActivityNotFoundError",
        "no activity is registered under the name 'ghost_activity'; registered: echo, make_widget",
    )
    assert client.wait(client.start(finishes, 5), timeout=WAIT).output == 5


def test_instance_of_an_orchestrator_the_worker_does_not_know_fails_clearly(
    store: MemoryStore, worker: Worker
) -> None:
    anonymous = Client(store)  # no app: names are not checked at start
    failed = anonymous.wait(anonymous.start("unknown_flow", instance_id="lost"), timeout=WAIT)
    assert failed.status is RuntimeStatus.FAILED
    assert failed.failure is not None
    assert (failed.failure.type_name, failed.failure.message) == (
        "OrchestratorNotFoundError",
        "no orchestrator is registered under the name 'unknown_flow'; registered: bad_timer, "
        "calls_a_ghost, drifting, finishes, hold, keeps_a_widget, raises, sleeps",
    )


def test_orchestrator_raising_fails_the_instance_with_its_failure_details(
    client: Client, worker: Worker
) -> None:
    failed = client.wait(client.start(raises, 12), timeout=WAIT)
    failure = failed.failure
    assert (failed.status, failed.output) == (RuntimeStatus.FAILED, None)
    assert failure is not None
    assert (failure.type_name, failure.message, failure.base_type_names) == (
        "LookupError",
        "no account for amount 12",
        ("Exception", "BaseException"),
    )
    assert 'raise LookupError(f"no account for amount {amount}")' in (failure.traceback or "")


def test_activity_returning_a_value_that_is_not_json_fails_the_call_with_payload_error(
    client: Client, worker: Worker
) -> None:
    instance_id = client.start(keeps_a_widget)
    failed = client.wait(instance_id, timeout=WAIT)
    message = (
        "result of activity 'make_widget': cannot convert a value of type Widget to JSON; "
        "use JSON types, datetimes, enums, attrs classes or dataclasses"
    )
    task_failed = [e for e in client.history(instance_id) if isinstance(e, TaskFailed)]
    assert [(e.failure.type_name, e.failure.message) for e in task_failed] == [
        ("PayloadError", message)
    ]
    assert task_failed[0].failure.non_retryable
    assert failed.failure is not None
    assert (failed.status, failed.failure.type_name, failed.failure.message) == (
        RuntimeStatus.FAILED,
        ActivityError.__name__,
        f"activity 'make_widget' failed with PayloadError: {message}",
    )


@pytest.mark.parametrize(
    ("which", "message"),
    [
        ("negative", "timer delay must be zero or more, got -1 day, 23:59:59"),
        ("absurd-delay", "timer delay must be at most 36600 days, got 36966 days, 0:00:00"),
        ("absurd-time", "timer time 2300-01-01T00:00:00+00:00 is more than 36600 days away"),
        ("naive", "timer time 2030-01-01T00:00:00 has no time zone; use an aware UTC datetime"),
        ("not-a-time", "create_timer takes a datetime or a timedelta, got int"),
    ],
    ids=list(BAD_TIMERS),
)
def test_create_timer_with_a_bad_time_fails_the_instance(
    client: Client, worker: Worker, which: str, message: str
) -> None:
    failed = client.wait(client.start(bad_timer, which), timeout=WAIT)
    assert failed.status is RuntimeStatus.FAILED
    assert failed.failure is not None
    assert failed.failure.type_name == "InvalidArgumentError"
    assert failed.failure.message == message
    assert not any(type(e).__name__ == "TimerCreated" for e in client.history(failed.instance_id))


def test_orchestrator_awaiting_asyncio_sleep_fails_saying_what_to_use_instead(
    client: Client, worker: Worker
) -> None:
    failed = client.wait(client.start(sleeps), timeout=WAIT)
    assert failed.status is RuntimeStatus.FAILED
    assert failed.failure is not None
    assert failed.failure.type_name == "UnsupportedAwaitError"
    assert "ctx.create_timer instead of asyncio.sleep" in failed.failure.message


def test_orchestrator_code_changed_mid_flight_fails_with_nondeterminism_on_replay(
    store: MemoryStore, client: Client
) -> None:
    CALLED[0] = "echo"
    try:
        with Worker(app, store, cache_size=0):  # every episode replays the history
            client.start(drifting, instance_id="drift")
            wait_until(store, lambda: client.status("drift").waiting.events, what="the wait")
            CALLED[0] = "make_widget"  # a new deployment of the orchestrator
            client.raise_event("drift", "go", 1)
            failed = client.wait("drift", timeout=WAIT)
    finally:
        CALLED[0] = "echo"
    assert failed.status is RuntimeStatus.FAILED
    assert failed.failure is not None
    assert (failed.failure.type_name, failed.failure.message) == (
        "NonDeterminismError",
        "non-deterministic orchestrator in instance 'drift' at history event 2: history "
        "recorded activity 'echo' (call 0), but the code now asks for activity 'make_widget' "
        "(call 0)",
    )
