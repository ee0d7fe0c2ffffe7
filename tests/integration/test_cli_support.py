"""Shared helpers of the command-line tests (`test_cli_*.py`); it holds no tests.

`Cli` runs ``python -m durable.cli`` as a subprocess in a temporary
directory, against a SQLite file there. The repository root is put on
``PYTHONPATH`` so that ``--app tests.integration.test_http_support:http_app``
imports in the subprocess. `worker` runs a real `Worker` in the test process
over the same file: the command line and the worker meet only in SQLite.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from durable import Client, Worker
from durable.stores import SQLiteStore
from tests.integration.test_http_support import http_app

__all__ = ["APP", "ROOT", "Cli", "read_line_until", "seed", "worker"]

ROOT = Path(__file__).resolve().parents[2]
APP = "tests.integration.test_http_support:http_app"
LIMIT = 30.0  # seconds: the bound on every subprocess; one that needs it has failed


class Cli:
    """Runs ``durable`` commands against ``durable.db`` in `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.db = directory / "durable.db"
        self.url = f"sqlite:///{self.db}"
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), "DURABLE_STORE": self.url}
        self.env.pop("DURABLE_TOKEN", None)

    def command(self, *args: str) -> list[str]:
        """The argv of ``python -m durable.cli ARGS``."""
        return [sys.executable, "-m", "durable.cli", *args]

    def __call__(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run one command to its end and return what it did."""
        return subprocess.run(
            self.command(*args),
            cwd=self.directory,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=LIMIT,
            check=False,
        )

    def json(self, *args: str) -> Any:
        """Run a command that must succeed and return its stdout as JSON."""
        done = self(*args)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def run_all(self, commands: list[list[str]]) -> list[subprocess.CompletedProcess[str]]:
        """Run independent commands at the same time (each bounded by LIMIT); their results."""
        processes = [
            subprocess.Popen(
                self.command(*args),
                cwd=self.directory,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for args in commands
        ]
        results = []
        for args, process in zip(commands, processes, strict=True):
            out, err = process.communicate(timeout=LIMIT)
            results.append(subprocess.CompletedProcess(args, process.returncode, out, err))
        return results

    def popen(self, *args: str) -> subprocess.Popen[bytes]:
        """Start a long-running command (serve); its stderr is a pipe, stdout discarded."""
        return subprocess.Popen(
            self.command(*args),
            cwd=self.directory,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )


@contextlib.contextmanager
def worker(cli: Cli) -> Iterator[SQLiteStore]:
    """A worker for the test app over the CLI's file, for the length of the block."""
    store = SQLiteStore(cli.db)
    try:
        with Worker(http_app, store, poll_interval=timedelta(milliseconds=20)):
            yield store
    finally:
        store.close()


def seed(
    cli: Cli, orchestrator: str, data: Any = None, *, ids: list[str], run: bool = False
) -> None:
    """Start instances in-process (faster than a subprocess each); with `run`, to their end."""
    store = SQLiteStore(cli.db)
    try:
        client = Client(store, app=http_app)
        for instance_id in ids:
            client.start(orchestrator, data, instance_id=instance_id)
        if run:
            with Worker(http_app, store, poll_interval=timedelta(milliseconds=20)):
                for instance_id in ids:
                    client.wait(instance_id, timeout=timedelta(seconds=LIMIT))
    finally:
        store.close()


def read_line_until(process: subprocess.Popen[bytes], marker: str) -> tuple[str, str]:
    """(the first stderr line containing `marker`, all stderr so far); bounded by LIMIT."""
    assert process.stderr is not None
    fd = process.stderr.fileno()
    text = ""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        deadline = time.monotonic() + LIMIT
        while time.monotonic() < deadline and selector.select(deadline - time.monotonic()):
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            text += chunk.decode()
            for line in text.splitlines(keepends=True):
                if marker in line and line.endswith("\n"):
                    return line, text
    raise AssertionError(f"{marker!r} never appeared on stderr; saw: {text}")
