"""Run each peer's script several times, each in a fresh process, and fold the runs into rows.

A peer that cannot be installed, or whose script fails or times out, gives
rows that carry the reason instead of figures; the other peers and workloads
go on. A timed-out script is killed with its whole process group (its own
process session), so a server it started (Temporal's) does not outlive it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path

from peers.catalog import PEER_WORKLOADS, Peer
from peers.environments import VENVS, PeerUnavailableError, installed_versions, last_words, prepare
from peers.measurement import Measurement, PeerResults, Sample, summarise

__all__ = [
    "PEER_SIZE",
    "QUICK_SIZE",
    "UNITS",
    "PeerRunError",
    "measure",
    "measure_peers",
    "run_once",
]

PEER_SIZE = 1000
QUICK_SIZE = 10
UNITS = {"seq": "steps/s", "fanout": "activities/s", "throughput": "instances/s"}
RUN_SECONDS = 1800


class PeerRunError(Exception):
    """One run of a peer script failed; the message says how."""


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
        raise PeerRunError(f"{script.name} {workload} {size} took over {timeout:.0f} s") from error
    if process.returncode != 0:
        raise PeerRunError(
            f"{script.name} {workload} {size} exited with {process.returncode}: "
            + last_words(stderr)
        )
    lines = stdout.strip().splitlines()
    try:
        sample: Sample = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError) as error:
        raise PeerRunError(f"{script.name} {workload} {size} printed no JSON line") from error
    return sample


def measure(
    peer: Peer, python: Path, workload: str, size: int, runs: int, timeout: float = RUN_SECONDS
) -> Measurement:
    """Run one workload ``runs`` times; a failed run ends it with a row that says why."""
    try:
        samples = [run_once(python, peer.script, workload, size, timeout) for _ in range(runs)]
    except PeerRunError as error:
        return _failed(peer, workload, size, str(error))
    return summarise(
        samples,
        workload=workload,
        size=size,
        system=peer.title,
        storage="-",
        figure="per_second",
        unit=UNITS[workload],
    )


def measure_peers(
    peers: tuple[Peer, ...],
    workloads: list[str],
    runs: int,
    *,
    quick: bool = False,
    on_row: Callable[[Measurement], None] = lambda _: None,
    root: Path = VENVS,
) -> PeerResults:
    """Install each peer if needed and measure it on the chosen peer workloads.

    ``workloads`` empty means all of them; names that are not peer workloads
    are skipped. ``on_row`` sees each row as soon as it is measured.
    """
    chosen = [name for name in PEER_WORKLOADS if not workloads or name in workloads]
    size = QUICK_SIZE if quick else PEER_SIZE
    results = PeerResults()
    for peer in peers:
        if not chosen:
            break
        rows: Iterable[Measurement]
        try:
            python = prepare(peer, root)
            results.versions[peer.title] = installed_versions(peer, python)
        except PeerUnavailableError as error:
            results.versions[peer.title] = f"not installed: {error}"
            rows = [_failed(peer, name, size, str(error)) for name in chosen]
        else:
            rows = (measure(peer, python, name, size, runs) for name in chosen)
        for row in rows:
            on_row(row)
            results.measurements.append(row)
    return results


def _failed(peer: Peer, workload: str, size: int, reason: str) -> Measurement:
    return Measurement(
        workload=workload,
        size=size,
        system=peer.title,
        storage="-",
        unit=UNITS[workload],
        failure=reason,
    )
