"""scripts/typecheck.py checks durable/, patterns/ and testing/ as one package.

mypy follows folders, not setuptools' package-dir, so the script type-checks a
staging tree with patterns/ and testing/ inside durable/.  These tests run it
on a copy of the repository: the copy as it is passes, and a wrong annotation
dropped into each of the three folders fails the run, reported against the
real file.  The probes in patterns/ and testing/ import each other under their
installed names, so a broken staging layout shows up as an import error
instead of the expected type error.
"""

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "typecheck.py"
COPIED_FOLDERS = ("durable", "patterns", "testing")

# new module -> (source, the type mypy must report for the assigned expression)
PROBES = {
    "durable/typecheck_probe.py": ('x: int = "s"\n', "str"),
    "patterns/typecheck_probe.py": (
        "from durable.testing import __all__ as names\n\nx: int = names\n",
        "list[str]",
    ),
    "testing/typecheck_probe.py": (
        "from durable.patterns import __all__ as names\n\nx: int = names\n",
        "list[str]",
    ),
}


def copy_repository(destination: Path) -> Path:
    for folder in COPIED_FOLDERS:
        shutil.copytree(
            REPO / folder, destination / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy2(REPO / "pyproject.toml", destination / "pyproject.toml")
    return destination


def run_typecheck(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(root)],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_typecheck_passes_when_tree_is_clean(tmp_path: Path) -> None:
    root = copy_repository(tmp_path / "repo")

    result = run_typecheck(root)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout


def test_typecheck_fails_naming_each_file_when_each_folder_has_a_wrong_annotation(
    tmp_path: Path,
) -> None:
    root = copy_repository(tmp_path / "repo")
    for relative, (source, _) in PROBES.items():
        (root / relative).write_text(source)

    result = run_typecheck(root)

    assert result.returncode == 1, result.stdout + result.stderr
    reported = {
        line.split(":")[0]: line for line in result.stdout.splitlines() if "typecheck_probe" in line
    }
    assert sorted(reported) == sorted(PROBES), result.stdout
    for relative, (source, found_type) in PROBES.items():
        line_number = len(source.splitlines())
        assert reported[relative] == (
            f"{relative}:{line_number}: error: Incompatible types in assignment "
            f'(expression has type "{found_type}", variable has type "int")  [assignment]'
        )
