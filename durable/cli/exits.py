"""Exit codes of the `durable` command and the errors that carry them.

====  =================================================================
code  meaning
====  =================================================================
0     success
1     an unexpected error (the message says what)
2     usage: unknown command or option, missing argument (argparse)
3     unknown instance
4     invalid input: JSON that does not parse, a bad instance id or event
      name, an unknown orchestrator, an app or history file that cannot
      be loaded
5     the store cannot be opened or used (bad ``--store`` URL, missing
      file, not a durable database, I/O error)
6     conflict: the instance has finished (cannot take events or be
      terminated), is still running (cannot be started again or purged),
      or has not failed (cannot be rewound)
7     a wait ran out of time (``wait --timeout``, ``start --wait``)
8     the instance ended FAILED or TERMINATED (``wait``, ``start --wait``,
      ``demo``)
9     replay found that the code no longer makes the recorded decisions
130   interrupted (Ctrl+C)
====  =================================================================
"""

from __future__ import annotations

from durable.errors import (
    DeadlineExceededError,
    DurableError,
    InstanceExistsError,
    InstanceFinishedError,
    InstanceNotFailedError,
    InstanceNotFoundError,
    InvalidArgumentError,
    NonDeterminismError,
    OrchestratorNotFoundError,
    PayloadError,
    RegistrationError,
    StoreError,
)

__all__ = [
    "CONFLICT",
    "ERROR",
    "INSTANCE_FAILED",
    "INTERRUPTED",
    "INVALID_INPUT",
    "NONDETERMINISM",
    "OK",
    "STORE",
    "TIMEOUT",
    "UNKNOWN_INSTANCE",
    "USAGE",
    "CliError",
    "exit_code_for",
]

OK = 0
ERROR = 1
USAGE = 2
UNKNOWN_INSTANCE = 3
INVALID_INPUT = 4
STORE = 5
CONFLICT = 6
TIMEOUT = 7
INSTANCE_FAILED = 8
NONDETERMINISM = 9
INTERRUPTED = 130

_CODES: tuple[tuple[type[DurableError], int], ...] = (
    (InstanceNotFoundError, UNKNOWN_INSTANCE),
    (OrchestratorNotFoundError, INVALID_INPUT),
    (InvalidArgumentError, INVALID_INPUT),
    (PayloadError, INVALID_INPUT),
    (RegistrationError, INVALID_INPUT),
    (StoreError, STORE),
    (InstanceExistsError, CONFLICT),
    (InstanceFinishedError, CONFLICT),
    (InstanceNotFailedError, CONFLICT),
    (DeadlineExceededError, TIMEOUT),
    (NonDeterminismError, NONDETERMINISM),
)


class CliError(Exception):
    """A failure the command reports with a message and a given exit code."""

    def __init__(self, message: str, code: int) -> None:
        self.message = message
        self.code = code
        super().__init__(message)


def exit_code_for(error: DurableError) -> int:
    """The exit code of a `DurableError` (1 for kinds not in the table)."""
    for kind, code in _CODES:
        if isinstance(error, kind):
            return code
    # Other errors about bad values (a history file that is not one, ...) are input errors.
    return INVALID_INPUT if isinstance(error, ValueError | TypeError) else ERROR
