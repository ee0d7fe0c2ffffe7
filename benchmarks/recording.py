"""What every benchmark script records beside its figures: the machine and the commit."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from pathlib import Path

__all__ = ["commit", "machine"]

ROOT = Path(__file__).resolve().parent.parent


def machine() -> str:
    """nproc, CPU model, Python and SQLite versions and the load average, in one line."""
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
        model = names[0].split(":", 1)[1].strip() if names else model
    load = f", load average {os.getloadavg()[0]:.1f} at start" if hasattr(os, "getloadavg") else ""
    return (
        f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}{load}"
    )


def commit() -> str:
    """The current git commit, short, with '+' if the tree has changes."""
    try:
        head = _git("rev-parse", "--short", "HEAD")
        dirty = _git("status", "--porcelain")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+" if dirty else "")


def _git(*arguments: str) -> str:
    return subprocess.run(
        ["git", *arguments], cwd=ROOT, capture_output=True, text=True, check=True, timeout=30
    ).stdout.strip()
