"""Contract: listing instances with filters and pages, and purging finished ones."""

from __future__ import annotations

import base64

import pytest

from durable._model.status import RuntimeStatus
from durable._store.protocol import InstanceQuery, NewActivityTask, NewMessage, Store
from durable.errors import InstanceExistsError, InstanceNotFoundError, InvalidArgumentError
from tests.contract.helpers import (
    FINISHED,
    LEASE,
    T0,
    UNFINISHED,
    at,
    commit,
    create,
    raised,
    reach,
    take,
)


def ids(store: Store, **query: object) -> list[str]:
    """The instance ids of the first page of `InstanceQuery(**query)`."""
    page = store.list_instances(InstanceQuery(**query))  # type: ignore[arg-type]
    return [status.instance_id for status in page.instances]


def populate(store: Store) -> None:
    """Six instances over three names, statuses and creation times."""
    reach(store, "order-1", RuntimeStatus.COMPLETED, now=at(1), name="order")
    reach(store, "order-2", RuntimeStatus.RUNNING, now=at(2), name="order")
    reach(store, "order-3", RuntimeStatus.FAILED, now=at(3), name="order")
    reach(store, "ship-1", RuntimeStatus.RUNNING, now=at(2), name="ship")
    reach(store, "ship-2", RuntimeStatus.TERMINATED, now=at(4), name="ship")
    reach(store, "bill-1", RuntimeStatus.PENDING, now=at(5), name="bill")


def test_list_instances_orders_by_creation_time_then_id(store: Store) -> None:
    populate(store)

    assert ids(store) == ["order-1", "order-2", "ship-1", "order-3", "ship-2", "bill-1"]


def test_list_instances_returns_rows_as_get_instance_does(store: Store) -> None:
    populate(store)

    page = store.list_instances(InstanceQuery())

    assert list(page.instances) == [store.get_instance(s.instance_id) for s in page.instances]
    assert page.continuation is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"statuses": frozenset({RuntimeStatus.RUNNING})}, ["order-2", "ship-1"]),
        (
            {"statuses": frozenset(FINISHED)},
            ["order-1", "order-3", "ship-2"],
        ),
        ({"statuses": frozenset()}, []),
        ({"name": "ship"}, ["ship-1", "ship-2"]),
        ({"name": "nothing"}, []),
        ({"created_from": at(3)}, ["order-3", "ship-2", "bill-1"]),
        ({"created_to": at(3)}, ["order-1", "order-2", "ship-1"]),
        ({"created_from": at(2), "created_to": at(4)}, ["order-2", "ship-1", "order-3"]),
        ({"instance_id_prefix": "order-"}, ["order-1", "order-2", "order-3"]),
        ({"instance_id_prefix": "ship-2"}, ["ship-2"]),
        (
            {
                "name": "order",
                "statuses": frozenset({RuntimeStatus.RUNNING, RuntimeStatus.FAILED}),
                "created_from": at(3),
                "instance_id_prefix": "order",
            },
            ["order-3"],
        ),
    ],
    ids=[
        "status",
        "statuses",
        "no-status",
        "name",
        "unknown-name",
        "created-from-inclusive",
        "created-to-exclusive",
        "created-range",
        "prefix",
        "whole-id-prefix",
        "all-filters",
    ],
)
def test_list_instances_filters(
    store: Store, query: dict[str, object], expected: list[str]
) -> None:
    populate(store)

    assert ids(store, **query) == expected


