"""Running one orchestration episode: work item in, `EpisodeCommit` out.

This is the synchronous heart of the worker, shared with the simulation
harness: find (or rebuild) the instance's execution, run it over the new
messages, and translate the decision into the store's unit of work. It never
commits by itself; the caller commits and then reports back, so that only
committed executions return to the cache.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import attrs

from durable._app import App
from durable._engine.decision import Decision
from durable._engine.execution import Execution
from durable._model.events import (
    EventRaised,
    EventSent,
    ExecutionFailed,
    ExecutionRewound,
    ExecutionStarted,
    HistoryEvent,
    OrchestratorStarted,
    ParentInstance,
    SubOrchestrationCompleted,
    SubOrchestrationCreated,
    SubOrchestrationFailed,
    TaskScheduled,
    TimerCreated,
    TimerFired,
)
from durable._model.failures import FailureDetails
from durable._model.status import RuntimeStatus
from durable._store.protocol import (
    ChildRewind,
    EpisodeCommit,
    NewActivityTask,
    NewMessage,
    OrchestrationWorkItem,
    Store,
    StoredHistory,
)
from durable._worker.cache import ExecutionCache
from durable.errors import DurableError, OrchestratorNotFoundError

__all__ = ["Episode", "EpisodeRunner", "EpisodeStats", "plan_commit"]

_LIVE = (RuntimeStatus.RUNNING, RuntimeStatus.SUSPENDED)


@attrs.define(eq=False)
class EpisodeStats:
    """Counters that show what the cache saves.

    Attributes:
        episodes: episodes run.
        executions_built: executions started from scratch (cache misses included).
        events_replayed: stored history events fed to rebuilt executions.
    """

    episodes: int = 0
    executions_built: int = 0
    events_replayed: int = 0


@attrs.frozen(kw_only=True)
class Episode:
    """One run episode: the commit to apply, and the execution to cache after it."""

    commit: EpisodeCommit
    decision: Decision | None
    execution: Execution | None


class EpisodeRunner:
    """Runs episodes for one app over one store, with a cache of live executions."""

    def __init__(
        self,
        app: App,
        store: Store,
        *,
        cache: ExecutionCache,
        new_id: Callable[[], str],
    ) -> None:
        self.app = app
        self.store = store
        self.cache = cache
        self.stats = EpisodeStats()
        self._new_id = new_id

    def run(
        self, item: OrchestrationWorkItem, now: datetime, *, history: StoredHistory | None = None
    ) -> Episode:
        """Run the episode `item` calls for, at `now`.

        Args:
            history: reads the stored history when the execution must be rebuilt
                (inside a store transaction, for a continuation); the store's
                `get_history` if None.
        """
        self.stats.episodes += 1
        events = _fresh_events(item)
        try:
            execution = self._execution(item, history)
        except OrchestratorNotFoundError as error:
            return self._unrunnable(item, events, now, error)
        decision = execution.run(events, now=now)
        parent = execution.started.parent if execution.started else None
        commit = plan_commit(item, decision, now, self._new_id, parent)
        if decision.status in _LIVE:
            return Episode(commit=commit, decision=decision, execution=execution)
        execution.close()
        return Episode(commit=commit, decision=decision, execution=None)

    def committed(self, item: OrchestrationWorkItem, episode: Episode) -> None:
        """Cache the episode's execution now that its commit is durable."""
        if episode.execution is not None:
            decision = episode.decision
            awaits_one = decision is not None and len(decision.waiting.activities) <= 1
            self.cache.put(
                item.instance.instance_id,
                episode.commit.execution_id,
                episode.execution,
                awaits_one=awaits_one,
            )

    def _execution(self, item: OrchestrationWorkItem, history: StoredHistory | None) -> Execution:
        instance = item.instance
        # A rewind replays the history anew, without what it undoes.
        rewind = any(isinstance(message.event, ExecutionRewound) for message in item.messages)
        cached = self.cache.take(instance.instance_id, instance.execution_id, item.history_length)
        if cached is not None and not rewind:
            return cached
        definition = self.app.find_orchestrator(instance.name)
        execution = Execution(
            definition,
            instance_id=instance.instance_id,
            registry=self.app,
            converter=self.app.converter,
        )
        self.stats.executions_built += 1
        if item.history_length:
            events = history() if history else self.store.get_history(instance.instance_id)
            self.stats.events_replayed += len(events)
            execution.replay(events, rewind=rewind)
        return execution

    def _unrunnable(
        self,
        item: OrchestrationWorkItem,
        events: list[HistoryEvent],
        now: datetime,
        error: DurableError,
    ) -> Episode:
        failure = FailureDetails.from_exception(error, non_retryable=True)
        started = next((each for each in events if isinstance(each, ExecutionStarted)), None)
        parent = started.parent if started else None
        history = (
            OrchestratorStarted(timestamp=now),
            *events,
            ExecutionFailed(timestamp=now, failure=failure),
        )
        commit = EpisodeCommit(
            consumed=_consumed(item),
            history=history,
            status=RuntimeStatus.FAILED,
            updated_at=now,
            execution_id=item.instance.execution_id,
            input=item.instance.input,
            failure=failure,
            completed_at=now,
            clear_inbox=True,
            messages=tuple(_to_parent(item, parent, RuntimeStatus.FAILED, None, failure, now)),
        )
        return Episode(commit=commit, decision=None, execution=None)


def _consumed(item: OrchestrationWorkItem) -> tuple[int, ...]:
    """The ids of the stored messages an episode of `item` takes."""
    return tuple(message.id for message in item.messages if message.id is not None)


