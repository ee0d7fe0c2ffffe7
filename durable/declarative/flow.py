"""Runners of the structured kinds: parallel, for_each, loop, approval, try.

Concurrency is coroutine branches inside the instance, through
``ctx.when_all`` and ``ctx.when_any``. Each branch is wrapped in a group of
its own (``ctx.when_all([branch])``) so that, when one branch fails, the
others can be cancelled: their timers and event waits are released and they
make no further calls.

The pattern kinds have the call structure of the matching `durable.patterns`
helper, so a document and the helper record the same history:

- ``for_each`` runs ``min(max_parallel, items)`` lanes, each taking the next
  item when its previous one is done (`fan_out`); results in input order;
- ``loop`` runs the body, checks ``until``, then waits ``every`` (never past
  the expiry) (`monitor`);
- ``approval`` calls the request, then for each escalation creates a timer
  at its delay from the request and waits for an accepted event before it,
  and finally for the timeout (`request_approval`): an early answer cancels
  the current timer and no later timer is ever created.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from durable import Task
from durable.declarative.durations import format_duration
from durable.declarative.errors import ExpressionError, Timeout
from durable.declarative.failures import (
    Finished,
    catchable,
    error_value,
    failure_of,
    matches,
)
from durable.declarative.kinds import wait_accepted
from durable.declarative.plan import Action, Approval, ForEach, Loop, Parallel, Step, Try
from durable.declarative.scope import Scope

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
    saved = run.take_resume(step)
    iteration, value, expiry = 0, None, ctx.now + spec.expires if spec.expires else None
    if saved is not None:
        iteration, value = int(saved.get("iteration", 0)), saved.get("result")
        expiry = datetime.fromisoformat(saved["expires_at"]) if saved.get("expires_at") else None
    here = 0
    until_path = (*step.path, "loop", "until")
    while expiry is None or ctx.now < expiry:
        iteration += 1
        value = await run.steps(spec.steps, scope.child({"iteration": iteration}))
        if spec.until is not None and run.holds(
            spec.until, scope, step, until_path, result=value, iteration=iteration
        ):
            return value
        if spec.max_iterations is not None and iteration >= spec.max_iterations:
            break
        if spec.every is not None:
            due = ctx.now + spec.every
            await ctx.create_timer(min(due, expiry) if expiry is not None else due)
        here += 1
        if spec.checkpoint_every is not None and here >= spec.checkpoint_every:
            state = {
                "iteration": iteration,
                "result": value,
                "expires_at": expiry.isoformat() if expiry is not None else None,
            }
            run.checkpoint(step, state)
    return _loop_ended(run, step, scope, value, iteration)


def _loop_ended(run: Running, step: Step, scope: Scope, value: Any, iteration: int) -> Any:
    spec = step.spec
    assert isinstance(spec, Loop)
    if spec.until is None:
        return value
    if spec.on_expiry is not None:
        path = (*step.path, "loop", "on_expiry")
        return run.render(spec.on_expiry, scope, step, path, result=value, iteration=iteration)
    bound = (
        f"within {format_duration(spec.expires)}"
        if spec.expires is not None
        else f"in {spec.max_iterations} iterations"
    )
    raise Timeout(f"the loop's until did not hold {bound}", step=step.id)


async def run_approval(run: Running, step: Step, scope: Scope) -> Any:
    """``approval``: request, wait, escalate at each delay, then time out."""
    spec = step.spec
    assert isinstance(spec, Approval)
    start = run.ctx.now
    accept_path = (*step.path, "approval", "accept")
    await _action(run, step, scope, spec.request)
    for escalation in spec.escalations:
        found, data = await wait_accepted(
            run, step, scope, spec.event, spec.accept, accept_path, start + escalation.after
        )
        if found:
            return data
        await _action(run, step, scope, escalation.action)
    found, data = await wait_accepted(
        run, step, scope, spec.event, spec.accept, accept_path, start + spec.timeout
    )
    if found:
        return data
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
