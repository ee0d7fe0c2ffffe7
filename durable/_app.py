"""`App`: the registry of a program's orchestrators and activities."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar, overload

from durable._model.converter import PayloadConverter
from durable._model.definitions import ActivityDefinition, OrchestratorDefinition
from durable._model.retry import RetryPolicy
from durable.errors import ActivityNotFoundError, OrchestratorNotFoundError, RegistrationError

__all__ = ["App", "check_name"]

F = TypeVar("F", bound=Callable[..., Any])
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:\-]{0,199}$")


def check_name(kind: str, name: object) -> str:
    """Return `name` if it can name an orchestrator or activity, else fail saying why."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise RegistrationError(
            f"{kind} name {name!r} is not valid: use 1 to 200 letters, digits, '_', '.', ':' "
            "or '-', not starting with a punctuation mark"
        )
    return name


class App:
    """The orchestrators and activities of one program, registered by decorators.

    Example::

        app = App()


        @app.activity
        def greet(name: str) -> str:
            return f"Hello, {name}!"


        @app.orchestrator
        def hello(ctx, name: str):
            return (yield ctx.call_activity(greet, name))
    """

    def __init__(self, *, converter: PayloadConverter | None = None) -> None:
        self.converter = converter or PayloadConverter()
        self._orchestrators: dict[str, OrchestratorDefinition] = {}
        self._activities: dict[str, ActivityDefinition] = {}
        self._by_function: dict[Callable[..., Any], str] = {}

    @overload
    def orchestrator(self, function: F) -> F: ...

    @overload
    def orchestrator(
        self, *, name: str | None = None, version: str | None = None
    ) -> Callable[[F], F]: ...

    def orchestrator(
        self, function: F | None = None, *, name: str | None = None, version: str | None = None
    ) -> F | Callable[[F], F]:
        """Register an orchestrator: ``@app.orchestrator`` or ``@app.orchestrator(name=...)``.

        Args:
            function: a generator function (``yield`` tasks), an ``async def``
                (``await`` tasks) or a plain function, taking the context and at
                most one input.
            name: the registered name (default: the function's name).
            version: recorded in each instance's history when it starts.
        """

        def register(target: F) -> F:
            self.add_orchestrator(OrchestratorDefinition.of(target, name=name, version=version))
            return target

        return register(function) if function is not None else register

    @overload
    def activity(self, function: F) -> F: ...

    @overload
    def activity(
        self, *, name: str | None = None, retry: RetryPolicy | None = None
    ) -> Callable[[F], F]: ...

    def activity(
        self,
        function: F | None = None,
        *,
        name: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> F | Callable[[F], F]:
        """Register an activity: ``@app.activity`` or ``@app.activity(retry=...)``.

        Args:
            function: a function (run in a thread pool) or an ``async def`` (run on
                the worker's event loop) taking at most one input.
            name: the registered name (default: the function's name).
            retry: the retry policy of calls that do not give their own.
        """

        def register(target: F) -> F:
            self.add_activity(ActivityDefinition.of(target, name=name, retry=retry))
            return target

        return register(function) if function is not None else register

    def workflow(self, source: Any, **options: Any) -> OrchestratorDefinition:
        """Register a declarative workflow document (a YAML/JSON path, text or dict).

        The document is validated first; nothing is registered unless it is valid.
        See `durable.declarative.register_workflow` for the options.
        """
        from durable.declarative import register_workflow

        definition: OrchestratorDefinition = register_workflow(self, source, **options)
        return definition

    def add_orchestrator(self, definition: OrchestratorDefinition) -> None:
        """Register an orchestrator definition (what the decorator does)."""
        check_name("orchestrator", definition.name)
        if definition.name in self._orchestrators:
            raise RegistrationError(
                f"an orchestrator named {definition.name!r} is already registered"
            )
        self._remember_function(definition.function, definition.name, "orchestrator")
        self._orchestrators[definition.name] = definition

    def add_activity(self, definition: ActivityDefinition) -> None:
        """Register an activity definition (what the decorator does)."""
        check_name("activity", definition.name)
        if definition.name in self._activities:
            raise RegistrationError(f"an activity named {definition.name!r} is already registered")
        if definition.function is not None:
            self._remember_function(definition.function, definition.name, "activity")
        self._activities[definition.name] = definition

    def _remember_function(self, function: Callable[..., Any], name: str, kind: str) -> None:
        if function in self._by_function:
            raise RegistrationError(
                f"{getattr(function, '__qualname__', function)!r} is already registered as "
                f"{self._by_function[function]!r}; register each function once (as {kind} "
                "or otherwise)"
            )
        self._by_function[function] = name

    @property
    def orchestrator_names(self) -> list[str]:
        """The registered orchestrator names, sorted."""
        return sorted(self._orchestrators)

    @property
    def activity_names(self) -> list[str]:
        """The registered activity names, sorted."""
        return sorted(self._activities)

    def find_orchestrator(self, ref: str | Callable[..., Any]) -> OrchestratorDefinition:
        """The orchestrator registered under a name or for a function.

        Raises:
            OrchestratorNotFoundError: nothing is registered for `ref`.
        """
        name = ref if isinstance(ref, str) else self._by_function.get(ref)
        definition = self._orchestrators.get(name) if name is not None else None
        if definition is None:
            raise OrchestratorNotFoundError(_label(ref), self.orchestrator_names)
        return definition

    def find_activity(self, ref: str | Callable[..., Any]) -> ActivityDefinition:
        """The activity registered under a name or for a function.

        Raises:
            ActivityNotFoundError: nothing is registered for `ref`.
        """
        name = ref if isinstance(ref, str) else self._by_function.get(ref)
        definition = self._activities.get(name) if name is not None else None
        if definition is None:
            raise ActivityNotFoundError(_label(ref), self.activity_names)
        return definition


def _label(ref: str | Callable[..., Any]) -> str:
    if isinstance(ref, str):
        return ref
    return f"{getattr(ref, '__qualname__', repr(ref))} (function not registered with this app)"
