"""What the command line prints, from hand-built values (pure: no subprocess needed)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from durable import InstanceStatus, PendingActivity, PendingTimer, RuntimeStatus, Waiting
from durable.cli.output import describe_waiting, format_duration, instance_table, timeline
from durable.history import ExecutionStarted
from tests.integration.test_http_shapes import HISTORY, T0, at


def _status(**fields: object) -> InstanceStatus:
    values: dict[str, object] = {
        "instance_id": "i",
        "name": "flow",
        "status": RuntimeStatus.TERMINATED,
        "created_at": T0,
        "last_updated_at": T0,
        "execution_id": "e",
    }
    return InstanceStatus(**{**values, **fields})  # type: ignore[arg-type]


def test_timeline_has_a_line_for_every_event_kind() -> None:
    assert timeline(_status(), HISTORY) == [
        "flow i  TERMINATED",
        "  started 2030-01-31 12:00:00.250 UTC",
        "       +0ms  ExecutionStarted          flow([1])",
        '      +1.0s  TaskScheduled             #0 charge({"cents":5})',
        "      +1.0s  TimerCreated              #1 due 2030-01-31 12:01:00.250 (in 59.0s)",
        "      +1.0s  SubOrchestrationCreated   #2 child(null) as i:2",
        '      +1.0s  EventSent                 #3 ping -> other "hi"',
        '      +2.0s  TaskCompleted             #0 charge -> "paid"  (1.0s)',
        "      +3.0s  TaskFailed                #9 ? !! ValueError: boom",
        "     +1m00s  TimerFired                #1 fired",
        "     +1m01s  SubOrchestrationCompleted #2 child -> 7  (1m00s)",
        "     +1m02s  SubOrchestrationFailed    #2 child !! ValueError: boom",
        "     +1m03s  ExecutionSuspended        audit",
        "     +1m04s  ExecutionResumed",
        '     +1m05s  EventRaised               approve {"ok":true}',
        "     +1m06s  ContinuedAsNew            with input [2]",
        '     +1m07s  ExecutionCompleted        -> "done"',
        "     +1m08s  ExecutionFailed           !! ValueError: boom",
        "     +1m09s  ExecutionTerminated       stop",
    ]


def test_timeline_shows_episodes_when_asked_and_says_when_nothing_ran() -> None:
    with_episodes = timeline(_status(), HISTORY[:2], episodes=True)
    assert [line.split()[1] for line in with_episodes[2:]] == [
        "OrchestratorStarted",
        "ExecutionStarted",
    ]
    assert timeline(_status(), []) == [
        "flow i  TERMINATED",
        "  (no history yet: the instance has not run)",
    ]


def test_timeline_cuts_long_payloads_to_one_short_line() -> None:
    started = ExecutionStarted(
        timestamp=T0, name="flow", instance_id="i", execution_id="e", input="x " * 100
    )
    line = timeline(_status(), [started])[2]
    assert line == "       +0ms  ExecutionStarted          flow(" + '"' + "x " * 28 + "...)"


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(0), "0ms"),
        (timedelta(milliseconds=850), "850ms"),
        (timedelta(seconds=12.34), "12.3s"),
        (timedelta(minutes=4, seconds=5), "4m05s"),
        (timedelta(hours=2, minutes=3), "2h03m"),
        (timedelta(days=3, hours=4), "3d04h"),
    ],
)
def test_format_duration(delta: timedelta, text: str) -> None:
    assert format_duration(delta) == text


def test_instance_table_aligns_columns() -> None:
    rows = instance_table(
        [_status(), _status(instance_id="a-much-longer-id", status=RuntimeStatus.RUNNING)]
    )
    assert rows == [
        "INSTANCE ID       NAME  STATUS      CREATED (UTC)",
        "i                 flow  TERMINATED  2030-01-31 12:00:00.250",
        "a-much-longer-id  flow  RUNNING     2030-01-31 12:00:00.250",
    ]


def test_describe_waiting_names_everything_an_instance_waits_for() -> None:
    waiting = Waiting(
        activities=(PendingActivity(seq=0, name="charge", scheduled_at=T0),),
        timers=(PendingTimer(seq=1, fire_at=at(60)),),
        events=("approve",),
    )
    assert describe_waiting(waiting) == (
        "activity 'charge' (#0), timer #1 due 2030-01-31 12:01:00.250, event 'approve'"
    )
    assert describe_waiting(Waiting()) == ""
