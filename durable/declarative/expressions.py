"""Expressions: the language interface, and JSONata in the restricted profile.

An `ExpressionLanguage` compiles text into a `CompiledExpression`, which can
say what it refers to (`Analysis`: the names it reads from the document's
scope, the functions it calls, the names it binds itself) and be evaluated
against a scope with `Limits` and replay-safe `Services`. JSONata (the
``jsonata-python`` package) is the one language today; another can be added
by implementing the two protocols.

The restricted profile:

- a time box per evaluation, measured in CPU time of the running thread (so
  it works under a frozen or virtual clock and reads no clock that replay
  checks watch), and a bound on evaluation depth, which stops non-tail
  recursion deterministically; either raises `ExpressionError`;
- ``$now()`` and ``$millis()`` are the orchestration's ``ctx.now``, and
  ``$uuid()`` is ``ctx.new_uuid()``, so they replay identically;
- ``$random()``, ``$shuffle()`` (random) and ``$eval()`` (code the validator
  cannot see) are refused when a document is validated.

jsonata-python's own ``evaluate`` reads the wall clock, so evaluation goes
through the parsed tree directly with a fresh frame per evaluation.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Protocol

import attrs

try:
    from jsonata import jexception  # type: ignore[import-untyped]
    from jsonata.jsonata import Jsonata  # type: ignore[import-untyped]
    from jsonata.parser import Parser  # type: ignore[import-untyped]
    from jsonata.utils import Utils  # type: ignore[import-untyped]
except ImportError as missing:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "durable.declarative needs jsonata-python; install the extra: "
        "pip install 'durable[declarative]'"
    ) from missing

from durable.declarative.errors import ExpressionError

__all__ = [
    "JSONATA",
    "Analysis",
    "CompiledExpression",
    "ExpressionLanguage",
    "ExpressionSyntaxError",
    "JsonataLanguage",
    "Limits",
    "Reference",
    "Services",
    "format_now",
]


class ExpressionSyntaxError(ValueError):
    """An expression does not compile; `offset` is where (0-based, in the expression text)."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        self.offset = offset
        super().__init__(message)


@attrs.frozen(kw_only=True)
class Limits:
    """The restricted profile's bounds on one evaluation.

    Attributes:
        time_box: CPU time an evaluation may take.
        max_depth: how deeply evaluation may nest (calls, blocks, operators).
    """

    time_box: timedelta = timedelta(milliseconds=250)
    max_depth: int = 150


@attrs.frozen(kw_only=True)
class Services:
    """What replay-safe built-in functions read: the episode's time and an id source.

    Attributes:
        now: the orchestration's current time (``ctx.now``).
        new_uuid: ``ctx.new_uuid``.
    """

    now: datetime
    new_uuid: Callable[[], str]


@attrs.frozen(kw_only=True)
class Reference:
    """A name an expression reads from the scope.

    Attributes:
        name: the first name of a path (``steps`` in ``steps.charge.id``).
        member: the name after it, if there is one (``charge``).
        offset: where the name starts in the expression text.
    """

    name: str
    member: str | None
    offset: int


@attrs.frozen(kw_only=True)
class Analysis:
    """What an expression refers to, found without running it.

    Attributes:
        references: names read from the scope at the top level of the expression.
        calls: functions called by name (``random`` for ``$random()``).
        variables: every ``$name`` used, called or not.
        bound: names the expression binds itself (``$x := ...``, lambda parameters).
    """

    references: tuple[Reference, ...] = ()
    calls: tuple[str, ...] = ()
    variables: tuple[str, ...] = ()
    bound: frozenset[str] = frozenset()


class CompiledExpression(Protocol):
    """A compiled expression of some language."""

    text: str

    def analyse(self) -> Analysis:
        """What the expression refers to."""
        ...

    def evaluate(self, scope: dict[str, Any], services: Services, limits: Limits) -> Any:
        """The expression's JSON value in `scope`.

        Raises:
            ExpressionError: it failed, returned something that is not JSON,
                or ran past `limits`.
        """
        ...


class ExpressionLanguage(Protocol):
    """An expression language a document can use."""

    name: str
    functions: frozenset[str]
    """Every function an expression may call."""
    banned: Mapping[str, str]
    """Functions refused at validation, with the reason."""

    def compile(self, text: str) -> CompiledExpression:
        """Compile `text` (the inside of ``${ }``).

        Raises:
            ExpressionSyntaxError: it does not compile.
        """
        ...


