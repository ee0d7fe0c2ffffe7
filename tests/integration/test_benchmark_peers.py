"""The peer runner of `make bench`, driven with stand-in peer scripts: no peer is installed.

The real peers (DBOS, durabletask, Temporal) run only under `make bench`;
these tests check what the runner does around them: fresh processes per run,
rows folded from the runs, failures and overruns recorded instead of raised,
environments reused by their stamp, the ratios against the targets, and the
section appended to the results file.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(autouse=True)
def _benchmarks_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Put benchmarks/ on sys.path, as running benchmarks/run.py does."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))


def _module(name: str) -> ModuleType:
    """A module of the benchmarks' ``peers`` package."""
    return importlib.import_module(f"peers.{name}")


def _stand_in(tmp_path: Path, body: str) -> Any:
    """A Peer whose script is ``body``, run by this interpreter."""
    script = tmp_path / "stand_in_peer.py"
    script.write_text(textwrap.dedent(body))
    catalog = _module("catalog")
    return catalog.Peer(
        name="stand-in",
        title="Stand-in",
        requirements=("stand-in>=1",),
        distributions=(),
        script=script,
        durable=False,
    )


COUNTING_SCRIPT = """
    import json, sys
    from pathlib import Path

    counter = Path(__file__).with_name("runs")
    runs = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(runs))
    workload, size = sys.argv[1:]
    print("noise before the figures")
    print(json.dumps({
        "seconds": 1.0, "per_second": 100.0 + runs, "peak_rss_mib": 10.0 * runs,
        "backend": f"stand-in store, {workload} {size}",
        "server_cpu_seconds": float(runs), "server_peak_rss_mib": 50.0 + runs,
    }))
"""


def test_each_run_is_a_fresh_process_and_the_runs_fold_into_one_row(tmp_path: Path) -> None:
    peer = _stand_in(tmp_path, COUNTING_SCRIPT)
    runner = _module("runner")

    row = runner.measure(peer, Path(sys.executable), "fanout", 7, runs=3)

    assert row.failure is None
    assert row.values == (101.0, 102.0, 103.0)
    assert row.median == 102.0
    assert row.peak_rss_mib == 30.0
    assert row.server_cpu_seconds == (1.0, 2.0, 3.0)
    assert row.server_peak_rss_mib == 53.0
    assert (row.workload, row.size, row.system, row.unit) == (
        "fanout",
        7,
        "Stand-in",
        "activities/s",
    )
    assert row.storage == "stand-in store, fanout 7"
    assert _module("tables").peer_row(row) == (
        "| fanout 7 | Stand-in | stand-in store, fanout 7 | no | 102.0 activities/s | 101.0 "
        "| 103.0 | 30 | 2.0 | 53 |"
    )


def test_a_failing_peer_script_gives_a_row_that_says_why(tmp_path: Path) -> None:
    peer = _stand_in(
        tmp_path,
        """
        import sys
        print("starting", file=sys.stderr)
        print("ERROR: the peer | broke", file=sys.stderr)
        sys.exit(3)
        """,
    )

    row = _module("runner").measure(peer, Path(sys.executable), "seq", 5, runs=3)

    assert row.values == ()
    assert row.failure == "stand_in_peer.py seq 5 exited with 3: ERROR: the peer | broke"
    assert "not measured: stand_in_peer.py seq 5 exited with 3: ERROR: the peer / broke" in (
        _module("tables").peer_row(row)
    )


