"""Checks for instance ids and event names given by callers."""

from __future__ import annotations

import re

from durable.errors import InvalidArgumentError

__all__ = ["check_event_name", "check_instance_id"]

_FORBIDDEN = re.compile(r"[/\\#?\x00-\x1f\x7f\ud800-\udfff]")
_MAX_LENGTH = 256


def check_instance_id(instance_id: object) -> str:
    """Return `instance_id` if valid: 1 to 256 characters, none of / \\ # ?, control
    characters or unpaired surrogates (which no store can encode)."""
    return _check("instance id", instance_id)


def check_event_name(name: object) -> str:
    """Return `name` if valid as an event name (the same rules as instance ids)."""
    return _check("event name", name)


def _check(what: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidArgumentError(f"{what} must be a non-empty str, got {value!r}")
    if len(value) > _MAX_LENGTH:
        raise InvalidArgumentError(
            f"{what} is {len(value)} characters long; at most {_MAX_LENGTH} are allowed"
        )
    bad = _FORBIDDEN.search(value)
    if bad:
        raise InvalidArgumentError(
            f"{what} {value!r} contains {bad.group()!r}; '/', '\\\\', '#', '?', control "
            "characters and unpaired surrogates are not allowed"
        )
    return value
