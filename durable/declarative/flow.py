"""Runners of the structured kinds: parallel, for_each, loop, approval, try.

Concurrency is coroutine branches inside the instance, through
``ctx.when_all`` and ``ctx.when_any``. Each branch is wrapped in a group of
its own (``ctx.when_all([branch])``) so that, when one branch fails, the
others can be cancelled: their timers and event waits are released and they
make no further calls.

Two pattern kinds are the matching `durable.patterns` helper, with the
document's steps and expressions as its hooks, so they record its history:

- ``loop`` is a `Monitor` whose probe runs the loop's steps, whose ``until``
  is the loop's condition and whose checkpoint is the run's own;
- ``approval`` is `wait_for_reply`, with the request and escalations as its
  actions and ``accept`` as its predicate.

``for_each`` keeps the lane structure of `fan_out` (``min(max_parallel,
items)`` lanes, each taking the next item when its previous one is done;
results in input order), so a body of one call records the history of
`fan_out` over that activity; but its body is any list of steps, a failing
item cancels the other lanes, and errors keep their own types (a
``FanOutError`` would hide them from ``catch``), which `fan_out` does not do.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from durable import Task
from durable.declarative.durations import format_duration
from durable.declarative.errors import ExpressionError, Timeout
from durable.declarative.failures import (
    ContinuedAsNew,
    Finished,
    catchable,
    error_value,
    failure_of,
    matches,
)
from durable.declarative.kinds import acceptance
from durable.declarative.plan import Action, Approval, ForEach, Loop, Parallel, Step, Try
from durable.declarative.scope import Scope
from durable.patterns import Monitor, MonitorOutcome, MonitorProgress, MonitorResult, wait_for_reply

if TYPE_CHECKING:
    from durable.declarative.interpreter import Run as Running

__all__ = ["RUNNERS", "cancel_all"]

Runner = Callable[["Running", Step, Scope], Coroutine[Any, Any, Any]]


def cancel_all(tasks: Sequence[Task[Any]]) -> None:
    """Cancel the groups that have not finished (their branches stop, their waits are released)."""
    for task in tasks:
        cancel = getattr(task, "cancel", None)
        if cancel is not None and not task.is_completed:
            cancel()


async def run_parallel(run: Running, step: Step, scope: Scope) -> Any:
    """``parallel``: the branches concurrently; ``join: all`` waits for all, ``any`` for one."""
    spec = step.spec
    assert isinstance(spec, Parallel)
    ctx = run.ctx
    groups = [ctx.when_all([run.steps(branch.steps, scope)]) for branch in spec.branches]
    if spec.join == "any":
        winner = await ctx.when_any(groups)
        index = next(index for index, group in enumerate(groups) if group is winner)
        return {spec.branches[index].name: winner.result[0]}
    try:
        results = await ctx.when_all(groups)
    except Exception:
        cancel_all(groups)
        raise
    return {branch.name: result[0] for branch, result in zip(spec.branches, results, strict=True)}


async def run_for_each(run: Running, step: Step, scope: Scope) -> Any:
    """``for_each``: the body per item, in lanes; results in input order."""
    spec = step.spec
    assert isinstance(spec, ForEach)
    items = run.render(spec.items, scope, step, (*step.path, "for_each"))
    if not isinstance(items, list):
        raise ExpressionError(f"for_each gave {_shown(items)}, not a list", step=step.id)
    total = len(items)
    results: list[Any] = [None] * total
    failures: list[tuple[int, BaseException]] = []
    pending = iter(range(total))
    collect = spec.on_error == "collect"
    stopped = False

    async def lane() -> None:
        nonlocal stopped
        for index in pending:
            if stopped:
                return
            item = scope.child({spec.name: items[index], "index": index}, own_steps=True)
            try:
                results[index] = await run.steps(spec.steps, item)
            except Exception as error:
                if not (collect and catchable(error)):
                    stopped = True
                    raise
                failures.append((index, error))

    lanes = [run.ctx.when_all([lane()]) for _ in range(min(spec.max_parallel or total, total))]
    try:
        await run.ctx.when_all(lanes)
    except Exception:
        stopped = True
        cancel_all(lanes)
        raise
    if not collect:
        return results
    errors = [
        {"index": index, "type": failure_of(error).type_name, "message": failure_of(error).message}
        for index, error in sorted(failures, key=lambda each: each[0])
    ]
    return {"results": results, "errors": errors}


async def run_loop(run: Running, step: Step, scope: Scope) -> Any:
    """``loop``: the body until ``until`` holds, every ``every``, bounded by expiry or count."""
    spec = step.spec
    assert isinstance(spec, Loop)
    ctx = run.ctx
    progress = _loop_progress(run, step)
    iteration = progress.polls if progress is not None else 0
    until_path = (*step.path, "loop", "until")

    async def probe(_: Any) -> Any:
        nonlocal iteration
        iteration += 1
        return await run.steps(spec.steps, scope.child({"iteration": iteration}))

    def until(value: Any) -> bool:
        if spec.until is None:
            return False
        return run.holds(spec.until, scope, step, until_path, result=value, iteration=iteration)

    def checkpoint(_: Any, saved: MonitorProgress) -> Any:
        expiry = saved.expires_at.isoformat() if saved.expires_at is not None else None
        state = {"iteration": saved.polls, "result": saved.value, "expires_at": expiry}
        return run.checkpoint_input(step, state)

    monitor = Monitor(
        probe=probe,
        interval=spec.every,
        until=until,
        expires_after=spec.expires,
        max_polls=spec.max_iterations,
        continue_every=spec.checkpoint_every,
        checkpoint=checkpoint,
    )
    result = await monitor.run(ctx, progress=progress)
    if result.outcome is MonitorOutcome.SATISFIED:
        return result.value
    if result.outcome is MonitorOutcome.CONTINUED_AS_NEW:
        raise ContinuedAsNew("continue-as-new")
    return _loop_ended(run, step, scope, result)


def _loop_progress(run: Running, step: Step) -> MonitorProgress | None:
    """Where a loop resumed after continue-as-new left off (None on its first execution)."""
    saved = run.take_resume(step)
    if saved is None:
        return None
    expires = saved.get("expires_at")
    return MonitorProgress(
        # The loop's checkpoint is the run's, which does not keep the loop's first start;
        # nothing reads it, since the checkpoint function makes the next input.
        started_at=run.ctx.now,
        expires_at=datetime.fromisoformat(expires) if expires else None,
        polls=int(saved.get("iteration", 0)),
        value=saved.get("result"),
    )


def _loop_ended(run: Running, step: Step, scope: Scope, result: MonitorResult) -> Any:
    spec = step.spec
    assert isinstance(spec, Loop)
    if spec.until is None:
        return result.value
    if spec.on_expiry is not None:
        path = (*step.path, "loop", "on_expiry")
        return run.render(
            spec.on_expiry, scope, step, path, result=result.value, iteration=result.polls
        )
    if result.outcome is MonitorOutcome.EXHAUSTED:
        bound = f"in {spec.max_iterations} iterations"
    else:
        assert spec.expires is not None
        bound = f"within {format_duration(spec.expires)}"
    raise Timeout(f"the loop's until did not hold {bound}", step=step.id)


async def run_approval(run: Running, step: Step, scope: Scope) -> Any:
    """``approval``: request, wait, escalate at each delay, then time out."""
    spec = step.spec
    assert isinstance(spec, Approval)
    accept_path = (*step.path, "approval", "accept")
    reply = await wait_for_reply(
        run.ctx,
        spec.event,
        ask=partial(_action, run, step, scope, spec.request),
        escalations=[
            (escalation.after, partial(_action, run, step, scope, escalation.action))
            for escalation in spec.escalations
        ],
        deadline=spec.timeout,
        accept=acceptance(run, step, scope, spec.accept, accept_path),
    )
    if reply.answered:
        return reply.data
    if spec.on_timeout is not None:
        return run.render(spec.on_timeout, scope, step, (*step.path, "approval", "on_timeout"))
    raise Timeout(
        f"no '{spec.event}' event was accepted within {format_duration(spec.timeout)}",
        step=step.id,
    )


async def _action(run: Running, step: Step, scope: Scope, action: Action) -> Any:
    value = run.render(action.input, scope, step, (*action.path, "with")) if action.input else None
    if action.kind == "call":
        return await run.ctx.call_activity(action.target, value)
    return await run.ctx.call_sub_orchestrator(action.target, value)


async def run_try(run: Running, step: Step, scope: Scope) -> Any:
    """``try``: on failure compensate (newest first), then the first matching handler; finally."""
    spec = step.spec
    assert isinstance(spec, Try)
    journal: list[tuple[str, Any]] = []
    try:
        result = await run.steps(spec.steps, scope.child(journal=journal))
    except Exception as error:
        if not catchable(error):
            if isinstance(error, Finished):
                await _finally(run, spec, scope)
            raise
        result = await _handle(run, spec, scope, journal, error)
    await _finally(run, spec, scope)
    return result


async def _handle(
    run: Running, spec: Try, scope: Scope, journal: list[tuple[str, Any]], error: Exception
) -> Any:
    compensations = dict(spec.compensate)
    try:
        for step_id, output in reversed(journal):
            if step_id in compensations:
                await run.steps(compensations[step_id], scope.child({"result": output}))
        handler = next((each for each in spec.catches if matches(error, each.errors)), None)
        if handler is None:
            raise error
        return await run.steps(handler.steps, scope.child({handler.name: error_value(error)}))
    except Exception as failed:
        if catchable(failed) or isinstance(failed, Finished):
            await _finally(run, spec, scope)
        raise


async def _finally(run: Running, spec: Try, scope: Scope) -> None:
    if spec.finally_steps:
        await run.steps(spec.finally_steps, scope)


def _shown(value: Any) -> str:
    return json.dumps(value)[:60]


RUNNERS: dict[type, Runner] = {
    Parallel: run_parallel,
    ForEach: run_for_each,
    Loop: run_loop,
    Approval: run_approval,
    Try: run_try,
}
"""The runner of each structured kind, by spec type."""