def format_now(now: datetime) -> str:
    """``2030-01-01T00:00:00.000Z``: the ISO 8601 form JSONata's ``$now()`` returns."""
    utc = now.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


# -- JSONata ------------------------------------------------------------------------------------

_CHILDREN = (
    "lhs",
    "rhs",
    "expressions",
    "arguments",
    "procedure",
    "body",
    "condition",
    "then",
    "_else",
    "update",
    "delete",
    "pattern",
    "expression",
    "expr",
    "lhs_object",
    "rhs_object",
)
_DERIVED = ("stages", "predicate", "group", "terms", "rhs_terms")
"""Children evaluated against a derived context (a path step's items), not the scope."""


class _Walker:
    """Collects an `Analysis` from a JSONata syntax tree."""

    def __init__(self) -> None:
        self.references: list[Reference] = []
        self.calls: list[str] = []
        self.variables: list[str] = []
        self.bound: set[str] = set()

    def analysis(self) -> Analysis:
        return Analysis(
            references=tuple(self.references),
            calls=tuple(self.calls),
            variables=tuple(self.variables),
            bound=frozenset(self.bound),
        )

    def visit(self, node: Any, root: bool) -> None:
        if isinstance(node, list | tuple):
            for each in node:
                self.visit(each, root)
            return
        if not isinstance(node, Parser.Symbol):
            return
        kind = getattr(node, "type", None)
        if kind == "path":
            self._path(node, root)
            return
        if kind == "name" and root:
            self._reference(node, None)
        elif kind == "variable":
            self.variables.append(str(node.value))
        elif kind in ("function", "partial"):
            procedure: Any = getattr(node, "procedure", None)
            if getattr(procedure, "type", None) == "variable":
                self.calls.append(str(procedure.value))
        elif kind == "bind":
            target: Any = getattr(node, "lhs", None)
            if getattr(target, "type", None) == "variable":
                self.bound.add(str(target.value))
        elif kind == "lambda":
            for argument in getattr(node, "arguments", None) or ():
                self.bound.add(str(argument.value))
        self._children(node, root)

    def _children(self, node: Any, root: bool) -> None:
        for attribute in _CHILDREN:
            child = getattr(node, attribute, None)
            if child is not None:
                self.visit(child, root)
        for attribute in _DERIVED:
            child = getattr(node, attribute, None)
            if child is not None:
                self.visit(child, False)

    def _path(self, node: Any, root: bool) -> None:
        steps = list(getattr(node, "steps", None) or ())
        if steps:
            first = steps[0]
            rest = steps[1:]
            if root and getattr(first, "type", None) == "variable" and first.value in ("$", ""):
                self.visit(first, root)
                first, rest = (rest[0], rest[1:]) if rest else (None, [])
            if first is not None and root and getattr(first, "type", None) == "name":
                following = rest[0] if rest and getattr(rest[0], "type", None) == "name" else None
                self._reference(first, following)
                for attribute in _DERIVED:
                    child = getattr(first, attribute, None)
                    if child is not None:
                        self.visit(child, False)
            elif first is not None:
                self.visit(first, root)
            self.visit(rest, False)
        for attribute in _DERIVED:
            child = getattr(node, attribute, None)
            if child is not None:
                self.visit(child, False)

    def _reference(self, node: Any, following: Any) -> None:
        name = str(node.value)
        member = str(following.value) if following is not None else None
        offset = max(int(getattr(node, "position", 0) or 0) - len(name), 0)
        self.references.append(Reference(name=name, member=member, offset=offset))


