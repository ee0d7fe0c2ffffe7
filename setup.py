"""The package list of the distribution: the one thing pyproject.toml cannot say.

Everything else (metadata, package-dir, package data) lives in pyproject.toml.
pyproject.toml takes either a ``find`` directive or a literal package list, not
both, and we need both: every package under ``durable/`` (found, so future
subpackages ship without edits here) plus the trees that ``package-dir`` maps in
from the repository's top-level folders (``patterns/`` ships as
``durable.patterns``, ``testing/`` as ``durable.testing``).

Namespace discovery, so that data-only folders (``durable/schemas/``) count as
packages and their ``*.json`` files ship without setuptools' "package would be
ignored" warning.
"""

import tomllib
from pathlib import Path

from setuptools import find_namespace_packages, setup

HERE = Path(__file__).resolve().parent
NOT_PACKAGES = ["*__pycache__*"]


def _mapped_folders() -> dict[str, str]:
    with (HERE / "pyproject.toml").open("rb") as file:
        config = tomllib.load(file)
    mapping: dict[str, str] = config["tool"]["setuptools"]["package-dir"]
    return mapping


def _packages() -> list[str]:
    mapped = _mapped_folders()
    found = find_namespace_packages(
        where=str(HERE), include=["durable", "durable.*"], exclude=NOT_PACKAGES
    )
    clashes = sorted(set(found) & set(mapped))
    if clashes:
        raise SystemExit(
            f"durable/ must not contain {clashes}: they are mapped from top-level folders"
        )
    for name, folder in mapped.items():
        subpackages = find_namespace_packages(where=str(HERE / folder), exclude=NOT_PACKAGES)
        found += [name, *(f"{name}.{sub}" for sub in subpackages)]
    return sorted(found)


setup(packages=_packages())
