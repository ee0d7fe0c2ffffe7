"""Monitor: poll a job's state until it is done, continuing as new to keep history small.

Run it with ``python examples/monitor.py [path/to/file.db]`` (default: a
temporary file). The monitor checks every 20 ms (short, so that the example
is quick; a real one would say ``"PT5M"``), continues as new every 5 checks,
and calls a notification activity when the job is done. A second monitor
watches a job that never finishes and expires after three seconds; both run at once.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from durable import App, Client, Worker
from durable.patterns import MonitorReport, register_monitor
from durable.stores import SQLiteStore

app = App()
CHECKS: dict[str, int] = {}


@app.activity
def job_state(job: str) -> str:
    """The job's state: 'stuck' jobs never finish, others are done at the 12th check."""
    CHECKS[job] = CHECKS.get(job, 0) + 1
    return "done" if CHECKS[job] >= 12 and job != "stuck" else "running"


@app.activity
def notify(report: MonitorReport) -> str:
    """Tell someone how it went."""
    return f"job {report.input} is {report.value} after {report.polls} checks"


def _is_done(state: str) -> bool:
    return state == "done"


register_monitor(
    app,
    "watch_job",
    check=job_state,
    until=_is_done,
    interval=timedelta(milliseconds=20),
    expires_after=timedelta(seconds=3),
    on_success=notify,
    on_expiry=notify,
    continue_every=5,
)


def main(path: str | None = None) -> None:
    """Watch two jobs and print how each monitor ended."""
    path = path or str(Path(tempfile.mkdtemp(prefix="durable-")) / "monitor.db")
    store = SQLiteStore(path)
    client = Client(store, app=app)
    outcomes: dict[str, Any] = {}
    with Worker(app, store):
        started = {job: client.start("watch_job", job) for job in ("export-7", "stuck")}
        for job, instance_id in started.items():
            outcomes[job] = client.wait(instance_id, timeout=timedelta(seconds=30))
    print(f"store: {path}")
    for job, status in outcomes.items():
        output = status.output
        print(f"{job}: {output['outcome']} after {output['polls']} checks")
        print(f"  action: {output['action_output']}")
        print(f"  last history generation: {len(client.history(status.instance_id))} events")
    store.close()


if __name__ == "__main__":
    main(*sys.argv[1:2])
