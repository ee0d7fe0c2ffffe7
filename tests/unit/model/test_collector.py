"""The garbage collector pause of long history reads: taken, given back, never left off."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from cattrs.preconf.json import make_converter

from durable._model.collector import LONG_READ, collector_paused
from durable._model.converter import PayloadConverter
from durable._model.events import OrchestratorStarted, TaskFailed
from durable._model.failures import FailureDetails

T0 = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def collector_on() -> Iterator[None]:
    was_on = gc.isenabled()
    gc.enable()
    yield
    if not was_on:
        gc.disable()


@pytest.mark.usefixtures("collector_on")
def test_collector_is_off_inside_the_pause_and_on_after_it() -> None:
    with collector_paused():
        inside = gc.isenabled()

    assert (inside, gc.isenabled()) == (False, True)


@pytest.mark.usefixtures("collector_on")
def test_collector_is_on_again_after_a_pause_that_raised() -> None:
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("the read failed")

    assert gc.isenabled()


@pytest.mark.usefixtures("collector_on")
def test_collector_turned_off_by_the_application_stays_off() -> None:
    gc.disable()
    with collector_paused():
        pass

    assert not gc.isenabled()


@pytest.mark.usefixtures("collector_on")
def test_nested_pauses_leave_the_collector_on_only_when_the_outer_one_ends() -> None:
    with collector_paused():
        with collector_paused():
            pass
        between = gc.isenabled()

    assert (between, gc.isenabled()) == (False, True)


def _observing_converter(seen: list[bool]) -> PayloadConverter:
    """A converter whose failure hook notes whether the collector is on as it reads."""
    cattrs_converter = make_converter()

    def failure(value: Any, _: Any) -> FailureDetails:
        seen.append(gc.isenabled())
        return FailureDetails(type_name=value["type_name"], message=value["message"])

    cattrs_converter.register_structure_hook(FailureDetails, failure)
    return PayloadConverter(cattrs_converter)


def _history(length: int, converter: PayloadConverter) -> list[str]:
    failed = TaskFailed(timestamp=T0, seq=0, failure=FailureDetails(type_name="E", message="m"))
    started = OrchestratorStarted(timestamp=T0)
    return [converter.dump_event(failed if index % 2 else started) for index in range(length)]


@pytest.mark.usefixtures("collector_on")
@pytest.mark.parametrize(("length", "collector_during_read"), [(LONG_READ, False), (10, True)])
def test_collector_is_paused_only_while_a_long_history_is_read(
    length: int, collector_during_read: bool
) -> None:
    seen: list[bool] = []
    converter = _observing_converter(seen)
    texts = _history(length, converter)

    events = converter.load_events(iter(texts))

    assert len(events) == length
    assert set(seen) == {collector_during_read}
    assert gc.isenabled()
