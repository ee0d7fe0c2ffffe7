"""An episode log for the multi-process tests: each committed episode, one JSON line.

A worker subprocess wraps its store with `log_episodes`; the test then checks
that every episode of an instance started from exactly the history length the
previous one left behind (no lost or doubled commit). The worker commits
episodes with `commit_episodes` and, as continuations, inside
`complete_activities`: both are logged, after their transaction succeeded.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import attrs

from durable._store.protocol import Continuation, Store

__all__ = ["log_episodes"]


def log_episodes(store: Store, log_path: Path) -> None:
    """Wrap `store` so that it appends each committed episode to `log_path`."""
    commit_episodes, complete_activities = store.commit_episodes, store.complete_activities

    def log(item: Any, episode_commit: Any) -> None:
        record = {
            "instance": item.instance.instance_id,
            "from": item.history_length,
            "to": item.history_length + len(episode_commit.history),
            "pid": os.getpid(),
        }
        with log_path.open("a") as sink:
            sink.write(json.dumps(record) + "\n")

    def logged_commits(writes: Any) -> Any:
        outcomes = commit_episodes(writes)
        for write, outcome in zip(writes, outcomes, strict=True):
            if outcome.error is None:
                log(write.item, write.commit)
        return outcomes

    def logged_completions(completions: Any, **options: Any) -> Any:
        ran: list[list[tuple[Any, Any]]] = [[] for _ in completions]

        def logged(then: Any, into: list[tuple[Any, Any]]) -> Continuation:
            def episode(work: Any, history: Any) -> Any:
                into.append((work, then.episode(work, history)))
                return into[-1][1]

            return Continuation(claim=then.claim, episode=episode)

        wrapped = [
            each if each.then is None else attrs.evolve(each, then=logged(each.then, into))
            for each, into in zip(completions, ran, strict=True)
        ]
        delivery = complete_activities(wrapped, **options)
        for outcome, episodes in zip(delivery.handovers, ran, strict=True):
            if episodes and outcome.error is None:
                log(*episodes[-1])
        return delivery

    store.commit_episodes = logged_commits  # type: ignore[method-assign]
    store.complete_activities = logged_completions  # type: ignore[method-assign]
