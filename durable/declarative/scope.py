"""Scopes: what expressions see while a workflow runs, and where step outputs are recorded.

A scope records step outputs into one dict (``steps.<id>``) and reads them
from a chain of dicts: a ``for_each`` item gets a dict of its own on top of
the enclosing one, so body steps of concurrent items never see each other.
Local names (``item``, ``index``, ``iteration``, ``result``, ``error``,
``event``) stack the same way. Every ``try`` block in force keeps a journal
of the outputs recorded inside it, in the order they completed, for its
compensations.
"""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["Scope"]


@attrs.define(eq=False)
class Scope:
    """Step outputs, local names and try journals in force at one place of a run."""

    steps: dict[str, Any]
    layers: tuple[dict[str, Any], ...]
    names: dict[str, Any] = attrs.field(factory=dict)
    journals: tuple[list[tuple[str, Any]], ...] = ()

    @classmethod
    def top(cls, steps: dict[str, Any] | None = None) -> Scope:
        """The scope of a document's top-level steps."""
        outputs = steps if steps is not None else {}
        return cls(steps=outputs, layers=(outputs,))

    def child(
        self,
        names: dict[str, Any] | None = None,
        *,
        own_steps: bool = False,
        journal: list[tuple[str, Any]] | None = None,
    ) -> Scope:
        """A nested scope: more local names, a dict of its own for outputs, a try journal."""
        steps: dict[str, Any] = {} if own_steps else self.steps
        return Scope(
            steps=steps,
            layers=(*self.layers, steps) if own_steps else self.layers,
            names={**self.names, **names} if names else self.names,
            journals=(*self.journals, journal) if journal is not None else self.journals,
        )

    def record(self, step_id: str, value: Any) -> None:
        """Record a step's output here and in every try journal in force."""
        self.steps[step_id] = value
        for journal in self.journals:
            journal.append((step_id, value))

    def outputs(self) -> dict[str, Any]:
        """Every output visible here (inner layers win)."""
        if len(self.layers) == 1:
            return self.layers[0]
        merged: dict[str, Any] = {}
        for layer in self.layers:
            merged.update(layer)
        return merged
