"""Hello, chain: three activities in a row, durable on a local SQLite file.

Run it with ``make demo`` or ``python examples/hello_chain.py [path/to/file.db]``.
The instance's progress is checkpointed to the file after every step; run it
again and a new instance starts beside the old ones in the same file.
"""

from __future__ import annotations

import sys
from datetime import timedelta

from durable import App, Client, OrchestrationContext, Worker
from durable.stores import SQLiteStore

app = App()


@app.activity
def greet(city: str) -> str:
    """Say hello to one city."""
    return f"Hello, {city}!"


@app.orchestrator
def hello_chain(ctx: OrchestrationContext, cities: list[str]):  # type: ignore[no-untyped-def]
    """Greet each city in turn; each greeting is a durable step."""
    greetings = []
    for city in cities:
        greeting = yield ctx.call_activity(greet, city)
        ctx.set_custom_status({"done": len(greetings) + 1, "of": len(cities)})
        greetings.append(greeting)
    return greetings


def main(path: str = "durable.db") -> None:
    """Start one instance, run a worker until it finishes, and show what happened."""
    store = SQLiteStore(path)
    client = Client(store, app=app)
    with Worker(app, store):
        instance_id = client.start(hello_chain, ["Tokyo", "Seattle", "London"])
        print(f"started instance {instance_id} on {path}")
        status = client.wait(instance_id, timeout=timedelta(seconds=30))
    print("history:")
    for event in client.history(instance_id):
        detail = getattr(event, "name", "") or ""
        print(f"  {event.timestamp:%H:%M:%S.%f}  {type(event).__name__:<22} {detail}")
    print(f"status: {status.status.value}")
    print(f"result: {status.output}")
    store.close()


if __name__ == "__main__":
    main(*sys.argv[1:2])
