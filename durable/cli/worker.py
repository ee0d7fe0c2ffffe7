"""``durable worker``: run only the worker side of an app against a store.

Start one on each machine that should do work; they share the store
(PostgreSQL for many machines, SQLite for processes on one machine).
"""

from __future__ import annotations

import argparse
import logging
from datetime import timedelta
from typing import Any

from durable._worker.entry import run_worker
from durable.cli.common import load_app
from durable.cli.exits import OK

__all__ = ["register"]


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``worker`` to the `durable` parser."""
    parser = commands.add_parser(
        "worker",
        parents=[common],
        help="run a worker for an app against the store until SIGTERM or Ctrl+C",
        description="Run the orchestrations and activities of MODULE:APP from the store. "
        "The first SIGTERM or Ctrl+C stops it gracefully (running work finishes, or its "
        "leases are given back after --stop-timeout); a second one gives them back at once.",
    )
    parser.add_argument("app", metavar="MODULE:APP", help="the app (module:attribute)")
    parser.add_argument("--max-activities", type=int, default=16, help="activities at once")
    parser.add_argument("--max-orchestrations", type=int, default=16, help="episodes at once")
    parser.add_argument("--lease", type=float, default=60.0, metavar="SECONDS")
    parser.add_argument(
        "--poll-interval",
        type=float,
        metavar="SECONDS",
        help="longest idle sleep (default: 5 for PostgreSQL, which also wakes on NOTIFY; 1 else)",
    )
    parser.add_argument("--stop-timeout", type=float, default=25.0, metavar="SECONDS")
    parser.add_argument("--worker-id", help="a name for this worker in leases and logs")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """``durable worker``."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    poll = timedelta(seconds=args.poll_interval) if args.poll_interval is not None else None
    run_worker(
        load_app(args.app),
        args.store,
        max_activities=args.max_activities,
        max_orchestrations=args.max_orchestrations,
        lease=timedelta(seconds=args.lease),
        poll_interval=poll,
        worker_id=args.worker_id,
        stop_timeout=timedelta(seconds=args.stop_timeout),
    )
    return OK
