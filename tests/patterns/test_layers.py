"""durable.patterns stands on durable's public API only, and its own surface is pinned."""

from __future__ import annotations

import ast
import importlib
import inspect
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_DURABLE = {"durable", "durable.errors", "durable.history", "durable.stores"}
THIRD_PARTY = {"attrs", "httpx"}

PUBLIC_PATTERNS = [
    "Approval",
    "ApprovalAnswer",
    "ApprovalNotice",
    "ApprovalOutcome",
    "ApprovalResult",
    "Chain",
    "ChainStepError",
    "CheckStatusResponse",
    "Duration",
    "Escalation",
    "EscalationAction",
    "FailurePolicy",
    "FanOut",
    "FanOutError",
    "FanOutResult",
    "HttpPollTimeoutError",
    "HttpRequest",
    "HttpResponse",
    "IgnoredAnswer",
    "ItemFailure",
    "Monitor",
    "MonitorOutcome",
    "MonitorProgress",
    "MonitorReport",
    "MonitorResult",
    "NoticeKind",
    "Reply",
    "Step",
    "call_http_async",
    "check_status_response",
    "fan_out",
    "http_activity",
    "management_urls",
    "monitor",
    "parse_duration",
    "positive_duration",
    "register_approval",
    "register_chain",
    "register_fan_out",
    "register_http",
    "register_monitor",
    "request_approval",
    "run_chain",
    "wait_for_reply",
]


def _imports(path: Path) -> list[str]:
    """Every module `path` imports, at run time or under TYPE_CHECKING alike."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.append("." * node.level + (node.module or ""))
    return found


def _not_allowed(name: str) -> bool:
    if name.startswith("durable.patterns.") or name in PUBLIC_DURABLE:
        return False
    top = name.split(".")[0]
    if top in ("durable", "patterns", "testing", "tests") or name.startswith("."):
        return True
    return top not in THIRD_PARTY and top not in sys.stdlib_module_names


def _sources() -> list[Path]:
    return sorted((ROOT / "patterns").rglob("*.py"))


@pytest.mark.parametrize("path", _sources(), ids=lambda path: path.name)
def test_pattern_module_imports_only_durables_public_api(path: Path) -> None:
    assert [name for name in _imports(path) if _not_allowed(name)] == []


@pytest.mark.parametrize(
    "line",
    [
        "from durable._engine.context import OrchestrationContext",
        "import durable._model.events",
        "from durable.testing import Simulation",
        "from patterns.durations import parse_duration",
        "from .durations import parse_duration",
        "import requests",
    ],
)
def test_import_check_catches_a_forbidden_import(tmp_path: Path, line: str) -> None:
    module = tmp_path / "bad.py"
    module.write_text(line + "\n")
    assert [name for name in _imports(module) if _not_allowed(name)] != []


def test_patterns_exports_exactly_its_pinned_names_sorted() -> None:
    module = importlib.import_module("durable.patterns")
    assert module.__all__ == PUBLIC_PATTERNS == sorted(PUBLIC_PATTERNS)
    assert all(hasattr(module, name) for name in module.__all__)


@pytest.mark.parametrize("path", _sources(), ids=lambda path: path.name)
def test_pattern_module_opens_with_a_docstring(path: Path) -> None:
    assert ast.get_docstring(ast.parse(path.read_text())), f"{path.name} has no docstring"


@pytest.mark.parametrize("name", PUBLIC_PATTERNS)
def test_public_pattern_name_has_a_docstring(name: str) -> None:
    value = getattr(importlib.import_module("durable.patterns"), name)
    if name == "Duration":
        return  # a type alias: documented where it is defined
    assert inspect.getdoc(value), f"{name} has no docstring"


def test_pattern_errors_derive_from_durables_root() -> None:
    from durable.errors import DeadlineExceededError, DurableError
    from durable.patterns import ChainStepError, FanOutError, HttpPollTimeoutError

    assert [
        issubclass(error, DurableError)
        for error in (ChainStepError, FanOutError, HttpPollTimeoutError)
    ] == [True, True, True]
    assert issubclass(HttpPollTimeoutError, DeadlineExceededError)
