"""Compiling a schema-valid document into a `Plan`, collecting what cannot be compiled.

The compiler trusts the shapes the JSON Schema has checked and reports the
rest as problems at their paths: templates and conditions that do not parse,
durations that are zero or too long, retry policies named but not declared,
delays out of range. ``defaults`` are applied here (retry and timeout of
``call``, ``http`` and ``run`` steps), so the interpreter never looks them up.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from durable._model.retry import RetryPolicy
from durable.declarative.durations import DurationError, parse_duration
from durable.declarative.expressions import ExpressionLanguage
from durable.declarative.failures import expand_names
from durable.declarative.plan import (
    Action,
    Approval,
    Branch,
    Call,
    Case,
    Catch,
    Escalation,
    Fail,
    ForEach,
    Http,
    Loop,
    Parallel,
    Plan,
    Receive,
    RetrySpec,
    Return,
    Run,
    Set,
    Step,
    StepSpec,
    Switch,
    Try,
    Wait,
)
from durable.declarative.problems import Path, suggestion_hint
from durable.declarative.schema import KINDS
from durable.declarative.templates import (
    Condition,
    Template,
    TemplateError,
    compile_condition,
    compile_template,
)

__all__ = ["CompileProblem", "Compiler", "document_digest"]

T = TypeVar("T")
_RETRIED = ("call", "http", "run")


def document_digest(document: Any) -> str:
    """The SHA-256 (hex) of a document's canonical JSON: formatting and key order do not count."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class CompileProblem:
    """A problem found while compiling: a path, a message, a hint; `at_key` if it is about a key."""

    __slots__ = ("at_key", "hint", "message", "path")

    def __init__(
        self, path: Path, message: str, hint: str | None = None, *, at_key: bool = False
    ) -> None:
        self.path = path
        self.message = message
        self.hint = hint
        self.at_key = at_key


