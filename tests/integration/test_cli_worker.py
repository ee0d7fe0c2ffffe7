"""`durable worker` as a subprocess: it does the work of instances started elsewhere."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = f"{ROOT / 'examples' / 'hello_chain.py'}:app"


def durable(*arguments: str, store: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "durable.cli", *arguments, "--store", store],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_worker_runs_instances_until_sigterm_then_stops_gracefully(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'durable.db'}"
    started = durable("start", "hello_chain", "--input", '["Oslo"]', store=store)
    assert started.returncode == 0, started.stderr
    instance_id = started.stdout.strip()
    worker = subprocess.Popen(
        [sys.executable, "-m", "durable.cli", "worker", APP, "--store", store],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        waited = durable("wait", instance_id, "--timeout", "60", "--quiet", store=store)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, errors = worker.communicate(timeout=60)
    assert waited.returncode == 0, waited.stderr
    assert json.loads(waited.stdout)["output"] == ["Hello, Oslo!"]
    assert worker.returncode == 0, errors


def test_worker_with_an_unknown_store_scheme_exits_4(tmp_path: Path) -> None:
    done = durable("worker", APP, store="mysql://nowhere")
    assert done.returncode == 4
    assert "unknown store URL scheme 'mysql'" in done.stderr
