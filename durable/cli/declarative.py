"""``durable validate``, ``durable run`` and ``durable schema``: workflow documents.

The work is done by `durable.declarative.commands`, imported when a command
runs so that ``durable --help`` does not load the YAML and JSONata machinery.
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from typing import Any

from durable.cli.common import load_app, opened_store, read_json_input
from durable.cli.exits import USAGE, CliError

__all__ = ["register"]


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``validate``, ``run`` and ``schema`` to the `durable` parser."""
    validate = commands.add_parser(
        "validate",
        parents=[common],
        help="validate workflow documents (exit 1 if any is invalid)",
        description="Validate YAML or JSON workflow documents: schema, then semantics. "
        "Every problem is reported as file:line:col: path: message (hint). "
        "Exit 0 if all are valid, 1 if any is not.",
    )
    validate.add_argument("files", nargs="+", metavar="FILE", help="workflow documents")
    validate.add_argument("--format", choices=("text", "json"), default="text")
    validate.add_argument("--app", metavar="MODULE:APP", help="check activity names against it")
    validate.add_argument(
        "--against-history",
        metavar="HISTORY",
        help="check that the document (one FILE) replays this recorded history file",
    )
    validate.set_defaults(run=run_validate)

    run = commands.add_parser(
        "run",
        parents=[common],
        help="run a workflow document to its end",
        description="Run a workflow document on the store with the app's activities, or "
        "with --simulate in virtual time with activities faked from a file.",
    )
    run.add_argument("file", metavar="FILE", help="the workflow document")
    run.add_argument("--input", metavar="JSON", help="the input as JSON text")
    run.add_argument("--input-file", metavar="PATH", help="the input from a JSON file (- stdin)")
    run.add_argument("--app", metavar="MODULE:APP", help="the app whose activities it calls")
    run.add_argument("--simulate", action="store_true", help="run in virtual time")
    run.add_argument("--fakes", metavar="FILE", help="activity fakes for --simulate (YAML)")
    run.add_argument("--format", choices=("text", "json"), default="text")
    run.add_argument("--timeout", type=float, metavar="S", help="give up after S seconds")
    run.set_defaults(run=run_document)

    schema = commands.add_parser(
        "schema",
        parents=[common],
        help="print the JSON Schema of workflow documents",
        description="Print the JSON Schema (draft 2020-12) of workflow documents, "
        "for editor completion.",
    )
    schema.set_defaults(run=run_schema)


def run_validate(args: argparse.Namespace) -> int:
    """``durable validate``."""
    from durable.declarative import commands

    app = load_app(args.app) if args.app else None
    if args.against_history:
        if len(args.files) != 1:
            raise CliError("--against-history takes exactly one FILE", USAGE)
        return commands.validate_against_history(
            args.files[0], args.against_history, app=app, stdout=sys.stdout, stderr=sys.stderr
        )
    return commands.validate_files(
        args.files, output_format=args.format, app=app, stdout=sys.stdout, stderr=sys.stderr
    )


def run_document(args: argparse.Namespace) -> int:
    """``durable run``."""
    from durable.declarative import commands

    if args.fakes and not args.simulate:
        raise CliError("--fakes goes with --simulate", USAGE)
    value = read_json_input(args.input, args.input_file, what="input")
    app = load_app(args.app) if args.app else None
    if args.simulate:
        return commands.run_workflow_file(
            args.file,
            input=value,
            app=app,
            simulate=True,
            fakes=args.fakes,
            output_format=args.format,
            stdout=sys.stdout,
            stderr=sys.stderr,
        )
    timeout = timedelta(seconds=args.timeout) if args.timeout is not None else None
    with opened_store(args.store, must_exist=False) as store:
        return commands.run_workflow_file(
            args.file,
            input=value,
            app=app,
            store=store,
            output_format=args.format,
            timeout=timeout,
            stdout=sys.stdout,
            stderr=sys.stderr,
        )


def run_schema(args: argparse.Namespace) -> int:
    """``durable schema``."""
    from durable.declarative import commands

    return commands.print_schema(stdout=sys.stdout)
