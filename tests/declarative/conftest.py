"""Close every simulation a declarative test made, so virtual time never leaks into other tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.declarative.helpers import OPEN


@pytest.fixture(autouse=True)
def _close_simulations() -> Iterator[None]:
    yield
    while OPEN:
        OPEN.pop().close()