def test_an_overrunning_script_is_killed_with_the_server_it_started(tmp_path: Path) -> None:
    server_pid_file = tmp_path / "server.pid"
    peer = _stand_in(
        tmp_path,
        f"""
        import subprocess, sys, time
        server = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(120)"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        open({str(server_pid_file)!r}, "w").write(str(server.pid))
        time.sleep(120)
        """,
    )

    row = _module("runner").measure(peer, Path(sys.executable), "throughput", 5, 1, timeout=3)

    assert row.failure == "stand_in_peer.py throughput 5 took over 3 s"
    server_pid = int(server_pid_file.read_text())
    deadline = time.monotonic() + 10
    while _alive(server_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(server_pid)


def _alive(pid: int) -> bool:
    """True while the process exists and is not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    if state == "Z":
        return False
    os.kill(pid, 0)
    return True


def test_a_peer_that_cannot_be_installed_gives_rows_that_say_why(tmp_path: Path) -> None:
    peer = _stand_in(tmp_path, COUNTING_SCRIPT)
    not_a_folder = tmp_path / "venvs"
    not_a_folder.write_text("a file where the environments should go")

    planned, results = _module("runner").peer_series(
        (peer,), ["seq", "ceiling", "throughput"], 1, root=not_a_folder
    )

    assert planned == []
    assert [(row.workload, row.size) for row in results.measurements] == [
        ("seq", 1000),
        ("throughput", 1000),
    ]
    assert all(row.failure.startswith("Stand-in: cannot create ") for row in results.measurements)
    assert results.versions["Stand-in"].startswith("not installed: Stand-in: cannot create ")
    assert not (tmp_path / "runs").exists()


def _series(workload: str, system: str, storage: str, runs: int, log: list[str]) -> Any:
    """A Series whose runs append their name to ``log``; a run of ``broken`` fails."""
    rounds = importlib.import_module("rounds")

    def run_once() -> dict[str, float]:
        log.append(f"{workload} {system}")
        if system == "broken":
            raise _module("measurement").RunFailedError(f"{workload} broke")
        return {"per_second": float(len(log)), "peak_rss_mib": 1.0}

    return rounds.Series(
        workload=workload,
        size=1000,
        system=system,
        storage=storage,
        figure="per_second",
        unit="steps/s",
        runs=runs,
        run_once=run_once,
    )


def test_rounds_take_one_run_of_every_series_per_round_and_a_failure_ends_its_series() -> None:
    log: list[str] = []
    three = _series("seq", "durable", "sqlite", 3, log)
    two = _series("seq", "Peer", "-", 2, log)
    broken = _series("fanout", "broken", "-", 3, log)

    importlib.import_module("rounds").run_in_rounds([three, two, broken])

    assert log == [
        "seq durable", "seq Peer", "fanout broken",
        "seq durable", "seq Peer",
        "seq durable",
    ]  # fmt: skip
    assert three.result().values == (1.0, 4.0, 6.0)
    assert two.result().values == (2.0, 5.0)
    assert broken.result().values == ()
    assert broken.result().failure == "fanout broke"


def test_each_round_runs_a_peer_right_after_durable_on_sqlite_and_the_ceiling_before_seq(
    tmp_path: Path,
) -> None:
    log: list[str] = []
    run = importlib.import_module("run")
    ours = [
        _series("seq", "durable", "memory", 1, log),
        _series("ceiling", "durable", "sqlite", 1, log),
        _series("seq", "durable", "sqlite", 1, log),
        _series("seq", "durable", "sqlite", 1, log),
        _series("fanout", "durable", "sqlite", 1, log),
    ]
    theirs = [
        _series("seq", "DBOS", "-", 1, log),
        _series("fanout", "DBOS", "-", 1, log),
        _series("seq", "Temporal", "-", 1, log),
        _series("throughput", "Temporal", "-", 1, log),
    ]

    order = run.side_by_side(ours, theirs)

    assert order == [ours[0], ours[1], ours[2], theirs[0], theirs[2], ours[3], ours[4],
                     theirs[1], theirs[3]]  # fmt: skip
    assert [(row[0], row[1]) for row in run.PLAN[2:4]] == [("ceiling", "sqlite"), ("seq", "sqlite")]


def test_an_environment_whose_stamp_matches_is_reused_without_pip(tmp_path: Path) -> None:
    peer = _stand_in(tmp_path, COUNTING_SCRIPT)
    environment = tmp_path / "venvs" / "stand-in"
    environment.mkdir(parents=True)
    (environment / "pyvenv.cfg").write_text("home = /nowhere\n")
    (environment / ".durable-bench-requirements").write_text("stand-in>=1\n")

    python = _module("environments").prepare(peer, tmp_path / "venvs")

    assert python == environment / "bin" / "python"
    assert sorted(path.name for path in environment.iterdir()) == [
        ".durable-bench-requirements",
        "pyvenv.cfg",
    ]


def _row(
    workload: str, system: str, storage: str, *values: float, failure: str | None = None
) -> Any:
    """A Measurement at size 1,000 (the module is loaded at run time, hence Any)."""
    return _module("measurement").Measurement(
        workload=workload,
        size=1000,
        system=system,
        storage=storage,
        unit="steps/s",
        values=values,
        peak_rss_mib=40.0,
        failure=failure,
    )


def test_the_ratios_compare_durable_on_sqlite_with_the_best_measured_peer() -> None:
    ours = [
        _row("seq", "durable", "memory", 5000.0),
        _row("seq", "durable", "sqlite", 1200.0, 1000.0, 900.0),
        _row("fanout", "durable", "sqlite", 800.0),
        _row("throughput", "durable", "sqlite", 700.0),
    ]
    theirs = [
        _row("seq", "DBOS Transact", "SQLite", 200.0),
        _row("seq", "Temporal", "memory", 250.0),
        _row("seq", "durabletask", "-", failure="it broke"),
        _row("fanout", "durabletask", "memory", 400.0),
        _row("throughput", "Temporal", "-", failure="it broke"),
    ]

    table = _module("tables").ratio_table(ours, theirs)

    # Temporal ran one round: durable's median is over its first round alone.
    assert table.splitlines()[2:] == [
        "| seq 1,000 | 1,200.0 steps/s | Temporal, 250.0 | 4.80x | 5x | no |",
        "| fanout 1,000 | 800.0 steps/s | durabletask, 400.0 | 2.00x | 4x | no |",
        "| throughput 1,000 | 700.0 steps/s | no peer measured | - | 7x | - |",
    ]


def test_durables_own_targets_are_checked_against_the_medians_of_the_run() -> None:
    measurement = _module("measurement")

    def row(workload: str, storage: str, size: int, median: float, rss: float = 40.0) -> Any:
        return measurement.Measurement(
            workload=workload,
            size=size,
            system="durable",
            storage=storage,
            unit="-",
            values=(median,),
            peak_rss_mib=rss,
        )

    ours = [
        row("ceiling", "sqlite", 2000, 4000.0),
        row("seq", "sqlite", 1000, 2500.0),
        row("seq", "sqlite", 10000, 2000.0),
        row("replay", "sqlite", 10000, 5.5),
        row("fanout", "sqlite", 10000, 3000.0, rss=151.0),
        row("simulate", "memory", 5, 20.0),
    ]

    table = importlib.import_module("own_targets").own_target_table(ours)

    assert table.splitlines()[2:] == [
        "| seq 1,000 on SQLite / raw commit ceiling | 62% (2,500 of 4,000 commits/s) "
        "| at least 50% | yes |",
        "| seq 10,000 / seq 1,000 on SQLite, time | 12.5 | at most 12 | no |",
        "| replay 10,000, per history event | 5.5 us/event | at most 5 us | no |",
        "| fanout 10,000 on SQLite, peak RSS | 151 MiB | under 150 MiB | no |",
        "| simulate, wall time | 20.0 ms | under 100 ms | yes |",
    ]
    assert importlib.import_module("own_targets").own_target_table(ours[1:2]) == ""


def test_the_results_file_gets_durable_table_and_no_peer_section_without_peers(
    tmp_path: Path,
) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text("# Earlier results\n")
    completed = subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "run.py"),
            "throughput",
            "--quick",
            "--runs",
            "1",
            "--no-peers",
            "--results",
            str(results),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )

    assert completed.returncode == 0, completed.stderr
    text = results.read_text()
    assert text.startswith("# Earlier results\n\n## ")
    assert "| throughput 10 | sqlite |" in text
    assert "Peers, in the same run" not in text


def test_the_peer_section_names_versions_storage_failures_and_ratios() -> None:
    measurement = _module("measurement")
    results = measurement.PeerResults(
        measurements=[
            _row("seq", "DBOS Transact", "SQLite (journal_mode=delete)", 300.0, 280.0),
            _row("seq", "durabletask", "-", failure="durabletask_peer.py seq 1000 exited with 1"),
        ],
        versions={"DBOS Transact": "dbos 3.4.0", "durabletask": "not installed: no network"},
    )
    ours = [_row("seq", "durable", "sqlite", 1500.0)]

    section = _module("tables").peer_section(results, 2, ours).splitlines()

    assert section[0].startswith("Peers, in the same run: 2 runs per row, ")
    assert (
        "versions: DBOS Transact: dbos 3.4.0; durabletask: not installed: no network."
        in (section[0])
    )
    assert "and throughput at 1,000 only (not seq 10,000" in section[0]
    assert section[4:6] == [
        "| seq 1,000 | DBOS Transact | SQLite (journal_mode=delete) | yes | 290.0 steps/s "
        "| 280.0 | 300.0 | 40 | - | - |",
        "| seq 1,000 | durabletask | - | - | not measured: durabletask_peer.py seq 1000 exited "
        "with 1 | - | - | - | - | - |",
    ]
    assert (
        section[-1] == "| seq 1,000 | 1,500.0 steps/s | DBOS Transact, 290.0 | 5.17x | 5x | yes |"
    )
