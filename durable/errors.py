"""Every exception `durable` raises on purpose, under one root.

The tree::

    DurableError
    ├── RegistrationError (ValueError)          a bad or duplicate @app registration
    ├── OrchestratorNotFoundError (LookupError) no orchestrator registered under a name
    ├── ActivityNotFoundError (LookupError)     no activity registered under a name
    ├── PayloadError (TypeError)                a value that cannot become JSON, or back
    ├── InvalidArgumentError (ValueError)       a bad argument: negative timeout, bad id, ...
    ├── InstanceNotFoundError (LookupError)     no instance with that id
    ├── InstanceExistsError                     starting an id that is still running
    ├── InstanceFinishedError                   acting on an instance that has finished
    ├── InstanceNotFailedError                  rewinding an instance that has not failed
    ├── DeadlineExceededError                   a wait ran out of time
    ├── LeaseLostError                          a worker's lease on work was taken over
    ├── StoreError                              a store cannot be opened or used
    │   └── SchemaVersionError                  a database written by a newer `durable`
    ├── NonDeterminismError                     orchestrator code diverged from its history
    ├── UnsupportedAwaitError (TypeError)       an orchestrator awaited a non-durable thing
    ├── TaskCancelledError                      awaiting a cancelled timer, event or branch
    └── TaskFailedError                         a durable task failed; carries the failure
        ├── ActivityError                       an activity raised
        └── SubOrchestratorError                a sub-orchestration failed

Errors that cross a process boundary (an activity's exception, a failed child
orchestration) travel as `FailureDetails` data and are raised again inside the
orchestrator as `ActivityError` or `SubOrchestratorError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from durable._model.failures import FailureDetails

__all__ = [
    "ActivityError",
    "ActivityNotFoundError",
    "DeadlineExceededError",
    "DurableError",
    "InstanceExistsError",
    "InstanceFinishedError",
    "InstanceNotFailedError",
    "InstanceNotFoundError",
    "InvalidArgumentError",
    "LeaseLostError",
    "NonDeterminismError",
    "OrchestratorNotFoundError",
    "PayloadError",
    "RegistrationError",
    "SchemaVersionError",
    "StoreError",
    "SubOrchestratorError",
    "TaskCancelledError",
    "TaskFailedError",
    "UnsupportedAwaitError",
]


class DurableError(Exception):
    """The root of every error `durable` raises on purpose."""


class RegistrationError(DurableError, ValueError):
    """An orchestrator or activity registration is invalid or a duplicate."""


class OrchestratorNotFoundError(DurableError, LookupError):
    """No orchestrator is registered under the name asked for."""

    def __init__(self, name: str, known: list[str] | None = None) -> None:
        self.name = name
        hint = f"; registered: {', '.join(sorted(known))}" if known else ""
        super().__init__(f"no orchestrator is registered under the name {name!r}{hint}")


class ActivityNotFoundError(DurableError, LookupError):
    """No activity is registered under the name asked for."""

    def __init__(self, name: str, known: list[str] | None = None) -> None:
        self.name = name
        hint = f"; registered: {', '.join(sorted(known))}" if known else ""
        super().__init__(f"no activity is registered under the name {name!r}{hint}")


class PayloadError(DurableError, TypeError):
    """A value cannot be converted to JSON, or JSON cannot be structured back."""


class InvalidArgumentError(DurableError, ValueError):
    """An argument is out of range or malformed; the message names the parameter."""


class InstanceNotFoundError(DurableError, LookupError):
    """No instance with this id exists in the store."""

    def __init__(self, instance_id: str) -> None:
        self.instance_id = instance_id
        super().__init__(f"no instance with id {instance_id!r}")


class InstanceExistsError(DurableError):
    """An instance with this id exists and has not finished."""

    def __init__(self, instance_id: str, status: str) -> None:
        self.instance_id = instance_id
        self.status = status
        super().__init__(
            f"instance {instance_id!r} already exists and is {status}: it has not finished "
            "(wait for it or terminate it first)"
        )


class InstanceFinishedError(DurableError):
    """The instance has finished, so it can no longer take this request."""

    def __init__(self, instance_id: str, status: str, action: str) -> None:
        self.instance_id = instance_id
        self.status = status
        super().__init__(f"cannot {action} instance {instance_id!r}: it is already {status}")


class InstanceNotFailedError(DurableError):
    """Only a FAILED instance can be rewound; this one is in another state."""

    def __init__(self, instance_id: str, status: str) -> None:
        self.instance_id = instance_id
        self.status = status
        super().__init__(
            f"cannot rewind instance {instance_id!r}: it is {status}, and only FAILED "
            "instances can be rewound"
        )


class DeadlineExceededError(DurableError):
    """A wait did not see the condition it waited for before its timeout."""


class LeaseLostError(DurableError):
    """A worker's lease expired and another worker took the work over."""


class StoreError(DurableError):
    """A store cannot be opened or used; the message names the location."""


class SchemaVersionError(StoreError):
    """The database was written by a newer version of `durable`."""


class NonDeterminismError(DurableError):
    """Orchestrator code asked for something other than what its history recorded.

    Attributes:
        instance_id: the instance whose replay diverged.
        position: index of the history event where the divergence showed.
        recorded: what the history recorded there, in words.
        requested: what the code asked for now, in words.
    """

    def __init__(self, instance_id: str, position: int, recorded: str, requested: str) -> None:
        self.instance_id = instance_id
        self.position = position
        self.recorded = recorded
        self.requested = requested
        super().__init__(
            f"non-deterministic orchestrator in instance {instance_id!r} at history event "
            f"{position}: history recorded {recorded}, but the code now asks for {requested}"
        )


class UnsupportedAwaitError(DurableError, TypeError):
    """An orchestrator awaited or yielded something that is not a durable task."""


class TaskCancelledError(DurableError):
    """The awaited timer, event wait or branch was cancelled."""


class TaskFailedError(DurableError):
    """A durable task failed; `failure` describes the original error.

    Attributes:
        failure: the failure as data: type name, base type names, message, traceback.
    """

    def __init__(self, message: str, failure: FailureDetails) -> None:
        self.failure = failure
        super().__init__(message)

    @property
    def type_name(self) -> str:
        """The name of the original exception type."""
        return self.failure.type_name

    def matches(self, *type_names: str) -> bool:
        """Whether the original error is of one of these type names (bases included)."""
        return self.failure.matches(*type_names)


class ActivityError(TaskFailedError):
    """An activity raised; raised inside the orchestrator at the await point."""

    def __init__(self, activity: str, failure: FailureDetails) -> None:
        self.activity = activity
        super().__init__(
            f"activity {activity!r} failed with {failure.type_name}: {failure.message}", failure
        )


class SubOrchestratorError(TaskFailedError):
    """A sub-orchestration failed; raised inside the parent at the await point."""

    def __init__(self, orchestrator: str, instance_id: str, failure: FailureDetails) -> None:
        self.orchestrator = orchestrator
        self.instance_id = instance_id
        super().__init__(
            f"sub-orchestration {orchestrator!r} ({instance_id}) failed with "
            f"{failure.type_name}: {failure.message}",
            failure,
        )
