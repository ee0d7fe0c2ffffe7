"""Registering a document as an orchestrator, and replaying each instance with its own document.

`register_workflow(app, source)` validates the document against the app
(its activities and orchestrators must be registered first), compiles it and
registers one orchestrator under the document's ``name``. The orchestrator's
version is ``<version>+sha256.<first 16 hex digits of the document hash>``:
`durable` records it in each instance's ``ExecutionStarted`` (and passes it
on to continue-as-new executions and to sub-workflows), so every execution
knows the document it started with. On replay the orchestrator picks the
plan whose recorded version matches; earlier documents given as
``previous=`` stay available to the instances that started with them. An
instance whose document is not available is refused with
`NonDeterminismError`, which names both documents.
"""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from typing import Any

from durable import App, OrchestrationContext
from durable._model.definitions import OrchestratorDefinition
from durable.declarative.errors import DocumentError
from durable.declarative.expressions import Limits
from durable.declarative.interpreter import Interpreter
from durable.declarative.plan import Plan
from durable.declarative.validation import Source, validate
from durable.errors import NonDeterminismError, RegistrationError

__all__ = ["compile_workflow", "document_tags", "register_workflow", "workflow_definition"]


def compile_workflow(source: Source, *, app: App | None = None) -> Plan:
    """Validate a document (against `app`, if given) and return its plan.

    Raises:
        DocumentError: the document is not valid; `problems` lists why.
    """
    result = validate(source, app=app)
    if result.plan is None:
        raise DocumentError(result.problems, source=result.file)
    return result.plan


def document_tags(plan: Plan) -> dict[str, str]:
    """The tags that identify a document in ``ExecutionStarted``: name, version, hash."""
    return {
        "durable.workflow.name": plan.name,
        "durable.workflow.version": plan.version,
        "durable.workflow.sha256": plan.digest,
    }


def workflow_definition(
    plans: Sequence[Plan], *, limits: Limits | None = None
) -> OrchestratorDefinition:
    """The orchestrator of `plans[0]`, able to replay instances of every plan given.

    Raises:
        RegistrationError: no plan, or plans of different names.
    """
    if not plans:
        raise RegistrationError("workflow_definition needs at least one plan")
    current = plans[0]
    names = {plan.name for plan in plans}
    if names != {current.name}:
        raise RegistrationError(
            f"previous documents must have the name {current.name!r}; got {sorted(names)}"
        )
    interpreters = {plan.recorded_version: Interpreter(plan, limits) for plan in reversed(plans)}

    def run_workflow(ctx: OrchestrationContext, input: Any = None) -> Coroutine[Any, Any, Any]:
        recorded = ctx.version
        interpreter = interpreters.get(recorded or current.recorded_version)
        if interpreter is None:
            raise _changed(ctx, recorded, current)
        return interpreter.run(ctx, input)

    run_workflow.__name__ = run_workflow.__qualname__ = f"workflow:{current.name}"
    return OrchestratorDefinition(
        name=current.name,
        function=run_workflow,
        version=current.recorded_version,
        takes_input=True,
    )


def _changed(ctx: OrchestrationContext, recorded: str | None, current: Plan) -> NonDeterminismError:
    version, _, digest = (recorded or "").partition("+sha256.")
    return NonDeterminismError(
        ctx.instance_id,
        0,
        f"workflow document {current.name!r} version {version!r} (sha256 {digest or '?'}...)",
        f"document version {current.version!r} (sha256 {current.digest[:16]}...): the document "
        "changed while the instance ran, and an instance replays only with the document it "
        "started with; register the old one too, with register_workflow(app, new, "
        "previous=[old]), until its instances finish",
    )


def register_workflow(
    app: App,
    source: Source,
    *,
    previous: Sequence[Source] = (),
    check_names: bool = True,
    limits: Limits | None = None,
) -> OrchestratorDefinition:
    """Register a workflow document as an orchestrator named after its ``name``.

    Args:
        app: the app to register in (its activities and sub-workflows are
            checked unless `check_names` is false).
        source: the document: a YAML or JSON file path, or the parsed document.
        previous: earlier versions of the document still running somewhere:
            their instances keep replaying with them.
        check_names: check called activities and run workflows against `app`.
        limits: the expression time box and depth bound.

    Returns:
        The registered orchestrator definition.

    Raises:
        DocumentError: the document (or a previous one) is not valid.
        RegistrationError: the name is taken, or a previous document has another name.
    """
    against = app if check_names else None
    plans = [compile_workflow(source, app=against)]
    plans += [compile_workflow(each, app=against) for each in previous]
    definition = workflow_definition(plans, limits=limits)
    app.add_orchestrator(definition)
    return definition
