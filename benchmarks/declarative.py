"""Declarative workflows: validation time and the interpreter's per-step overhead.

Usage: ``python benchmarks/declarative.py [--steps 200] [--rounds 7] [--no-record]``.

Two figures, each the median of several rounds, printed and appended (with
the machine, the date and the commit) to ``benchmarks/RESULTS.md``:

1. **Validation** of a document of ``--steps`` steps (a mix of call, set,
   switch, wait, receive and for_each steps whose templates refer to earlier
   steps): load from YAML text, JSON Schema, compile, semantic checks.
2. **Interpretation overhead**: a chain of ``--steps`` activity calls, each
   passing the previous output on (``with: ${ steps.s<n-1> }``), against the
   same chain written as a Python orchestrator. Both histories are recorded
   once in a simulation; the figure is the time to replay each complete
   history through the pure engine (what a worker does on a cache miss),
   divided by the number of steps. The difference per step is what the
   interpreter adds: templates evaluated by JSONata, outputs recorded.
   A full simulated run of each (store, scheduler, activities faked) is
   timed as well, for scale.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from recording import commit, machine

from durable import App, OrchestrationContext
from durable._engine.replay import replay
from durable.declarative import register_workflow, validate_text
from durable.testing import Simulation

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"


def big_document(steps: int) -> str:
    """YAML text of a valid document of `steps` steps of several kinds."""
    lines = ["durable: 1", "name: big", 'version: "1"', "steps:"]
    lines += ["  - id: s0", "    call: work", '    with: "${ input }"']
    for index in range(1, steps):
        previous = f"steps.s{index - 1}"
        match index % 6:
            case 0:
                lines += [f"  - id: s{index}", "    set:", f'      v{index}: "${{ {previous} }}"']
            case 1:
                lines += [
                    f"  - id: s{index}",
                    "    switch:",
                    f'      - when: "${{ $exists({previous}) }}"',
                    f'        do: [{{id: c{index}, call: work, with: "${{ {previous} }}"}}]',
                ]
            case 2:
                lines += [f"  - id: s{index}", "    wait: 1m"]
            case 3:
                lines += [
                    f"  - id: s{index}",
                    "    receive: Go",
                    "    timeout: 1h",
                    f'    on_timeout: "${{ {previous} }}"',
                ]
            case 4:
                lines += [
                    f"  - id: s{index}",
                    '    for_each: "${ [1, 2] }"',
                    f'    do: [{{id: e{index}, call: work, with: "${{ item }}"}}]',
                ]
            case _:
                lines += [
                    f"  - id: s{index}",
                    "    call: work",
                    f'    with: {{previous: "${{ {previous} }}", n: {index}}}',
                    "    retry: {max_attempts: 3, delay: 1s}",
                ]
    return "\n".join(lines) + "\n"


def chain_document(steps: int) -> dict[str, Any]:
    """A chain of `steps` calls, each passing the previous output on."""
    chain = [{"id": "s0", "call": "work", "with": "${ input }"}]
    chain += [
        {"id": f"s{index}", "call": "work", "with": f"${{ steps.s{index - 1} }}"}
        for index in range(1, steps)
    ]
    return {"durable": 1, "name": "chain", "version": "1", "steps": chain}


def chain_apps(steps: int) -> tuple[App, App]:
    """The declarative chain and the same chain in Python, each with a `work` activity."""
    declarative, python = App(), App()
    for app in (declarative, python):
        app.activity(name="work")(lambda value: value)
    register_workflow(declarative, chain_document(steps))

    async def chain(ctx: OrchestrationContext, value: Any) -> Any:
        for _ in range(steps):
            value = await ctx.call_activity("work", value)
        return value

    python.orchestrator(name="chain")(chain)
    return declarative, python


def median_seconds(action: Callable[[], Any], rounds: int) -> float:
    """The median wall time of `action` over `rounds` runs (after one warm-up run)."""
    action()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def simulate(app: App) -> tuple[list[Any], float]:
    """Run the chain once in a simulation; its history and the wall time."""
    started = time.perf_counter()
    with Simulation(app, replay_check=False) as simulation:
        instance = simulation.start("chain", {"n": 1}, instance_id="chain-1")
        simulation.run_until_idle()
        history = simulation.history(instance)
    return history, time.perf_counter() - started


def measure(steps: int, rounds: int) -> dict[str, float]:
    """Every figure, in seconds."""
    text = big_document(steps)
    assert validate_text(text).ok
    figures = {"validate": median_seconds(lambda: validate_text(text), rounds)}
    for label, app in zip(("declarative", "python"), chain_apps(steps), strict=True):
        history, _ = simulate(app)
        definition = app.find_orchestrator("chain")
        figures[f"replay_{label}"] = median_seconds(
            lambda app=app, history=history, definition=definition: replay(
                definition, history, registry=app, converter=app.converter
            ),
            rounds,
        )
        figures[f"simulate_{label}"] = statistics.median(
            simulate(app)[1] for _ in range(max(3, rounds // 2))
        )
    return figures


def report(figures: dict[str, float], steps: int, rounds: int) -> str:
    """The figures as a RESULTS.md section."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    per_step = {key: value / steps * 1e6 for key, value in figures.items()}
    overhead = per_step["replay_declarative"] - per_step["replay_python"]
    ratio = figures["replay_declarative"] / figures["replay_python"]
    lines = [
        f"\n## Declarative workflows (benchmarks/declarative.py), {when}, commit {commit()}\n",
        f"- machine: {machine()}",
        f"- median of {rounds} rounds; documents of {steps} steps",
        "",
        "| figure | total | per step |",
        "|---|---:|---:|",
        f"| validate a {steps}-step document (YAML text to plan) | "
        f"{figures['validate'] * 1000:.1f} ms | {per_step['validate']:.0f} us |",
        f"| replay a {steps}-call chain, Python orchestrator | "
        f"{figures['replay_python'] * 1000:.1f} ms | {per_step['replay_python']:.0f} us |",
        f"| replay the same chain, declarative | "
        f"{figures['replay_declarative'] * 1000:.1f} ms | "
        f"{per_step['replay_declarative']:.0f} us |",
        f"| simulate the chain end to end, Python | "
        f"{figures['simulate_python'] * 1000:.1f} ms | {per_step['simulate_python']:.0f} us |",
        f"| simulate the chain end to end, declarative | "
        f"{figures['simulate_declarative'] * 1000:.1f} ms | "
        f"{per_step['simulate_declarative']:.0f} us |",
        "",
        f"Interpretation overhead: {overhead:.0f} us per step on replay "
        f"({ratio:.1f}x the Python orchestrator's replay time).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Parse the options, measure, print and record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="steps per document")
    parser.add_argument("--rounds", type=int, default=7, help="rounds per figure")
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    args = parser.parse_args()
    text = report(measure(args.steps, args.rounds), args.steps, args.rounds)
    print(text.strip())
    if not args.no_record:
        with RESULTS.open("a", encoding="utf-8") as file:
            file.write(text)


if __name__ == "__main__":
    main()
