"""One live orchestration instance, fed its history event by event.

`Execution` is the replay engine. Feed it recorded history with `replay`
(``is_replaying`` is true), then run an episode over new events with `run`,
which returns a `Decision`. A worker keeps executions in a cache and feeds
them only new events; on a cache miss it replays the stored history into a
fresh one, with identical results. Invariants:

- Every schedulable call gets the next sequence number, in the order the code
  makes it. A recorded `TaskScheduled`/`TimerCreated`/`SubOrchestrationCreated`
  /`EventSent` must match the call with the same number (kind and name), or the
  execution fails with `NonDeterminismError`. At the start of each episode every
  call of the previous one must have been matched.
- Completions settle tasks by sequence number; unknown numbers (duplicates,
  cancelled timers, stale results) are ignored.
- User errors never escape: they become the decision's failure.
- A rewound history is replayed without the events its rewinds undid (see
  `durable._engine.rewind`). A history with a rewind is replayed in one piece,
  or split after its last `ExecutionRewound`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from durable._engine.decision import ContinueAsNewRequest, Decision
from durable._engine.describe import describe_action, same_action
from durable._engine.fibers import Fiber, is_steppable
from durable._engine.open_tasks import OpenTasks
from durable._engine.registry import NameRegistry, Registry
from durable._engine.rewind import answerable_calls, plan_rewind, undone_positions
from durable._engine.tasks import (
    Task,
)
from durable._model.converter import PayloadConverter, default_converter
from durable._model.definitions import OrchestratorDefinition
from durable._model.events import (
    ContinuedAsNew,
    EventRaised,
    EventSent,
    ExecutionCompleted,
    ExecutionFailed,
    ExecutionResumed,
    ExecutionRewound,
    ExecutionStarted,
    ExecutionSuspended,
    ExecutionTerminated,
    HistoryEvent,
    JSONValue,
    OrchestratorStarted,
    SubOrchestrationCompleted,
    SubOrchestrationCreated,
    SubOrchestrationFailed,
    TaskCompleted,
    TaskFailed,
    TaskScheduled,
    TimerCreated,
    TimerFired,
)
from durable._model.failures import FailureDetails
from durable._model.status import (
    RuntimeStatus,
)
from durable.errors import (
    NonDeterminismError,
    UnsupportedAwaitError,
)

if TYPE_CHECKING:
    from durable._engine.context import OrchestrationContext

__all__ = ["Execution"]

_WAITING_SHOWN = 100
# Events applied at once even while suspended (a second suspend is a no-op, not a held
# event that would suspend the instance again right after it is resumed).
_NEVER_HELD = (
    ExecutionResumed,
    ExecutionRewound,
    ExecutionSuspended,
    ExecutionTerminated,
    OrchestratorStarted,
    TaskScheduled,
    TimerCreated,
    SubOrchestrationCreated,
    EventSent,
)
_FINAL_ERRORS = (NonDeterminismError, UnsupportedAwaitError)
_CARRIED_OVER = (EventRaised, ExecutionTerminated, ExecutionSuspended, ExecutionResumed)
_ENDINGS = {
    None: "more work (the orchestrator has not returned here)",
    RuntimeStatus.COMPLETED: "another ending (the orchestrator returned)",
    RuntimeStatus.FAILED: "another ending (the orchestrator raised)",
    RuntimeStatus.CONTINUED_AS_NEW: "another ending (the orchestrator continued as new)",
}
_CLOSING_STATUS: dict[type[HistoryEvent], RuntimeStatus] = {
    ExecutionCompleted: RuntimeStatus.COMPLETED,
    ExecutionFailed: RuntimeStatus.FAILED,
    ContinuedAsNew: RuntimeStatus.CONTINUED_AS_NEW,
}


class _Outcome:
    __slots__ = ("continue_as_new", "failure", "output", "recorded", "status")

    def __init__(
        self,
        status: RuntimeStatus,
        *,
        output: JSONValue = None,
        failure: FailureDetails | None = None,
        continue_as_new: ContinueAsNewRequest | None = None,
        recorded: bool = False,
    ) -> None:
        self.status = status
        self.output = output
        self.failure = failure
        self.continue_as_new = continue_as_new
        self.recorded = recorded


class _Rewind:
    """A rewind the next episode runs: what it undoes, and the calls it may carry out again."""

    __slots__ = ("calls", "undone")

    def __init__(self, undone: tuple[int, ...], calls: dict[int, HistoryEvent]) -> None:
        self.undone = undone
        self.calls = calls


class Execution:
    """The replay engine for one instance: history in, decisions out."""

    def __init__(
        self,
        definition: OrchestratorDefinition,
        *,
        instance_id: str,
        registry: Registry | None = None,
        converter: PayloadConverter | None = None,
    ) -> None:
        from durable._engine.context import OrchestrationContext

        self.definition = definition
        self.instance_id = instance_id
        self.registry: Registry = registry or NameRegistry()
        self.converter = converter or default_converter()
        self.history_length = 0
        self.ready: deque[tuple[Fiber, Task[Any]]] = deque()
        self.current_fiber: Fiber | None = None
        self.started: ExecutionStarted | None = None
        self.now: datetime | None = None
        self.is_replaying = False
        self.custom_status: JSONValue = None
        self.uuid_counter = 0
        self.context: OrchestrationContext = OrchestrationContext(self)
        self.continue_as_new_request: tuple[JSONValue, bool] | None = None
        self._seq = 0
        self._pending: dict[int, HistoryEvent] = {}
        self.tasks = OpenTasks(self.converter)
        self._held: list[HistoryEvent] | None = None
        self._outcome: _Outcome | None = None
        self._root: Fiber | None = None
        self._diverged_at: int | None = None
        self._rewind: _Rewind | None = None
        self._handlers: dict[type[HistoryEvent], Callable[[Any], None]] = {
            ExecutionStarted: self._on_started,
            OrchestratorStarted: self._on_orchestrator_started,
            TaskScheduled: self._on_action,
            TimerCreated: self._on_action,
            SubOrchestrationCreated: self._on_action,
            EventSent: self._on_action,
            TaskCompleted: self._on_task_completed,
            TaskFailed: self._on_task_failed,
            TimerFired: self._on_timer_fired,
            EventRaised: self._on_event_raised,
            SubOrchestrationCompleted: self._on_child_completed,
            SubOrchestrationFailed: self._on_child_failed,
            ExecutionTerminated: self._on_terminated,
            ExecutionSuspended: self._on_suspended,
            ExecutionResumed: self._on_resumed,
            ExecutionRewound: self._on_rewound,
            ExecutionCompleted: self._on_closing,
            ExecutionFailed: self._on_closing,
            ContinuedAsNew: self._on_closing,
        }

    @property
    def is_finished(self) -> bool:
        """Whether the execution has reached an outcome."""
        return self._outcome is not None

    # -- feeding events -------------------------------------------------------------------

    def replay(self, events: Iterable[HistoryEvent], *, rewind: bool = False) -> None:
        """Apply recorded history events (with ``is_replaying`` true).

        Events a recorded rewind undid are counted but not applied.

        Args:
            events: the history, oldest first.
            rewind: the next episode runs an `ExecutionRewound`. Then `events` must
                be the whole history of a fresh execution: the events the rewind
                will undo are chosen (see `durable._engine.rewind`) and skipped now.
        """
        history = events if isinstance(events, Sequence) else list(events)
        undone = undone_positions(history)
        if rewind:
            if self.history_length:
                raise RuntimeError("a rewind replays the whole history into a new execution")
            plan = plan_rewind(history, undone, lambda skipped: self._fits(history, skipped))
            self._rewind = _Rewind(plan, answerable_calls(history))
            undone = undone.union(plan)
        self._replay(history, undone)

    def _replay(self, history: Sequence[HistoryEvent], undone: frozenset[int]) -> None:
        self.is_replaying = True
        try:
            for event in history:
                if self.history_length in undone:
                    self.history_length += 1
                else:
                    self._apply(event)
        finally:
            self.is_replaying = False

    def _fits(self, history: Sequence[HistoryEvent], undone: frozenset[int]) -> bool:
        """Whether the code replays `history` without `undone` and makes exactly its calls."""
        trial = Execution(
            self.definition,
            instance_id=self.instance_id,
            registry=self.registry,
            converter=self.converter,
        )
        try:
            trial._replay(history, undone)
            return trial._diverged_at is None and not trial._pending
        finally:
            trial.close()

    def run(self, new_events: Iterable[HistoryEvent], *, now: datetime) -> Decision:
        """Run one episode at `now` over `new_events` and return what it decided."""
        self.is_replaying = False
        started = OrchestratorStarted(timestamp=now)
        consumed: list[HistoryEvent] = [started]
        carried: list[HistoryEvent] = []
        self._apply(started)
        rewind: _Rewind | None = None
        for event in new_events:
            if isinstance(event, ExecutionRewound):
                # Always recorded, even by a finished execution: it says what was undone.
                prepared, self._rewind = self._rewind, None
                rewind = rewind or prepared
                event = attrs.evolve(event, undone=prepared.undone if prepared else ())
                consumed.append(event)
                self._apply(event)
            elif self._outcome is None:
                consumed.append(event)
                self._apply(event)
            elif isinstance(event, _CARRIED_OVER):
                carried.append(event)
        actions = tuple(self._pending.values())
        self._pending.clear()
        closing = self._closing_event(now, carried)
        new_events_out = (*consumed, *actions, *closing)
        self.history_length += len(actions) + len(closing)
        reruns = self._reruns(rewind) if rewind is not None else ()
        return self._decision(new_events_out, actions, reruns)

    def snapshot(self) -> Decision:
        """The state after the events fed so far, without running an episode.

        Calls the code made that history does not record are the decision's actions.
        """
        actions = tuple(self._pending.values())
        return self._decision((), actions)

    def close(self) -> None:
        """Close every live fiber (when the execution is dropped from a cache)."""
        self._close_fibers()

    def _apply(self, event: HistoryEvent) -> None:
        self.history_length += 1
        if self._diverged_at is not None:
            return
        if self._held is not None and not isinstance(event, _NEVER_HELD):
            self._held.append(event)
            return
        handler = self._handlers.get(type(event))
        if handler is None:
            raise TypeError(f"unknown history event type {type(event).__name__}")
        try:
            handler(event)
        except NonDeterminismError as error:
            self._diverged_at = error.position
            # Calls the diverged code made are not the recorded ones: never carry them out.
            self._pending.clear()
            first = self._outcome.failure if self._outcome else None
            # Keep the first verdict: code that raised NonDeterminismError itself (a
            # workflow document changed under a running instance) said more.
            if first is None or first.type_name != "NonDeterminismError":
                self._fail(error, even_if_finished=True)
            return
        if self.ready or self.continue_as_new_request is not None:
            self._drain()

    def _drain(self) -> None:
        ready = self.ready
        while ready and self._outcome is None:
            fiber, task = ready.popleft()
            fiber.resume(task._value, task._error)
        if self._outcome is None and self.continue_as_new_request is not None:
            self._finish_as_new()

    # -- handlers -------------------------------------------------------------------------

    def _on_started(self, event: ExecutionStarted) -> None:
        if self.started is not None:
            return
        self.started = event
        definition = self.definition
        try:
            if definition.takes_input:
                value = self.converter.from_json(
                    event.input,
                    definition.input_type,
                    what=f"input of orchestrator {definition.name!r}",
                )
                result = definition.function(self.context, value)
            else:
                result = definition.function(self.context)
        except Exception as error:
            self._on_root_done(None, error)
            return
        if is_steppable(result):
            self._root = Fiber(result, self, self._on_root_done)
            self._root.start()
        else:
            self._on_root_done(result, None)

    def _on_orchestrator_started(self, event: OrchestratorStarted) -> None:
        self.now = event.timestamp
        if self._pending:
            self._diverged(
                "no further call in the previous episode",
                describe_action(next(iter(self._pending.values()))),
            )

    def _on_action(self, event: HistoryEvent) -> None:
        seq: int = event.seq  # type: ignore[attr-defined]
        made = self._pending.pop(seq, None)
        if made is None:
            requested = "nothing (it returned)" if self._outcome else f"no call number {seq}"
            self._diverged(describe_action(event), requested)
        elif not same_action(made, event):
            self._diverged(describe_action(event), describe_action(made))

    def _on_task_completed(self, event: TaskCompleted) -> None:
        self.tasks.activity_completed(event.seq, event.output)

    def _on_task_failed(self, event: TaskFailed) -> None:
        self.tasks.activity_failed(event.seq, event.failure)

    def _on_timer_fired(self, event: TimerFired) -> None:
        self.tasks.timer_fired(event.seq)

    def _on_event_raised(self, event: EventRaised) -> None:
        self.tasks.event_raised(event)

    def _on_child_completed(self, event: SubOrchestrationCompleted) -> None:
        self.tasks.child_completed(event.seq, event.output)

    def _on_child_failed(self, event: SubOrchestrationFailed) -> None:
        self.tasks.child_failed(event.seq, event.failure)

    def _on_terminated(self, event: ExecutionTerminated) -> None:
        if self._outcome is None:
            self._outcome = _Outcome(RuntimeStatus.TERMINATED, output=event.reason, recorded=True)
            # Calls made earlier in this episode are not carried out for a terminated instance.
            self._pending.clear()
            self._close_fibers()

    def _on_suspended(self, _: ExecutionSuspended) -> None:
        if self._held is None and self._outcome is None:
            self._held = []

    def _on_rewound(self, _: ExecutionRewound) -> None:
        """Nothing to do here: replay skipped what the rewind undid, `run` plans the rest."""

    def _on_resumed(self, _: ExecutionResumed) -> None:
        held, self._held = self._held, None
        for event in held or ():
            handler = self._handlers[type(event)]
            handler(event)
            self._drain()

    def _on_closing(self, event: HistoryEvent) -> None:
        outcome = self._outcome
        if outcome is None or outcome.status is not _CLOSING_STATUS[type(event)]:
            now = _ENDINGS.get(outcome.status if outcome else None, "another ending")
            self._diverged(f"the end of the execution ({type(event).__name__})", now)
        else:
            outcome.recorded = True

    # -- outcomes -------------------------------------------------------------------------

    def _on_root_done(self, value: Any, error: BaseException | None) -> None:
        if self._outcome is not None:
            return
        if error is not None:
            self._fail(error)
            return
        if self.continue_as_new_request is not None:
            self._finish_as_new()
            return
        try:
            output = self.converter.to_json(
                value, what=f"output of orchestrator {self.definition.name!r}"
            )
        except Exception as payload_error:
            self._fail(payload_error)
            return
        self._outcome = _Outcome(RuntimeStatus.COMPLETED, output=output)
        self._close_fibers()

    def _finish_as_new(self) -> None:
        assert self.continue_as_new_request is not None
        new_input, carry = self.continue_as_new_request
        carried: tuple[EventRaised, ...] = ()
        if carry:
            carried = self.tasks.buffered_events()
        self._outcome = _Outcome(
            RuntimeStatus.CONTINUED_AS_NEW,
            continue_as_new=ContinueAsNewRequest(input=new_input, carried_events=carried),
        )
        self._close_fibers()

    def fail_fatally(self, error: BaseException) -> None:
        """Fail the instance with an error the orchestrator cannot catch."""
        self._fail(error)

    def _fail(self, error: BaseException, *, even_if_finished: bool = False) -> None:
        if self._outcome is not None and not even_if_finished:
            return
        # Only the engine's own verdicts (divergence, a non-durable await) are final; an
        # error the orchestrator raised may be retried by a parent's retry policy.
        self._outcome = _Outcome(
            RuntimeStatus.FAILED,
            failure=FailureDetails.from_exception(
                error, non_retryable=isinstance(error, _FINAL_ERRORS)
            ),
        )
        self.ready.clear()
        self._close_fibers()

    def _diverged(self, recorded: str, requested: str) -> None:
        raise NonDeterminismError(self.instance_id, self.history_length - 1, recorded, requested)

    def _close_fibers(self) -> None:
        root, self._root = self._root, None
        if root is not None:
            root.close()
        self.ready.clear()

    def _closing_event(
        self, now: datetime, carried: list[HistoryEvent]
    ) -> tuple[HistoryEvent, ...]:
        outcome = self._outcome
        if outcome is None or outcome.recorded:
            return ()
        outcome.recorded = True
        if outcome.status is RuntimeStatus.COMPLETED:
            return (ExecutionCompleted(timestamp=now, output=outcome.output),)
        if outcome.status is RuntimeStatus.FAILED:
            assert outcome.failure is not None
            return (ExecutionFailed(timestamp=now, failure=outcome.failure),)
        request = outcome.continue_as_new
        assert request is not None
        # Terminate, suspend and resume requests are carried over even when the code
        # asked not to carry external events: dropping them would lose the request.
        keep_events = self.continue_as_new_request is not None and self.continue_as_new_request[1]
        later = tuple(each for each in carried if keep_events or not isinstance(each, EventRaised))
        if later:
            outcome.continue_as_new = ContinueAsNewRequest(
                input=request.input, carried_events=(*request.carried_events, *later)
            )
        return (ContinuedAsNew(timestamp=now, input=request.input),)

    def _reruns(self, rewind: _Rewind) -> tuple[HistoryEvent, ...]:
        """The calls made before a rewind that still wait for an answer, by seq."""
        if self._outcome is not None:
            return ()
        open_calls = sorted(seq for seq in self.tasks.open_seqs() if seq in rewind.calls)
        return tuple(rewind.calls[seq] for seq in open_calls)

    def _decision(
        self,
        new_events: tuple[HistoryEvent, ...],
        actions: tuple[HistoryEvent, ...],
        reruns: tuple[HistoryEvent, ...] = (),
    ) -> Decision:
        outcome = self._outcome
        if outcome is None:
            status = RuntimeStatus.RUNNING if self._held is None else RuntimeStatus.SUSPENDED
            return Decision(
                new_events=new_events,
                actions=actions,
                reruns=reruns,
                status=status,
                custom_status=self.custom_status,
                waiting=self.tasks.waiting(),
            )
        return Decision(
            new_events=new_events,
            actions=actions,
            status=outcome.status,
            output=outcome.output,
            failure=outcome.failure,
            custom_status=self.custom_status,
            continue_as_new=outcome.continue_as_new,
        )

    # -- calls from the context -----------------------------------------------------------

    def next_seq(self) -> int:
        """The sequence number of the next schedulable call."""
        seq = self._seq
        self._seq += 1
        return seq

    def record_action(self, event: HistoryEvent) -> None:
        """Remember a call the code made, to match against history or emit."""
        if self._outcome is None:
            self._pending[event.seq] = event  # type: ignore[attr-defined]
