"""The pytest plugin: fixtures, markers, golden histories and ``--durable-record``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from durable.testing import Simulation, assert_history
from tests.testing.workflows import approval_example

pytest_plugins = ["pytester"]

# Inner runs happen in this process with its modules restored after each; plugins
# that import much at the end of a session (hypothesis) would re-import it every time.
QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:anyio")

example = approval_example()

APP_MODULE = """
from datetime import timedelta
from durable import App

app = App()

@app.activity
def double(value: int) -> int:
    return value * 2

@app.orchestrator
def chain(ctx, value: int):
    first = yield ctx.call_activity(double, value)
    return (yield ctx.call_activity(double, first))
"""


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester directory holding the module `workflow` with an app and a chain."""
    pytester.makepyfile(workflow=APP_MODULE)
    pytester.syspathinsert()
    return pytester


def test_plugin_is_registered_under_the_name_durable(request: pytest.FixtureRequest) -> None:
    assert request.config.pluginmanager.has_plugin("durable")


def test_simulation_fixture_takes_the_app_from_the_marker(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import pytest
        from workflow import app

        @pytest.mark.durable_app(app)
        def test_chain(simulation):
            instance_id = simulation.start("chain", 2)
            simulation.run_until_idle()
            assert simulation.status(instance_id).output == 8
        """
    )
    inner.runpytest(*QUIET).assert_outcomes(passed=1)


def test_simulation_fixture_takes_the_app_from_an_app_fixture(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import pytest
        import workflow

        @pytest.fixture
        def app():
            return workflow.app

        def test_chain(simulation):
            instance_id = simulation.start("chain", 1)
            simulation.run_until_idle()
            assert simulation.status(instance_id).output == 4
        """
    )
    inner.runpytest(*QUIET).assert_outcomes(passed=1)


def test_simulation_fixture_without_an_app_says_how_to_give_one(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        def test_needs_app(simulation):
            pass
        """
    )
    result = inner.runpytest(*QUIET)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*mark the test with @pytest.mark.durable_app(app)*"])


def test_simulation_fixture_refuses_an_app_that_is_not_a_durable_app(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(
        """
        import pytest

        @pytest.mark.durable_app("flask app")
        def test_wrong_app(simulation):
            pass
        """
    )
    result = inner.runpytest(*QUIET)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*needs a durable.App, got 'flask app'*"])


def test_durable_seeds_marker_names_each_run_by_its_seed(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import pytest
        from workflow import app

        pytestmark = pytest.mark.durable_app(app)

        @pytest.mark.durable_seeds(3)
        def test_seeded(simulation, durable_seed):
            assert simulation.seed == durable_seed != 1
        """
    )
    result = inner.runpytest("-v", *QUIET)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_seeded?seed=0? PASSED*",
            "*test_seeded?seed=1? FAILED*",
            "*test_seeded?seed=2? PASSED*",
        ]
    )


def test_simulations_from_the_factory_are_closed_after_the_test(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import time
        from workflow import app

        made = []

        def test_makes_two(simulation_factory):
            made.extend([simulation_factory(app, seed=1), simulation_factory(app, seed=2)])
            assert [s.seed for s in made] == [1, 2]

        def test_they_are_closed():
            assert [s.closed for s in made] == [True, True]
            assert time.time.__module__ == "time"
        """
    )
    inner.runpytest(*QUIET).assert_outcomes(passed=2)


GOLDEN_TEST = """
import pytest
from workflow import app

@pytest.mark.durable_app(app)
def test_chain_history(simulation, golden_history):
    instance_id = simulation.start("chain", VALUE, instance_id="chain-1")
    simulation.run_until_idle()
    golden_history(simulation, instance_id, "golden/chain.json")
"""


def test_durable_record_writes_golden_files_and_later_runs_compare(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_golden=GOLDEN_TEST.replace("VALUE", "3"))
    missing = inner.runpytest(*QUIET)
    missing.assert_outcomes(failed=1)
    missing.stdout.fnmatch_lines(["*golden history *chain.json does not exist; run pytest with*"])

    inner.runpytest(*QUIET, "--durable-record").assert_outcomes(passed=1)
    recorded = json.loads((inner.path / "golden" / "chain.json").read_text())
    inner.runpytest(*QUIET).assert_outcomes(passed=1)

    inner.makepyfile(test_golden=GOLDEN_TEST.replace("VALUE", "4"))
    changed = inner.runpytest(*QUIET)
    changed.assert_outcomes(failed=1)
    changed.stdout.fnmatch_lines(
        [
            "*history of instance 'chain-1' differs from *chain.json: event 1 "
            "(ExecutionStarted) has input 4, the file has 3; *--durable-record*"
        ]
    )
    assert (recorded["orchestrator"], len(recorded["events"])) == ("chain", 9)


def test_approval_history_matches_its_golden_file(golden_history: object) -> None:
    with Simulation(example.app, seed=0) as simulation:
        instance_id = example.scenario(simulation)
        golden_history(simulation, instance_id, "golden/approval.json")  # type: ignore[operator]


def test_assert_history_leaves_tracebacks_out_of_files_and_comparisons(tmp_path: Path) -> None:
    with Simulation(example.app) as simulation:
        simulation.fake("request_approval", RuntimeError("mail server down"))
        instance_id = simulation.start(example.approval, {"id": 1})
        simulation.run_until_idle()
        path = tmp_path / "failed.json"
        assert_history(simulation, instance_id, path, record=True)
        assert_history(simulation, instance_id, path)
    failures = [
        event["failure"] for event in json.loads(path.read_text())["events"] if "failure" in event
    ]
    assert [sorted(failure) for failure in failures] == [
        ["base_type_names", "message", "non_retryable", "type_name"]
    ] * 2


def test_assert_history_reports_a_history_that_ends_early(tmp_path: Path) -> None:
    with Simulation(example.app) as simulation:
        instance_id = simulation.start(example.approval, {"id": 1}, instance_id="a")
        simulation.advance(__import__("datetime").timedelta(days=2))
        path = tmp_path / "two-days.json"
        assert_history(simulation, instance_id, path, record=True)
        simulation.advance(__import__("datetime").timedelta(days=1))
        with pytest.raises(AssertionError, match=r"event \d+ .* is not in the file"):
            assert_history(simulation, instance_id, path)
