"""Fakes files: what ``durable run --simulate --fakes FILE`` answers activities with.

A fakes file (YAML or JSON) has up to four fields::

    activities:                        # every activity the document calls
      request_approval: {returns: sent}
      job_state: {sequence: [{returns: queued}, {returns: done}]}
      charge_card: {raises: {type: PaymentDeclined, message: card declined}}
      publish_report: {echo: true}     # returns its input
    events:                            # external events, at delays from the start
      - {at: 1d12h, name: ExpenseDecision, data: {approver: bob, approved: true}}
    seed: 0                            # the simulation's seed
    start: 2030-01-01T00:00:00Z        # where virtual time starts

`read_fakes` checks it and says where it is wrong (`FakesError`);
`apply_fake` installs one activity's rule on a simulation.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from durable.declarative.durations import DurationError, parse_duration
from durable.declarative.loader import load_file

__all__ = ["FakesError", "apply_fake", "read_fakes"]


class FakesError(ValueError):
    """A fakes file is not valid; the message says where."""


def read_fakes(path: str | None) -> dict[str, Any]:
    """The checked content of a fakes file (empty without one).

    Raises:
        FakesError: the file is not valid; the message says where.
    """
    if path is None:
        return {}
    loaded = load_file(path)
    if loaded.problems:
        raise FakesError(loaded.problems[0].format())
    data = loaded.data
    if not isinstance(data, dict):
        raise FakesError("a fakes file is a mapping with 'activities' and 'events'")
    unknown = set(data) - {"activities", "events", "seed", "start"}
    if unknown:
        raise FakesError(
            f"unknown field(s) {', '.join(sorted(unknown))}; use activities, events, seed, start"
        )
    fakes: dict[str, Any] = {"activities": _fake_activities(data.get("activities") or {})}
    fakes["events"] = [
        _fake_event(index, each) for index, each in enumerate(data.get("events") or ())
    ]
    if "seed" in data:
        if not isinstance(data["seed"], int):
            raise FakesError(f"seed must be a whole number; got {data['seed']!r}")
        fakes["seed"] = data["seed"]
    if "start" in data:
        fakes["start"] = _time(data["start"])
    return fakes


def _time(text: Any) -> datetime:
    try:
        when = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise FakesError(f"start must be an ISO 8601 time; got {text!r}") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def _fake_activities(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FakesError("activities must map activity names to {returns|sequence|raises|echo}")
    for name, rule in value.items():
        _outcome(rule, f"activities.{name}", allow_sequence=True)
    return value


def _outcome(rule: Any, where: str, *, allow_sequence: bool) -> None:
    keys = {"returns", "raises", "echo"} | ({"sequence"} if allow_sequence else set())
    if not isinstance(rule, dict) or len(set(rule) & keys) != 1 or set(rule) - keys:
        raise FakesError(f"{where}: give exactly one of {', '.join(sorted(keys))}")
    if "raises" in rule:
        raised = rule["raises"]
        if not isinstance(raised, dict) or not isinstance(raised.get("type"), str):
            raise FakesError(f"{where}.raises: give {{type: ErrorName, message: text}}")
    if "sequence" in rule:
        if not isinstance(rule["sequence"], list) or not rule["sequence"]:
            raise FakesError(f"{where}.sequence: give a non-empty list of outcomes")
        for index, each in enumerate(rule["sequence"]):
            _outcome(each, f"{where}.sequence[{index}]", allow_sequence=False)


def _fake_event(index: int, value: Any) -> dict[str, Any]:
    where = f"events[{index}]"
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        raise FakesError(f"{where}: give {{at: duration, name: EventName, data: ...}}")
    try:
        at = (
            parse_duration(value.get("at", "0s"))
            if value.get("at") not in (None, "0s", 0)
            else timedelta(0)
        )
    except DurationError as error:
        raise FakesError(f"{where}.at: {error}") from None
    return {"name": value["name"], "data": value.get("data"), "at": at}


def apply_fake(simulation: Any, name: str, rule: dict[str, Any]) -> None:
    """Answer calls of activity `name` in `simulation` as `rule` says."""
    if "sequence" in rule:
        simulation.fake(name, sequence=[_fake_result(each) for each in rule["sequence"]])
    else:
        simulation.fake(name, _fake_result(rule))


def _fake_result(rule: dict[str, Any]) -> Any:
    if "raises" in rule:
        raised = rule["raises"]
        kind = type(raised["type"], (Exception,), {})
        return kind(str(raised.get("message", "")))
    if "echo" in rule:
        return lambda input=None: input
    return rule["returns"]
