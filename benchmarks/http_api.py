"""Benchmark of the HTTP API: instance starts and status queries per second over loopback.

Runs ``durable serve`` for this file's app in a subprocess (API only, no
worker, over a fresh SQLite file), then drives it from this process with a
concurrent `httpx.AsyncClient`: a bounded number of requests per round,
several rounds, a fixed concurrency. Prints the median rate and latency of
each kind and appends them, with the machine and date, to
``benchmarks/RESULTS.md`` (created if missing; never rewritten).

Usage: ``python benchmarks/http_api.py [--requests N] [--concurrency C] [--rounds R]``
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from recording import commit, machine

from durable import App, OrchestrationContext

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"

bench_app = App()


@bench_app.orchestrator
def noop(ctx: OrchestrationContext, value: Any) -> Any:
    """Return the input (never run here: the benchmark serves without a worker)."""
    return value


def start_server(store_url: str) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``durable serve`` for `bench_app` on a free loopback port; return it and its URL."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "durable.cli",
            "serve",
            f"{__file__}:bench_app",
            "--port",
            "0",
            "--no-worker",
            "--store",
            store_url,
        ],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    assert process.stderr is not None
    line = process.stderr.readline().decode()  # "durable: listening on http://.../ (...)"
    found = re.search(r"listening on (http://\S+?)/ ", line)
    if found is None:
        process.kill()
        raise SystemExit(f"the server did not start: {line}")
    return process, found[1]


async def measure(
    client: httpx.AsyncClient, requests: list[tuple[str, str, Any]], concurrency: int
) -> tuple[float, list[float]]:
    """Send `requests` with at most `concurrency` in flight; (requests per second, latencies)."""
    queue = iter(requests)
    latencies: list[float] = []

    async def lane() -> None:
        for method, url, body in queue:
            began = time.perf_counter()
            response = await client.request(method, url, json=body)
            latencies.append(time.perf_counter() - began)
            if response.status_code not in (200, 202):
                raise SystemExit(f"{method} {url}: {response.status_code} {response.text}")

    began = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return len(requests) / (time.perf_counter() - began), latencies


async def run(base: str, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Rounds of starts, then rounds of status queries of the started instances."""
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    figures: dict[str, dict[str, float]] = {}
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        await client.get("instances/?top=1")  # warm up the connection path
        started: list[str] = []
        for kind in ("start", "status"):
            rates: list[float] = []
            latencies: list[float] = []
            for round_number in range(args.rounds):
                if kind == "start":
                    batch = [("POST", "orchestrators/noop", {"n": i}) for i in range(args.requests)]
                else:
                    batch = [
                        ("GET", f"instances/{started[i % len(started)]}", None)
                        for i in range(args.requests)
                    ]
                rate, seen = await measure(client, batch, args.concurrency)
                rates.append(rate)
                latencies.extend(seen)
                if kind == "start" and round_number == 0:
                    page = await client.get("instances/", params={"top": "1000"})
                    started = [item["instanceId"] for item in page.json()]
            latencies.sort()
            figures[kind] = {
                "per_second": statistics.median(rates),
                "p50_ms": latencies[len(latencies) // 2] * 1000,
                "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
            }
    return figures


def record(figures: dict[str, dict[str, float]], args: argparse.Namespace) -> str:
    """Append the figures to RESULTS.md and return the text appended."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"\n## HTTP API (benchmarks/http_api.py), {when}, commit {commit()}\n",
        f"- machine: {machine()}",
        f"- setup: `durable serve` (uvicorn, API only, SQLite file) and an httpx.AsyncClient "
        f"on loopback; {args.concurrency} requests in flight, {args.requests} requests "
        f"per round, median of {args.rounds} rounds",
        "",
        "| request | per second (median) | p50 latency | p99 latency |",
        "|---|---:|---:|---:|",
    ]
    labels = {"start": "POST orchestrators/{name} (start)", "status": "GET instances/{id} (status)"}
    for kind, label in labels.items():
        row = figures[kind]
        rate, p50, p99 = row["per_second"], row["p50_ms"], row["p99_ms"]
        lines.append(f"| {label} | {rate:.0f} | {p50:.1f} ms | {p99:.1f} ms |")
    text = "\n".join(lines) + "\n"
    if not RESULTS.exists():
        RESULTS.write_text("# Benchmark results\n\nAppend-only: each run adds a section.\n")
    with RESULTS.open("a", encoding="utf-8") as file:
        file.write(text)
    return text


def main() -> None:
    """Parse the options, run the benchmark, print and record the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests per round")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per kind")
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    args = parser.parse_args()
    if not (
        1 <= args.requests <= 100_000 and 1 <= args.concurrency <= 256 and 1 <= args.rounds <= 50
    ):
        parser.error("keep --requests <= 100000, --concurrency <= 256, --rounds <= 50")
    with tempfile.TemporaryDirectory(prefix="durable-bench-") as tmp:
        process, base = start_server(f"sqlite:///{tmp}/bench.db")
        try:
            figures = asyncio.run(run(base + "/", args))
        finally:
            process.terminate()
            process.wait(30)
    for kind, row in figures.items():
        print(
            f"{kind:>6}: {row['per_second']:8.0f}/s median   "
            f"p50 {row['p50_ms']:6.1f} ms   p99 {row['p99_ms']:6.1f} ms"
        )
    if not args.no_record:
        print(record(figures, args), end="")


if __name__ == "__main__":
    main()
