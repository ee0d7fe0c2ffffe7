"""What one episode decided: the engine's only output."""

from __future__ import annotations

import attrs

from durable._model.events import HistoryEvent, JSONValue
from durable._model.failures import FailureDetails
from durable._model.status import RuntimeStatus, Waiting

__all__ = ["ContinueAsNewRequest", "Decision"]


@attrs.frozen(kw_only=True)
class ContinueAsNewRequest:
    """The orchestrator asked to start over with `input`.

    Attributes:
        input: the next execution's input, as JSON.
        carried_events: events received and not yet consumed (external events, and
            terminate, suspend or resume requests that arrived with them), to deliver again.
    """

    input: JSONValue = None
    carried_events: tuple[HistoryEvent, ...] = ()


@attrs.frozen(kw_only=True)
class Decision:
    """The outcome of running an execution over new events.

    Attributes:
        new_events: events to append to the history, in order: the episode's
            `OrchestratorStarted`, the new events it consumed, one event per
            new action (`TaskScheduled`, `TimerCreated`, `SubOrchestrationCreated`,
            `EventSent`) in call order, and the final event if it finished.
        actions: the action events among `new_events`, for the worker to carry out.
        reruns: after a rewind, the calls made before it that still wait for an
            answer (`TaskScheduled`, `TimerCreated`, `SubOrchestrationCreated`),
            for the worker to carry out again: their results, timers and children
            were lost with the failure. The history records them already.
        status: the runtime status after the episode.
        output: the output (completed) or the reason (terminated), as JSON.
        failure: what failed, if the status is FAILED.
        custom_status: the custom status as JSON.
        waiting: what the instance waits for now.
        continue_as_new: set when the orchestrator continued as new.
    """

    new_events: tuple[HistoryEvent, ...]
    actions: tuple[HistoryEvent, ...]
    status: RuntimeStatus
    output: JSONValue = None
    failure: FailureDetails | None = None
    custom_status: JSONValue = None
    waiting: Waiting = attrs.field(factory=Waiting)
    continue_as_new: ContinueAsNewRequest | None = None
    reruns: tuple[HistoryEvent, ...] = ()

    @property
    def is_nondeterministic(self) -> bool:
        """Whether the episode failed because the code diverged from its history."""
        return self.failure is not None and self.failure.type_name == "NonDeterminismError"
