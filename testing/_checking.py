"""The simulation's replay check: after each episode, replay from scratch and compare.

The instance's full history, as a worker without a cache would read it, is
replayed through a *fresh* execution (a new call of the orchestrator
function) in a different world: clock reads answer ten years and a half day
away, ``random`` and ``uuid4`` answer from another stream, and every such
read is reported. The check fails with `NonDeterminismError` at the earliest
of:

- a read of the clock, ``random`` or ``uuid.uuid4``/``uuid1`` by orchestrator
  code (at the history event whose handling ran that code);
- a divergence `first_divergence` finds (other calls, other arguments, extra
  calls, another ending);
- a difference between the live execution's state after the episode and the
  fresh one's: status, output, failure type, custom status, what it waits
  for, continue-as-new input.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from durable import App
from durable._engine.decision import Decision
from durable.errors import NonDeterminismError
from durable.history import HistoryEvent
from durable.testing._describe import describe_event, describe_value
from durable.testing._divergence import Probe, first_divergence, same_json
from durable.testing._world import World

__all__ = ["ReplayChecker"]

_HINT = "a value that differs between runs (use ctx.now, ctx.new_uuid() or an activity instead)"


class ReplayChecker:
    """Checks episodes of one app's instances in one simulation's world."""

    def __init__(self, app: App, world: World) -> None:
        self._app = app
        self._world = world
        self.checks = 0

    def check(
        self, instance_id: str, name: str, events: Sequence[HistoryEvent], live: Decision
    ) -> None:
        """Replay `events` afresh and compare with `live`, the decision the episode committed.

        Raises:
            NonDeterminismError: at the first difference.
        """
        self.checks += 1
        probe = Probe(
            self._app.find_orchestrator(name),
            instance_id=instance_id,
            registry=self._app,
            converter=self._app.converter,
        )
        reads: list[NonDeterminismError] = []

        def report(what: str) -> None:
            if not reads:
                position = max(probe.position, 0)
                recorded = describe_event(events[position]) if position < len(events) else "-"
                reads.append(
                    NonDeterminismError(instance_id, position, recorded, f"{what}, {_HINT}")
                )

        with self._world.checking(report):
            probe.replay(events)
        snapshot = probe.snapshot()
        found = [
            error
            for error in (
                *reads,
                first_divergence(probe, events, snapshot),
                _changed_state(instance_id, len(events) - 1, live, snapshot),
            )
            if error is not None
        ]
        if found:
            raise min(found, key=lambda error: error.position)


def _changed_state(
    instance_id: str, position: int, live: Decision, fresh: Decision
) -> NonDeterminismError | None:
    for what, before, after in (
        ("status", live.status.value, fresh.status.value),
        ("output", live.output, fresh.output),
        ("failure type", _failure_type(live), _failure_type(fresh)),
        ("custom status", live.custom_status, fresh.custom_status),
        ("waiting", _waiting(live), _waiting(fresh)),
        ("continue-as-new input", _new_input(live), _new_input(fresh)),
    ):
        if not same_json(before, after):
            return NonDeterminismError(
                instance_id,
                position,
                f"{what} {describe_value(before)} (the live run)",
                f"{what} {describe_value(after)}",
            )
    return None


def _failure_type(decision: Decision) -> str | None:
    return decision.failure.type_name if decision.failure else None


def _waiting(decision: Decision) -> Any:
    waiting = decision.waiting
    return {
        "activities": [[each.seq, each.name] for each in waiting.activities],
        "timers": [[each.seq, each.fire_at.isoformat()] for each in waiting.timers],
        "events": list(waiting.events),
        "sub_orchestrations": [[each.seq, each.instance_id] for each in waiting.sub_orchestrations],
    }


def _new_input(decision: Decision) -> Any:
    return decision.continue_as_new.input if decision.continue_as_new else None
