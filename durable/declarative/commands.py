"""The logic of the declarative commands, argv-free: parsed values in, an exit code out.

``durable validate FILE...`` (`validate_files`), ``durable validate FILE
--against-history HISTORY`` (`validate_against_history`), ``durable run
FILE --input JSON`` on a store and ``durable run FILE --simulate --fakes
FAKES`` in virtual time (`run_workflow_file`), and ``durable schema``
(`print_schema`). Each writes to the streams it is given and returns the
exit code; the command-line package only parses arguments and opens stores.

Exit codes follow ``durable``'s: 0 valid (or the run completed), 1 a
document is not valid, 4 an input that cannot be read (history or fakes
file, unknown workflow), 8 the run failed or was terminated, 9 the document
does not replay the recorded history.

The simulation harness and history files live in ``durable.testing``, a
layer above this one; like the command line's ``history`` and ``replay``,
these commands import it when they run.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, TextIO

from durable import App, Client, RuntimeStatus, Worker
from durable._model.definitions import OrchestratorDefinition
from durable._store.protocol import Store
from durable.declarative.durations import format_duration
from durable.declarative.fakes import FakesError, apply_fake, read_fakes
from durable.declarative.interpreter import Interpreter
from durable.declarative.plan import Action, Approval, Call, Http, Plan, Run
from durable.declarative.registration import workflow_definition
from durable.declarative.schema import schema_text
from durable.declarative.validation import Validation, validate
from durable.patterns import register_http
from durable.patterns.async_http import HTTP_ACTIVITY

__all__ = [
    "FAILED",
    "INVALID",
    "NONDETERMINISM",
    "OK",
    "UNREADABLE",
    "print_schema",
    "run_workflow_file",
    "validate_against_history",
    "validate_files",
]

OK = 0
INVALID = 1
UNREADABLE = 4
FAILED = 8
NONDETERMINISM = 9


def print_schema(*, stdout: TextIO) -> int:
    """``durable schema``: print the JSON Schema of workflow documents."""
    stdout.write(schema_text())
    return OK


def validate_files(
    files: Sequence[str],
    *,
    output_format: str = "text",
    app: App | None = None,
    stdout: TextIO,
    stderr: TextIO,
) -> int:
    """``durable validate FILE...``: every problem of every file; exit 1 if any.

    Args:
        files: the documents (YAML, or JSON for ``.json``).
        output_format: ``"text"`` (``file:line:col: path: message (hint)``) or ``"json"``.
        app: also check activity and workflow names against this app.
    """
    results = [validate(file, app=app) for file in files]
    if output_format == "json":
        document = {
            "valid": all(result.ok for result in results),
            "files": [
                {
                    "file": result.file,
                    "valid": result.ok,
                    "problems": [problem.to_json() for problem in result.problems],
                }
                for result in results
            ],
        }
        stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    else:
        for result in results:
            for problem in result.problems:
                stdout.write(problem.format() + "\n")
        stderr.write(_summary(results) + "\n")
    return OK if all(result.ok for result in results) else INVALID


def _summary(results: list[Validation]) -> str:
    invalid = [result for result in results if not result.ok]
    count = sum(len(result.problems) for result in invalid)
    if not invalid:
        return f"{len(results)} document{'s' if len(results) != 1 else ''} valid"
    return (
        f"{count} problem{'s' if count != 1 else ''} in {len(invalid)} of {len(results)} "
        f"document{'s' if len(results) != 1 else ''}"
    )


def validate_against_history(
    file: str,
    history_file: str,
    *,
    app: App | None = None,
    stdout: TextIO,
    stderr: TextIO,
) -> int:
    """``durable validate FILE --against-history HISTORY``: would this document replay it?

    The history (a ``durable history --save`` file) is replayed through the
    document as it is now, whatever document the instance recorded: exit 9
    at the first decision that differs, 0 if it makes every recorded decision.
    """
    result = validate(file, app=app)
    if result.plan is None:
        for problem in result.problems:
            stdout.write(problem.format() + "\n")
        stderr.write(_summary([result]) + "\n")
        return INVALID
    testing = importlib.import_module("durable.testing")
    try:
        document = testing.load_history(history_file)
    except (OSError, ValueError) as error:
        stderr.write(f"{history_file}: cannot read the history: {error}\n")
        return UNREADABLE
    plan = result.plan
    scratch = _scratch_app(plan, app)
    scratch.add_orchestrator(_unchecked_definition(plan))
    replayed = testing.replay(document, plan.name, app=scratch, raise_on_divergence=False)
    recorded = _recorded_version(document)
    same = recorded == plan.recorded_version
    origin = "this very document" if same else f"document version {recorded or 'unknown'}"
    if replayed.divergence is not None:
        stdout.write(f"{history_file}: {replayed.divergence}\n")
        stderr.write(f"{file} does not replay the history (recorded with {origin})\n")
        return NONDETERMINISM
    stdout.write(
        f"{history_file}: {file} makes the {replayed.events} recorded decisions "
        f"(recorded with {origin}); the instance is {replayed.status.value}\n"
    )
    return OK


def _recorded_version(document: Any) -> str | None:
    for event in document.get("events", ()) if isinstance(document, dict) else ():
        if isinstance(event, dict) and event.get("type") == "ExecutionStarted":
            version = event.get("version")
            return version if isinstance(version, str) else None
    return None


def _unchecked_definition(plan: Plan) -> OrchestratorDefinition:
    """The plan's orchestrator without the document check (to try it on foreign histories)."""
    interpreter = Interpreter(plan)

    def replay_workflow(ctx: Any, input: Any = None) -> Any:
        return interpreter.run(ctx, input)

    return OrchestratorDefinition(
        name=plan.name, function=replay_workflow, version=plan.recorded_version, takes_input=True
    )


