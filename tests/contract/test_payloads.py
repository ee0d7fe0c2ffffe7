"""Contract: payloads and events come back as JSON gives them, never shared with the caller."""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
from hypothesis import given, settings

from durable._model.events import TaskScheduled
from durable._model.status import RuntimeStatus
from durable._store.protocol import NewActivityTask, Store
from tests.contract.helpers import LEASE, T0, commit, create, inbox, send, take

NESTED = {
    "text": 'grüße, 日本語, עברית, emoji 🎉, combining e\u0301, quote " and \\ backslash',
    "big": 2**70,
    "negative": -(2**64) - 1,
    "float": 0.1,
    "exp": 1.5e-10,
    "flags": [True, False, None],
    "deep": {"a": [{"b": [[], {}, [1, [2, [3]]]]}]},
    "": "empty key",
    "ключ": "unicode key",
}

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(min_value=-1e15, max_value=1e15, allow_nan=False)
    | st.text(st.characters(codec="utf-8", exclude_characters="\x00")),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


def test_payloads_round_trip_through_every_part_of_the_store(store: Store) -> None:
    start = create(store, "i1", input=NESTED)
    event = send(store, "i1", "e", NESTED)
    item = take(store, now=T0)
    scheduled = TaskScheduled(timestamp=T0, seq=1, name="a", input=NESTED)
    task = NewActivityTask(
        instance_id="i1", execution_id="i1-x1", seq=1, name="a", input=NESTED, visible_at=T0
    )

    commit(
        store,
        item,
        history=(start, event, scheduled),
        output=NESTED,
        custom_status=NESTED,
        status=RuntimeStatus.RUNNING,
        activities=(task,),
    )

    assert [m.event for m in item.messages] == [start, event]
    assert store.get_history("i1") == [start, event, scheduled]
    status = store.get_instance("i1")
    assert status is not None
    assert (status.input, status.output, status.custom_status) == (NESTED, NESTED, NESTED)
    work = store.take_activity(now=T0, lease=LEASE, owner="a")
    assert work is not None
    assert work.input == NESTED


def test_payloads_come_back_as_json_gives_them(store: Store) -> None:
    create(store, "i1", input={"tuple": (1, (2, 3)), "int-keys": {1: "one"}})

    status = store.get_instance("i1")

    assert status is not None
    assert status.input == {"tuple": [1, [2, 3]], "int-keys": {"1": "one"}}


def test_payloads_are_not_shared_with_the_caller(store: Store) -> None:
    value: dict[str, Any] = {"list": [1, 2]}
    create(store, "i1", input=value)
    event = send(store, "i1", "e", value)

    value["list"].append(3)
    first = store.get_instance("i1")
    assert first is not None
    first.input["list"].append(4)

    second = store.get_instance("i1")
    assert second is not None
    assert second.input == {"list": [1, 2]}
    assert inbox(store, "i1", now=T0)[1][0].input == {"list": [1, 2]}
    assert event.input == {"list": [1, 2, 3]}


def test_payloads_round_trip_any_json_value(store: Store) -> None:
    counter = iter(range(10**6))

    @settings(max_examples=60, deadline=None, database=None)
    @given(value=JSON_VALUES)
    def round_trip(value: Any) -> None:
        instance_id = f"i{next(counter)}"
        create(store, instance_id, input=value)
        status = store.get_instance(instance_id)
        assert status is not None
        assert status.input == value

    round_trip()


def test_instance_ids_and_names_round_trip_unicode(store: Store) -> None:
    create(store, "ïd-🎉-日本", name="wörk·flow")

    status = store.get_instance("ïd-🎉-日本")

    assert status is not None
    assert (status.instance_id, status.name) == ("ïd-🎉-日本", "wörk·flow")
    assert store.get_history("ïd-🎉-日本") == []
