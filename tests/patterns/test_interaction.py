"""wait_for_reply in virtual time: what is asked when, which events count, how it ends."""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from typing import Any

import pytest

from durable import App, OrchestrationContext, RuntimeStatus
from durable.errors import InvalidArgumentError
from durable.history import TimerCreated
from durable.patterns import Reply, wait_for_reply
from durable.testing import Simulation
from tests.patterns.helpers import START, Call, calls

app = App()
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
TICKET = {"ticket": "T-9", "owner": "ann", "lead": "lou"}


@app.activity
def ask_owner(ticket: dict[str, Any]) -> str:
    return f"asked {ticket['owner']}"


@app.activity
def page(person: str) -> str:
    return f"paged {person}"


@app.orchestrator
async def page_lead(ctx: OrchestrationContext, lead: str) -> str:
    return str(await ctx.call_activity(page, lead))


def _reply(reply: Reply) -> dict[str, Any]:
    return {"answered": reply.answered, "data": reply.data, "level": reply.level, "at": reply.at}


@app.orchestrator
async def sign_off(ctx: OrchestrationContext, ticket: dict[str, Any]) -> Any:
    reply = await wait_for_reply(
        ctx,
        "SignOff",
        ask=lambda: ctx.call_activity(ask_owner, ticket),
        escalations=[
            ("P1D", lambda: ctx.call_activity(page, ticket["owner"])),
            (2 * DAY, lambda: ctx.call_sub_orchestrator(page_lead, ticket["lead"])),
        ],
        deadline="P3D",
        accept=lambda data: isinstance(data, dict) and data.get("by") in ("ann", "lou"),
    )
    return _reply(reply)


@app.orchestrator
def just_wait(ctx: OrchestrationContext, _: Any = None) -> Generator[Any, Any, Any]:
    reply = yield wait_for_reply(ctx, "Go", deadline="PT2H")
    return _reply(reply)


@pytest.fixture
def sim(simulation_factory: Any, durable_seed: int) -> Simulation:
    return simulation_factory(app, start=START, seed=durable_seed)


def _timers(sim: Simulation, instance: str) -> list[Any]:
    return [event.fire_at for event in sim.history(instance) if isinstance(event, TimerCreated)]


def test_an_unanswered_request_escalates_at_each_delay_from_the_start_and_times_out(
    sim: Simulation,
) -> None:
    instance = sim.start(sign_off, TICKET)
    sim.raise_event(instance, "SignOff", {"by": "mallory"}, at=HOUR)
    sim.run_until_idle()
    assert sim.status(instance).output == {
        "answered": False,
        "data": None,
        "level": 2,
        "at": (START + 3 * DAY).isoformat(),
    }
    assert calls(sim) == [
        Call("ask_owner", TICKET, START),
        Call("page", "ann", START + DAY),
        Call("page", "lou", START + 2 * DAY),
    ]
    assert _timers(sim, instance) == [START + DAY, START + 2 * DAY, START + 3 * DAY]


def test_an_accepted_event_ends_the_wait_and_no_later_timer_is_created(sim: Simulation) -> None:
    instance = sim.start(sign_off, TICKET)
    sim.raise_event(instance, "SignOff", "not an object", at=HOUR)
    sim.raise_event(instance, "SignOff", {"by": "lou", "ok": True}, at=DAY + HOUR)
    sim.run_until_idle()
    assert sim.status(instance).output == {
        "answered": True,
        "data": {"by": "lou", "ok": True},
        "level": 1,
        "at": (START + DAY + HOUR).isoformat(),
    }
    assert [call.name for call in calls(sim)] == ["ask_owner", "page"]
    assert _timers(sim, instance) == [START + DAY, START + 2 * DAY]


def test_without_ask_or_accept_the_first_event_is_the_reply(sim: Simulation) -> None:
    instance = sim.start(just_wait)
    sim.raise_event(instance, "Go", [1, 2], at=HOUR)
    sim.run_until_idle()
    status = sim.status(instance)
    assert (status.status, status.output) == (
        RuntimeStatus.COMPLETED,
        {"answered": True, "data": [1, 2], "level": 0, "at": (START + HOUR).isoformat()},
    )
    assert calls(sim) == []


def test_without_an_event_a_bare_wait_ends_at_its_deadline(sim: Simulation) -> None:
    instance = sim.start(just_wait)
    sim.run_until_idle()
    assert sim.status(instance).output == {
        "answered": False,
        "data": None,
        "level": 0,
        "at": (START + 2 * HOUR).isoformat(),
    }


def _nothing() -> Any:
    raise AssertionError("never called")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"event_name": ""}, r"^event_name must be a non-empty str"),
        ({"deadline": "PT0S"}, r"^deadline must be more than zero"),
        ({"escalations": [("PT0S", _nothing)]}, r"^escalation after must be more than zero"),
        (
            {"escalations": [("P2D", _nothing), ("P1D", _nothing)]},
            r"^escalation delays out of order: step 2 comes after 1 day, 0:00:00, "
            r"not later than step 1 \(2 days, 0:00:00\)",
        ),
        (
            {"escalations": [("P1D", _nothing), ("P3D", _nothing)]},
            r"^deadline 3 days, 0:00:00 must come after the last escalation \(3 days, 0:00:00\)",
        ),
        ({"escalations": [("P1D", "page")]}, r"^escalation 1's action must be a function"),
        ({"ask": "ask_owner"}, r"^ask must be a function"),
        ({"accept": True}, r"^accept must be a function"),
    ],
)
def test_wait_for_reply_rejects_bad_arguments_before_anything_runs(
    arguments: dict[str, Any], message: str
) -> None:
    options: dict[str, Any] = {"event_name": "SignOff", "deadline": "P3D", **arguments}
    with pytest.raises(InvalidArgumentError, match=message):
        wait_for_reply(None, **options)  # type: ignore[arg-type]
