"""The peers' Markdown table and the ratios durable (SQLite) / best peer against the targets.

The ratio of a workload compares durable's median on its SQLite store with
the highest median among the peers at the same size, whatever their storage
(the table says which keep their state durably). All three figures are rates,
so a ratio above 1 means durable is faster.
"""

from __future__ import annotations

import statistics

from peers.catalog import PEERS
from peers.measurement import Measurement, PeerResults

__all__ = ["TARGETS", "peer_row", "peer_section", "peer_table", "ratio_table"]

# workload -> how many times the best peer's rate durable's on SQLite must be (issue #9, at 1,000)
TARGETS = {"seq": 5.0, "fanout": 4.0, "throughput": 7.0}

PEER_HEADER = (
    "| workload | peer | storage | durable | median | min | max | peak RSS MiB "
    "| server CPU s | server peak RSS MiB |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
)


def peer_section(results: PeerResults, runs: int, ours: list[Measurement]) -> str:
    """The notes, the peers' table and the ratios, as appended to RESULTS.md."""
    versions = "; ".join(f"{title}: {text}" for title, text in results.versions.items())
    sizes = " and ".join(f"{size:,}" for size in sorted({row.size for row in results.measurements}))
    notes = (
        f"Peers, in the same run: {runs} runs per row, each in a fresh process under the "
        "peer's own virtual environment (benchmarks/.venvs/), taken in rounds, each right "
        f"after durable's run of the same workload on SQLite; versions: {versions}. "
        "Each in its own idiom, default settings (benchmarks/peers/). Storage as each peer "
        "script reported it: DBOS keeps its system database in a SQLite file, read back from "
        "its own connection (durable); activities are steps, the fan-out starts child workflows "
        "with DBOS.start_workflow. durabletask's InMemoryOrchestrationBackend (in the script's "
        "process, on 127.0.0.1) keeps everything in memory (not durable). Temporal's server is "
        "`temporal server start-dev --ip 127.0.0.1 --headless`, fresh for each run, otherwise "
        "its defaults: state in an in-memory SQLite database, no --db-filename (not durable); "
        "its CPU seconds during the timed part (median) and its peak RSS are the last two "
        "columns. Throughput is an asyncio program for every peer, as for durable: the client "
        "starts all the chains at once under asyncio.gather (DBOS: async workflow and steps, "
        "DBOS.start_workflow_async; durabletask: AsyncTaskHubGrpcClient), then awaits each. "
        "Peak RSS is the peer script's process (client and worker; for durabletask also its "
        "backend). Peers run seq, fanout and throughput at "
        f"{sizes} only (not seq 10,000: durabletask's seq cost grows with the square of N)."
    )
    ratios = ratio_table(ours, results.measurements)
    return (
        f"{notes}\n\n{peer_table(results.measurements)}\n\n"
        f"durable (SQLite) / best peer, against the targets; durable's median is taken over the "
        f"rounds the peer ran in:\n\n{ratios}\n"
    )


def peer_row(row: Measurement) -> str:
    """One Markdown row; a row without figures says why instead."""
    durable = row.system in {peer.title for peer in PEERS if peer.durable}
    name = f"| {row.workload} {row.size:,} | {row.system} |"
    if row.failure is not None:
        reason = row.failure.replace("|", "/")
        return f"{name} - | - | not measured: {reason} | - | - | - | - | - |"
    server_cpu = (
        f"{statistics.median(row.server_cpu_seconds):,.1f}" if row.server_cpu_seconds else "-"
    )
    server_rss = f"{row.server_peak_rss_mib:,.0f}" if row.server_peak_rss_mib is not None else "-"
    return (
        f"{name} {row.storage} | {'yes' if durable else 'no'} "
        f"| {row.median:,.1f} {row.unit} | {min(row.values):,.1f} | {max(row.values):,.1f} "
        f"| {row.peak_rss_mib:,.0f} | {server_cpu} | {server_rss} |"
    )


def peer_table(rows: list[Measurement]) -> str:
    """The peers' table, a row per peer and workload."""
    return "\n".join([PEER_HEADER, *(peer_row(row) for row in rows)])


def ratio_table(ours: list[Measurement], peers: list[Measurement]) -> str:
    """durable (SQLite) / best peer for each target workload, at each size both measured."""
    lines = [
        "| workload | durable (SQLite), in the peer's rounds | best peer | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for workload, target in TARGETS.items():
        compared: set[int] = set()
        for mine in ours:
            if (mine.workload, mine.storage) != (workload, "sqlite") or mine.size in compared:
                continue
            rivals = [row for row in peers if (row.workload, row.size) == (workload, mine.size)]
            if rivals:
                compared.add(mine.size)
                lines.append(_ratio_line(mine, rivals, target))
    return "\n".join(lines)


def _ratio_line(mine: Measurement, rivals: list[Measurement], target: float) -> str:
    """The ratio of durable's median to the best peer's, over the rounds both ran in.

    Values are in round order and a peer may run fewer rounds than durable:
    durable's later rounds, with no peer run beside them, are left out.
    """
    measured = [row for row in rivals if row.values]
    if not measured:
        name = f"| {mine.workload} {mine.size:,} | {mine.median:,.1f} {mine.unit} |"
        return f"{name} no peer measured | - | {target:g}x | - |"
    best = max(measured, key=lambda row: row.median)
    paired = statistics.median(mine.values[: len(best.values)])
    name = f"| {mine.workload} {mine.size:,} | {paired:,.1f} {mine.unit} |"
    ratio = paired / best.median
    met = "yes" if ratio >= target else "no"
    return f"{name} {best.system}, {best.median:,.1f} | {ratio:.2f}x | {target:g}x | {met} |"
