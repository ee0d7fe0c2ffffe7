"""Commands over instances: start, status, wait, raise-event, terminate, suspend, resume, ...

... rewind, purge and list. Each opens the store for the length of the command.
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

from durable._client.client import Client
from durable._client.ids import check_instance_id
from durable._model.status import InstanceStatus, RuntimeStatus
from durable.cli.common import load_app, opened_store, parse_time, read_json_input
from durable.cli.exits import CONFLICT, INSTANCE_FAILED, OK, UNKNOWN_INSTANCE, USAGE, CliError
from durable.cli.output import (
    describe_waiting,
    format_duration,
    instance_table,
    print_json,
    say,
    status_json,
)
from durable.errors import DeadlineExceededError, InstanceExistsError

__all__ = ["register"]


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add this module's commands to the `durable` parser."""
    _start(
        commands.add_parser(
            "start",
            parents=[common],
            help="start an instance",
            description=(
                "Start an instance of an orchestrator and print its id. A worker ('durable serve') "
                "runs it. With --app the name is checked against the app's orchestrators."
            ),
        )
    )
    status = commands.add_parser(
        "status",
        parents=[common],
        help="show an instance's status as JSON",
        description="Print the status of an instance as JSON: its runtime status, input, "
        "output, failure, custom status and what it is waiting for.",
    )
    status.add_argument("instance_id", help="the instance id")
    status.set_defaults(run=run_status)
    _wait(
        commands.add_parser(
            "wait",
            parents=[common],
            help="wait until an instance finishes",
            description="Wait until the instance completes, fails or is terminated, showing "
            "progress on stderr, then print its status as JSON. Exit 0 if it completed, "
            "8 if it failed or was terminated, 7 if --timeout ran out.",
        )
    )
    _raise_event(
        commands.add_parser(
            "raise-event",
            parents=[common],
            help="send an external event to an instance",
            description="Deliver an external event, with optional JSON data, to an instance.",
        )
    )
    for name, summary in (
        ("terminate", "stop an instance for good"),
        ("suspend", "pause an instance (events queue up)"),
        ("resume", "resume a suspended instance"),
    ):
        parser = commands.add_parser(
            name,
            parents=[common],
            help=summary,
            description=f"{summary.capitalize()}; --reason is recorded in its history.",
        )
        parser.add_argument("instance_id", help="the instance id")
        parser.add_argument("--reason", help="why (recorded in the history)")
        parser.set_defaults(run=run_steer, action=name)
    rewind = commands.add_parser(
        "rewind",
        parents=[common],
        help="run a failed instance on from before its failure",
        description="Rewind a FAILED instance: it goes back to PENDING and a worker runs it "
        "on. The activities and sub-orchestrations whose failure ended it run again (a "
        "failed sub-orchestration is rewound in turn); the work that succeeded is replayed "
        "from its history, not run again. --reason is recorded in its history. Exit 6 if "
        "the instance has not failed.",
    )
    rewind.add_argument("instance_id", help="the instance id")
    rewind.add_argument("--reason", help="why (recorded in the history)")
    rewind.set_defaults(run=run_steer, action="rewind")
    _purge(
        commands.add_parser(
            "purge",
            parents=[common],
            help="delete finished instances and their histories",
            description="Delete one finished instance by id, or every finished instance "
            "matching the filters. Running instances are never purged.",
        )
    )
    _list(
        commands.add_parser(
            "list",
            parents=[common],
            help="list instances",
            description="List instances, oldest first, as a table or JSON, with filters.",
        )
    )