class Compiler:
    """Compiles one document; `problems` says what could not be compiled."""

    def __init__(self, document: dict[str, Any], language: ExpressionLanguage) -> None:
        self.document = document
        self.language = language
        self.problems: list[CompileProblem] = []
        self._retries: dict[str, RetrySpec | None] = {}
        self._default_retry: RetrySpec | None = None
        self._default_timeout: timedelta | None = None

    def compile(self) -> Plan:
        """The plan (meaningful only if `problems` is empty afterwards)."""
        document = self.document
        for name, policy in (document.get("retries") or {}).items():
            self._retries[name] = self._policy(policy, ("retries", name))
        defaults = document.get("defaults") or {}
        if "retry" in defaults:
            self._default_retry = self._retry(defaults["retry"], ("defaults", "retry"))
        if "timeout" in defaults:
            self._default_timeout = self._duration(defaults["timeout"], ("defaults", "timeout"))
        return Plan(
            name=document["name"],
            version=document["version"],
            digest=document_digest(document),
            description=document.get("description"),
            input_schema=document.get("input"),
            steps=self._steps(document["steps"], ("steps",)),
            output=self._template(document, "output", ()),
            timeout=self._optional_duration(document, "timeout", ()),
            source=document,
        )

    # -- values ---------------------------------------------------------------------------

    def problem(self, path: Path, message: str, hint: str | None = None) -> None:
        self.problems.append(CompileProblem(path, message, hint))

    def _duration(self, value: Any, path: Path) -> timedelta | None:
        try:
            return parse_duration(value)
        except DurationError as error:
            self.problem(path, str(error), error.hint)
            return None

    def _optional_duration(self, mapping: dict[str, Any], key: str, path: Path) -> timedelta | None:
        return self._duration(mapping[key], (*path, key)) if key in mapping else None

    def _template(self, mapping: dict[str, Any], key: str, path: Path) -> Template | None:
        if key not in mapping:
            return None
        return self._guard((*path, key), lambda: compile_template(mapping[key], self.language))

    def _condition(self, mapping: dict[str, Any], key: str, path: Path) -> Condition | None:
        if key not in mapping:
            return None
        return self._guard((*path, key), lambda: compile_condition(mapping[key], self.language))

    def _guard(self, path: Path, build: Callable[[], T]) -> T | None:
        try:
            return build()
        except TemplateError as error:
            self.problem((*path, *error.path), str(error))
            return None

    def _policy(self, value: dict[str, Any], path: Path) -> RetrySpec | None:
        delay = self._optional_duration(value, "delay", path) or timedelta(seconds=1)
        max_delay = self._optional_duration(value, "max_delay", path)
        budget = self._optional_duration(value, "timeout", path)
        if max_delay is not None and max_delay < delay:
            self.problem(
                (*path, "max_delay"),
                f"max_delay is shorter than delay ({value.get('delay', '1s')})",
            )
        options: dict[str, Any] = {
            "max_attempts": value.get("max_attempts", 3),
            "first_interval": delay,
            "backoff_coefficient": value.get("backoff", 2.0),
            "max_interval": max_delay,
            "timeout": budget,
            "retry_on": expand_names(tuple(value.get("errors", ()))),
            "do_not_retry": expand_names(tuple(value.get("except", ()))),
        }
        policy = RetryPolicy(**options)
        return RetrySpec(
            policy=policy, jitter=value.get("jitter") == "full", errors_given="errors" in value
        )

    def _retry(self, value: Any, path: Path) -> RetrySpec | None:
        if isinstance(value, dict):
            return self._policy(value, path)
        if value not in self._retries:
            hint = suggestion_hint(value, self._retries)
            declared = ", ".join(sorted(self._retries)) or "none"
            self.problem(
                path, f"unknown retry policy '{value}' (declared under 'retries': {declared})", hint
            )
            return None
        return self._retries[value]

    # -- steps ----------------------------------------------------------------------------

    def _steps(self, values: list[dict[str, Any]], path: Path) -> tuple[Step, ...]:
        steps = [self._step(value, (*path, index)) for index, value in enumerate(values)]
        return tuple(step for step in steps if step is not None)

    def _step(self, value: dict[str, Any], path: Path) -> Step | None:
        kind = next(kind for kind in KINDS if kind in value)
        spec = getattr(self, f"_spec_{kind}")(value, path)
        retry = None
        timeout = self._optional_duration(value, "timeout", path)
        if kind in _RETRIED:
            retry = (
                self._retry(value["retry"], (*path, "retry"))
                if "retry" in value
                else self._default_retry
            )
            timeout = timeout if "timeout" in value else self._default_timeout
        if spec is None:
            return None
        return Step(
            id=value["id"],
            kind=kind,
            path=path,
            spec=spec,
            when=self._condition(value, "if", path),
            status=self._template(value, "status", path),
            output=self._template(value, "output", path),
            timeout=timeout,
            retry=retry,
        )

    def _spec_call(self, value: dict[str, Any], path: Path) -> StepSpec:
        activities = value["call"]
        names = (activities,) if isinstance(activities, str) else tuple(activities)
        return Call(activities=names, input=self._template(value, "with", path))

    def _spec_http(self, value: dict[str, Any], path: Path) -> StepSpec | None:
        request = value["http"]
        where = (*path, "http")
        url = self._template(request, "url", where)
        polling = request.get("async")
        poll_every = poll_timeout = None
        if polling is not None:
            poll_every = self._optional_duration(polling, "poll_every", (*where, "async"))
            poll_timeout = self._duration(polling["timeout"], (*where, "async", "timeout"))
        if url is None:
            return None
        return Http(
            method=request.get("method", "GET"),
            url=url,
            headers=self._template(request, "headers", where),
            body=self._template(request, "body", where),
            poll_every=poll_every or (timedelta(seconds=5) if polling is not None else None),
            poll_timeout=poll_timeout,
        )

    def _spec_run(self, value: dict[str, Any], path: Path) -> StepSpec:
        return Run(
            orchestrator=value["run"],
            input=self._template(value, "with", path),
            instance_id=self._template(value, "instance_id", path),
        )

    def _spec_wait(self, value: dict[str, Any], path: Path) -> StepSpec | None:
        wait = value["wait"]
        if isinstance(wait, str):
            delay = self._duration(wait, (*path, "wait"))
            return Wait(delay=delay) if delay is not None else None
        until = self._template(wait, "until", (*path, "wait"))
        return Wait(until=until) if until is not None else None

    def _spec_receive(self, value: dict[str, Any], path: Path) -> StepSpec:
        return Receive(
            event=value["receive"],
            accept=self._condition(value, "accept", path),
            on_timeout=self._template(value, "on_timeout", path),
        )

    def _spec_set(self, value: dict[str, Any], path: Path) -> StepSpec:
        where = (*path, "set")
        values = [(name, self._template(value["set"], name, where)) for name in value["set"]]
        return Set(values=tuple((name, each) for name, each in values if each is not None))

    def _spec_switch(self, value: dict[str, Any], path: Path) -> StepSpec:
        cases = []
        for index, case in enumerate(value["switch"]):
            where = (*path, "switch", index)
            when = self._condition(case, "when", where)
            steps = self._steps(case["do"], (*where, "do"))
            if when is not None:
                cases.append(Case(when=when, steps=steps))
        default = self._steps(value["default"], (*path, "default")) if "default" in value else None
        return Switch(cases=tuple(cases), default=default)

    def _spec_fail(self, value: dict[str, Any], path: Path) -> StepSpec:
        where = (*path, "fail")
        return Fail(
            error=value["fail"]["error"],
            message=self._template(value["fail"], "message", where),
            details=self._template(value["fail"], "details", where),
        )

    def _spec_return(self, value: dict[str, Any], path: Path) -> StepSpec | None:
        template = self._template(value, "return", path)
        return Return(value=template) if template is not None else None

    def _spec_parallel(self, value: dict[str, Any], path: Path) -> StepSpec:
        branches = tuple(
            Branch(name=name, steps=self._steps(steps, (*path, "parallel", name)))
            for name, steps in value["parallel"].items()
        )
        return Parallel(branches=branches, join=value.get("join", "all"))

    def _spec_for_each(self, value: dict[str, Any], path: Path) -> StepSpec | None:
        items = self._template(value, "for_each", path)
        steps = self._steps(value["do"], (*path, "do"))
        if items is None:
            return None
        return ForEach(
            items=items,
            name=value.get("as", "item"),
            steps=steps,
            max_parallel=value.get("max_parallel"),
            on_error=value.get("on_error", "fail"),
        )

    def _spec_loop(self, value: dict[str, Any], path: Path) -> StepSpec:
        loop = value["loop"]
        where = (*path, "loop")
        return Loop(
            steps=self._steps(value["do"], (*path, "do")),
            every=self._optional_duration(loop, "every", where),
            until=self._condition(loop, "until", where),
            expires=self._optional_duration(loop, "expires", where),
            max_iterations=loop.get("max_iterations"),
            on_expiry=self._template(loop, "on_expiry", where),
            checkpoint_every=loop.get("checkpoint_every"),
        )

    def _spec_approval(self, value: dict[str, Any], path: Path) -> StepSpec | None:
        approval = value["approval"]
        where = (*path, "approval")
        escalations = []
        for index, each in enumerate(approval.get("escalate", ())):
            after = self._duration(each["after"], (*where, "escalate", index, "after"))
            action = self._action(each, (*where, "escalate", index))
            if after is not None:
                escalations.append(Escalation(after=after, action=action))
        timeout = self._duration(approval["timeout"], (*where, "timeout"))
        if timeout is None:
            return None
        return Approval(
            request=self._action(approval["request"], (*where, "request")),
            event=approval["event"],
            timeout=timeout,
            accept=self._condition(approval, "accept", where),
            escalations=tuple(escalations),
            on_timeout=self._template(approval, "on_timeout", where),
        )

    def _action(self, value: dict[str, Any], path: Path) -> Action:
        kind = "call" if "call" in value else "run"
        return Action(
            path=path, kind=kind, target=value[kind], input=self._template(value, "with", path)
        )

    def _spec_try(self, value: dict[str, Any], path: Path) -> StepSpec:
        catches = tuple(
            Catch(
                errors=tuple(handler.get("errors", ())),
                name=handler.get("as", "error"),
                steps=self._steps(handler["do"], (*path, "catch", index, "do")),
            )
            for index, handler in enumerate(value.get("catch", ()))
        )
        compensate = tuple(
            (name, self._steps(steps, (*path, "compensate", name)))
            for name, steps in (value.get("compensate") or {}).items()
        )
        finally_steps = (
            self._steps(value["finally"], (*path, "finally")) if "finally" in value else None
        )
        return Try(
            steps=self._steps(value["try"], (*path, "try")),
            catches=catches,
            compensate=compensate,
            finally_steps=finally_steps,
        )
