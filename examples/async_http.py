"""The async HTTP API pattern, end to end over real HTTP on 127.0.0.1.

Run it with ``python examples/async_http.py [path/to/file.db]`` (default: a
temporary file).

- Client side: the orchestration is started over `durable.http`'s management
  API (served here by uvicorn), which answers ``202 Accepted`` with a
  ``Location`` and the Durable Functions management URLs. The script polls the
  status URL: 202 while the instance runs, 200 with the output when it is done.
  A custom start endpoint builds the same answer with `check_status_response`.
- Orchestrator side: the orchestration asks an export service (a small HTTP
  server started here) for a report. The service accepts with 202 and a
  ``Location`` to poll, and answers 202 there until the report is ready;
  `call_http_async` polls it on durable timers until the final answer.
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from durable import App, Client, OrchestrationContext, Worker
from durable.history import TaskScheduled, TimerCreated
from durable.http import DEFAULT_BASE_PATH, create_app
from durable.patterns import HttpRequest, call_http_async, check_status_response, register_http
from durable.stores import SQLiteStore

app = App()
register_http(app, orchestrator_name=None)


class ExportService(BaseHTTPRequestHandler):
    """POST /exports starts a job; GET /exports/1 answers 202 twice, then 200 with the file."""

    polls = 0

    def do_POST(self) -> None:
        self._answer(202, {"Location": "/exports/1"}, "")

    def do_GET(self) -> None:
        ExportService.polls += 1
        if ExportService.polls < 3:
            self._answer(202, {"Location": "/exports/1"}, "")
        else:
            self._answer(200, {"Content-Type": "application/json"}, '{"file": "export-1.csv"}')

    def _answer(self, status: int, headers: dict[str, str], body: str) -> None:
        self.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: Any) -> None:
        print(f"  export service: {self.command} {self.path} -> {args[1]}")


@app.orchestrator
async def export_report(ctx: OrchestrationContext, service: str) -> Any:
    """Ask the export service for a report and wait, durably, until it is ready."""
    request = HttpRequest(method="POST", url=f"{service}/exports", body='{"report": "sales"}')
    answer = await call_http_async(ctx, request, poll_interval="PT0.2S", timeout="PT30S")
    return {"status": answer.status, "result": answer.json()}


def serve_api(client: Client) -> tuple[uvicorn.Server, threading.Thread, str]:
    """Serve durable's HTTP management API on a free port of 127.0.0.1."""
    server = uvicorn.Server(
        uvicorn.Config(create_app(client), host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, f"http://127.0.0.1:{port}{DEFAULT_BASE_PATH}"


def start_and_poll(api: str, service: str) -> dict[str, str]:
    """Start the orchestration over HTTP, then poll its status URL until it is done."""
    with httpx.Client(timeout=10) as http:
        started = http.post(f"{api}/orchestrators/export_report", json=service)
        print(f"POST {api}/orchestrators/export_report -> {started.status_code}")
        print(f"  Location: {started.headers['location']}")
        print(f"  body: {json.dumps(started.json(), indent=4)}")
        status = http.get(started.headers["location"])
        while status.status_code == 202:
            time.sleep(0.1)  # a real client waits Retry-After seconds
            status = http.get(started.headers["location"])
        print(f"GET statusQueryGetUri -> {status.status_code}: {status.json()['output']}")
        body: dict[str, str] = started.json()
        return body


def main(path: str | None = None) -> None:
    """Serve both APIs, run one export through them, and print what happened."""
    path = path or str(Path(tempfile.mkdtemp(prefix="durable-")) / "async_http.db")
    exports = ThreadingHTTPServer(("127.0.0.1", 0), ExportService)
    threading.Thread(target=exports.serve_forever, daemon=True).start()
    service = f"http://127.0.0.1:{exports.server_address[1]}"
    store = SQLiteStore(path)
    client = Client(store, app=app)
    server, thread, api = serve_api(client)
    with Worker(app, store):
        body = start_and_poll(api, service)
    server.should_exit = True
    thread.join()
    exports.shutdown()
    exports.server_close()
    instance_id = body["id"]
    answer = check_status_response(api, instance_id)
    print(
        f"check_status_response() gives a custom start endpoint the same answer: "
        f"{answer.status_code}, same body: {answer.body == body}"
    )
    print(f"store: {path}; the orchestration's history:")
    for event in client.history(instance_id):
        if isinstance(event, TaskScheduled):
            call = f"{event.input['method']} {event.input['url']}"
            print(f"  {event.timestamp:%H:%M:%S.%f} call {call}")
        elif isinstance(event, TimerCreated):
            print(f"  {event.timestamp:%H:%M:%S.%f} wait until {event.fire_at:%H:%M:%S.%f}")
    store.close()


if __name__ == "__main__":
    main(*sys.argv[1:2])
