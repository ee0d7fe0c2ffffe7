"""Validation problems: where, what was expected, what was found, and a hint.

A `Problem` names its place three ways: the file with a line and column
(1-based; 0 when the document came without positions, e.g. from a dict), a
dotted path for people (``steps[0].retry.max_attempt``) and a JSON Pointer
for tools (``/steps/0/retry/max_attempt``). Problems sort by position, then
path. `suggest` finds the closest valid name for a did-you-mean hint.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

import attrs

__all__ = ["Path", "Problem", "dotted", "pointer", "sort_problems", "suggest", "suggestion_hint"]

Path = tuple[str | int, ...]
"""A place in a document: mapping keys and list indexes from the root."""


def dotted(path: Path) -> str:
    """``steps[0].retry.delay`` for ``("steps", 0, "retry", "delay")``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def pointer(path: Path) -> str:
    """The RFC 6901 JSON Pointer of `path` (``""`` for the root)."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def suggest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to `word`, if one is close enough to be a likely typo."""
    options = sorted({each for each in candidates if each != word})
    lowered = {each.lower(): each for each in options}
    if word.lower() in lowered:
        return lowered[word.lower()]
    found = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return found[0] if found else None


def suggestion_hint(word: str, candidates: Iterable[str], *, prefix: str = "") -> str | None:
    """``did you mean 'x'?`` for the closest candidate, or None."""
    found = suggest(word, candidates)
    return f"did you mean '{prefix}{found}'?" if found is not None else None


@attrs.frozen(kw_only=True)
class Problem:
    """One thing wrong with a document.

    Attributes:
        file: the document's file name (or a label such as ``<document>``).
        line: the 1-based line of the offending node (0 if unknown).
        column: its 1-based column (0 if unknown).
        path: where in the document, as keys and indexes.
        message: what is wrong: what was expected and what was found.
        hint: how to fix it, if there is more to say (e.g. a did-you-mean).
    """

    file: str
    line: int
    column: int
    path: Path
    message: str
    hint: str | None = None

    @property
    def dotted_path(self) -> str:
        """The path for people: ``steps[0].retry.delay``."""
        return dotted(self.path)

    @property
    def json_pointer(self) -> str:
        """The path for tools: ``/steps/0/retry/delay``."""
        return pointer(self.path)

    def format(self) -> str:
        """``file:line:col: path: message (hint)``."""
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        path = self.dotted_path or "(document)"
        hint = f" ({self.hint})" if self.hint else ""
        return f"{where}: {path}: {self.message}{hint}"

    def to_json(self) -> dict[str, Any]:
        """The problem as a JSON object, its path as a JSON Pointer."""
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.dotted_path,
            "pointer": self.json_pointer,
            "message": self.message,
            "hint": self.hint,
        }


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Problems by position (line, column), then path; duplicates dropped."""
    unique = {(each.line, each.column, each.path, each.message): each for each in problems}
    return sorted(
        unique.values(),
        key=lambda each: (each.line, each.column, pointer(each.path), each.message),
    )