# -- running a document ------------------------------------------------------------------------


def plan_calls(plan: Plan) -> tuple[set[str], set[str]]:
    """The activity names and workflow names a plan calls."""
    activities: set[str] = set()
    workflows: set[str] = set()
    for step in plan.walk():
        spec = step.spec
        actions: list[Action] = []
        if isinstance(spec, Call):
            activities.update(spec.activities)
        elif isinstance(spec, Http):
            activities.add(HTTP_ACTIVITY)
        elif isinstance(spec, Run):
            workflows.add(spec.orchestrator)
        elif isinstance(spec, Approval):
            actions = [spec.request, *(each.action for each in spec.escalations)]
        for action in actions:
            (activities if action.kind == "call" else workflows).add(action.target)
    return activities, workflows


def _placeholder(name: str) -> Callable[[Any], Any]:
    def placeholder(input: Any = None) -> Any:
        raise LookupError(f"activity {name!r} is not faked; add it to the fakes file")

    placeholder.__name__ = placeholder.__qualname__ = f"placeholder_{name}"
    return placeholder


def _scratch_app(plan: Plan, app: App | None) -> App:
    """`app`'s registrations, and a placeholder for each other activity the plan calls."""
    scratch = App()
    if app is not None:
        for name in app.activity_names:
            scratch.add_activity(app.find_activity(name))
        for name in app.orchestrator_names:
            if name != plan.name:
                scratch.add_orchestrator(app.find_orchestrator(name))
    activities, _ = plan_calls(plan)
    for name in sorted(activities - set(scratch.activity_names)):
        scratch.activity(name=name)(_placeholder(name))
    return scratch


def run_workflow_file(
    file: str,
    *,
    input: Any = None,
    app: App | None = None,
    store: Store | None = None,
    simulate: bool = False,
    fakes: str | None = None,
    output_format: str = "text",
    timeout: timedelta | None = None,
    stdout: TextIO,
    stderr: TextIO,
) -> int:
    """``durable run FILE``: run a document to its end and print its output.

    On `store`, with `app`'s activities, through a worker in this process
    (``--input JSON``); or, with `simulate`, in virtual time with the
    activities faked from the `fakes` file (see ``examples/workflows/fakes/*.yaml``).

    Args:
        file: the document.
        input: the workflow's input.
        app: the activities (and sub-workflows) to run with; required on a store
            if the document calls activities.
        store: where to run (not with `simulate`).
        simulate: run in a simulation instead.
        fakes: the fakes file: activity results, failures, events to raise.
        output_format: ``"text"`` or ``"json"``.
        timeout: on a store, how long to wait for the end.
    """
    checked = app is not None and not simulate
    result = validate(
        file,
        # The built-in HTTP activity is registered on demand (see _run_on_store).
        activities=[*app.activity_names, HTTP_ACTIVITY] if checked and app else None,
        orchestrators=app.orchestrator_names if checked and app else None,
    )
    if result.plan is None:
        for problem in result.problems:
            stdout.write(problem.format() + "\n")
        stderr.write(_summary([result]) + "\n")
        return INVALID
    if simulate:
        return _simulate(result.plan, input, app, fakes, output_format, stdout, stderr)
    if store is None:
        stderr.write("durable run: give a store to run on, or --simulate\n")
        return UNREADABLE
    return _run_on_store(result.plan, input, app, store, output_format, timeout, stdout, stderr)


