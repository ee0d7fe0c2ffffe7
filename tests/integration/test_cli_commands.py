"""The ``durable`` command as a subprocess against a SQLite file: results and error exits."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from durable import Client, RuntimeStatus
from durable.cli import main
from durable.cli.exits import (
    CONFLICT,
    INSTANCE_FAILED,
    INVALID_INPUT,
    NONDETERMINISM,
    STORE,
    TIMEOUT,
    UNKNOWN_INSTANCE,
    USAGE,
)
from durable.stores import InstanceQuery, SQLiteStore
from tests.integration.test_cli_support import APP, Cli, seed, worker
from tests.integration.test_http_support import CALLS, wait_until

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$")


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


def _without_volatile(status: dict[str, Any]) -> dict[str, Any]:
    """The status JSON without times and execution id, after checking their format."""
    rest = dict(status)
    for key in ("created_at", "last_updated_at", "completed_at"):
        value = rest.pop(key)
        assert value is None or ISO.match(value), (key, value)
    assert re.match(r"^[0-9a-f]{32}$", rest.pop("execution_id"))
    return rest


def _status(**fields: Any) -> dict[str, Any]:
    """A status JSON with the defaults of a fresh instance, overridden by `fields`."""
    body: dict[str, Any] = {
        "version": None,
        "input": None,
        "output": None,
        "failure": None,
        "custom_status": None,
        "scheduled_start": None,
        "parent_instance_id": None,
        "waiting": {"activities": [], "timers": [], "events": [], "sub_orchestrations": []},
    }
    body.update(fields)
    return body


def _waiting_for_approval(store: SQLiteStore, instance_id: str) -> None:
    wait_until(
        store,
        lambda: (
            (status := store.get_instance(instance_id)) is not None
            and "approve" in status.waiting.events
        ),
        what=f"{instance_id} to wait for 'approve'",
    )


def _error(done: Any, code: int, message: str) -> None:
    assert (done.returncode, done.stdout) == (code, ""), done.stderr
    assert re.search(message, done.stderr), done.stderr
    assert "Traceback" not in done.stderr


def test_start_prints_the_id_and_status_shows_the_pending_instance(cli: Cli) -> None:
    started = cli("start", "hello", "--input", '"Ada"', "--id", "first")
    assert (started.returncode, started.stdout, started.stderr) == (0, "first\n", "")
    status = _without_volatile(cli.json("status", "first"))
    assert status == _status(instance_id="first", name="hello", status="PENDING", input="Ada")


def test_start_wait_with_a_worker_prints_the_completed_status(cli: Cli) -> None:
    refused = cli("list")  # a missing file is refused, not created
    assert (refused.returncode, cli.db.exists()) == (STORE, False)
    with worker(cli):
        done = cli("start", "hello", "--input-file", "-", "--wait", "--app", APP, stdin='"Bo"')
    assert done.returncode == 0, done.stderr
    status = _without_volatile(json.loads(done.stdout))
    instance_id = status["instance_id"]
    assert status == _status(
        instance_id=instance_id, name="hello", status="COMPLETED", input="Bo", output="Hello, Bo!"
    )
    assert done.stderr == f"durable: started {instance_id}\n"


def test_raise_event_reaches_the_waiting_instance(cli: Cli) -> None:
    seed(cli, "approval", {"amount": 3}, ids=["ask"])
    with worker(cli) as store:
        _waiting_for_approval(store, "ask")
        raised = cli("raise-event", "ask", "approve", "--data", '{"ok": true}')
        assert (raised.returncode, raised.stderr) == (0, "durable: sent event 'approve' to ask\n")
        done = cli("wait", "ask", "--timeout", "10")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["output"] == {"request": {"amount": 3}, "decision": {"ok": True}}


def test_wait_shows_progress_then_times_out_with_exit_7(cli: Cli) -> None:
    seed(cli, "approval", {}, ids=["slow"])
    with worker(cli) as store:
        _waiting_for_approval(store, "slow")
        done = cli("wait", "slow", "--timeout", "0.6", "--progress", "0.2")
    assert done.returncode == TIMEOUT
    assert re.search(
        r"durable: waiting for slow: RUNNING for \d+ms, waiting on event 'approve'\n", done.stderr
    )
    assert done.stderr.endswith("durable wait: instance 'slow' is still RUNNING after 600ms\n")


def test_terminate_then_wait_exits_8_with_the_terminated_status(cli: Cli) -> None:
    seed(cli, "approval", {}, ids=["doomed"])
    terminated = cli("terminate", "doomed", "--reason", "not needed")
    assert (terminated.returncode, terminated.stderr) == (0, "durable: asked doomed to terminate\n")
    with worker(cli):
        done = cli("wait", "doomed", "--timeout", "10")
    assert done.returncode == INSTANCE_FAILED
    assert (json.loads(done.stdout)["status"], json.loads(done.stdout)["output"]) == (
        "TERMINATED",
        "not needed",
    )
    assert done.stderr.endswith("durable: instance doomed ended TERMINATED\n")


def test_rewind_runs_a_failed_instance_on_and_its_timeline_shows_what_it_undid(
    cli: Cli,
) -> None:
    key = f"cli-{uuid.uuid4().hex[:8]}"
    with worker(cli):
        first = cli("start", "flaky", "--input", json.dumps(key), "--id", "f1", "--wait")
        assert first.returncode == INSTANCE_FAILED, first.stderr
        rewound = cli("rewind", "f1", "--reason", "the network is back")
        assert (rewound.returncode, rewound.stdout, rewound.stderr) == (
            0,
            "",
            "durable: asked f1 to rewind\n",
        )
        done = cli("wait", "f1", "--timeout", "10")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["output"] == [key.upper(), f"{key} done"]
    assert (CALLS[f"prepare:{key}"], CALLS[f"fails_once:{key}"]) == (1, 2)
    lines = cli("history", "f1").stdout.splitlines()
    undone = [line.split()[1] for line in lines if line.endswith("(undone by a rewind)")]
    assert undone == ["TaskFailed", "ExecutionFailed"]
    assert any(re.search(r"ExecutionRewound +the network is back$", line) for line in lines)


def test_suspend_and_resume(cli: Cli) -> None:
    seed(cli, "approval", {}, ids=["paused"])
    with worker(cli) as store:
        _waiting_for_approval(store, "paused")
        assert cli("suspend", "paused", "--reason", "hold").returncode == 0
        wait_until(
            store,
            lambda: store.get_instance("paused").status is RuntimeStatus.SUSPENDED,  # type: ignore[union-attr]
            what="suspended",
        )
        assert cli("resume", "paused").returncode == 0
        assert cli("raise-event", "paused", "approve").returncode == 0
        done = Client(store).wait("paused", timeout=timedelta(seconds=10))
    assert done.output == {"request": {}, "decision": None}


def test_history_as_timeline_and_as_json(cli: Cli) -> None:
    seed(cli, "hello", "Cy", ids=["h1"], run=True)
    timeline = cli("history", "h1")
    assert timeline.returncode == 0, timeline.stderr
    lines = timeline.stdout.splitlines()
    assert lines[0] == "hello h1  COMPLETED"
    assert re.match(r"^  started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC$", lines[1])
    shapes = [
        re.sub(r"\+\S+", "+T", re.sub(r"\(\d+(\.\d)?m?s\)", "(D)", line)) for line in lines[2:]
    ]
    assert [" ".join(shape.split()) for shape in shapes] == [
        '+T ExecutionStarted hello("Cy")',
        '+T TaskScheduled #0 greet("Cy")',
        '+T TaskCompleted #0 greet -> "Hello, Cy!" (D)',
        '+T ExecutionCompleted -> "Hello, Cy!"',
    ]
    document = cli.json("history", "h1", "--json")
    assert (document["format"], document["version"], document["instance_id"]) == (
        "durable-history",
        1,
        "h1",
    )
    events = document["events"]
    assert [event["type"] for event in events] == [
        "OrchestratorStarted",
        "ExecutionStarted",
        "TaskScheduled",
        "OrchestratorStarted",
        "TaskCompleted",
        "ExecutionCompleted",
    ]
    assert events[2] == {
        "type": "TaskScheduled",
        "timestamp": events[2]["timestamp"],
        "seq": 0,
        "name": "greet",
        "input": "Cy",
    }


CHANGED_APP = """
from durable import App

