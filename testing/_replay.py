"""`replay`: prove that current orchestrator code makes the decisions a recorded history holds.

For regression tests in CI: export the histories of real runs, keep them
beside the tests, and replay them against the code as it is now. A change
that would break running instances (another call, another order, other
arguments, another ending) fails with `NonDeterminismError` naming the
history position, what was recorded and what the code does now.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs

from durable import App, RuntimeStatus
from durable._model.definitions import OrchestratorDefinition
from durable.errors import InvalidArgumentError, NonDeterminismError
from durable.history import ExecutionStarted, HistoryEvent
from durable.testing._divergence import Probe, first_divergence
from durable.testing._history_file import history_events, validate_history

__all__ = ["ReplayResult", "replay"]


@attrs.frozen(kw_only=True)
class ReplayResult:
    """What replaying a recorded history through current code showed.

    Attributes:
        instance_id: the instance the history belongs to.
        orchestrator: the orchestrator name the code was replayed as.
        events: how many history events were replayed.
        status: the runtime status the code reaches at the end of the history.
        output: its output then (JSON), if it completed.
        divergence: the first difference from the recorded decisions, or None.
    """

    instance_id: str
    orchestrator: str
    events: int
    status: RuntimeStatus
    output: Any = None
    divergence: NonDeterminismError | None = None

    @property
    def ok(self) -> bool:
        """Whether the code made exactly the recorded decisions."""
        return self.divergence is None


def replay(
    history: dict[str, Any] | Sequence[HistoryEvent],
    orchestrator: str | Callable[..., Any] | None = None,
    *,
    app: App | None = None,
    raise_on_divergence: bool = True,
) -> ReplayResult:
    """Replay a recorded history through `orchestrator` and compare every decision.

    Compared: each call's kind, name and arguments (activity input, timer due
    time, sub-orchestration id and input, event target and data), calls the
    code makes beyond the history, and the ending (output, error type,
    continue-as-new input).

    Args:
        history: a history file document (from `load_history` or
            `export_history`; it is validated) or a list of history events.
        orchestrator: the orchestrator function, or its registered name (with
            `app`); default: the name the history records, looked up in `app`.
        app: resolves names and the activities the code calls; without it,
            functions stand for their own names.
        raise_on_divergence: raise the divergence instead of returning it.

    Raises:
        NonDeterminismError: the code departs from the history (with `raise_on_divergence`).
        HistoryFileError: the document is not a valid history file.
        InvalidArgumentError: no orchestrator to replay.
    """
    events = _events(history)
    started = next((event for event in events if isinstance(event, ExecutionStarted)), None)
    instance_id = started.instance_id if started else "replay"
    definition = _definition(orchestrator, app, started)
    probe = Probe(
        definition,
        instance_id=instance_id,
        registry=app,
        converter=app.converter if app else None,
    )
    probe.replay(events)
    snapshot = probe.snapshot()
    divergence = first_divergence(probe, events, snapshot)
    if divergence is not None and raise_on_divergence:
        raise divergence
    return ReplayResult(
        instance_id=instance_id,
        orchestrator=definition.name,
        events=len(events),
        status=snapshot.status,
        output=snapshot.output,
        divergence=divergence,
    )


def _events(history: dict[str, Any] | Sequence[HistoryEvent]) -> list[HistoryEvent]:
    if isinstance(history, dict):
        validate_history(history)
        return history_events(history)
    events = list(history)
    if not all(isinstance(event, HistoryEvent) for event in events):
        raise InvalidArgumentError(
            "replay takes a history file document or a list of history events"
        )
    return events


def _definition(
    orchestrator: str | Callable[..., Any] | None, app: App | None, started: ExecutionStarted | None
) -> OrchestratorDefinition:
    if app is not None:
        ref = orchestrator if orchestrator is not None else (started.name if started else None)
        if ref is None:
            raise InvalidArgumentError("the history has no ExecutionStarted: name the orchestrator")
        return app.find_orchestrator(ref)
    if orchestrator is None or isinstance(orchestrator, str):
        raise InvalidArgumentError(
            "replay needs the orchestrator function, or app= to find it by name"
        )
    # A throwaway app describes the function as it would be registered.
    scratch = App()
    scratch.orchestrator(orchestrator)
    return scratch.find_orchestrator(orchestrator)
