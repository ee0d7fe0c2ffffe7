"""Chaining with a saga: book a trip step by step; when payment fails, undo in reverse order.

Run it with ``python examples/chaining.py [path/to/file.db]`` (default: a
temporary file). Two instances run on a local SQLite store: one whose steps
all succeed, and one whose payment step fails, so the hotel and the flight
are cancelled, in that order, as the history shows.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from durable import App, Client, RetryPolicy, Worker
from durable.history import TaskScheduled
from durable.patterns import Step, register_chain
from durable.stores import SQLiteStore

app = App()


@app.activity
def book_flight(trip: dict[str, str]) -> dict[str, str]:
    """Reserve a seat; the booking is the next step's input."""
    return {**trip, "flight": f"LH-{trip['to'].upper()}"}


@app.activity
def book_hotel(trip: dict[str, str]) -> dict[str, str]:
    """Reserve a room."""
    return {**trip, "hotel": f"Hotel {trip['to'].title()}"}


@app.activity
def charge_card(trip: dict[str, str]) -> dict[str, str]:
    """Charge the traveller; cards ending in 0 are declined."""
    if trip["card"].endswith("0"):
        raise RuntimeError(f"card {trip['card']} declined")
    return {**trip, "paid": "yes"}


@app.activity
def cancel_flight(trip: dict[str, str]) -> str:
    """Undo book_flight."""
    return f"cancelled {trip['flight']}"


@app.activity
def cancel_hotel(trip: dict[str, str]) -> str:
    """Undo book_hotel."""
    return f"cancelled {trip['hotel']}"


register_chain(
    app,
    "book_trip",
    steps=[
        Step(activity=book_flight, compensate=cancel_flight),
        Step(activity=book_hotel, compensate=cancel_hotel),
        Step(
            activity=charge_card,
            retry=RetryPolicy(max_attempts=2, first_interval=timedelta(milliseconds=200)),
        ),
    ],
)


def main(path: str | None = None) -> None:
    """Run one trip that succeeds and one whose payment fails; print what happened."""
    path = path or str(Path(tempfile.mkdtemp(prefix="durable-")) / "chaining.db")
    store = SQLiteStore(path)
    client = Client(store, app=app)
    trips = {"good": {"to": "rome", "card": "4111"}, "declined": {"to": "oslo", "card": "4110"}}
    with Worker(app, store):
        started = {label: client.start("book_trip", trip) for label, trip in trips.items()}
        finished = {
            label: client.wait(instance, timeout=timedelta(seconds=30))
            for label, instance in started.items()
        }
    print(f"store: {path}")
    for label, status in finished.items():
        steps = [
            event.name
            for event in client.history(status.instance_id)
            if isinstance(event, TaskScheduled)
        ]
        print(f"\n{label} trip: {status.status.value}")
        print(f"  activities, in order: {' -> '.join(steps)}")
        if status.failure is not None:
            print(f"  failure: {status.failure.type_name}: {status.failure.message}")
        else:
            print(f"  output: {status.output}")
    store.close()


if __name__ == "__main__":
    main(*sys.argv[1:2])
