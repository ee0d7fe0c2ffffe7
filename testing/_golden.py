"""Golden histories: a scenario's history compared with a history file kept beside the test.

Simulated histories are stable: timestamps are virtual and ids are drawn
from the seed. Only failure tracebacks are left out of the comparison and of
recorded files, since they hold file paths and line numbers that differ
between machines and edits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from durable.testing._describe import describe_value
from durable.testing._history_file import HistorySource, export_history, load_history, save_history

__all__ = ["assert_history"]


def assert_history(
    source: HistorySource, instance_id: str, path: str | Path, *, record: bool = False
) -> None:
    """Assert that the instance's history equals the history file at `path`.

    Args:
        source: the `Simulation` (or `Client`) that ran the scenario.
        instance_id: the instance.
        path: the golden history file.
        record: write the file from the current history instead of comparing
            (the pytest plugin sets this under ``--durable-record``).

    Raises:
        AssertionError: the histories differ (the first differing event is
            shown) or the file does not exist.
    """
    target = Path(path)
    current = _without_tracebacks(export_history(source, instance_id))
    if record:
        target.parent.mkdir(parents=True, exist_ok=True)
        save_history(target, current)
        return
    if not target.exists():
        raise AssertionError(
            f"golden history {target} does not exist; run pytest with --durable-record "
            "(or assert_history(..., record=True)) to record it"
        )
    golden = _without_tracebacks(load_history(target))
    if golden != current:
        raise AssertionError(
            f"history of instance {instance_id!r} differs from {target}: "
            f"{_first_difference(golden, current)}; if the change is intended, "
            "re-record with pytest --durable-record"
        )


def _first_difference(golden: dict[str, Any], current: dict[str, Any]) -> str:
    for key in ("instance_id", "orchestrator"):
        if golden[key] != current[key]:
            return f"{key} is {current[key]!r}, the file has {golden[key]!r}"
    expected, actual = golden["events"], current["events"]
    for index, (one, other) in enumerate(zip(expected, actual, strict=False)):
        if one != other:
            return _event_difference(index, one, other)
    if len(actual) > len(expected):
        return f"event {len(expected)} {describe_value(actual[len(expected)])} is not in the file"
    return f"the history ends at event {len(actual)}; the file goes on with " + describe_value(
        expected[len(actual)]
    )


def _event_difference(index: int, golden: Any, current: Any) -> str:
    keys = sorted(set(golden) | set(current)) if isinstance(golden, dict) else []
    changed = [key for key in keys if golden.get(key) != current.get(key)]
    where = (
        f"event {index} ({current.get('type')})" if isinstance(current, dict) else f"event {index}"
    )
    if not changed or "type" in changed:
        return f"{where} is {describe_value(current)}, the file has {describe_value(golden)}"
    key = changed[0]
    return (
        f"{where} has {key} {describe_value(current.get(key))}, "
        f"the file has {describe_value(golden.get(key))}"
    )


def _without_tracebacks(document: dict[str, Any]) -> dict[str, Any]:
    return {**document, "events": [_strip(event) for event in document["events"]]}


def _strip(event: dict[str, Any]) -> dict[str, Any]:
    failure = event.get("failure")
    if not isinstance(failure, dict) or "traceback" not in failure:
        return event
    return {**event, "failure": {k: v for k, v in failure.items() if k != "traceback"}}