def _start(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("orchestrator", help="the orchestrator's registered name")
    parser.add_argument("--input", metavar="JSON", help="the input as JSON text, e.g. '{\"n\": 3}'")
    parser.add_argument(
        "--input-file", metavar="PATH", help="read the input JSON from a file (- for stdin)"
    )
    parser.add_argument("--id", dest="instance_id", help="the instance id (default: a random one)")
    parser.add_argument("--app", metavar="MODULE:APP", help="check the name against this app")
    parser.add_argument(
        "--wait", action="store_true", help="wait for it to finish and print its status"
    )
    _timeout_options(parser)
    parser.set_defaults(run=run_start)


def _wait(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("instance_id", help="the instance id")
    _timeout_options(parser)
    parser.set_defaults(run=run_wait)


def _timeout_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout", type=_seconds, metavar="SECONDS", help="give up after this long (exit 7)"
    )
    parser.add_argument(
        "--progress",
        type=_positive_seconds,
        default=timedelta(seconds=2),
        metavar="SECONDS",
        help="show progress on stderr this often (default: 2)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def _raise_event(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("instance_id", help="the instance id")
    parser.add_argument("event", help="the event name the orchestrator waits for")
    parser.add_argument("--data", metavar="JSON", help="the event data as JSON text")
    parser.add_argument(
        "--data-file", metavar="PATH", help="read the data JSON from a file (- for stdin)"
    )
    parser.set_defaults(run=run_raise_event)


def _purge(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("instance_id", nargs="?", help="the instance to purge")
    _filters(parser)
    parser.set_defaults(run=run_purge)


def _list(parser: argparse.ArgumentParser) -> None:
    _filters(parser)
    parser.add_argument("--name", help="only instances of this orchestrator")
    parser.add_argument("--prefix", help="only ids starting with this")
    parser.add_argument("--limit", type=int, default=100, help="instances per page (default: 100)")
    parser.add_argument("--continuation", metavar="TOKEN", help="go on from a previous page")
    parser.add_argument("--all", action="store_true", help="follow every page")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(run=run_list)


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--status",
        type=_statuses,
        metavar="S[,S...]",
        help="only these runtime statuses, e.g. COMPLETED,FAILED",
    )
    parser.add_argument(
        "--created-from", type=parse_time, metavar="TIME", help="created at or after (ISO 8601)"
    )
    parser.add_argument(
        "--created-to", type=parse_time, metavar="TIME", help="created before (ISO 8601)"
    )


# -- commands --------------------------------------------------------------------------------


def run_start(args: argparse.Namespace) -> int:
    """``durable start``."""
    data = read_json_input(args.input, args.input_file, what="input")
    app = load_app(args.app) if args.app else None
    if args.instance_id is not None:
        check_instance_id(args.instance_id)
    with opened_store(args.store, must_exist=False) as store:
        client = Client(store, app=app)
        instance_id = client.start(args.orchestrator, data, instance_id=args.instance_id)
        if not args.wait:
            print(instance_id)
            return OK
        say(f"started {instance_id}")
        return _report(client, _wait_for(client, instance_id, args))


def run_status(args: argparse.Namespace) -> int:
    """``durable status``."""
    with opened_store(args.store, must_exist=True) as store:
        client = Client(store)
        print_json(status_json(client.status(args.instance_id), client.converter))
    return OK


def run_wait(args: argparse.Namespace) -> int:
    """``durable wait``."""
    with opened_store(args.store, must_exist=True) as store:
        client = Client(store)
        return _report(client, _wait_for(client, args.instance_id, args))


def run_raise_event(args: argparse.Namespace) -> int:
    """``durable raise-event``."""
    data = read_json_input(args.data, args.data_file, what="event data")
    with opened_store(args.store, must_exist=True) as store:
        Client(store).raise_event(args.instance_id, args.event, data)
    say(f"sent event {args.event!r} to {args.instance_id}")
    return OK


def run_steer(args: argparse.Namespace) -> int:
    """``durable terminate|suspend|resume|rewind``."""
    with opened_store(args.store, must_exist=True) as store:
        client = Client(store)
        getattr(client, args.action)(args.instance_id, args.reason)
    say(f"asked {args.instance_id} to {args.action}")
    return OK


def run_purge(args: argparse.Namespace) -> int:
    """``durable purge``."""
    filtered = args.status is not None or args.created_from or args.created_to
    if (args.instance_id is None) == (not filtered):
        raise CliError(
            "give an instance id, or filters (--status, --created-from, --created-to), "
            "not both and not neither",
            USAGE,
        )
    with opened_store(args.store, must_exist=True) as store:
        client = Client(store)
        if args.instance_id is not None:
            try:
                if not client.purge(args.instance_id):
                    raise CliError(f"no instance with id {args.instance_id!r}", UNKNOWN_INSTANCE)
            except InstanceExistsError as error:
                raise CliError(
                    f"instance {args.instance_id!r} is {error.status}: only finished instances "
                    "can be purged (terminate it first)",
                    CONFLICT,
                ) from None
            deleted = 1
        else:
            deleted = client.purge_many(
                status=args.status, created_from=args.created_from, created_to=args.created_to
            )
    print_json({"instancesDeleted": deleted})
    return OK


def run_list(args: argparse.Namespace) -> int:
    """``durable list``."""
    found: list[InstanceStatus] = []
    continuation = args.continuation
    with opened_store(args.store, must_exist=True) as store:
        client = Client(store)
        while True:
            page = client.list(
                status=args.status,
                name=args.name,
                created_from=args.created_from,
                created_to=args.created_to,
                instance_id_prefix=args.prefix,
                page_size=args.limit,
                continuation=continuation,
            )
            found.extend(page.instances)
            continuation = page.continuation
            if continuation is None or not args.all:
                break
        if args.json:
            print_json([status_json(status, client.converter) for status in found])
        else:
            print("\n".join(instance_table(found)))
    if continuation is not None:
        say(f"more instances: --continuation {continuation}")
    return OK


# -- helpers ---------------------------------------------------------------------------------


def _wait_for(client: Client, instance_id: str, args: argparse.Namespace) -> InstanceStatus:
    """Wait in slices of --progress, telling stderr how it goes; raise on --timeout."""
    total: timedelta | None = args.timeout
    waited = timedelta(0)
    while True:
        step = args.progress if total is None else min(args.progress, total - waited)
        try:
            return client.wait(instance_id, timeout=max(step, timedelta(0)))
        except DeadlineExceededError:
            waited += step
            status = client.status(instance_id)
            if total is not None and waited >= total:
                raise DeadlineExceededError(
                    f"instance {instance_id!r} is still {status.status.value} after "
                    f"{format_duration(total)}"
                ) from None
            if not args.quiet:
                on = describe_waiting(status.waiting)
                say(
                    f"waiting for {instance_id}: {status.status.value} for "
                    f"{format_duration(waited)}" + (f", waiting on {on}" if on else "")
                )


def _report(client: Client, status: InstanceStatus) -> int:
    print_json(status_json(status, client.converter))
    if status.status is RuntimeStatus.COMPLETED:
        return OK
    say(f"instance {status.instance_id} ended {status.status.value}")
    return INSTANCE_FAILED


def _seconds(text: str) -> timedelta:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < 10**9:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds >= 0")
    return timedelta(seconds=seconds)


def _positive_seconds(text: str) -> timedelta:
    seconds = _seconds(text)
    if seconds <= timedelta(0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds > 0")
    return seconds


def _statuses(text: str) -> list[RuntimeStatus]:
    names = [part.strip().upper() for part in text.split(",") if part.strip()]
    known = {status.value: status for status in RuntimeStatus}
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown status {', '.join(unknown) or text!r}; use {', '.join(known)}"
        )
    return [known[name] for name in names]
