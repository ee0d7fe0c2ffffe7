"""The public surface of durable.testing, pinned, and what the harness may import."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import durable.testing
from durable.errors import DurableError

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = [
    "ActivityCallRecord",
    "ExplorationError",
    "HistoryFileError",
    "InjectedFailure",
    "ReplayResult",
    "Simulation",
    "SimulationError",
    "assert_history",
    "explore",
    "export_history",
    "history_schema",
    "load_history",
    "replay",
    "save_history",
    "validate_history",
]
# durable's public modules, the store and clock interfaces, and the pieces a
# simulation drives step by step itself (episodes, activities, the replay engine).
ALLOWED = {
    "durable",
    "durable.errors",
    "durable.history",
    "durable._store.protocol",
    "durable._store.memory",
    "durable._worker.clock",
    "durable._worker.episodes",
    "durable._worker.cache",
    "durable._worker.activities",
    "durable._engine.execution",
    "durable._engine.decision",
    "durable._engine.registry",
    "durable._engine.replay",
    "durable._engine.rewind",
    "durable._model.converter",
    "durable._model.definitions",
}


def test_testing_exports_exactly_its_pinned_names_sorted() -> None:
    assert (durable.testing.__all__, sorted(durable.testing.__all__)) == (PUBLIC, PUBLIC)
    assert all(hasattr(durable.testing, name) for name in PUBLIC)


def members(target: object) -> list[tuple[str, object]]:
    """The functions and properties a public class defines itself."""
    if not inspect.isclass(target):
        return []
    own = vars(target)
    return [
        (name, own[name])
        for name in own
        if inspect.isfunction(own[name]) or isinstance(own[name], property)
    ]


def test_every_public_callable_has_a_docstring() -> None:
    undocumented = [
        f"{name}.{member}" if member else name
        for name in PUBLIC
        if callable(target := getattr(durable.testing, name))
        for member, value in [("", target), *members(target)]
        if not member.startswith("_") and not inspect.getdoc(value)
    ]
    assert undocumented == []


def test_harness_errors_sit_under_durable_error_except_the_injected_one() -> None:
    errors = [durable.testing.SimulationError, durable.testing.HistoryFileError]
    errors.append(durable.testing.ExplorationError)
    assert (
        all(issubclass(error, DurableError) for error in errors),
        issubclass(durable.testing.HistoryFileError, ValueError),
        issubclass(durable.testing.ExplorationError, AssertionError),
        issubclass(durable.testing.InjectedFailure, DurableError),
    ) == (True, True, True, False)


def test_harness_imports_only_public_durable_and_the_interfaces_it_drives() -> None:
    imported = set()
    for path in (ROOT / "testing").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    outside = {
        name
        for name in imported
        if name.startswith("durable") and not name.startswith("durable.testing")
    }
    assert outside - ALLOWED == set()
