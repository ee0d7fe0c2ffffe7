"""Payloads through the engine: structured to annotated types, unconvertible ones refused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import attrs
import pytest

from durable._engine.context import OrchestrationContext
from durable._engine.replay import replay
from durable._model.definitions import ActivityDefinition, OrchestratorDefinition
from durable._model.events import ExecutionFailed
from durable._model.status import RuntimeStatus
from durable.errors import PayloadError
from tests.unit.engine.histories import (
    T0,
    DictRegistry,
    at,
    child,
    child_completed,
    completed,
    decision,
    episode,
    execution_completed,
    failure_of,
    raised,
    scheduled,
    started,
    without_traceback,
)


@dataclass
class Order:
    id: str
    amount_cents: int
    placed_at: datetime


@attrs.frozen
class Receipt:
    number: int
    order: Order


@attrs.frozen
class Approval:
    by: str
    approved: bool


def charge(order: Order) -> Receipt:
    raise AssertionError("activities do not run in the engine")


ORDER_JSON = {"id": "o-1", "amount_cents": 1250, "placed_at": "2024-01-01T00:00:00+00:00"}
ORDER = Order(id="o-1", amount_cents=1250, placed_at=T0)
RECEIPT_JSON = {"number": 7, "order": ORDER_JSON}
REGISTRY = DictRegistry([ActivityDefinition.of(charge)])


def billing_generator(ctx: OrchestrationContext, order: Order) -> Any:
    receipt = yield ctx.call_activity(charge, order)
    approval = yield ctx.wait_for_event("approval", data_type=Approval)
    return [
        type(order).__name__,
        order == ORDER,
        type(receipt).__name__,
        receipt == Receipt(number=7, order=ORDER),
        type(approval).__name__,
        approval,
    ]


async def billing_async(ctx: OrchestrationContext, order: Order) -> list[Any]:
    receipt = await ctx.call_activity(charge, order)
    approval = await ctx.wait_for_event("approval", data_type=Approval)
    return [
        type(order).__name__,
        order == ORDER,
        type(receipt).__name__,
        receipt == Receipt(number=7, order=ORDER),
        type(approval).__name__,
        approval,
    ]


@pytest.mark.parametrize("orchestrator", [billing_generator, billing_async])
def test_payloads_are_structured_to_the_annotated_types(orchestrator: Any) -> None:
    history = [
        episode(T0),
        started(ORDER_JSON),
        scheduled(0, "charge", ORDER_JSON, t=T0),
        episode(at(1)),
        completed(0, RECEIPT_JSON, t=at(1)),
    ]
    approval = raised("approval", {"by": "ann", "approved": True}, t=at(2))

    result = replay(orchestrator, history, [approval], now=at(2), registry=REGISTRY)

    # The Approval is unstructured back to JSON on the way out.
    output = ["Order", True, "Receipt", True, "Approval", {"by": "ann", "approved": True}]
    assert result == decision(
        [episode(at(2)), approval, execution_completed(output, t=at(2))],
        RuntimeStatus.COMPLETED,
        output=output,
    )


@pytest.mark.parametrize("orchestrator", [billing_generator, billing_async])
def test_payload_input_is_unstructured_to_json_in_the_call(orchestrator: Any) -> None:
    result = replay(orchestrator, [], [started(ORDER_JSON)], now=T0, registry=REGISTRY)

    assert result.actions == (scheduled(0, "charge", ORDER_JSON, t=T0),)


async def shipping(ctx: OrchestrationContext, box: str) -> Receipt:
    return Receipt(number=1, order=ORDER)


async def parent(ctx: OrchestrationContext) -> list[Any]:
    receipt = await ctx.call_sub_orchestrator(shipping, "box")
    return [type(receipt).__name__, receipt == Receipt(number=7, order=ORDER)]


def test_payload_sub_orchestration_output_is_structured_to_its_return_annotation() -> None:
    registry = DictRegistry(orchestrators=[OrchestratorDefinition.of(shipping)])
    history = [episode(T0), started(), child(0, "shipping", "order-1:0", "box", t=T0)]

    result = replay(
        parent, history, [child_completed(0, RECEIPT_JSON, t=at(1))], now=at(1), registry=registry
    )

    assert result.output == ["Receipt", True]


def test_payload_input_that_does_not_fit_the_annotation_fails_the_instance() -> None:
    bad = {"id": "o-1", "amount_cents": "lots", "placed_at": "2024-01-01T00:00:00+00:00"}

    result = replay(billing_async, [], [started(bad)], now=T0, registry=REGISTRY)

    details = failure_of(result)
    assert (details.type_name, details.message) == (
        "PayloadError",
        "input of orchestrator 'billing_async': cannot structure dict {'id': 'o-1', "
        "'amount_cents': 'lots', 'placed_at': '2024-... as Order: "
        "invalid value for type, expected int @ $.amount_cents",
    )
    assert result.actions == ()


async def tolerant(ctx: OrchestrationContext) -> str:
    try:
        await ctx.call_activity(charge, ORDER)
    except PayloadError as error:
        return str(error)
    return "structured"


def test_payload_result_that_does_not_fit_the_return_annotation_raises_at_the_await() -> None:
    history = [episode(T0), started(), scheduled(0, "charge", ORDER_JSON, t=T0)]

    result = replay(
        tolerant, history, [completed(0, {"number": "x"}, t=at(1))], now=at(1), registry=REGISTRY
    )

    assert result.output == (
        "result of activity 'charge': cannot structure dict {'number': 'x'} as Receipt: "
        "invalid value for type, expected int @ $.number; required field missing @ $.order"
    )


class Opaque:
    pass


def sends_opaque(ctx: OrchestrationContext) -> Any:
    try:
        yield ctx.call_activity("store", {"items": [1, Opaque()]})
    except PayloadError as error:
        return str(error)
    return "sent"


async def sends_opaque_uncaught(ctx: OrchestrationContext) -> None:
    await ctx.call_activity("store", Opaque())


def test_payload_that_cannot_become_json_fails_at_the_call_site_naming_the_type() -> None:
    result = replay(sends_opaque, [], [started()], now=T0)

    message = (
        "input of activity 'store': cannot convert a value of type Opaque "
        "(inside dict, at $.items[1]) to JSON; use JSON types, datetimes, enums, attrs "
        "classes or dataclasses"
    )
    assert result == decision(
        [episode(T0), started(), execution_completed(message, t=T0)],
        RuntimeStatus.COMPLETED,
        output=message,
    )


def test_payload_that_cannot_become_json_fails_the_instance_when_not_caught() -> None:
    result = replay(sends_opaque_uncaught, [], [started()], now=T0)

    details = failure_of(result)
    assert (details.type_name, details.message, details.non_retryable) == (
        "PayloadError",
        "input of activity 'store': cannot convert a value of type Opaque to JSON; "
        "use JSON types, datetimes, enums, attrs classes or dataclasses",
        False,
    )
    assert result.new_events == (
        episode(T0),
        started(),
        ExecutionFailed(timestamp=T0, failure=details),
    )


def sends_nan(ctx: OrchestrationContext) -> Any:
    try:
        yield ctx.call_activity("store", float("nan"))
    except PayloadError as error:
        return str(error)
    return "sent"


def test_payload_non_finite_float_fails_at_the_call_site() -> None:
    result = replay(sends_nan, [], [started()], now=T0)

    assert result.output == "input of activity 'store': NaN at $ is not valid JSON"


def returns_opaque_generator(ctx: OrchestrationContext) -> Any:
    yield ctx.call_activity("step")
    return Opaque()


async def returns_opaque_async(ctx: OrchestrationContext) -> Any:
    await ctx.call_activity("step")
    return {"result": Opaque()}


@pytest.mark.parametrize(
    ("orchestrator", "message"),
    [
        (
            returns_opaque_generator,
            "output of orchestrator 'returns_opaque_generator': cannot convert a value of "
            "type Opaque to JSON; use JSON types, datetimes, enums, attrs classes or dataclasses",
        ),
        (
            returns_opaque_async,
            "output of orchestrator 'returns_opaque_async': cannot convert a value of type "
            "Opaque (inside dict, at $.result) to JSON; use JSON types, datetimes, enums, attrs "
            "classes or dataclasses",
        ),
    ],
)
def test_payload_output_that_cannot_become_json_fails_the_instance(
    orchestrator: Any, message: str
) -> None:
    history = [episode(T0), started(), scheduled(0, "step", t=T0)]

    result = replay(orchestrator, history, [completed(0, t=at(1))], now=at(1))

    details = failure_of(result)
    assert without_traceback(details).message == message
    assert result == decision(
        [episode(at(1)), completed(0, t=at(1)), ExecutionFailed(timestamp=at(1), failure=details)],
        RuntimeStatus.FAILED,
        failure=details,
    )


def notify(order: Order) -> None:
    raise AssertionError("activities do not run in the engine")


async def notifying(ctx: OrchestrationContext, order: Order) -> list[Any]:
    nothing = await ctx.call_activity(notify, order)
    return [nothing]


def test_payload_result_of_an_activity_annotated_none_is_none() -> None:
    registry = DictRegistry([ActivityDefinition.of(notify)])
    history = [episode(T0), started(ORDER_JSON), scheduled(0, "notify", ORDER_JSON, t=T0)]

    result = replay(notifying, history, [completed(0, None, t=at(1))], now=at(1), registry=registry)

    assert (result.status, result.output, result.failure) == (RuntimeStatus.COMPLETED, [None], None)
