"""Each peer's script as series of fresh-process runs (`rounds`), and their rows.

A peer that cannot be installed, or whose script fails or times out, gives
rows that carry the reason instead of figures; the other peers and workloads
go on. A timed-out script is killed with its whole process group (its own
process session), so a server it started (Temporal's) does not outlive it.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
from pathlib import Path

from rounds import Series, run_in_rounds

from peers.catalog import PEER_WORKLOADS, Peer
from peers.environments import VENVS, PeerUnavailableError, installed_versions, last_words, prepare
from peers.measurement import Measurement, PeerResults, RunFailedError, Sample

__all__ = [
    "PEER_SIZE",
    "QUICK_SIZE",
    "UNITS",
    "measure",
    "peer_series",
    "run_once",
    "series",
]

PEER_SIZE = 1000
QUICK_SIZE = 10
UNITS = {"seq": "steps/s", "fanout": "activities/s", "throughput": "instances/s"}
RUN_SECONDS = 1800


def run_once(python: Path, script: Path, workload: str, size: int, timeout: float) -> Sample:
    """Run the script once in a fresh process of ``python`` and return its JSON figures."""
    command = [str(python), str(script), workload, str(size)]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as error:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise RunFailedError(
            f"{script.name} {workload} {size} took over {timeout:.0f} s"
        ) from error
    if process.returncode != 0:
        raise RunFailedError(
            f"{script.name} {workload} {size} exited with {process.returncode}: "
            + last_words(stderr)
        )
    lines = stdout.strip().splitlines()
    try:
        sample: Sample = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError) as error:
        raise RunFailedError(f"{script.name} {workload} {size} printed no JSON line") from error
    return sample


def series(
    peer: Peer, python: Path, workload: str, size: int, runs: int, timeout: float = RUN_SECONDS
) -> Series:
    """The runs of one workload of an installed peer, to be taken in rounds."""
    return Series(
        workload=workload,
        size=size,
        system=peer.title,
        storage="-",
        figure="per_second",
        unit=UNITS[workload],
        runs=runs,
        run_once=functools.partial(run_once, python, peer.script, workload, size, timeout),
    )


def measure(
    peer: Peer, python: Path, workload: str, size: int, runs: int, timeout: float = RUN_SECONDS
) -> Measurement:
    """Run one workload ``runs`` times; a failed run ends it with a row that says why."""
    one = series(peer, python, workload, size, runs, timeout)
    run_in_rounds([one])
    return one.result()


def peer_series(
    peers: tuple[Peer, ...],
    workloads: list[str],
    runs: int,
    *,
    quick: bool = False,
    root: Path = VENVS,
) -> tuple[list[Series], PeerResults]:
    """Install each peer if needed; the series of its chosen workloads, and the results so far.

    ``workloads`` empty means all of them; names that are not peer workloads
    are skipped. A peer that cannot be installed has no series: its rows,
    which say why, are in the results already, as is each peer's versions.
    """
    chosen = [name for name in PEER_WORKLOADS if not workloads or name in workloads]
    size = QUICK_SIZE if quick else PEER_SIZE
    results = PeerResults()
    planned: list[Series] = []
    for peer in peers:
        if not chosen:
            break
        try:
            python = prepare(peer, root)
            results.versions[peer.title] = installed_versions(peer, python)
        except PeerUnavailableError as error:
            results.versions[peer.title] = f"not installed: {error}"
            results.measurements.extend(_failed(peer, name, size, str(error)) for name in chosen)
        else:
            planned.extend(series(peer, python, name, size, runs) for name in chosen)
    return planned, results


def _failed(peer: Peer, workload: str, size: int, reason: str) -> Measurement:
    return Measurement(
        workload=workload,
        size=size,
        system=peer.title,
        storage="-",
        unit=UNITS[workload],
        failure=reason,
    )
