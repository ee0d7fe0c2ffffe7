"""An episode log for the multi-process tests: each committed episode, one JSON line.

A worker subprocess wraps its store with `log_episodes`; the test then checks
that every episode of an instance started from exactly the history length the
previous one left behind (no lost or doubled commit). Episodes are committed by
`commit_episode` and, as continuations, inside `complete_activity`: both are
logged, after their transaction succeeded.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from durable._store.protocol import Continuation, Store

__all__ = ["log_episodes"]


def log_episodes(store: Store, log_path: Path) -> None:
    """Wrap `store` so that it appends each committed episode to `log_path`."""
    commit_episode, complete_activity = store.commit_episode, store.complete_activity

    def log(item: Any, episode_commit: Any) -> None:
        record = {
            "instance": item.instance.instance_id,
            "from": item.history_length,
            "to": item.history_length + len(episode_commit.history),
            "pid": os.getpid(),
        }
        with log_path.open("a") as sink:
            sink.write(json.dumps(record) + "\n")

    def logged_commit(item: Any, episode_commit: Any, **options: Any) -> Any:
        leased = commit_episode(item, episode_commit, **options)
        log(item, episode_commit)
        return leased

    def logged_completion(item: Any, result: Any, *, then: Any = None, **options: Any) -> Any:
        if then is None:
            return complete_activity(item, result, **options)
        ran: list[tuple[Any, Any]] = []

        def episode(work: Any, history: Any) -> Any:
            ran.append((work, then.episode(work, history)))
            return ran[-1][1]

        continuation = Continuation(claim=then.claim, episode=episode)
        leased = complete_activity(item, result, then=continuation, **options)
        if ran:
            log(*ran[-1])
        return leased

    store.commit_episode = logged_commit  # type: ignore[method-assign]
    store.complete_activity = logged_completion  # type: ignore[method-assign]
