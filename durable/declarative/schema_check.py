"""Validation, first pass: the JSON Schema, its errors turned into problems people can act on.

jsonschema's messages name regular expressions and internal keywords; here
each error becomes a `Problem` that says what was expected (the subschema's
``title``) and what was found, at the position of the offending value, or of
the key for unknown fields. Three cases are gathered before reporting:

- a step with two kinds gets one problem, "a step has exactly one kind;
  found 2: call, wait", and nothing else inside it;
- a step with no kind but an unknown key close to a kind name gets
  "unknown step kind 'cal'" with a did-you-mean;
- unknown fields are computed from the properties the schema declares for
  that object (following ``$ref``, ``allOf`` and ``if``/``then``), because
  ``unevaluatedProperties`` also flags known fields of a branch that failed.
"""

from __future__ import annotations

from typing import Any

import jsonschema

from durable.declarative.durations import DURATION_TEXT, DurationError, parse_duration
from durable.declarative.loader import SourceMap
from durable.declarative.problems import Path, Problem, suggest, suggestion_hint
from durable.declarative.schema import FORMAT_VERSION, KINDS, workflow_schema, workflow_validator

__all__ = ["describe_value", "schema_problems"]

_BOUNDED = {
    ("a 'receive' step", "timeout"): "a 'receive' step must be bounded",
    ("an approval: {request, event, accept, escalate, timeout, on_timeout}", "timeout"): (
        "an 'approval' must be bounded"
    ),
    ("async polling: {poll_every, timeout}", "timeout"): "an async 'http' step must be bounded",
}
_LOOP_TITLE = "a loop: {every, until, expires, max_iterations, on_expiry, checkpoint_every}"


def describe_value(value: Any) -> str:
    """How a found value is shown in a message: ``'text'``, ``3 (a number)``, ``a list``."""
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return repr(shown)
    if isinstance(value, bool):
        return f"{'true' if value else 'false'} (a boolean)"
    if isinstance(value, int | float):
        return f"{value} (a number)"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    if isinstance(value, dict):
        return "a mapping" if value else "an empty mapping"
    return repr(value)


def schema_problems(data: Any, source_map: SourceMap, file: str) -> list[Problem]:
    """Every problem the JSON Schema finds in `data`, translated."""
    builder = _Problems(data, source_map, file)
    if not isinstance(data, dict):
        builder.add((), f"a workflow document is a mapping; got {describe_value(data)}")
        return builder.problems
    if data.get("durable") != FORMAT_VERSION:
        builder.format_version(data)
        return builder.problems
    for error in workflow_validator().iter_errors(data):
        builder.translate(error)
    return builder.finish()


def _value_at(data: Any, path: Path) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _resolve(reference: str) -> Any:
    node: Any = workflow_schema()
    for part in reference.removeprefix("#/").split("/"):
        node = node[part]
    return node


def declared_properties(schema: Any, instance: Any) -> set[str]:
    """The property names `schema` declares for `instance` ($ref, allOf, if/then/else followed)."""
    if not isinstance(schema, dict):
        return set()
    names = set(schema.get("properties", {}))
    if "$ref" in schema:
        names |= declared_properties(_resolve(schema["$ref"]), instance)
    for member in schema.get("allOf", ()):
        names |= declared_properties(member, instance)
    if "if" in schema:
        branch = (
            "then" if jsonschema.Draft202012Validator(schema["if"]).is_valid(instance) else "else"
        )
        names |= declared_properties(schema.get(branch), instance)
    return names


def _kind_fields() -> dict[str, set[str]]:
    defs = workflow_schema()["$defs"]
    return {kind: set(defs[f"{kind}_step"].get("properties", {})) for kind in KINDS}


