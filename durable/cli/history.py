"""``durable history`` and ``durable replay``: look at a history, and prove code still fits one.

``history ID`` prints a readable timeline; ``history ID --json`` prints the
versioned history file (the format of `durable.testing.save_history`), and
``--save PATH`` writes it. ``replay FILE --app MODULE:APP`` replays such a
file through the app's current code and exits 9 at the first decision that
differs, naming the history position, what was recorded and what the code
does now.

History files and replay live in `durable.testing`, which sits above the
core; the command line reaches them with `importlib` at run time, so that
importing ``durable.cli`` never imports the testing harness.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

from durable._client.client import Client
from durable.cli.common import load_app, opened_store
from durable.cli.exits import INVALID_INPUT, NONDETERMINISM, OK, CliError
from durable.cli.output import print_json, say, timeline

__all__ = ["register"]


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``history`` and ``replay`` to the `durable` parser."""
    parser = commands.add_parser(
        "history",
        parents=[common],
        help="show an instance's history (timeline or JSON)",
        description="Show the history of an instance's current execution: a readable "
        "timeline by default (time since start, event, what it was about), or the "
        "history file JSON (for 'durable replay') with --json or --save.",
    )
    parser.add_argument("instance_id", help="the instance id")
    parser.add_argument("--json", action="store_true", help="print the history file JSON")
    parser.add_argument("--save", metavar="PATH", help="write the history file to PATH")
    parser.add_argument(
        "--episodes", action="store_true", help="show episode markers in the timeline too"
    )
    parser.set_defaults(run=run_history)

    replay = commands.add_parser(
        "replay",
        parents=[common],
        help="replay a history file against the app's current code",
        description="Replay a history file (from 'durable history --save') through the "
        "app's current orchestrator code and check it makes the recorded decisions. "
        "Exit 0 if it does, 9 at the first difference.",
    )
    replay.add_argument("file", help="the history file")
    replay.add_argument("--app", metavar="MODULE:APP", required=True, help="the app to replay")
    replay.add_argument(
        "--orchestrator", help="replay as this orchestrator (default: the recorded name)"
    )
    replay.set_defaults(run=run_replay)


def run_history(args: argparse.Namespace) -> int:
    """``durable history``."""
    with opened_store(args.store, must_exist=True) as store:
        client = Client(store)
        if args.json or args.save:
            document = _testing().export_history(client, args.instance_id)
        else:
            status = client.status(args.instance_id)
            events = client.history(args.instance_id)
    if args.save:
        _testing().save_history(args.save, document)
        say(f"wrote {len(document['events'])} events of {args.instance_id} to {args.save}")
    if args.json:
        print_json(document)
    elif not args.save:
        print("\n".join(timeline(status, events, episodes=args.episodes)))
    return OK


def run_replay(args: argparse.Namespace) -> int:
    """``durable replay``."""
    testing = _testing()
    app = load_app(args.app)
    try:
        document = testing.load_history(args.file)
    except OSError as error:
        raise CliError(
            f"cannot read {args.file}: {error.strerror or error}", INVALID_INPUT
        ) from None
    result = testing.replay(document, args.orchestrator, app=app, raise_on_divergence=False)
    if result.divergence is not None:
        say(f"{args.file}: {result.divergence}")
        return NONDETERMINISM
    say(
        f"{args.file}: the code makes the {result.events} recorded decisions of "
        f"{result.orchestrator} ({result.instance_id}); it ends {result.status.value}"
    )
    return OK


def _testing() -> Any:
    return importlib.import_module("durable.testing")
