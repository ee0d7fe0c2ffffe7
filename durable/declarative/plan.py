"""The plan: a validated document compiled into frozen values, ready to interpret.

A `Plan` holds the document's identity (name, version, content hash) and its
steps. Each `Step` has the fields every step may have (``if``, ``status``,
``output``, ``timeout``, ``retry``) and one kind-specific value in `spec`,
one class per kind. Templates and conditions are compiled; durations are
`timedelta`; ``defaults`` are already applied. Every step and action keeps
its path in the document, so runtime errors can say where they come from.

A template that is absent is None; a template given as null is a `Template`
whose value is null (``on_timeout: null`` returns null instead of failing).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import attrs

from durable._model.retry import RetryPolicy
from durable.declarative.problems import Path
from durable.declarative.templates import Condition, Template

__all__ = [
    "Action",
    "Approval",
    "Branch",
    "Call",
    "Case",
    "Catch",
    "Escalation",
    "Fail",
    "ForEach",
    "Http",
    "Loop",
    "Parallel",
    "Plan",
    "Receive",
    "RetrySpec",
    "Return",
    "Run",
    "Set",
    "Step",
    "StepSpec",
    "Switch",
    "Try",
    "Wait",
]


@attrs.frozen(kw_only=True)
class RetrySpec:
    """A step's retry policy.

    Attributes:
        policy: attempts, delays, backoff, budget and which errors to retry.
        jitter: whether each delay is scaled by a deterministic draw from [0, 1).
        errors_given: whether the document listed the errors to retry (if not,
            the built-in non-retryable errors are not retried).
    """

    policy: RetryPolicy
    jitter: bool = False
    errors_given: bool = False


@attrs.frozen(kw_only=True)
class Action:
    """An activity call or sub-workflow run of an ``approval`` (request or escalation)."""

    path: Path
    kind: str
    target: str
    input: Template | None = None


@attrs.frozen(kw_only=True)
class Call:
    """``call``: one activity, or several chained (each output the next one's input)."""

    activities: tuple[str, ...]
    input: Template | None = None


@attrs.frozen(kw_only=True)
class Http:
    """``http``: a request through the built-in HTTP activity.

    When ``async``, both `poll_every` and `poll_timeout` are set and a 202 +
    ``Location`` answer is polled; otherwise both are None.
    """

    method: str
    url: Template
    headers: Template | None = None
    body: Template | None = None
    poll_every: timedelta | None = None
    poll_timeout: timedelta | None = None


@attrs.frozen(kw_only=True)
class Run:
    """``run``: a sub-workflow (Python or declarative) as a sub-orchestration."""

    orchestrator: str
    input: Template | None = None
    instance_id: Template | None = None


@attrs.frozen(kw_only=True)
class Wait:
    """``wait``: a durable timer, for a duration or until a time."""

    delay: timedelta | None = None
    until: Template | None = None


@attrs.frozen(kw_only=True)
class Receive:
    """``receive``: an external event, filtered by ``accept``, bounded by the step's timeout."""

    event: str
    accept: Condition | None = None
    on_timeout: Template | None = None


@attrs.frozen(kw_only=True)
class Set:
    """``set``: assign variables."""

    values: tuple[tuple[str, Template], ...]


@attrs.frozen(kw_only=True)
class Case:
    """One ``{when, do}`` of a ``switch``."""

    when: Condition
    steps: tuple[Step, ...]


@attrs.frozen(kw_only=True)
class Switch:
    """``switch``: the first case whose condition holds, else ``default``."""

    cases: tuple[Case, ...]
    default: tuple[Step, ...] | None = None


@attrs.frozen(kw_only=True)
class Fail:
    """``fail``: raise an error of type ``error``."""

    error: str
    message: Template | None = None
    details: Template | None = None


@attrs.frozen(kw_only=True)
class Return:
    """``return``: finish the instance now with a value."""

    value: Template


@attrs.frozen(kw_only=True)
class Branch:
    """A named branch of a ``parallel``."""

    name: str
    steps: tuple[Step, ...]


@attrs.frozen(kw_only=True)
class Parallel:
    """``parallel``: branches run concurrently; ``join`` all or any."""

    branches: tuple[Branch, ...]
    join: str = "all"


@attrs.frozen(kw_only=True)
class ForEach:
    """``for_each``: the body once per item, at most ``max_parallel`` at once."""

    items: Template
    name: str
    steps: tuple[Step, ...]
    max_parallel: int | None = None
    on_error: str = "fail"


@attrs.frozen(kw_only=True)
class Loop:
    """``loop``: the body repeated until a condition holds, bounded by time or count."""

    steps: tuple[Step, ...]
    every: timedelta | None = None
    until: Condition | None = None
    expires: timedelta | None = None
    max_iterations: int | None = None
    on_expiry: Template | None = None
    checkpoint_every: int | None = None


@attrs.frozen(kw_only=True)
class Escalation:
    """An ``approval`` escalation: `action` once `after` has passed without an answer."""

    after: timedelta
    action: Action


@attrs.frozen(kw_only=True)
class Approval:
    """``approval``: request, wait for an accepted event, escalate, time out."""

    request: Action
    event: str
    timeout: timedelta
    accept: Condition | None = None
    escalations: tuple[Escalation, ...] = ()
    on_timeout: Template | None = None


@attrs.frozen(kw_only=True)
class Catch:
    """A ``catch`` handler: errors it takes (empty: any), the name the error is bound to."""

    errors: tuple[str, ...]
    name: str
    steps: tuple[Step, ...]


@attrs.frozen(kw_only=True)
class Try:
    """``try``: the body; on failure compensations (newest first), then a handler; then finally."""

    steps: tuple[Step, ...]
    catches: tuple[Catch, ...] = ()
    compensate: tuple[tuple[str, tuple[Step, ...]], ...] = ()
    finally_steps: tuple[Step, ...] | None = None


StepSpec = (
    Call
    | Http
    | Run
    | Wait
    | Receive
    | Set
    | Switch
    | Fail
    | Return
    | Parallel
    | ForEach
    | Loop
    | Approval
    | Try
)
"""The kind-specific part of a step."""


@attrs.frozen(kw_only=True)
class Step:
    """One step: its id, kind, common fields and kind-specific spec."""

    id: str
    kind: str
    path: Path
    spec: StepSpec
    when: Condition | None = None
    status: Template | None = None
    output: Template | None = None
    timeout: timedelta | None = None
    retry: RetrySpec | None = None

    def children(self) -> tuple[tuple[str, tuple[Step, ...]], ...]:
        """The nested step lists, each with a branch key (``do``, ``case0``, ``catch1``, ...)."""
        spec = self.spec
        match spec:
            case Switch():
                found = [(f"case{index}", case.steps) for index, case in enumerate(spec.cases)]
                return (*found, *((("default", spec.default),) if spec.default else ()))
            case Parallel():
                return tuple((branch.name, branch.steps) for branch in spec.branches)
            case ForEach() | Loop():
                return (("do", spec.steps),)
            case Try():
                lists = [("try", spec.steps)]
                lists += [(f"catch{index}", each.steps) for index, each in enumerate(spec.catches)]
                lists += [(f"compensate:{name}", steps) for name, steps in spec.compensate]
                lists += [("finally", spec.finally_steps)] if spec.finally_steps else []
                return tuple(lists)
            case _:
                return ()


@attrs.frozen(kw_only=True)
class Plan:
    """A compiled workflow document.

    Attributes:
        name: the orchestrator name.
        version: the document's version string.
        digest: the SHA-256 of the document's canonical JSON.
        steps: the top-level steps.
        description: the document's description.
        input_schema: the JSON Schema the input must match, if any.
        output: the output template (None: the last step's output).
        timeout: the whole instance's deadline, if any.
        source: the document as JSON (for tools; the interpreter does not read it).
    """

    name: str
    version: str
    digest: str
    steps: tuple[Step, ...]
    description: str | None = None
    input_schema: Any = None
    output: Template | None = None
    timeout: timedelta | None = None
    source: Any = attrs.field(default=None, eq=False, repr=False)

    @property
    def recorded_version(self) -> str:
        """What instances record as their version: ``<version>+sha256.<16 hex digits>``."""
        return f"{self.version}+sha256.{self.digest[:16]}"

    def walk(self) -> list[Step]:
        """Every step, in document order (a container before its nested steps)."""
        found: list[Step] = []

        def visit(steps: tuple[Step, ...]) -> None:
            for step in steps:
                found.append(step)
                for _, nested in step.children():
                    visit(nested)

        visit(self.steps)
        return found
