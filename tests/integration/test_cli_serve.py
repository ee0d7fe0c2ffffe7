"""``durable serve`` and ``durable demo`` as subprocesses, and the installed console script."""

from __future__ import annotations

import contextlib
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from durable.cli.exits import ERROR, INVALID_INPUT
from durable.cli.serve import is_loopback
from tests.integration.test_cli_support import APP, LIMIT, Cli, read_line_until

BASE = "/runtime/webhooks/durabletask"


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


@contextlib.contextmanager
def serving(cli: Cli, *args: str) -> Iterator[tuple[str, str, subprocess.Popen[bytes]]]:
    """Run ``durable serve APP --port 0 ARGS``; yield (base URL, stderr so far, process)."""
    process = cli.popen("serve", APP, "--port", "0", *args)
    try:
        line, seen = read_line_until(process, "listening on ")
        url = re.search(r"listening on (http://\S+?)/ ", line)
        assert url is not None, line
        yield url[1], seen, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        process.wait(LIMIT)
        assert process.stderr is not None
        process.stderr.close()


def test_serve_runs_the_api_and_a_worker_until_ctrl_c(cli: Cli) -> None:
    with serving(cli) as (url, seen, process):
        assert re.fullmatch(
            rf"durable: listening on http://127\.0\.0\.1:\d+{BASE}/ "
            r"\(orchestrators: approval, echo, fails, flaky, hello\)\n",
            seen,
        )
        response = httpx.post(f"{url}/orchestrators/hello?timeout=10", json="Ada", timeout=LIMIT)
        assert (response.status_code, response.json()) == (200, "Hello, Ada!")
        missing = httpx.get(f"{url}/instances/nope", timeout=LIMIT)
        assert (missing.status_code, missing.json()["error"]) == (404, "InstanceNotFoundError")
        process.send_signal(signal.SIGINT)
        assert process.wait(LIMIT) == 0
        assert process.stderr is not None
        assert process.stderr.read().decode().endswith("durable: stopped\n")
    listed = cli.json("list", "--json")
    assert [(item["name"], item["status"], item["output"]) for item in listed] == [
        ("hello", "COMPLETED", "Hello, Ada!")
    ]


def test_serve_on_a_non_loopback_address_generates_and_requires_a_token(cli: Cli) -> None:
    with serving(cli, "--host", "0.0.0.0", "--no-worker") as (url, seen, _):
        token = re.search(r"Authorization: Bearer (\S+)\n", seen)
        assert token is not None, seen
        assert "0.0.0.0 is not a loopback address, so a bearer token is required" in seen
        local = url.replace("0.0.0.0", "127.0.0.1")
        refused = httpx.get(f"{local}/instances/", timeout=LIMIT)
        assert (refused.status_code, refused.json()["error"]) == (401, "Unauthorized")
        headers = {"authorization": f"Bearer {token[1]}"}
        assert httpx.get(f"{local}/instances/", headers=headers, timeout=LIMIT).status_code == 200


def test_serve_uses_the_given_token_on_loopback(cli: Cli) -> None:
    token = "a-token-of-more-than-16-chars"
    with serving(cli, "--token", token, "--no-worker") as (url, seen, _):
        assert "Bearer" not in seen
        assert httpx.get(f"{url}/instances/", timeout=LIMIT).status_code == 401
        headers = {"authorization": f"Bearer {token}"}
        assert httpx.get(f"{url}/instances/", headers=headers, timeout=LIMIT).status_code == 200


def test_serve_refuses_an_app_that_is_not_there(cli: Cli) -> None:
    done = cli("serve", "tests.integration.test_http_support:nothing")
    assert (done.returncode, done.stderr) == (
        INVALID_INPUT,
        "durable serve: 'tests.integration.test_http_support:nothing' is nothing, "
        "not a durable.App; name the App instance\n",
    )


def test_serve_reports_a_busy_port(cli: Cli) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        done = cli("serve", APP, "--port", str(port))
    assert done.returncode == ERROR
    assert re.fullmatch(
        rf"durable serve: cannot listen on 127\.0\.0\.1:{port}: .+\n", done.stderr
    ), done.stderr


def test_serve_refuses_a_short_token(cli: Cli) -> None:
    done = cli("serve", APP, "--token", "short")
    assert done.returncode == INVALID_INPUT
    assert "token must be a printable str of at least 16 characters" in done.stderr


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.0.2.7", False),
        ("example.org", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_demo_through_the_installed_console_script(cli: Cli) -> None:
    script = Path(sys.executable).parent / "durable"
    done = subprocess.run(
        [str(script), "demo", "Oslo", "Lima"],
        cwd=cli.directory,
        env=cli.env,
        capture_output=True,
        text=True,
        timeout=LIMIT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert re.fullmatch(r"hello_chain [0-9a-f]{32}  COMPLETED", lines[0])
    assert lines[-1] == 'result: ["Hello, Oslo!","Hello, Lima!"]'
    assert [line.split()[1] for line in lines[2:-1]] == [
        "ExecutionStarted",
        "TaskScheduled",
        "TaskCompleted",
        "TaskScheduled",
        "TaskCompleted",
        "ExecutionCompleted",
    ]
    assert re.fullmatch(
        rf"durable: started hello_chain instance [0-9a-f]{{32}} in sqlite:///{re.escape(str(cli.db))}\n",
        done.stderr,
    )
    history = cli("history", lines[0].split()[1])
    assert history.stdout.splitlines()[0] == lines[0]
