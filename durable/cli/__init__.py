"""durable.cli: the ``durable`` command (``python -m durable.cli`` works too).

Commands: serve, start, status, wait, raise-event, terminate, suspend,
resume, purge, list, history, replay, demo. See `durable.cli.main` and the exit codes
in `durable.cli.exits`.
"""

from durable.cli.main import main

__all__ = ["main"]