def _fresh_events(item: OrchestrationWorkItem) -> list[HistoryEvent]:
    current = item.instance.execution_id
    fresh = [
        message.event
        for message in item.messages
        if message.execution_id is None or message.execution_id == current
    ]
    fresh.sort(key=lambda event: not isinstance(event, ExecutionStarted))
    return fresh


def plan_commit(
    item: OrchestrationWorkItem,
    decision: Decision,
    now: datetime,
    new_id: Callable[[], str],
    parent: ParentInstance | None,
) -> EpisodeCommit:
    """Translate a decision into the store's unit of work."""
    instance = item.instance
    execution_id = instance.execution_id
    activities: list[NewActivityTask] = []
    messages: list[NewMessage] = []
    children: list[ExecutionStarted] = []
    rewound: list[ChildRewind] = []
    for action in (*decision.actions, *decision.reruns):
        match action:
            case TaskScheduled(seq=seq, name=name, input=payload):
                activities.append(
                    NewActivityTask(
                        instance_id=instance.instance_id,
                        execution_id=execution_id,
                        seq=seq,
                        name=name,
                        input=payload,
                        visible_at=now,
                    )
                )
            case TimerCreated(seq=seq, fire_at=fire_at):
                messages.append(
                    NewMessage(
                        instance_id=instance.instance_id,
                        event=TimerFired(timestamp=fire_at, seq=seq, fire_at=fire_at),
                        visible_at=fire_at,
                        execution_id=execution_id,
                    )
                )
            case EventSent(instance_id=target, name=name, input=payload):
                messages.append(
                    NewMessage(
                        instance_id=target,
                        event=EventRaised(timestamp=now, name=name, input=payload),
                        visible_at=now,
                    )
                )
            case SubOrchestrationCreated() if action in decision.reruns:
                rewound.append(_child_rewind(item, action, now, new_id()))
            case SubOrchestrationCreated():
                children.append(_child_started(item, action, now, new_id()))
    status = decision.status
    messages.extend(_to_parent(item, parent, status, decision.output, decision.failure, now))
    if decision.continue_as_new is not None:
        started = ExecutionStarted(
            timestamp=now,
            name=instance.name,
            instance_id=instance.instance_id,
            execution_id=new_id(),
            input=decision.continue_as_new.input,
            version=instance.version,
            parent=parent,
        )
        return _continued(item, decision, started, activities, messages, children)
    return EpisodeCommit(
        consumed=_consumed(item),
        history=decision.new_events,
        status=status,
        updated_at=now,
        execution_id=execution_id,
        input=instance.input,
        output=decision.output,
        failure=decision.failure,
        custom_status=decision.custom_status,
        waiting=decision.waiting,
        completed_at=now if status.is_terminal else None,
        activities=tuple(activities),
        messages=tuple(messages),
        sub_orchestrations=tuple(children),
        clear_inbox=status.is_terminal,
        rewound_children=tuple(rewound),
    )


def _continued(
    item: OrchestrationWorkItem,
    decision: Decision,
    started: ExecutionStarted,
    activities: list[NewActivityTask],
    messages: list[NewMessage],
    children: list[ExecutionStarted],
) -> EpisodeCommit:
    instance = item.instance
    request = decision.continue_as_new
    assert request is not None
    now = started.timestamp
    restart = [NewMessage(instance_id=instance.instance_id, event=started, visible_at=now)]
    restart.extend(
        NewMessage(instance_id=instance.instance_id, event=event, visible_at=now)
        for event in request.carried_events
    )
    return EpisodeCommit(
        consumed=_consumed(item),
        history=(),
        reset_history=True,
        status=RuntimeStatus.CONTINUED_AS_NEW,
        updated_at=now,
        execution_id=started.execution_id,
        input=request.input,
        custom_status=decision.custom_status,
        activities=tuple(activities),
        messages=(*restart, *messages),
        sub_orchestrations=tuple(children),
    )


def _child_started(
    item: OrchestrationWorkItem, action: SubOrchestrationCreated, now: datetime, execution_id: str
) -> ExecutionStarted:
    instance = item.instance
    return ExecutionStarted(
        timestamp=now,
        name=action.name,
        instance_id=action.instance_id,
        execution_id=execution_id,
        input=action.input,
        version=action.version,
        parent=ParentInstance(
            instance_id=instance.instance_id,
            execution_id=instance.execution_id,
            name=instance.name,
            seq=action.seq,
        ),
    )


def _child_rewind(
    item: OrchestrationWorkItem, action: SubOrchestrationCreated, now: datetime, execution_id: str
) -> ChildRewind:
    """A child the rewound parent waits for: rewound if it failed, else started again."""
    reason = f"rewound with its parent {item.instance.instance_id!r}"
    return ChildRewind(
        started=_child_started(item, action, now, execution_id),
        rewound=ExecutionRewound(timestamp=now, reason=reason),
    )


def _to_parent(
    item: OrchestrationWorkItem,
    parent: ParentInstance | None,
    status: RuntimeStatus,
    output: object,
    failure: FailureDetails | None,
    now: datetime,
) -> list[NewMessage]:
    """The message that tells a parent orchestration how its child ended."""
    if not status.is_terminal or parent is None:
        return []
    event: HistoryEvent
    if status is RuntimeStatus.COMPLETED:
        event = SubOrchestrationCompleted(timestamp=now, seq=parent.seq, output=output)
    else:
        event = SubOrchestrationFailed(
            timestamp=now,
            seq=parent.seq,
            failure=failure
            or FailureDetails(
                type_name="InstanceTerminated",
                message=f"sub-orchestration {item.instance.instance_id!r} was terminated: {output}",
                non_retryable=True,
            ),
        )
    return [
        NewMessage(
            instance_id=parent.instance_id,
            event=event,
            visible_at=now,
            execution_id=parent.execution_id,
        )
    ]
