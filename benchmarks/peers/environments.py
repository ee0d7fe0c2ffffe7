"""Each peer's virtual environment under benchmarks/.venvs/, built with venv and pip.

An environment is built once and reused while its stamp file lists the same
requirements as the catalog; a changed requirement rebuilds it from scratch.
A failure to build raises ``PeerUnavailableError`` with pip's own last words, so
the benchmark can record that the peer was not measured and go on.
"""

from __future__ import annotations

import fcntl
import subprocess
import sys
from pathlib import Path

from peers.catalog import Peer

__all__ = ["VENVS", "PeerUnavailableError", "installed_versions", "last_words", "prepare"]

VENVS = Path(__file__).resolve().parent.parent / ".venvs"
STAMP = ".durable-bench-requirements"
INSTALL_SECONDS = 1200
TAIL_LINES = 8


class PeerUnavailableError(Exception):
    """A peer could not be installed or asked for its versions; the message says why."""


def prepare(peer: Peer, root: Path = VENVS) -> Path:
    """Build the peer's environment under ``root`` unless it is up to date; return its python.

    A lock file beside the environment keeps two benchmark runs from building
    the same environment at once; the second waits, then finds it up to date.
    """
    environment = root / peer.name
    python = environment / "bin" / "python"
    stamp = environment / STAMP
    wanted = "\n".join(peer.requirements) + "\n"
    try:
        root.mkdir(parents=True, exist_ok=True)
        lock = (root / f"{peer.name}.lock").open("w")
    except OSError as error:
        raise PeerUnavailableError(f"{peer.title}: cannot create {root}: {error}") from error
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (environment / "pyvenv.cfg").exists() and stamp.exists() and stamp.read_text() == wanted:
            return python
        print(f"installing {peer.title} into {environment} ...", file=sys.stderr, flush=True)
        _run(peer, [sys.executable, "-m", "venv", "--clear", str(environment)])
        # --require-virtualenv: never install into the base interpreter if the venv is broken.
        pip = [str(python), "-m", "pip", "install", "--quiet", "--require-virtualenv"]
        _run(peer, [*pip, *peer.requirements])
        stamp.write_text(wanted)
    return python


def installed_versions(peer: Peer, python: Path) -> str:
    """The versions of the peer's distributions in its environment, e.g. ``dbos 3.4.0``."""
    script = (
        "import importlib.metadata as m, sys; "
        "print(', '.join(f'{name} {m.version(name)}' for name in sys.argv[1:]))"
    )
    return _run(peer, [str(python), "-c", script, *peer.distributions]).strip()


def _run(peer: Peer, command: list[str]) -> str:
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, check=False, timeout=INSTALL_SECONDS
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise PeerUnavailableError(
            f"{peer.title}: {' '.join(command[:4])} failed: {error}"
        ) from error
    if completed.returncode != 0:
        raise PeerUnavailableError(
            f"{peer.title}: {' '.join(command[:4])} exited with {completed.returncode}: "
            + last_words(completed.stderr or completed.stdout)
        )
    return completed.stdout


def last_words(output: str) -> str:
    """The error lines of a tool's output, or its last lines if none says ERROR, on one line."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR")]
    return " / ".join((errors or lines)[-TAIL_LINES:])
