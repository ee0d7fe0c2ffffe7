"""`Client`: start, inspect and steer instances (synchronous)."""

from __future__ import annotations

import builtins
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from durable._app import App, check_name
from durable._client.ids import check_event_name, check_instance_id
from durable._client.waiting import WaitPacer
from durable._model.converter import default_converter
from durable._model.events import (
    EventRaised,
    ExecutionResumed,
    ExecutionRewound,
    ExecutionStarted,
    ExecutionSuspended,
    ExecutionTerminated,
    HistoryEvent,
)
from durable._model.status import InstanceStatus, RuntimeStatus
from durable._store.protocol import (
    InstancePage,
    InstanceQuery,
    InstanceStart,
    NewMessage,
    Store,
)
from durable._worker.clock import Clock, SystemClock
from durable.errors import (
    InstanceNotFoundError,
    InvalidArgumentError,
)

__all__ = ["Client"]


class Client:
    """Starts and manages orchestration instances in a store.

    Args:
        store: where the instances live.
        app: the app whose orchestrators are started; with it, names and
            function references are checked before anything is stored.
        clock: the time source (default: the system clock).
        new_id: makes instance and execution ids (default: random UUIDs); the
            simulation harness passes a seeded one.
    """

    def __init__(
        self,
        store: Store,
        *,
        app: App | None = None,
        clock: Clock | None = None,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        self.store = store
        self.app = app
        self.clock = clock or SystemClock()
        self.new_id = new_id or _random_id
        self.converter = app.converter if app else default_converter()

    def start(
        self,
        orchestrator: str | Callable[..., Any],
        input: Any = None,
        *,
        instance_id: str | None = None,
        start_at: datetime | None = None,
    ) -> str:
        """Start an instance of `orchestrator` and return its id.

        Args:
            orchestrator: the registered name, or the decorated function.
            input: the input, converted to JSON here.
            instance_id: the id to use (default: a random one). An id whose
                instance has finished is reused; one still running is refused.
            start_at: do not start before this (aware) time.

        Raises:
            OrchestratorNotFoundError: the app has no such orchestrator.
            PayloadError: `input` cannot be converted to JSON.
            InstanceExistsError: an unfinished instance has this id.
            InvalidArgumentError: a bad id or start time.
        """
        start = self._prepare_start(orchestrator, input, instance_id=instance_id, start_at=start_at)
        self.store.create_instance(start.started, now=start.now, visible_at=start.visible_at)
        return start.started.instance_id

    def _prepare_start(
        self,
        orchestrator: str | Callable[..., Any],
        input: Any = None,
        *,
        instance_id: str | None = None,
        start_at: datetime | None = None,
    ) -> InstanceStart:
        """The checked start `start` would store, with its ids chosen; nothing is stored.

        Raises what `start` raises for its arguments.
        """
        name, version = self._resolve(orchestrator)
        chosen = check_instance_id(instance_id) if instance_id is not None else self.new_id()
        payload = self.converter.to_json(input, what=f"input of orchestrator {name!r}")
        now = self.clock.now()
        if start_at is not None and (not isinstance(start_at, datetime) or start_at.tzinfo is None):
            raise InvalidArgumentError(f"start_at must be an aware datetime, got {start_at!r}")
        started = ExecutionStarted(
            timestamp=now,
            name=name,
            instance_id=chosen,
            execution_id=self.new_id(),
            input=payload,
            version=version,
            scheduled_start=start_at,
        )
        visible_at = max(start_at, now) if start_at is not None else now
        return InstanceStart(started=started, now=now, visible_at=visible_at)

    def restart(self, instance_id: str, *, new_instance_id: bool = True) -> str:
        """Start the instance's orchestrator again with the input of its current execution.

        Args:
            instance_id: the instance to run again.
            new_instance_id: run under a new id (default), or under the same id,
                which needs the old run to have finished.

        Raises:
            InstanceNotFoundError: no such instance.
            InstanceExistsError: the same id was asked for and it has not finished.
        """
        old = self.status(instance_id)
        return self.start(old.name, old.input, instance_id=None if new_instance_id else instance_id)

    def status(self, instance_id: str) -> InstanceStatus:
        """The instance's status, including what it waits for.

        Raises:
            InstanceNotFoundError: no such instance.
        """
        status = self.store.get_instance(instance_id)
        if status is None:
            raise InstanceNotFoundError(instance_id)
        return status

    def wait(self, instance_id: str, *, timeout: timedelta | None = None) -> InstanceStatus:
        """Wait until the instance completes, fails or is terminated; return its status.

        Raises:
            InstanceNotFoundError: no such instance.
            DeadlineExceededError: it had not finished after `timeout`.
        """
        pacer = WaitPacer(self.clock, timeout)
        changed = threading.Event()
        remove = self.store.add_listener(changed.set)
        try:
            while True:
                changed.clear()
                status = self.status(instance_id)
                if status.is_finished:
                    return status
                changed.wait(pacer.next_pause(status))
                time.sleep(pacer.gap_left())
        finally:
            remove()

    def raise_event(self, instance_id: str, name: str, data: Any = None) -> None:
        """Deliver external event `name` with `data` to the instance.

        Raises:
            InstanceNotFoundError: no such instance.
            InstanceFinishedError: it has finished.
            PayloadError: `data` cannot be converted to JSON.
        """
        check_event_name(name)
        payload = self.converter.to_json(data, what=f"data of event {name!r}")
        self._send(instance_id, EventRaised(timestamp=self.clock.now(), name=name, input=payload))

    def terminate(self, instance_id: str, reason: str | None = None) -> None:
        """Stop the instance for good; its status becomes TERMINATED with `reason` as output.

        An instance scheduled to start later is terminated at once and never runs.

        Raises:
            InstanceNotFoundError: no such instance.
            InstanceFinishedError: it has finished.
        """
        self._send(instance_id, ExecutionTerminated(timestamp=self.clock.now(), reason=reason))

    def suspend(self, instance_id: str, reason: str | None = None) -> None:
        """Pause the instance: new events queue up until it is resumed.

        Raises:
            InstanceNotFoundError: no such instance.
            InstanceFinishedError: it has finished.
        """
        self._send(instance_id, ExecutionSuspended(timestamp=self.clock.now(), reason=reason))

    def resume(self, instance_id: str, reason: str | None = None) -> None:
        """Resume a suspended instance; the events that queued up are processed.

        Raises:
            InstanceNotFoundError: no such instance.
            InstanceFinishedError: it has finished.
        """
        self._send(instance_id, ExecutionResumed(timestamp=self.clock.now(), reason=reason))

    def rewind(self, instance_id: str, reason: str | None = None) -> None:
        """Run a FAILED instance on from before its failure; `reason` is recorded in its history.

        The instance goes back to PENDING and a worker picks it up: the activities
        and sub-orchestrations whose failure ended it run again (a failed child is
        rewound in turn), and so does every call that had not answered when it
        failed; the work that succeeded is replayed from its history, not run again.

        Raises:
            InstanceNotFoundError: no such instance.
            InstanceNotFailedError: it has not failed (it is running, completed, ...).
        """
        now = self.clock.now()
        self.store.rewind_instance(
            instance_id, ExecutionRewound(timestamp=now, reason=reason), now=now
        )

    def purge(self, instance_id: str) -> bool:
        """Delete a finished instance and its history; False if there was none.

        Raises:
            InstanceExistsError: the instance has not finished.
        """
        return self.store.purge_instance(instance_id)

    def purge_many(
        self,
        *,
        status: Iterable[RuntimeStatus] | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
    ) -> int:
        """Delete every finished instance matching the filters; return how many."""
        query = InstanceQuery(
            statuses=frozenset(status) if status is not None else None,
            created_from=created_from,
            created_to=created_to,
        )
        return self.store.purge_instances(query)

    def list(
        self,
        *,
        status: Iterable[RuntimeStatus] | None = None,
        name: str | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        instance_id_prefix: str | None = None,
        page_size: int = 100,
        continuation: str | None = None,
    ) -> InstancePage:
        """One page of instances, oldest first; pass `continuation` on for the next."""
        return self.store.list_instances(
            InstanceQuery(
                statuses=frozenset(status) if status is not None else None,
                name=name,
                created_from=created_from,
                created_to=created_to,
                instance_id_prefix=instance_id_prefix,
                page_size=page_size,
                continuation=continuation,
            )
        )

    def history(self, instance_id: str) -> builtins.list[HistoryEvent]:
        """The instance's history (current execution), oldest first.

        Raises:
            InstanceNotFoundError: no such instance.
        """
        return self.store.get_history(instance_id)

    def _resolve(self, orchestrator: str | Callable[..., Any]) -> tuple[str, str | None]:
        if self.app is not None:
            definition = self.app.find_orchestrator(orchestrator)
            return definition.name, definition.version
        if isinstance(orchestrator, str):
            return check_name("orchestrator", orchestrator), None
        return check_name("orchestrator", getattr(orchestrator, "__name__", None)), None

    def _send(self, instance_id: str, event: HistoryEvent) -> None:
        status = self.status(instance_id)
        visible_at = event.timestamp
        scheduled = status.status is RuntimeStatus.PENDING and status.scheduled_start is not None
        if scheduled and not isinstance(event, ExecutionTerminated):
            # Events for an instance that has not started wait for its start; a
            # termination does not, so the instance never runs.
            assert status.scheduled_start is not None
            visible_at = max(visible_at, status.scheduled_start)
        self.store.send_message(
            NewMessage(instance_id=instance_id, event=event, visible_at=visible_at)
        )


def _random_id() -> str:
    return uuid.uuid4().hex
