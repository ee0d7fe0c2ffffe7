"""Apps and helpers shared by the durable.testing tests; it holds no tests.

The approval workflow is the one in examples/testing/approval.py, loaded from
its file so that the example, its test and its benchmark cannot drift apart.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Generator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from durable import App, OrchestrationContext, RetryPolicy, Task

__all__ = ["T0", "approval_example", "make_app"]

T0 = datetime(2030, 1, 1, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]

Orchestration = Generator[Task[Any], Any, Any]


def approval_example() -> ModuleType:
    """examples/testing/approval.py, imported by path."""
    spec = importlib.util.spec_from_file_location(
        "approval_example", ROOT / "examples" / "testing" / "approval.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_app() -> App:
    """A fresh app with small orchestrators that exercise each part of the harness."""
    app = App()

    @app.activity
    def double(value: int) -> int:
        return value * 2

    @app.activity
    def shout(text: str) -> str:
        return text.upper()

    @app.activity
    def clock_reading() -> dict[str, Any]:
        return {
            "now": datetime.now(UTC).isoformat(),
            "utcnow": datetime.utcnow().isoformat(),
            "time": time.time(),
        }

    @app.activity
    async def double_async(value: int) -> int:
        return value * 2

    @app.activity(retry=RetryPolicy(max_attempts=3, first_interval=timedelta(minutes=1)))
    def flaky(value: int) -> int:
        return value

    app.add_activity(_name_only("charge"))

    @app.orchestrator
    def chain(ctx: OrchestrationContext, value: int) -> Orchestration:
        first = yield ctx.call_activity(double, value)
        second = yield ctx.call_activity(double, first)
        return second

    @app.orchestrator
    def fan_out(ctx: OrchestrationContext, values: list[int]) -> Orchestration:
        results = yield ctx.when_all([ctx.call_activity(double, v) for v in values])
        return results

    @app.orchestrator
    def sleepy(ctx: OrchestrationContext, hours: int) -> Orchestration:
        yield ctx.create_timer(timedelta(hours=hours))
        ctx.set_custom_status({"woke": ctx.now.isoformat()})
        return ctx.now.isoformat()

    @app.orchestrator
    def greeter(ctx: OrchestrationContext) -> Orchestration:
        name = yield ctx.wait_for_event("name")
        ctx.set_custom_status("greeting")
        greeting = yield ctx.call_activity(shout, f"hello {name}")
        return greeting

    @app.orchestrator
    def read_clock(ctx: OrchestrationContext) -> Orchestration:
        reading = yield ctx.call_activity(clock_reading)
        return reading

    @app.orchestrator
    def async_double(ctx: OrchestrationContext, value: int) -> Orchestration:
        result = yield ctx.call_activity(double_async, value)
        return result

    @app.orchestrator
    def retried(ctx: OrchestrationContext, value: int) -> Orchestration:
        result = yield ctx.call_activity(flaky, value)
        return result

    @app.orchestrator
    def pay(ctx: OrchestrationContext, amount: int) -> Orchestration:
        receipt = yield ctx.call_activity("charge", amount)
        return receipt

    @app.orchestrator
    def forever(ctx: OrchestrationContext) -> Orchestration:
        while True:
            yield ctx.create_timer(timedelta(minutes=1))

    return app


def _name_only(name: str) -> Any:
    from durable._model.definitions import ActivityDefinition

    return ActivityDefinition(name=name)
