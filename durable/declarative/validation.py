"""Validating a document: load, JSON Schema, compile, semantic checks; problems or a plan.

`validate` takes a file path or an already-parsed value; `validate_text`
takes YAML or JSON text. Each returns a `Validation` with every problem,
sorted by position, and, when there is none, the compiled `Plan`. Nothing
runs from a document with problems. The semantic pass runs only once the
schema pass is clean: its checks assume the shapes the schema guarantees.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import attrs

from durable._app import App
from durable.declarative.compiler import CompileProblem, Compiler
from durable.declarative.expressions import JSONATA, ExpressionLanguage
from durable.declarative.loader import LoadResult, SourceMap, load_file, load_text
from durable.declarative.plan import Plan
from durable.declarative.problems import Problem, sort_problems
from durable.declarative.schema_check import schema_problems
from durable.declarative.semantics import check_plan

__all__ = ["Source", "Validation", "validate", "validate_text"]

Source = str | os.PathLike[str] | dict[str, Any]
"""A document: the path of a YAML or JSON file, or the parsed document itself."""


@attrs.frozen(kw_only=True)
class Validation:
    """The outcome of validating one document.

    Attributes:
        file: the document's name in messages.
        problems: every problem, sorted by position (empty if valid).
        plan: the compiled plan, if the document is valid.
        data: the loaded document (None if it did not load).
        source_map: positions of the document's nodes.
    """

    file: str
    problems: list[Problem]
    plan: Plan | None = None
    data: Any = None
    source_map: SourceMap = attrs.field(factory=SourceMap)

    @property
    def ok(self) -> bool:
        """Whether the document is valid."""
        return not self.problems


def validate(
    source: Source,
    *,
    app: App | None = None,
    activities: Iterable[str] | None = None,
    orchestrators: Iterable[str] | None = None,
    language: ExpressionLanguage = JSONATA,
    file: str | None = None,
) -> Validation:
    """Validate a document file (YAML, or JSON for ``.json``) or a parsed document.

    Args:
        source: a path, or the document as a dict.
        app: check that called activities and run workflows are registered in it.
        activities: instead of `app`, the activity names to check against.
        orchestrators: instead of `app`, the orchestrator names to check against.
        language: the expression language.
        file: the name used in messages (default: the path, or ``<document>``).
    """
    if isinstance(source, dict):
        loaded = LoadResult(source, SourceMap(), [])
        name = file or "<document>"
    else:
        name = file or os.fspath(source)
        loaded = load_file(source)
        if file is not None:
            loaded = attrs.evolve(
                loaded, problems=[attrs.evolve(each, file=file) for each in loaded.problems]
            )
    return _validate(loaded, name, app, activities, orchestrators, language)


def validate_text(
    text: str,
    *,
    file: str = "<document>",
    json_text: bool = False,
    app: App | None = None,
    activities: Iterable[str] | None = None,
    orchestrators: Iterable[str] | None = None,
    language: ExpressionLanguage = JSONATA,
) -> Validation:
    """Validate YAML (or, with `json_text`, JSON) text; see `validate`."""
    loaded = load_text(text, file=file, json_text=json_text)
    return _validate(loaded, file, app, activities, orchestrators, language)


def _validate(
    loaded: LoadResult,
    file: str,
    app: App | None,
    activities: Iterable[str] | None,
    orchestrators: Iterable[str] | None,
    language: ExpressionLanguage,
) -> Validation:
    source_map = loaded.source_map
    if loaded.data is None or loaded.problems:
        return Validation(
            file=file,
            problems=sort_problems(loaded.problems),
            data=loaded.data,
            source_map=source_map,
        )
    data = loaded.data
    problems = schema_problems(data, source_map, file)
    if problems:
        return Validation(
            file=file, problems=sort_problems(problems), data=data, source_map=source_map
        )
    compiler = Compiler(data, language)
    plan = compiler.compile()
    if app is not None:
        activities = app.activity_names if activities is None else activities
        orchestrators = app.orchestrator_names if orchestrators is None else orchestrators
    found = list(compiler.problems)
    if not found:
        found = check_plan(
            plan,
            language,
            line_of=lambda path: source_map.value_at(path)[0],
            activities=activities,
            orchestrators=orchestrators,
        )
    if found:
        located = [_locate(each, source_map, file) for each in found]
        return Validation(
            file=file, problems=sort_problems(located), data=data, source_map=source_map
        )
    return Validation(file=file, problems=[], plan=plan, data=data, source_map=source_map)


def _locate(problem: CompileProblem, source_map: SourceMap, file: str) -> Problem:
    at = source_map.key_at if problem.at_key else source_map.value_at
    line, column = at(problem.path)
    return Problem(
        file=file,
        line=line,
        column=column,
        path=problem.path,
        message=problem.message,
        hint=problem.hint,
    )
