"""The built wheel and the editable install put patterns/ and testing/ under durable.

The repository's top-level folders patterns/ and testing/ ship as
durable.patterns and durable.testing (setuptools' package-dir); nothing named
`patterns` or `testing` may land top-level in site-packages.  The wheel is
built from a copy of the files a fresh clone has, without build isolation:
the test environment already holds the build backend (the `test` extra pins
setuptools), and isolation would fetch setuptools from the registry on every
run.  The wheel is installed with --no-deps into a fresh venv that sees this
environment's site-packages through a .pth path entry: the point here is the
wheel's own layout, and its dependencies are the ones this environment was
installed from the same pyproject.toml, so the test stays fast and offline.
A .pth path entry does not run the .pth files it points at, so this
environment's editable install of durable stays inactive in that venv; the
import check also asserts every module comes from the venv.
"""

import json
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCE_FOLDERS = {
    "durable": "durable",
    "patterns": "durable/patterns",
    "testing": "durable/testing",
}
SOURCE_FILES = ("pyproject.toml", "setup.py", "README.md", "LICENSE")
SHIPPED_SUFFIXES = {".py", ".json", ".typed"}
CHECK_IMPORTS = """
import json
import durable, durable.patterns, durable.testing
print(json.dumps({m.__name__: m.__file__ for m in (durable, durable.patterns, durable.testing)}))
"""


def run(*command: str | Path, cwd: Path) -> str:
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def expected_wheel_files() -> set[str]:
    """Every shippable file of the three source folders, at its installed path."""
    expected = set()
    for folder, installed in SOURCE_FOLDERS.items():
        for path in (REPO / folder).rglob("*"):
            if path.suffix in SHIPPED_SUFFIXES and "__pycache__" not in path.parts:
                expected.add(f"{installed}/{path.relative_to(REPO / folder).as_posix()}")
    return expected


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for folder in SOURCE_FOLDERS:
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(REPO / folder, source / folder, ignore=ignore)
    for name in SOURCE_FILES:
        if (REPO / name).exists():
            shutil.copy2(REPO / name, source / name)
    dist = tmp_path_factory.mktemp("dist")
    run(
        sys.executable,
        "-m",
        "build",
        "--wheel",
        "--no-isolation",
        "--outdir",
        dist,
        ".",
        cwd=source,
    )
    (built,) = dist.glob("durable-0.1.0-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("venv")
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=venv)
    pip: list[str | Path] = [sys.executable, "-m", "pip", "--python", venv / "bin" / "python"]
    run(*pip, "install", "--no-deps", "--no-index", wheel, cwd=venv)
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site_packages(venv) / "zz_test_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    return venv


def site_packages(venv: Path) -> Path:
    (purelib,) = venv.glob("lib/python3.*/site-packages")
    return purelib


def test_wheel_ships_every_source_file_under_durable(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())

    shipped = {name for name in names if not name.startswith("durable-0.1.0.dist-info/")}
    assert shipped == expected_wheel_files()
    assert {
        "durable/py.typed",
        "durable/patterns/__init__.py",
        "durable/testing/__init__.py",
    } <= names


def test_wheel_has_no_top_level_patterns_or_testing(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        top_level = {name.split("/")[0] for name in archive.namelist()}
        declared = archive.read("durable-0.1.0.dist-info/top_level.txt").decode().split()

    assert top_level == {"durable", "durable-0.1.0.dist-info"}
    assert declared == ["durable"]


def test_wheel_imports_durable_patterns_and_testing_in_a_fresh_venv(
    venv: Path, tmp_path: Path
) -> None:
    # -I: no working directory, PYTHONPATH or user site on sys.path.
    files = run(venv / "bin" / "python", "-I", "-c", CHECK_IMPORTS, cwd=tmp_path)

    installed = site_packages(venv) / "durable"
    assert json.loads(files) == {
        "durable": str(installed / "__init__.py"),
        "durable.patterns": str(installed / "patterns" / "__init__.py"),
        "durable.testing": str(installed / "testing" / "__init__.py"),
    }


def test_venv_has_no_top_level_patterns_or_testing(venv: Path) -> None:
    entries = {path.name for path in site_packages(venv).iterdir()}

    assert not entries & {"patterns", "testing", "patterns.py", "testing.py"}
    assert {"durable", "durable-0.1.0.dist-info"} <= entries
    assert (site_packages(venv) / "durable" / "py.typed").is_file()
    assert (venv / "bin" / "durable").is_file()


def test_editable_install_resolves_mapped_folders_from_another_directory(tmp_path: Path) -> None:
    # The environment running these tests was set up by `make venv`
    # (pip install -e, setuptools' default "lenient" editable mode).
    files = run(sys.executable, "-I", "-c", CHECK_IMPORTS, cwd=tmp_path)

    assert json.loads(files) == {
        "durable": str(REPO / "durable" / "__init__.py"),
        "durable.patterns": str(REPO / "patterns" / "__init__.py"),
        "durable.testing": str(REPO / "testing" / "__init__.py"),
    }
