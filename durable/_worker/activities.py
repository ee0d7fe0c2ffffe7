"""Running one activity task: input structured, function called, result as an event."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from durable._app import App
from durable._model.definitions import ActivityDefinition
from durable._model.events import HistoryEvent, TaskCompleted, TaskFailed
from durable._model.failures import FailureDetails
from durable._store.protocol import ActivityWorkItem
from durable.errors import ActivityNotFoundError, PayloadError

__all__ = ["ActivityCall", "prepare_activity"]


class ActivityCall:
    """One activity invocation, prepared: call `run` (sync) or `run_async`, then `result`."""

    def __init__(self, app: App, item: ActivityWorkItem, definition: ActivityDefinition) -> None:
        self._app = app
        self._item = item
        self.definition = definition

    @property
    def is_async(self) -> bool:
        """Whether the activity is an ``async def`` (run it on the event loop)."""
        return self.definition.is_async

    def arguments(self) -> tuple[Any, ...]:
        """The positional arguments: the structured input, if the function takes one."""
        if not self.definition.takes_input:
            return ()
        value = self._app.converter.from_json(
            self._item.input,
            self.definition.input_type,
            what=f"input of activity {self.definition.name!r}",
        )
        return (value,)

    def run(self, now: Callable[[], datetime]) -> HistoryEvent:
        """Call a sync activity and describe its outcome as an event."""
        function = self.definition.function
        assert function is not None
        try:
            value = function(*self.arguments())
        except Exception as error:
            return self.failed(error, now())
        return self.completed(value, now())

    async def run_async(self, now: Callable[[], datetime]) -> HistoryEvent:
        """Await an async activity and describe its outcome as an event."""
        function = self.definition.function
        assert function is not None
        try:
            value = await function(*self.arguments())
        except Exception as error:
            return self.failed(error, now())
        return self.completed(value, now())

    def completed(self, value: Any, now: datetime) -> HistoryEvent:
        """The `TaskCompleted` event for `value`, or `TaskFailed` if it is not JSON."""
        try:
            output = self._app.converter.to_json(
                value, what=f"result of activity {self.definition.name!r}"
            )
        except PayloadError as error:
            return self.failed(error, now)
        return TaskCompleted(timestamp=now, seq=self._item.seq, output=output)

    def failed(self, error: BaseException, now: datetime) -> HistoryEvent:
        """The `TaskFailed` event describing `error`."""
        failure = FailureDetails.from_exception(
            error, non_retryable=isinstance(error, PayloadError)
        )
        return TaskFailed(timestamp=now, seq=self._item.seq, failure=failure)


def prepare_activity(
    app: App, item: ActivityWorkItem, now: datetime
) -> ActivityCall | HistoryEvent:
    """The call to make for `item`, or at once a `TaskFailed` if no such activity exists."""
    try:
        definition = app.find_activity(item.name)
    except ActivityNotFoundError as error:
        failure = FailureDetails.from_exception(error, non_retryable=True)
        return TaskFailed(timestamp=now, seq=item.seq, failure=failure)
    if definition.function is None:
        missing = ActivityNotFoundError(item.name)
        failure = FailureDetails.from_exception(missing, non_retryable=True)
        return TaskFailed(timestamp=now, seq=item.seq, failure=failure)
    return ActivityCall(app, item, definition)