class _Budget:
    """The time box and depth bound of one evaluation, as JSONata entry/exit callbacks."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.seconds = limits.time_box.total_seconds()
        self.started = time.thread_time()
        self.depth = 0
        self.exceeded: str | None = None

    def enter(self, _: Any, __: Any, environment: Any) -> None:
        if environment.is_parallel_call:
            return
        self.depth += 1
        if self.depth > self.limits.max_depth:
            self.exceeded = (
                f"evaluation went deeper than {self.limits.max_depth} levels (runaway recursion?)"
            )
            raise RecursionError(self.exceeded)
        if time.thread_time() - self.started > self.seconds:
            milliseconds = int(self.seconds * 1000)
            self.exceeded = f"evaluation ran longer than its time box of {milliseconds} ms"
            raise RecursionError(self.exceeded)

    def exit(self, _: Any, __: Any, environment: Any, ___: Any) -> None:
        if not environment.is_parallel_call:
            self.depth -= 1


class _JsonataExpression:
    """A compiled JSONata expression."""

    def __init__(self, text: str, compiled: Any) -> None:
        self.text = text
        self._compiled = compiled
        self._analysis: Analysis | None = None

    def analyse(self) -> Analysis:
        if self._analysis is None:
            walker = _Walker()
            walker.visit(self._compiled.ast, True)
            self._analysis = walker.analysis()
        return self._analysis

    def evaluate(self, scope: dict[str, Any], services: Services, limits: Limits) -> Any:
        compiled = self._compiled
        budget = _Budget(limits)
        frame = compiled.create_frame(compiled.environment)
        frame.bind("$", scope)
        now = services.now
        frame.bind("now", Jsonata.JLambda(lambda *_: format_now(now)))
        frame.bind("millis", Jsonata.JLambda(lambda *_: _millis(now)))
        frame.bind("uuid", Jsonata.JLambda(lambda *_: services.new_uuid()))
        frame.bind("__evaluate_entry", budget.enter)
        frame.bind("__evaluate_exit", budget.exit)
        try:
            result = compiled.eval(compiled.ast, scope, frame)
            return _plain(Utils.convert_nulls(result), self.text)
        except ExpressionError:
            raise
        except RecursionError as error:
            reason = budget.exceeded or "evaluation went too deep (runaway recursion?)"
            raise ExpressionError(f"{reason} in ${{ {self.text} }}") from error
        except jexception.JException as error:
            reason = budget.exceeded or _jsonata_message(error)
            raise ExpressionError(f"{reason} in ${{ {self.text} }}") from None
        except Exception as error:
            reason = budget.exceeded or f"{type(error).__name__}: {error}"
            raise ExpressionError(f"{reason} in ${{ {self.text} }}") from None


def _millis(now: datetime) -> int:
    return int(now.timestamp() * 1000)


def _jsonata_message(error: Any) -> str:
    code = getattr(error, "error", None)
    return f"{error} ({code})" if code else str(error)


def _plain(value: Any, text: str) -> Any:
    """A JSON value of plain dicts and lists (JSONata may return sequences and functions)."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ExpressionError(f"${{ {text} }} returned {value}, which is not a JSON number")
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, dict):
        return {str(key): _plain(item, text) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item, text) for item in value]
    raise ExpressionError(
        f"${{ {text} }} returned a {type(value).__name__}, not a JSON value (a function?)"
    )


def _builtins() -> frozenset[str]:
    frame = Jsonata.static_frame
    return frozenset(name for name in frame.bindings if not name.startswith("__"))


class JsonataLanguage:
    """JSONata, through jsonata-python, in the restricted profile."""

    name = "jsonata"

    def __init__(self) -> None:
        self.banned: Mapping[str, str] = MappingProxyType(
            {
                "random": "it returns a different number on every run",
                "shuffle": "it orders items at random",
                "eval": "it runs code the validator cannot check",
            }
        )
        self.functions = (_builtins() | {"now", "millis", "uuid"}) - set(self.banned)

    def compile(self, text: str) -> CompiledExpression:
        """Compile `text`.

        Raises:
            ExpressionSyntaxError: it does not parse.
        """
        if not text.strip():
            raise ExpressionSyntaxError("the expression is empty", 0)
        try:
            compiled = Jsonata(text)
        except jexception.JException as error:
            offset = getattr(error, "location", None)
            raise ExpressionSyntaxError(
                str(error), offset if isinstance(offset, int) else None
            ) from None
        except RecursionError:
            raise ExpressionSyntaxError("the expression nests too deeply") from None
        except Exception as error:
            raise ExpressionSyntaxError(f"{type(error).__name__}: {error}") from None
        errors = compiled.get_errors()
        if errors:
            raise ExpressionSyntaxError(str(errors[0]))
        return _JsonataExpression(text, compiled)


JSONATA = JsonataLanguage()
"""The JSONata language (a stateless singleton: it holds no per-document state)."""
