"""Run ``mypy --strict`` over durable/, patterns/ and testing/ as one package.

mypy follows folders, not setuptools' ``package-dir``, so it cannot see that
``patterns/`` is ``durable.patterns``.  This script builds a staging tree in a
temporary directory, a copy of ``durable/`` with each mapped folder copied in
where the mapping says (``durable/patterns``, ``durable/testing``), runs mypy
on it with the repository's ``[tool.mypy]`` configuration, and rewrites the
paths in mypy's report back to the real files.  The mapping is read from
``[tool.setuptools] package-dir`` in pyproject.toml, so it is written once.

Usage: ``python scripts/typecheck.py [ROOT] [-- MYPY-ARGS...]``; ROOT defaults
to the repository this script lives in.  The exit code is mypy's.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

PACKAGE = "durable"
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache")


def read_mapping(root: Path) -> dict[str, str]:
    """Map staging folders to real folders, both relative: ``durable/patterns`` -> ``patterns``."""
    with (root / "pyproject.toml").open("rb") as file:
        package_dir: dict[str, str] = tomllib.load(file)["tool"]["setuptools"]["package-dir"]
    mapping = {name.replace(".", "/"): folder for name, folder in package_dir.items() if name}
    mapping[PACKAGE] = PACKAGE
    return mapping


def build_staging(root: Path, staging: Path, mapping: dict[str, str]) -> None:
    """Copy each real folder to its place in the staging tree, outermost first."""
    for target, source in sorted(mapping.items()):
        destination = staging / target
        if destination.exists():
            raise SystemExit(f"typecheck: {root / PACKAGE / target} clashes with {source}/")
        shutil.copytree(root / source, destination, ignore=IGNORED)


def real_path(staged: str, root: Path, mapping: dict[str, str]) -> str:
    """The real file behind a staged path, shown relative to the working directory."""
    for target in sorted(mapping, key=len, reverse=True):
        if staged == target or staged.startswith(target + "/"):
            path = root / mapping[target] / staged[len(target) + 1 :]
            relative = os.path.relpath(path)
            return path.as_posix() if relative.startswith("..") else relative
    return staged


def rewrite_report(report: str, root: Path, mapping: dict[str, str]) -> str:
    """Replace the staged path that starts each line of mypy's report."""
    pattern = re.compile(rf"^({re.escape(PACKAGE)}/[^:]*)(?=:)", re.MULTILINE)
    return pattern.sub(lambda match: real_path(match.group(1), root, mapping), report)


def run_mypy(root: Path, extra_args: list[str]) -> int:
    """Stage the tree, run mypy in it, print the rewritten report, return mypy's exit code."""
    mapping = read_mapping(root)
    with tempfile.TemporaryDirectory(prefix="durable-typecheck-") as tmp:
        staging = Path(tmp)
        build_staging(root, staging, mapping)
        command = [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(root / "pyproject.toml"),
            "--strict",
            # Module names come from the staging root, so durable/ needs no
            # __init__.py to be checked as the package `durable`.
            "--explicit-package-bases",
            "--cache-dir",
            str(root / ".mypy_cache" / "staging"),
            "--no-color-output",
            "--no-pretty",
            *extra_args,
            PACKAGE,
        ]
        result = subprocess.run(command, cwd=staging, capture_output=True, text=True, check=False)
    sys.stdout.write(rewrite_report(result.stdout, root, mapping))
    sys.stderr.write(rewrite_report(result.stderr, root, mapping))
    return result.returncode


def main(argv: list[str]) -> int:
    """Parse ``[ROOT] [-- MYPY-ARGS...]`` and run the check."""
    args, extra = (
        (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    )
    if len(args) > 1 or any(arg.startswith("-") for arg in args):
        raise SystemExit(__doc__)
    root = Path(args[0]) if args else Path(__file__).resolve().parent.parent
    return run_mypy(root.resolve(), extra)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
