"""What the commands share: the store option, loading a user's app, reading JSON input.

The store comes from ``--store URL``, else the ``DURABLE_STORE`` environment
variable, else ``sqlite:///durable.db`` (a file in the working directory).
Commands that only read or steer existing instances refuse to create a new,
empty SQLite file: a typo in the path is exit 5, not "unknown instance".
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import json
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from durable._app import App
from durable._model.events import JSONValue
from durable._store.protocol import Store
from durable._store.sqlite_schema import sqlite_path_from_url
from durable.cli.exits import INVALID_INPUT, STORE, CliError
from durable.errors import DurableError
from durable.stores import open_store

__all__ = [
    "DEFAULT_STORE",
    "add_store_option",
    "load_app",
    "opened_store",
    "parse_json",
    "parse_time",
    "read_json_input",
]

DEFAULT_STORE = "sqlite:///durable.db"


def add_store_option(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """Add ``--store`` (on the main parser with its default, on commands without one)."""
    parser.add_argument(
        "--store",
        metavar="URL",
        default=os.environ.get("DURABLE_STORE", DEFAULT_STORE) if top else argparse.SUPPRESS,
        help="where instances live: sqlite:///path.db or memory:// "
        f"(default: $DURABLE_STORE or {DEFAULT_STORE})",
    )


@contextlib.contextmanager
def opened_store(url: str, *, must_exist: bool) -> Iterator[Store]:
    """Open the store `url` names for the length of a command, then close it.

    Raises:
        CliError: (exit 5) the URL is not valid or the store cannot be opened.
    """
    if must_exist and url.startswith("sqlite:"):
        try:
            path = sqlite_path_from_url(url)
        except DurableError as error:
            raise CliError(str(error), STORE) from None
        if not path.exists():
            raise CliError(
                f"no store at {path} ({url}); start an instance or run 'durable serve' first, "
                "or pass --store",
                STORE,
            )
    try:
        store = open_store(url)
    except DurableError as error:
        raise CliError(f"cannot open store {url}: {error}", STORE) from None
    try:
        yield store
    finally:
        store.close()


def load_app(spec: str) -> App:
    """The `App` named by ``module:attribute`` or ``path/to/file.py:attribute``.

    The working directory is put on ``sys.path`` first, as uvicorn does.

    Raises:
        CliError: (exit 4) the module cannot be imported or holds no App there.
    """
    module_name, _, attribute = spec.rpartition(":")
    if not module_name or not attribute:
        raise CliError(
            f"app {spec!r} must be given as module:attribute, e.g. myapp:app", INVALID_INPUT
        )
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = _import(module_name)
    except CliError:
        raise
    except Exception as error:
        raise CliError(
            f"cannot import {module_name!r} for app {spec!r}: {type(error).__name__}: {error}",
            INVALID_INPUT,
        ) from None
    app = getattr(module, attribute, None)
    if not isinstance(app, App):
        found = "nothing" if app is None else f"a {type(app).__name__}"
        raise CliError(
            f"{spec!r} is {found}, not a durable.App; name the App instance", INVALID_INPUT
        )
    return app


def _import(module_name: str) -> Any:
    if not module_name.endswith(".py"):
        return importlib.import_module(module_name)
    path = Path(module_name)
    if not path.is_file():
        raise CliError(f"no such file: {path}", INVALID_INPUT)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise CliError(f"cannot load {path} as a Python module", INVALID_INPUT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def parse_json(text: str, *, what: str) -> JSONValue:
    """The JSON value of `text`.

    Raises:
        CliError: (exit 4) `text` is not JSON; the message says where it broke.
    """
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except ValueError as error:
        hint = " (quote strings: '\"text\"')" if text[:1] not in '{["-0123456789tfn' else ""
        raise CliError(f"{what} is not valid JSON: {error}{hint}", INVALID_INPUT) from None


def read_json_input(text: str | None, file: str | None, *, what: str) -> JSONValue:
    """A JSON value from an option's text or a file (``-`` reads stdin); None if neither."""
    if text is not None and file is not None:
        raise CliError(f"give the {what} as text or as a file, not both", INVALID_INPUT)
    if file is not None:
        try:
            content = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise CliError(f"cannot read the {what} from {file}: {error}", INVALID_INPUT) from None
        return parse_json(content, what=f"the {what} in {file}")
    if text is not None:
        return parse_json(text, what=f"the {what}")
    return None


def parse_time(text: str) -> datetime:
    """An ISO 8601 time for argparse (a time without offset is UTC)."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time such as 2030-01-31T12:00:00Z"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")
