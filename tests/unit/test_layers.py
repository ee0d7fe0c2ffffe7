"""The layering rules of STYLE.md, enforced: imports point down, the core stays pure.

Besides the numbered layers: nothing in durable/ imports durable.testing;
only durable.declarative imports durable.patterns (its pattern kinds are the
patterns' helpers), and patterns/ never imports durable.declarative.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Lower numbers are lower layers; a module may import its own layer and below.
LAYERS = {
    "durable.errors": 0,
    "durable._model": 1,
    "durable._engine": 2,
    "durable._app": 2,
    "durable._store": 3,
    "durable._worker": 4,
    "durable._client": 5,
    "durable.http": 6,
    "durable.cli": 7,
}
PURE_PACKAGES = ("durable._model", "durable._engine")
IMPURE_MODULES = {"asyncio", "os", "random", "socket", "sqlite3", "subprocess", "threading", "time"}
IMPURE_CALLS = ("datetime.now(", "datetime.utcnow(", "uuid4(", "time.time(")


def _module_name(path: Path) -> str:
    relative = path.relative_to(ROOT).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _layer(module: str) -> int | None:
    for prefix, layer in LAYERS.items():
        if module == prefix or module.startswith(prefix + "."):
            return layer
    return None


def _is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and ast.unparse(node.test) in (
        "TYPE_CHECKING",
        "typing.TYPE_CHECKING",
    )


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    nodes: list[ast.AST] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(
            child for child in ast.iter_child_nodes(node) if not _is_type_checking_block(child)
        )
    return nodes


def _imports(path: Path) -> list[str]:
    """Modules imported at run time (imports under `if TYPE_CHECKING:` do not count)."""
    tree = ast.parse(path.read_text(), str(path))
    found: list[str] = []
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def _sources() -> list[Path]:
    return sorted((ROOT / "durable").rglob("*.py"))


@pytest.mark.parametrize("path", _sources(), ids=lambda path: _module_name(path))
def test_module_imports_point_down(path: Path) -> None:
    own = _layer(_module_name(path))
    if own is None:
        return
    upward = [name for name in _imports(path) if (_layer(name) or -1) > own]
    assert upward == [], f"{_module_name(path)} (layer {own}) imports upward: {upward}"


@pytest.mark.parametrize(
    "path",
    [path for path in _sources() if _module_name(path).startswith(PURE_PACKAGES)],
    ids=lambda path: _module_name(path),
)
def test_pure_core_does_no_io_and_reads_no_clock(path: Path) -> None:
    impure = [name for name in _imports(path) if name.split(".")[0] in IMPURE_MODULES]
    text = path.read_text()
    calls = [call for call in IMPURE_CALLS if call in text]
    assert (impure, calls) == ([], []), f"{_module_name(path)} is not pure"


def test_layer_check_catches_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("from durable._worker.worker import Worker\n")
    assert [name for name in _imports(module) if (_layer(name) or -1) > LAYERS["durable._engine"]]


def _patterns_sources() -> list[Path]:
    return sorted((ROOT / "patterns").rglob("*.py"))


def _all_imports(path: Path) -> list[str]:
    """Every module `path` imports, under `if TYPE_CHECKING:` too (relative ones with dots)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.append("." * node.level + (node.module or ""))
    return found


def _imports_patterns(module: str, imports: list[str]) -> bool:
    """Whether a module of durable/ imports durable.patterns without being declarative."""
    declarative = module == "durable.declarative" or module.startswith("durable.declarative.")
    return not declarative and any(name.startswith("durable.patterns") for name in imports)


def _imports_declarative(imports: list[str]) -> bool:
    return any(name.split(".")[:2] == ["durable", "declarative"] for name in imports)


def test_nothing_in_durable_imports_testing() -> None:
    offenders = [
        _module_name(path)
        for path in _sources()
        if any(name.startswith("durable.testing") for name in _imports(path))
    ]
    assert offenders == []


def test_only_declarative_imports_patterns() -> None:
    offenders = [
        _module_name(path)
        for path in _sources()
        if _imports_patterns(_module_name(path), _imports(path))
    ]
    assert offenders == []


@pytest.mark.parametrize("path", _patterns_sources(), ids=lambda path: path.name)
def test_patterns_never_import_declarative(path: Path) -> None:
    assert not _imports_declarative(_all_imports(path)), f"patterns/{path.name} imports declarative"


@pytest.mark.parametrize(
    ("module", "line", "offends"),
    [
        ("durable.http.app", "from durable.patterns import fan_out", True),
        ("durable._worker.worker", "import durable.patterns.monitor", True),
        ("durable.declarative.flow", "from durable.patterns import Monitor", False),
        ("durable.declarative", "from durable.patterns import Monitor", False),
        ("durable.declarativeness", "from durable.patterns import Monitor", True),
    ],
)
def test_patterns_check_allows_declarative_only(
    tmp_path: Path, module: str, line: str, offends: bool
) -> None:
    source = tmp_path / "probe.py"
    source.write_text(line + "\n")
    assert _imports_patterns(module, _imports(source)) is offends


@pytest.mark.parametrize(
    "line",
    [
        "from durable.declarative import register_workflow",
        "import durable.declarative.plan",
        "from durable.declarative.flow import run_loop",
    ],
)
def test_declarative_check_catches_an_import_from_patterns(tmp_path: Path, line: str) -> None:
    source = tmp_path / "probe.py"
    source.write_text("from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    " + line + "\n")
    assert _imports_declarative(_all_imports(source))
