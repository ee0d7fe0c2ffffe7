"""The pytest plugin of durable.testing, registered as ``durable`` (entry point ``pytest11``).

Fixtures:

- ``simulation``: a `Simulation` of the test's app, closed after the test.
  The app comes from ``@pytest.mark.durable_app(app)`` (on the test, its class
  or ``pytestmark``) or else from a fixture named ``app``. Its seed is
  ``durable_seed`` (0 unless ``@pytest.mark.durable_seeds(n)`` runs the test
  once per seed; test ids show ``seed=N``, so a failing seed reruns alone).
- ``simulation_factory``: makes more simulations (any app, seed, start),
  all closed after the test.
- ``golden_history``: ``golden_history(simulation, instance_id, "golden/x.json")``
  compares an instance's history with a file beside the test module;
  ``pytest --durable-record`` writes the files instead.

Disable it with ``-p no:durable``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from durable import App
from durable.testing._golden import assert_history
from durable.testing._history_file import HistorySource
from durable.testing._simulation import DEFAULT_START, Simulation

__all__ = ["GoldenHistory", "SimulationFactory"]


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--durable-record``."""
    parser.getgroup("durable").addoption(
        "--durable-record",
        action="store_true",
        default=False,
        help="write golden history files from the current runs instead of comparing with them",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Declare the plugin's markers (the project runs with --strict-markers)."""
    config.addinivalue_line(
        "markers", "durable_app(app): the durable.App that the `simulation` fixture runs"
    )
    config.addinivalue_line(
        "markers",
        "durable_seeds(seeds): run the test once per seed (an int n means range(n)); "
        "the `simulation` fixture uses each",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``durable_seed`` for tests marked ``durable_seeds``."""
    marker = metafunc.definition.get_closest_marker("durable_seeds")
    if marker is None or "durable_seed" not in metafunc.fixturenames:
        return
    if len(marker.args) != 1:
        raise pytest.UsageError("durable_seeds takes one argument: a count or the seeds")
    given = marker.args[0]
    seeds: list[int] = list(range(given) if isinstance(given, int) else given)
    metafunc.parametrize("durable_seed", seeds, ids=[f"seed={seed}" for seed in seeds])


class SimulationFactory:
    """Makes simulations for one test and closes them all after it."""

    def __init__(self) -> None:
        self._made: list[Simulation] = []

    def __call__(
        self,
        app: App,
        *,
        seed: int = 0,
        start: datetime = DEFAULT_START,
        replay_check: bool = True,
        lease: timedelta = timedelta(minutes=1),
        max_steps: int = 100_000,
    ) -> Simulation:
        """A new, open `Simulation` (see its arguments)."""
        simulation = Simulation(
            app, seed=seed, start=start, replay_check=replay_check, lease=lease, max_steps=max_steps
        )
        self._made.append(simulation)
        return simulation

    def close(self) -> None:
        """Close every simulation made, newest first."""
        while self._made:
            self._made.pop().close()


class GoldenHistory:
    """Compares histories with golden files beside the test module (or records them)."""

    def __init__(self, folder: Path, *, record: bool) -> None:
        self.folder = folder
        self.record = record

    def __call__(self, source: HistorySource, instance_id: str, path: str | Path) -> None:
        """Assert that the instance's history equals the file at `path` (relative to the test)."""
        assert_history(source, instance_id, self.folder / path, record=self.record)


@pytest.fixture
def durable_seed() -> int:
    """The seed of the ``simulation`` fixture (parametrized by ``durable_seeds``)."""
    return 0


@pytest.fixture
def simulation_factory() -> Iterator[SimulationFactory]:
    """Make simulations of any app; all are closed after the test."""
    factory = SimulationFactory()
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def simulation(
    request: pytest.FixtureRequest, simulation_factory: SimulationFactory, durable_seed: int
) -> Simulation:
    """A simulation of the test's app (``durable_app`` marker or ``app`` fixture)."""
    return simulation_factory(_app_of(request), seed=durable_seed)


@pytest.fixture
def golden_history(request: pytest.FixtureRequest) -> GoldenHistory:
    """Compare an instance's history with a file beside the test (``--durable-record`` writes)."""
    record = bool(request.config.getoption("durable_record"))
    return GoldenHistory(request.path.parent, record=record)


def _app_of(request: pytest.FixtureRequest) -> App:
    marker = request.node.get_closest_marker("durable_app")
    if marker is not None:
        candidates: Iterable[object] = marker.args[:1]
    else:
        try:
            candidates = [request.getfixturevalue("app")]
        except pytest.FixtureLookupError:
            candidates = []
    for app in candidates:
        if isinstance(app, App):
            return app
        pytest.fail(f"the simulation fixture needs a durable.App, got {app!r}", pytrace=False)
    pytest.fail(
        "the simulation fixture needs an App: mark the test with @pytest.mark.durable_app(app) "
        "or define a fixture named `app` that returns it",
        pytrace=False,
    )
