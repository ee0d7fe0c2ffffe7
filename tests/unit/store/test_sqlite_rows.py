"""`Rows`: what an instance waits for survives the trip to its row and back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from durable._model.converter import default_converter
from durable._model.events import ExecutionStarted
from durable._model.status import PendingActivity, PendingTimer, RuntimeStatus, Waiting
from durable._store.protocol import EpisodeCommit
from durable._store.sqlite_queries import Rows

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _waiting(seq: int) -> Waiting:
    return Waiting(
        activities=(PendingActivity(seq=seq, name="charge", scheduled_at=T0),),
        timers=(PendingTimer(seq=seq + 1, fire_at=T0 + timedelta(days=1)),),
        events=("approval",),
    )


def _row(rows: Rows, waiting: Waiting) -> dict[str, Any]:
    """An instance row as `SELECT_INSTANCE` returns it, after an episode that set `waiting`."""
    started = ExecutionStarted(timestamp=T0, name="bill", instance_id="i1", execution_id="x1")
    commit = EpisodeCommit(
        consumed=(),
        history=(),
        status=RuntimeStatus.RUNNING,
        updated_at=T0,
        execution_id="x1",
        waiting=waiting,
    )
    return {**rows.new_instance(started, now=T0), "waiting": rows.episode("i1", commit)["waiting"]}


def test_a_written_waiting_reads_back_equal_in_the_writer_and_in_a_fresh_process() -> None:
    writer = Rows(default_converter())
    row = _row(writer, _waiting(1))

    assert writer.to_instance(row).waiting == _waiting(1)
    assert Rows(default_converter()).to_instance(row).waiting == _waiting(1)


def test_nothing_awaited_reads_back_empty() -> None:
    rows = Rows(default_converter())

    assert rows.to_instance(_row(rows, Waiting())).waiting == Waiting()


def test_the_remembered_waiting_values_stay_bounded_and_old_ones_are_parsed() -> None:
    rows = Rows(default_converter())
    first = _row(rows, _waiting(0))
    for seq in range(1, 1500):
        _row(rows, _waiting(seq))

    assert len(rows._written_waiting) <= 1024
    assert first["waiting"] not in rows._written_waiting
    assert rows.to_instance(first).waiting == _waiting(0)


def test_a_wide_waiting_is_not_remembered_and_still_reads_back_equal() -> None:
    rows = Rows(default_converter())
    wide = Waiting(
        activities=tuple(
            PendingActivity(seq=seq, name="charge", scheduled_at=T0) for seq in range(100)
        )
    )

    row = _row(rows, wide)

    assert rows._written_waiting == {}
    assert rows.to_instance(row).waiting == wide


def test_a_waiting_with_a_time_outside_utc_reads_back_in_utc_as_a_fresh_parse_does() -> None:
    rows = Rows(default_converter())
    fire_at = datetime(2026, 1, 2, 12, tzinfo=timezone(timedelta(hours=2)))
    waiting = Waiting(timers=(PendingTimer(seq=1, fire_at=fire_at),))

    read = rows.to_instance(_row(rows, waiting)).waiting

    assert read == waiting
    assert read.timers[0].fire_at.tzinfo is UTC