class _Problems:
    """Collects translated problems for one document."""

    def __init__(self, data: Any, source_map: SourceMap, file: str) -> None:
        self.data = data
        self.source_map = source_map
        self.file = file
        self.problems: list[Problem] = []
        self.multi_kind: dict[Path, list[str]] = {}
        self.kind_typos: set[Path] = set()

    def add(
        self, path: Path, message: str, hint: str | None = None, *, at_key: bool = False
    ) -> None:
        line, column = self.source_map.key_at(path) if at_key else self.source_map.value_at(path)
        self.problems.append(
            Problem(file=self.file, line=line, column=column, path=path, message=message, hint=hint)
        )

    def format_version(self, data: dict[str, Any]) -> None:
        if "durable" not in data:
            self.add(
                (),
                "'durable' is required here",
                f"the format version: write 'durable: {FORMAT_VERSION}' first",
            )
            return
        found = data["durable"]
        self.add(
            ("durable",),
            f"unsupported format version {describe_value(found)}; "
            f"this durable reads format {FORMAT_VERSION}",
            f"write 'durable: {FORMAT_VERSION}'",
        )

    def finish(self) -> list[Problem]:
        kept = [
            problem
            for problem in self.problems
            if not any(problem.path[: len(step)] == step for step in self.multi_kind)
            and not (problem.path in self.kind_typos and problem.message.startswith("a step needs"))
        ]
        for path, kinds in self.multi_kind.items():
            line, column = self.source_map.value_at(path)
            kept.append(
                Problem(
                    file=self.file,
                    line=line,
                    column=column,
                    path=path,
                    message=f"a step has exactly one kind; found {len(kinds)}: {', '.join(kinds)}",
                    hint="split it into one step per kind",
                )
            )
        return kept

    def translate(self, error: jsonschema.ValidationError) -> None:
        path: Path = tuple(error.absolute_path)
        handler = getattr(self, f"_on_{error.validator}", None) if error.validator else None
        if error.validator is None or error.schema is False:
            self._on_false(error, path)
        elif handler is not None:
            handler(error, path)
        else:
            self.add(path, error.message)

    # -- one handler per JSON Schema keyword ------------------------------------------------

    def _on_false(self, error: jsonschema.ValidationError, path: Path) -> None:
        schema_path = list(error.absolute_schema_path)
        if "dependentSchemas" not in schema_path:
            self.add(path, "this field is not allowed here")
            return
        trigger = schema_path[schema_path.index("dependentSchemas") + 1]
        instance = _value_at(self.data, path)
        if not isinstance(instance, dict):
            return
        if trigger in KINDS:
            kinds = [kind for kind in KINDS if kind in instance]
            if len(kinds) > 1 and self._is_step(path):
                self.multi_kind[path] = kinds
                return
        others = [key for key in ("call", "run") if key in instance and key != trigger]
        for other in others:
            self.add(
                (*path, other),
                f"'{other}' cannot be used together with '{trigger}'",
                "give one of them",
                at_key=True,
            )

    def _is_step(self, path: Path) -> bool:
        return len(path) >= 2 and isinstance(path[-1], int)

    def _on_unevaluatedProperties(self, error: jsonschema.ValidationError, path: Path) -> None:  # noqa: N802
        self._unknown_fields(error, path)

    def _on_additionalProperties(self, error: jsonschema.ValidationError, path: Path) -> None:  # noqa: N802
        self._unknown_fields(error, path)

    def _unknown_fields(self, error: jsonschema.ValidationError, path: Path) -> None:
        instance = error.instance
        if not isinstance(instance, dict):
            return
        allowed = declared_properties(error.schema, instance)
        is_step = error.schema.get("title") == "a step" if isinstance(error.schema, dict) else False
        kinds_here = [kind for kind in KINDS if kind in instance]
        for key in instance:
            if key in allowed:
                continue
            if is_step and not kinds_here:
                found = suggest(key, KINDS)
                if found is not None:
                    self.kind_typos.add(path)
                    self.add(
                        (*path, key),
                        f"unknown step kind '{key}'",
                        f"did you mean '{found}'?",
                        at_key=True,
                    )
                    continue
            self.add(
                (*path, key),
                f"unknown field '{key}'",
                self._field_hint(key, allowed, is_step, kinds_here),
                at_key=True,
            )

    def _field_hint(
        self, key: str, allowed: set[str], is_step: bool, kinds_here: list[str]
    ) -> str | None:
        candidates = set(allowed) | (set(KINDS) if is_step and not kinds_here else set())
        hint = suggestion_hint(key, candidates)
        if hint is not None or not is_step:
            return hint
        owners = [kind for kind, fields in _kind_fields().items() if key in fields]
        if owners and kinds_here:
            where = ", ".join(f"'{kind}'" for kind in owners)
            return f"'{key}' is not used by '{kinds_here[0]}' steps; it belongs to {where} steps"
        return None

    def _on_anyOf(self, error: jsonschema.ValidationError, path: Path) -> None:  # noqa: N802
        context = error.context or []
        missing: list[Any] = [
            each.validator_value for each in context if each.validator == "required"
        ]
        if len(missing) != len(context) or not missing:
            self.add(
                path, f"expected {self._expected(error)}; got {describe_value(error.instance)}"
            )
            return
        names = [name for group in missing for name in group]
        if set(names) <= set(KINDS):
            self.add(path, f"a step needs a kind, one of: {', '.join(KINDS)}; found none")
            return
        title = error.schema.get("title") if isinstance(error.schema, dict) else None
        hint = "a 'loop' must be bounded" if title == _LOOP_TITLE else None
        options = " or ".join(f"'{name}'" for name in names)
        self.add(path, f"{options} is required here", hint)

    def _on_required(self, error: jsonschema.ValidationError, path: Path) -> None:
        instance = error.instance if isinstance(error.instance, dict) else {}
        title = error.schema.get("title") if isinstance(error.schema, dict) else None
        required: list[str] = list(error.validator_value)  # type: ignore[arg-type]
        for name in required:
            if name not in instance:
                self.add(path, f"'{name}' is required here", _BOUNDED.get((title or "", name)))

    def _on_type(self, error: jsonschema.ValidationError, path: Path) -> None:
        if self._duration(error, path):
            return
        expected = self._expected(error)
        found = error.instance
        hint = None
        if "string" in str(error.validator_value) and isinstance(found, int | float | bool):
            kind = "a boolean" if isinstance(found, bool) else "a number"
            hint = f"quote it: unquoted, YAML reads it as {kind}"
        self.add(path, f"expected {expected}; got {describe_value(found)}", hint)

    def _on_pattern(self, error: jsonschema.ValidationError, path: Path) -> None:
        if self._duration(error, path):
            return
        schema_path = list(error.absolute_schema_path)
        if "propertyNames" in schema_path:
            key = str(error.instance)
            self.add(
                (*path, key),
                f"'{key}' is not a valid name: expected {self._expected(error)}",
                _identifier_hint(key),
                at_key=True,
            )
            return
        hint = _identifier_hint(error.instance) if path and path[-1] == "id" else None
        self.add(
            path, f"expected {self._expected(error)}; got {describe_value(error.instance)}", hint
        )

    def _on_const(self, error: jsonschema.ValidationError, path: Path) -> None:
        self.add(path, f"expected {error.validator_value!r}; got {describe_value(error.instance)}")

    def _on_enum(self, error: jsonschema.ValidationError, path: Path) -> None:
        values: list[Any] = list(error.validator_value)  # type: ignore[arg-type]
        options = [str(each) for each in values]
        shown = ", ".join(f"'{each}'" for each in options)
        hint = (
            suggestion_hint(str(error.instance), options)
            if isinstance(error.instance, str)
            else None
        )
        self.add(path, f"expected one of {shown}; got {describe_value(error.instance)}", hint)

    def _on_minItems(self, error: jsonschema.ValidationError, path: Path) -> None:  # noqa: N802
        count = error.validator_value
        self.add(
            path,
            f"expected at least {count} item{'s' if count != 1 else ''}; "
            f"got {describe_value(error.instance)}",
        )

    def _on_minProperties(self, error: jsonschema.ValidationError, path: Path) -> None:  # noqa: N802
        self.add(path, f"expected at least one entry; got {describe_value(error.instance)}")

    def _on_minimum(self, error: jsonschema.ValidationError, path: Path) -> None:
        self.add(
            path, f"expected at least {error.validator_value}; got {describe_value(error.instance)}"
        )

    def _on_minLength(self, error: jsonschema.ValidationError, path: Path) -> None:  # noqa: N802
        self.add(path, f"expected {self._expected(error)}; got an empty string")

    # -- helpers ----------------------------------------------------------------------------

    def _expected(self, error: jsonschema.ValidationError) -> str:
        title = error.schema.get("title") if isinstance(error.schema, dict) else None
        if title:
            return str(title)
        types = error.validator_value if error.validator == "type" else None
        return f"a {types}" if isinstance(types, str) else "a different value"

    def _duration(self, error: jsonschema.ValidationError, path: Path) -> bool:
        title = error.schema.get("title") if isinstance(error.schema, dict) else None
        if title != DURATION_TEXT and not (
            str(title).startswith("a duration") and isinstance(error.instance, int | float)
        ):
            return False
        try:
            parse_duration(error.instance)
        except DurationError as problem:
            self.add(path, str(problem), problem.hint)
            return True
        self.add(path, f"expected {DURATION_TEXT}; got {describe_value(error.instance)}")
        return True


def _identifier_hint(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    fixed = "".join(char if char.isalnum() else "_" for char in value.lower()) or "_"
    if fixed[0].isdigit():
        fixed = "_" + fixed
    return f"e.g. '{fixed}'" if fixed != value else None
