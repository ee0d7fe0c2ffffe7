"""``durable demo``: a three-step durable chain, run in-process, with its timeline.

The same flow as ``examples/hello_chain.py``: greet three cities, one
activity per city, the progress in the custom status. The instance is kept
in the store (``durable.db`` by default), so ``durable history`` and
``durable status`` can look at it afterwards.
"""

from __future__ import annotations

import argparse
from collections.abc import Generator
from datetime import timedelta
from typing import Any

from durable._app import App
from durable._client.client import Client
from durable._engine.context import OrchestrationContext
from durable._model.status import RuntimeStatus
from durable._worker.worker import Worker
from durable.cli.common import opened_store
from durable.cli.exits import INSTANCE_FAILED, OK
from durable.cli.output import say, timeline

__all__ = ["build_demo_app", "register"]

DEMO_TIMEOUT = timedelta(seconds=60)


def greet(city: str) -> str:
    """Say hello to one city."""
    return f"Hello, {city}!"


def hello_chain(ctx: OrchestrationContext, cities: list[str]) -> Generator[Any, Any, list[str]]:
    """Greet each city in turn; each greeting is a durable step."""
    greetings: list[str] = []
    for city in cities:
        greetings.append((yield ctx.call_activity("greet", city)))
        ctx.set_custom_status({"done": len(greetings), "of": len(cities)})
    return greetings


def build_demo_app() -> App:
    """A fresh App with the demo's orchestrator and activity."""
    app = App()
    app.activity(greet)
    app.orchestrator(hello_chain)
    return app


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``demo`` to the `durable` parser."""
    parser = commands.add_parser(
        "demo",
        parents=[common],
        help="run a small durable chain in-process and show its history",
        description="Start a hello_chain instance (three activities in a row), run a "
        "worker until it finishes, and print its timeline and result.",
    )
    parser.add_argument(
        "cities", nargs="*", default=["Tokyo", "Seattle", "London"], help="who to greet"
    )
    parser.set_defaults(run=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    """``durable demo``."""
    app = build_demo_app()
    with opened_store(args.store, must_exist=False) as store:
        client = Client(store, app=app)
        with Worker(app, store):
            instance_id = client.start("hello_chain", list(args.cities))
            say(f"started hello_chain instance {instance_id} in {args.store}")
            status = client.wait(instance_id, timeout=DEMO_TIMEOUT)
        print("\n".join(timeline(status, client.history(instance_id))))
        print(f"result: {client.converter.dumps(status.output)}")
    return OK if status.status is RuntimeStatus.COMPLETED else INSTANCE_FAILED
