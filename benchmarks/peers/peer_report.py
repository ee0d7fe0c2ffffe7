"""What every peer script prints: one JSON line of figures, like benchmarks/workloads.py.

The peer scripts run under their own virtual environments (benchmarks/.venvs/)
and import nothing from durable; this module is the only code they share. It
is loaded from the scripts' own folder, which Python puts first on sys.path.
"""

from __future__ import annotations

import json
import os
import resource
from pathlib import Path

__all__ = ["emit", "process_cpu_seconds", "process_peak_rss_mib", "rate"]


def rate(size: int, seconds: float) -> dict[str, float]:
    """The figures of one timed workload: its wall time and items per second."""
    return {"seconds": seconds, "per_second": size / seconds}


def emit(figures: dict[str, float], backend: str) -> None:
    """Print the figures, this process's peak RSS and the backend's description as JSON."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({**figures, "peak_rss_mib": peak, "backend": backend}), flush=True)


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of another process so far, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_peak_rss_mib(pid: int) -> float:
    """Another process's peak resident memory (VmHWM) in MiB, from /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/{pid}/status has no VmHWM line")
