"""How the engine finds the activities and orchestrators an orchestrator calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from durable._model.definitions import ActivityDefinition, OrchestratorDefinition

__all__ = ["NameRegistry", "Registry"]


class Registry(Protocol):
    """Resolves a call's target, given as a registered name or as the function."""

    def find_activity(self, ref: str | Callable[..., Any]) -> ActivityDefinition:
        """The activity `ref` names; raises ActivityNotFoundError."""
        ...

    def find_orchestrator(self, ref: str | Callable[..., Any]) -> OrchestratorDefinition:
        """The orchestrator `ref` names; raises OrchestratorNotFoundError."""
        ...


class NameRegistry:
    """A registry that knows nothing: names stand for themselves, functions for their names.

    Used when the engine runs without an `App`, as in replay tests of a lone
    orchestrator function.
    """

    def find_activity(self, ref: str | Callable[..., Any]) -> ActivityDefinition:
        """A definition named `ref`, or after the function `ref`."""
        return ActivityDefinition(name=ref) if isinstance(ref, str) else ActivityDefinition.of(ref)

    def find_orchestrator(self, ref: str | Callable[..., Any]) -> OrchestratorDefinition:
        """A definition named `ref`, or after the function `ref`."""
        if isinstance(ref, str):
            return OrchestratorDefinition(name=ref, function=_unknown)
        return OrchestratorDefinition.of(ref)


def _unknown(*_: Any) -> None:
    raise LookupError("this orchestrator is known by name only")
