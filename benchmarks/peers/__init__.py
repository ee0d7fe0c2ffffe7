"""The peers durable is measured against in ``make bench``: DBOS, durabletask, Temporal.

Each peer runs in its own virtual environment under ``benchmarks/.venvs/``
(ignored by git; never a dependency of durable), which ``environments`` builds
with pip. Each peer script (``*_peer.py``) runs one workload once in a fresh
process under that environment and prints one JSON line; ``runner`` runs it
several times and turns the samples into ``Measurement`` rows; ``tables``
renders the peer table and the ratios durable / best peer.

Modules: ``catalog`` (the peers), ``measurement`` (a row of figures),
``environments``, ``runner``, ``tables``; ``peer_report`` is the only code the
peer scripts share, and imports nothing from here.
"""