def _run_on_store(
    plan: Plan,
    input: Any,
    app: App | None,
    store: Store,
    output_format: str,
    timeout: timedelta | None,
    stdout: TextIO,
    stderr: TextIO,
) -> int:
    runner = app if app is not None else App()
    activities, workflows = plan_calls(plan)
    if HTTP_ACTIVITY in activities and HTTP_ACTIVITY not in runner.activity_names:
        register_http(runner, activity_name=HTTP_ACTIVITY, orchestrator_name=None)
    missing = sorted(
        (activities - set(runner.activity_names)) | (workflows - set(runner.orchestrator_names))
    )
    if missing:
        stderr.write(
            f"durable run: the document calls {', '.join(missing)}, which no app provides; "
            "give the app with --app module:app, or use --simulate --fakes FILE\n"
        )
        return UNREADABLE
    if plan.name not in runner.orchestrator_names:
        runner.add_orchestrator(workflow_definition([plan]))
    client = Client(store, app=runner)
    with Worker(runner, store):
        instance_id = client.start(plan.name, input)
        stderr.write(f"started {plan.name} instance {instance_id}\n")
        status = client.wait(instance_id, timeout=timeout)
    return _report(
        {
            "instance_id": instance_id,
            "status": status.status.value,
            "output": status.output,
            "failure": status.failure.message if status.failure else None,
            "custom_status": status.custom_status,
        },
        status.status,
        output_format,
        stdout,
    )


def _report(
    summary: dict[str, Any], status: RuntimeStatus, output_format: str, stdout: TextIO
) -> int:
    if output_format == "json":
        stdout.write(json.dumps(summary, indent=2, ensure_ascii=False, default=str) + "\n")
    else:
        for line in summary.get("timeline", ()):
            stdout.write(line + "\n")
        ending = json.dumps(summary["output"], ensure_ascii=False)
        if status is not RuntimeStatus.COMPLETED:
            ending = summary.get("failure") or ending
        stdout.write(f"{summary['status']}: {ending}\n")
    return OK if status is RuntimeStatus.COMPLETED else FAILED


# -- simulation --------------------------------------------------------------------------------


def _simulate(
    plan: Plan,
    input: Any,
    app: App | None,
    fakes_file: str | None,
    output_format: str,
    stdout: TextIO,
    stderr: TextIO,
) -> int:
    try:
        fakes = read_fakes(fakes_file)
    except FakesError as error:
        stderr.write(f"{fakes_file}: {error}\n")
        return UNREADABLE
    scratch = _scratch_app(plan, app)
    scratch.add_orchestrator(workflow_definition([plan]))
    testing = importlib.import_module("durable.testing")
    options: dict[str, Any] = {"seed": fakes.get("seed", 0)}
    if "start" in fakes:
        options["start"] = fakes["start"]
    with testing.Simulation(scratch, **options) as simulation:
        origin = simulation.now
        for name, rule in fakes.get("activities", {}).items():
            if name not in scratch.activity_names:
                stderr.write(f"{fakes_file}: activities.{name}: the document does not call it\n")
                return UNREADABLE
            apply_fake(simulation, name, rule)
        instance_id = simulation.start(plan.name, input, instance_id=f"{plan.name}-simulated")
        for event in fakes.get("events", ()):
            simulation.raise_event(instance_id, event["name"], event.get("data"), at=event["at"])
        simulation.run_until_idle()
        status = simulation.status(instance_id)
        calls = simulation.calls(instance_id=instance_id)
    entries = [(call.at - origin, 1, _call_line(call)) for call in calls]
    entries += [
        (event["at"], 0, f"event {event['name']} {_short(event.get('data'))}")
        for event in fakes.get("events", ())
    ]
    timeline = [f"  +{_offset(at):<8} {text}" for at, _, text in sorted(entries, key=_when)]
    summary = {
        "instance_id": instance_id,
        "status": status.status.value,
        "output": status.output,
        "failure": status.failure.message if status.failure else None,
        "custom_status": status.custom_status,
        "ended_after": _offset((status.completed_at or status.last_updated_at) - origin),
        "calls": [
            {
                "name": call.name,
                "at": _offset(call.at - origin),
                "input": call.input,
                "output": call.output,
            }
            for call in calls
        ],
        "timeline": [f"simulated {plan.name} {plan.version} from {origin.isoformat()}", *timeline],
    }
    if output_format == "json":
        summary.pop("timeline")
    return _report(summary, status.status, output_format, stdout)


def _when(entry: tuple[timedelta, int, str]) -> tuple[timedelta, int]:
    """Timeline order: by time, events before the calls they cause, calls as they ran."""
    return entry[0], entry[1]


def _call_line(call: Any) -> str:
    text = f"{call.name}({_short(call.input)})"
    if call.outcome == "completed":
        return f"{text} -> {_short(call.output)}"
    return f"{text} failed: {call.failure.message if call.failure else call.outcome}"


def _offset(delta: timedelta) -> str:
    return "0s" if delta <= timedelta(0) else format_duration(delta)


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."
