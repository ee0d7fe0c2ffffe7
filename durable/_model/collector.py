"""`collector_paused`: no cyclic garbage collection while a long history is built.

Reading a stored history makes one long-lived object per event and no garbage
cycles. Python's collector counts those objects and, every few hundred, walks
the young ones; past a few thousand it also walks every object in the process.
For a long history those walks find nothing and cost about a tenth of the read.
Mercurial pauses the collector the same way while it builds large structures.

The collector is process-wide. The pause is only taken for long reads, is given
back by whoever took it, and is not taken when the collector is already off
(by the application, or by a concurrent read), so it never leaves the
collector off.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["LONG_READ", "collector_paused"]

LONG_READ = 1_000
"""Events from which a read pauses the collector: shorter reads trigger at most a young pass."""


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block, if it is on."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
