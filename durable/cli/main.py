"""The ``durable`` command: argument parsing, dispatch, and errors turned into exit codes.

Every command takes ``--store URL`` (see `durable.cli.common`) and ``--help``.
Errors print one line, ``durable <command>: <what went wrong and what to
do>``, on stderr and exit with a distinct code (see `durable.cli.exits`);
set ``DURABLE_DEBUG=1`` to get the traceback of an unexpected error too.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from durable.cli import declarative, demo, history, instances, serve, worker
from durable.cli.common import add_store_option
from durable.cli.exits import ERROR, INTERRUPTED, OK, CliError, exit_code_for
from durable.errors import DurableError

__all__ = ["build_parser", "main"]

_EPILOG = """exit codes: 0 ok, 1 unexpected error (validate: a document is invalid),
2 usage, 3 unknown instance, 4 invalid input (JSON, id, orchestrator, app),
5 store cannot be opened, 6 instance finished, still running or not failed
(rewind), 7 timed out, 8 instance failed or terminated, 9 replay diverged,
130 interrupted"""


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``durable`` and all its commands."""
    parser = argparse.ArgumentParser(
        prog="durable",
        description="Start, inspect and steer durable workflows; serve the HTTP API.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_store_option(parser, top=True)
    common = argparse.ArgumentParser(add_help=False)
    add_store_option(common, top=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (serve, worker, instances, history, declarative, demo):
        module.register(commands, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``durable`` with `argv` (default: the process's arguments); return the exit code."""
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except CliError as error:
        return _fail(args, error.message, error.code)
    except DurableError as error:
        return _fail(args, str(error), exit_code_for(error))
    except KeyboardInterrupt:
        return _fail(args, "interrupted", INTERRUPTED)
    except BrokenPipeError:  # the reader (| head) has had enough: not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return OK
    except Exception as error:
        if os.environ.get("DURABLE_DEBUG"):
            traceback.print_exc()
        detail = f"{type(error).__name__}: {error}"
        hint = "" if os.environ.get("DURABLE_DEBUG") else " (DURABLE_DEBUG=1 shows the traceback)"
        return _fail(args, f"unexpected error: {detail}{hint}", ERROR)


def _fail(args: Any, message: str, code: int) -> int:
    print(f"durable {args.command}: {message}", file=sys.stderr, flush=True)
    return code