app = App()


@app.activity
def greet(name: str) -> str:
    return name


@app.orchestrator
def hello(ctx, name):
    return (yield ctx.call_activity(greet, name.upper()))
"""


def test_replay_of_a_saved_history_passes_with_the_same_code_and_exits_9_with_changed_code(
    cli: Cli,
) -> None:
    seed(cli, "hello", "Di", ids=["r1"], run=True)
    saved = cli("history", "r1", "--save", "r1.json")
    assert (saved.returncode, saved.stdout, saved.stderr) == (
        0,
        "",
        "durable: wrote 6 events of r1 to r1.json\n",
    )
    same = cli("replay", "r1.json", "--app", APP)
    assert (same.returncode, same.stderr) == (
        0,
        "durable: r1.json: the code makes the 6 recorded decisions of hello (r1); "
        "it ends COMPLETED\n",
    )
    (cli.directory / "changed.py").write_text(CHANGED_APP)
    changed = cli("replay", "r1.json", "--app", "changed:app")
    assert changed.returncode == NONDETERMINISM
    assert re.match(
        r"durable: r1.json: non-deterministic orchestrator in instance 'r1' at history event \d+",
        changed.stderr,
    ), changed.stderr
    assert "DI" in changed.stderr


def test_replay_of_a_file_that_is_not_a_history_exits_4(cli: Cli) -> None:
    (cli.directory / "bad.json").write_text('{"format": "durable-history", "version": 1}')
    _error(
        cli("replay", "bad.json", "--app", APP),
        INVALID_INPUT,
        r"bad.json is not a valid durable history file: at \$",
    )
    _error(cli("replay", "missing.json", "--app", APP), INVALID_INPUT, r"cannot read missing.json")


def test_list_table_json_filters_and_pages(cli: Cli) -> None:
    seed(cli, "hello", "x", ids=[f"batch-{n}" for n in range(3)])
    seed(cli, "echo", ids=["other"])
    table = cli("list", "--name", "hello")
    assert table.returncode == 0, table.stderr
    rows = [line.split()[:3] for line in table.stdout.splitlines()]
    assert rows == [
        ["INSTANCE", "ID", "NAME"],
        ["batch-0", "hello", "PENDING"],
        ["batch-1", "hello", "PENDING"],
        ["batch-2", "hello", "PENDING"],
    ]
    page = cli("list", "--prefix", "batch-", "--limit", "2", "--json")
    assert [item["instance_id"] for item in json.loads(page.stdout)] == ["batch-0", "batch-1"]
    token = re.fullmatch(r"durable: more instances: --continuation (\S+)\n", page.stderr)
    assert token is not None, page.stderr
    rest = cli.json(
        "list", "--prefix", "batch-", "--limit", "2", "--json", "--continuation", token[1]
    )
    assert [item["instance_id"] for item in rest] == ["batch-2"]
    everything = cli.json("list", "--limit", "1", "--all", "--json", "--status", "pending")
    assert [item["instance_id"] for item in everything] == [
        "batch-0",
        "batch-1",
        "batch-2",
        "other",
    ]


def test_purge_by_id_and_by_filter(cli: Cli) -> None:
    seed(cli, "hello", "x", ids=[f"done-{n}" for n in range(3)], run=True)
    seed(cli, "approval", {}, ids=["running"])
    assert cli.json("purge", "done-0") == {"instancesDeleted": 1}
    assert cli.json("purge", "--status", "COMPLETED,RUNNING,PENDING") == {"instancesDeleted": 2}
    with SQLiteStore(cli.db) as store:
        remaining = store.list_instances(InstanceQuery()).instances
    assert [status.instance_id for status in remaining] == ["running"]


BAD_INPUT: list[tuple[list[str], int, str]] = [
    (["status", "nope"], UNKNOWN_INSTANCE, r"^durable status: no instance with id 'nope'\n$"),
    (["wait", "nope"], UNKNOWN_INSTANCE, r"no instance with id 'nope'"),
    (["raise-event", "nope", "go"], UNKNOWN_INSTANCE, r"no instance with id 'nope'"),
    (["purge", "nope"], UNKNOWN_INSTANCE, r"no instance with id 'nope'"),
    (["rewind", "nope"], UNKNOWN_INSTANCE, r"^durable rewind: no instance with id 'nope'\n$"),
    (["start", "hello", "--input", "{bad"], INVALID_INPUT, r"the input is not valid JSON"),
    (["start", "hello", "--input", "hi"], INVALID_INPUT, r"quote strings"),
    (
        ["start", "hello", "--input-file", "missing.json"],
        INVALID_INPUT,
        r"cannot read the input from missing.json",
    ),
    (
        ["start", "nope", "--app", APP],
        INVALID_INPUT,
        r"no orchestrator is registered under the name 'nope'",
    ),
    (
        ["start", "hello", "--app", "no_such_module:app"],
        INVALID_INPUT,
        r"cannot import 'no_such_module'",
    ),
    (
        ["start", "hello", "--app", "json:dumps"],
        INVALID_INPUT,
        r"'json:dumps' is a function, not a durable.App",
    ),
    (["start", "hello", "--id", "bad/id"], INVALID_INPUT, r"instance id 'bad/id' contains '/'"),
    (["raise-event", "seed", "go", "--data", "NaN"], INVALID_INPUT, r"NaN is not valid JSON"),
    (["purge"], USAGE, r"give an instance id, or filters"),
    (["list", "--limit", "0"], INVALID_INPUT, r"page_size must be an int from 1 to 10000"),
    (
        ["status", "x", "--store", "sqlite:///missing/durable.db"],
        STORE,
        r"no store at missing/durable.db",
    ),
    (["status", "x", "--store", "mysql://db/x"], STORE, r"unknown store URL scheme 'mysql'"),
    (["status", "x", "--store", "sqlite:///dir/"], STORE, r"is not a SQLite file URL"),
]


@pytest.mark.parametrize("case", range(len(BAD_INPUT)), ids=lambda n: " ".join(BAD_INPUT[n][0]))
def test_bad_input_exits_with_its_own_code_and_a_message(
    cli: Cli, case: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """In-process (``main(argv)``): the same code as the subprocess, without its start-up cost."""
    args, code, message = BAD_INPUT[case]
    seed(cli, "echo", ids=["seed"])
    monkeypatch.chdir(cli.directory)
    monkeypatch.setenv("DURABLE_STORE", cli.url)
    returned = main(args)
    out, err = capsys.readouterr()
    _error(subprocess.CompletedProcess(args, returned, out, err), code, message)


@pytest.mark.parametrize("case", [0, 4, 14], ids=["unknown instance", "bad JSON", "no store"])
def test_bad_input_exit_codes_reach_the_shell(cli: Cli, case: int) -> None:
    args, code, message = BAD_INPUT[case]
    seed(cli, "echo", ids=["seed"])
    _error(cli(*args), code, message)


def test_a_file_that_is_not_a_store_exits_5(cli: Cli) -> None:
    (cli.directory / "notes.db").write_text("not a database " * 100)
    _error(cli("--store", "sqlite:///notes.db", "list"), STORE, r"cannot open store")


def test_conflicts_exit_6(cli: Cli) -> None:
    seed(cli, "hello", "x", ids=["finished"], run=True)
    seed(cli, "approval", {}, ids=["busy"])
    _error(cli("raise-event", "finished", "go"), CONFLICT, r"cannot .* instance 'finished'")
    _error(cli("terminate", "finished"), CONFLICT, r"it is already COMPLETED")
    _error(cli("start", "approval", "--id", "busy"), CONFLICT, r"already exists and is PENDING")
    _error(
        cli("rewind", "finished"), CONFLICT, r"cannot rewind instance 'finished': it is COMPLETED"
    )
    _error(cli("rewind", "busy"), CONFLICT, r"it is PENDING, and only FAILED instances can be")
    _error(
        cli("purge", "busy"),
        CONFLICT,
        r"instance 'busy' is PENDING: only finished instances can be purged",
    )


def test_usage_errors_exit_2(cli: Cli) -> None:
    done = cli("wait")
    assert done.returncode == USAGE
    assert "the following arguments are required: instance_id" in done.stderr
    assert cli("list", "--status", "SLEEPING").returncode == USAGE


def test_failed_instance_wait_exits_8_with_the_failure(cli: Cli) -> None:
    with worker(cli):
        done = cli("start", "fails", "--input", '"kaput"', "--wait", "--timeout", "10")
    assert done.returncode == INSTANCE_FAILED
    failure = json.loads(done.stdout)["failure"]
    assert (failure["type_name"], failure["message"]) == ("ValueError", "kaput")


COMMANDS = [
    "serve",
    "worker",
    "start",
    "status",
    "wait",
    "raise-event",
    "terminate",
    "suspend",
    "resume",
    "rewind",
    "purge",
    "list",
    "history",
    "replay",
    "validate",
    "run",
    "schema",
    "demo",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: durable {command} ")


def test_help_lists_every_command(cli: Cli) -> None:
    done = cli("--help")
    assert done.returncode == 0
    listed = re.findall(r"^    ([a-z-]+)", done.stdout, re.MULTILINE)
    assert listed == COMMANDS
    assert "exit codes: 0 ok" in done.stdout


def test_store_comes_from_the_environment(cli: Cli) -> None:
    assert cli("start", "echo", "--id", "env").returncode == 0
    with SQLiteStore(cli.db) as store:
        assert Client(store).status("env").name == "echo"
