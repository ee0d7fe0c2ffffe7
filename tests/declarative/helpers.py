"""Declarative test helpers: a fixed start, an app of plain activities, documents from YAML text."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from typing import Any

from durable import App
from durable.declarative.loader import load_text
from durable.history import HistoryEvent, TaskScheduled, TimerCreated
from durable.testing import Simulation

START = datetime(2030, 1, 1, tzinfo=UTC)
"""Where every simulation in these tests starts."""

ACTIVITIES = (
    "work",
    "charge",
    "refund",
    "notify",
    "check",
    "validate_expense",
    "request_approval",
    "send_reminder",
    "reassign_approval",
    "durable.http_request",
)
"""Activities of `make_app`; each returns ``{"activity": name, "input": input}`` unless faked."""


def _echo(name: str) -> Any:
    def activity(input: Any = None) -> Any:
        return {"activity": name, "input": input}

    activity.__name__ = activity.__qualname__ = name.replace(".", "_")
    return activity


def make_app(*names: str) -> App:
    """An app with the standard activities (and `names` besides), and a ``child`` workflow."""
    app = App()
    for name in (*ACTIVITIES, *names):
        app.activity(name=name)(_echo(name))

    async def child(ctx: Any, input: Any = None) -> Any:
        return {"child": input}

    app.orchestrator(name="child")(child)
    return app


def document(text: str) -> dict[str, Any]:
    """A document from YAML text (dedented, read as YAML 1.2); durable, name, version defaulted."""
    loaded = load_text(textwrap.dedent(text))
    assert loaded.problems == [], loaded.problems
    data = loaded.data
    return {"durable": 1, "name": "wf", "version": "1", **data}


OPEN: list[Simulation] = []
"""Simulations made by `simulation`; conftest.py closes them after each test."""


def simulation(app: App, **options: Any) -> Simulation:
    """A simulation of `app` starting at `START` (closed after the test)."""
    made = Simulation(app, start=START, **options)
    OPEN.append(made)
    return made


def at(**delta: float) -> datetime:
    """`START` plus a delay."""
    return START + timedelta(**delta)


def calls(sim: Simulation, instance_id: str) -> list[tuple[str, Any, datetime]]:
    """The activity calls of an instance as (name, input, time)."""
    return [(call.name, call.input, call.at) for call in sim.calls(instance_id=instance_id)]


def timers(history: list[HistoryEvent]) -> list[datetime]:
    """The fire times of the timers a history created, in order."""
    return [event.fire_at for event in history if isinstance(event, TimerCreated)]


def scheduled(history: list[HistoryEvent]) -> list[str]:
    """The names of the activities a history scheduled, in order."""
    return [event.name for event in history if isinstance(event, TaskScheduled)]
