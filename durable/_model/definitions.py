"""Registered orchestrators and activities, described as values.

A definition records what the engine and worker need to call a function:
its registered name, whether it takes an input, and the annotated types its
input is structured into and its result is structured back into.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

import attrs

from durable._model.retry import RetryPolicy
from durable.errors import RegistrationError

__all__ = ["ActivityDefinition", "OrchestratorDefinition", "signature_types"]


def signature_types(function: Callable[..., Any], *, skip: int) -> tuple[bool, Any, Any]:
    """(takes_input, input annotation, return annotation) of `function`.

    `skip` leading parameters are not the input (1 for an orchestrator's context).
    Unannotated types are `Any`. More than one input parameter is an error.
    """
    try:
        parameters = list(inspect.signature(function).parameters.values())[skip:]
    except (TypeError, ValueError) as error:
        raise RegistrationError(f"cannot read the signature of {function!r}: {error}") from error
    inputs = [
        each
        for each in parameters
        if each.kind in (each.POSITIONAL_ONLY, each.POSITIONAL_OR_KEYWORD)
    ]
    required = [each for each in inputs if each.default is each.empty]
    if len(required) > 1:
        names = ", ".join(each.name for each in required)
        raise RegistrationError(
            f"{_name_of(function)} takes {len(required)} inputs ({names}); durable passes one "
            "input: take a single dataclass, attrs class or dict instead"
        )
    try:
        hints = typing.get_type_hints(function)
    except Exception:
        hints = {}
    takes_input = bool(inputs)
    input_type = hints.get(inputs[0].name, Any) if inputs else Any
    output_type = hints.get("return", Any)
    return takes_input, input_type, output_type


def _name_of(function: Callable[..., Any]) -> str:
    return getattr(function, "__qualname__", None) or repr(function)


@attrs.frozen(kw_only=True)
class ActivityDefinition:
    """A registered activity.

    Attributes:
        name: the registered name.
        function: the function, sync or ``async def``; None when only the name is known.
        retry: the default retry policy for calls that do not give one.
        takes_input: whether the function takes an input parameter.
        input_type: the input's annotated type (``Any`` if not annotated).
        output_type: the return annotation (``Any`` if not annotated).
        is_async: whether the function is an ``async def`` (found once, not at every call).
    """

    name: str
    function: Callable[..., Any] | None = None
    retry: RetryPolicy | None = None
    takes_input: bool = True
    input_type: Any = Any
    output_type: Any = Any
    is_async: bool = attrs.field(init=False, eq=False, repr=False)

    @is_async.default
    def _function_is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.function)

    @classmethod
    def of(
        cls,
        function: Callable[..., Any],
        *,
        name: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> ActivityDefinition:
        """Describe `function` as an activity (named after it unless `name` is given)."""
        takes_input, input_type, output_type = signature_types(function, skip=0)
        return cls(
            name=name or function.__name__,
            function=function,
            retry=retry,
            takes_input=takes_input,
            input_type=input_type,
            output_type=output_type,
        )


@attrs.frozen(kw_only=True)
class OrchestratorDefinition:
    """A registered orchestrator.

    Attributes:
        name: the registered name.
        function: a generator function, an ``async def``, or a plain function,
            taking the context and optionally one input.
        version: the version recorded in `ExecutionStarted`, if any.
        takes_input: whether the function takes an input after the context.
        input_type: the input's annotated type (``Any`` if not annotated).
        output_type: the return annotation (``Any`` if not annotated).
    """

    name: str
    function: Callable[..., Any]
    version: str | None = None
    takes_input: bool = True
    input_type: Any = Any
    output_type: Any = Any

    @classmethod
    def of(
        cls, function: Callable[..., Any], *, name: str | None = None, version: str | None = None
    ) -> OrchestratorDefinition:
        """Describe `function` as an orchestrator (named after it unless `name` is given)."""
        takes_input, input_type, output_type = signature_types(function, skip=1)
        if inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function):
            output_type = Any
        if inspect.isasyncgenfunction(function):
            raise RegistrationError(
                f"{_name_of(function)} is an async generator; write orchestrators as "
                "'async def' (await tasks) or as generators (yield tasks), not both"
            )
        return cls(
            name=name or function.__name__,
            function=function,
            version=version,
            takes_input=takes_input,
            input_type=input_type,
            output_type=output_type,
        )