def test_list_instances_pages_through_all_instances_without_loss_or_repeat(store: Store) -> None:
    expected = []
    for n in range(250):
        instance_id = f"i{n:03d}"
        create(store, instance_id, now=at(n // 7))  # creation-time ties, broken by id
        expected.append(instance_id)
    expected.sort(key=lambda instance_id: (int(instance_id[1:]) // 7, instance_id))

    pages, token = [], None
    for _ in range(4):
        page = store.list_instances(InstanceQuery(page_size=100, continuation=token))
        pages.append([status.instance_id for status in page.instances])
        token = page.continuation
        if token is None:
            break

    assert [len(page) for page in pages] == [100, 100, 50]
    assert [instance_id for page in pages for instance_id in page] == expected


def test_list_instances_has_no_continuation_when_last_page_is_exactly_full(
    store: Store,
) -> None:
    for n in range(6):
        create(store, f"i{n}", now=at(n))

    first = store.list_instances(InstanceQuery(page_size=3))
    second = store.list_instances(InstanceQuery(page_size=3, continuation=first.continuation))

    assert first.continuation is not None
    assert [s.instance_id for s in second.instances] == ["i3", "i4", "i5"]
    assert second.continuation is None


def test_list_instances_pages_within_filters(store: Store) -> None:
    for n in range(5):
        reach(store, f"run-{n}", now=at(n))
        reach(store, f"done-{n}", RuntimeStatus.COMPLETED, now=at(n))
    query = {"statuses": frozenset({RuntimeStatus.COMPLETED}), "page_size": 2}

    first = store.list_instances(InstanceQuery(**query))  # type: ignore[arg-type]
    second = store.list_instances(InstanceQuery(**query, continuation=first.continuation))  # type: ignore[arg-type]
    third = store.list_instances(InstanceQuery(**query, continuation=second.continuation))  # type: ignore[arg-type]

    pages = [[s.instance_id for s in page.instances] for page in (first, second, third)]
    assert pages == [["done-0", "done-1"], ["done-2", "done-3"], ["done-4"]]
    assert third.continuation is None


def test_list_instances_continues_after_an_instance_that_is_gone(store: Store) -> None:
    for n in range(4):
        reach(store, f"i{n}", RuntimeStatus.COMPLETED, now=at(n))
    first = store.list_instances(InstanceQuery(page_size=2))
    assert store.purge_instance("i1")

    second = store.list_instances(InstanceQuery(page_size=2, continuation=first.continuation))

    assert [s.instance_id for s in second.instances] == ["i2", "i3"]


@pytest.mark.parametrize(
    "token",
    [
        "not a token!",
        "%%%",
        base64.urlsafe_b64encode(b"yesterday|i1").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe|i1").decode(),
        base64.urlsafe_b64encode(b"2024-01-01T00:00:00|i1").decode(),
    ],
    ids=["garbage", "not-base64", "bad-time", "not-utf8", "naive-time"],
)
def test_list_instances_raises_when_continuation_invalid(store: Store, token: str) -> None:
    create(store, "i1")

    with pytest.raises(InvalidArgumentError, match="continuation token"):
        store.list_instances(InstanceQuery(continuation=token))


@pytest.mark.parametrize("status", FINISHED, ids=lambda status: status.value)
def test_purge_instance_deletes_row_history_inbox_and_tasks(
    store: Store, status: RuntimeStatus
) -> None:
    create(store, "i1")
    item = take(store, now=T0)
    task = NewActivityTask(
        instance_id="i1", execution_id="i1-x1", seq=1, name="a", input=None, visible_at=T0
    )
    leftover = NewMessage(instance_id="i1", event=raised(), visible_at=at(1))
    commit(store, item, status=status, completed_at=T0, activities=(task,), messages=(leftover,))

    assert store.purge_instance("i1") is True

    assert store.get_instance("i1") is None
    with pytest.raises(InstanceNotFoundError):
        store.get_history("i1")
    assert store.next_due(now=at(1)) is None
    assert store.take_activity(now=at(1), lease=LEASE, owner="a") is None


def test_purge_instance_returns_false_when_unknown(store: Store) -> None:
    assert store.purge_instance("nope") is False


@pytest.mark.parametrize("status", UNFINISHED, ids=lambda status: status.value)
def test_purge_instance_raises_when_unfinished(store: Store, status: RuntimeStatus) -> None:
    reach(store, "i1", status)
    before = store.get_instance("i1")

    with pytest.raises(InstanceExistsError, match=f"'i1' already exists and is {status.value}"):
        store.purge_instance("i1")

    assert store.get_instance("i1") == before


def test_purge_instances_deletes_only_finished_matches(store: Store) -> None:
    populate(store)

    assert store.purge_instances(InstanceQuery(name="order")) == 2

    assert ids(store) == ["order-2", "ship-1", "ship-2", "bill-1"]


def test_purge_instances_deletes_every_page(store: Store) -> None:
    for n in range(7):
        reach(store, f"done-{n}", RuntimeStatus.COMPLETED, now=at(n))
    reach(store, "running", now=at(8))

    assert store.purge_instances(InstanceQuery(page_size=2)) == 7

    assert ids(store) == ["running"]


def test_purge_instances_returns_zero_when_nothing_matches(store: Store) -> None:
    populate(store)

    assert store.purge_instances(InstanceQuery(instance_id_prefix="zzz")) == 0
    assert len(ids(store)) == 6
