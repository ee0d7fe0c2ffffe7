"""`durable validate`, `durable run` and `durable schema`, run as subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / "examples" / "workflows"


def durable(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "durable.cli", *arguments],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        timeout=120,
    )


def test_validate_exits_0_for_the_example_documents(tmp_path: Path) -> None:
    documents = sorted(str(path) for path in WORKFLOWS.glob("*.yaml"))
    result = durable("validate", *documents, cwd=tmp_path)
    assert (result.returncode, result.stderr.strip()) == (0, "5 documents valid")


def test_validate_exits_1_naming_file_line_column_and_path(tmp_path: Path) -> None:
    document = tmp_path / "wf.yaml"
    document.write_text(
        "durable: 1\nname: broken\nversion: '1'\nsteps:\n"
        "  - id: first\n    call: work\n    retry: {max_attempt: 3}\n"
    )
    result = durable("validate", str(document), cwd=tmp_path)
    assert result.returncode == 1
    assert f"{document}:7:" in result.stdout
    assert "steps[0].retry.max_attempt: unknown field 'max_attempt'" in result.stdout
    assert "did you mean 'max_attempts'?" in result.stdout


def test_schema_prints_the_versioned_json_schema(tmp_path: Path) -> None:
    result = durable("schema", cwd=tmp_path)
    assert result.returncode == 0
    assert json.loads(result.stdout)["$id"] == "urn:durable:workflow:v1"


def test_run_simulated_prints_the_outcome_and_exits_0(tmp_path: Path) -> None:
    result = durable(
        "run",
        str(WORKFLOWS / "chaining.yaml"),
        "--simulate",
        "--fakes",
        str(WORKFLOWS / "fakes" / "chaining.yaml"),
        "--input",
        '{"to": "lisbon", "card": "4000"}',
        "--format",
        "json",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "COMPLETED"


def test_run_with_fakes_but_without_simulate_is_a_usage_error(tmp_path: Path) -> None:
    result = durable("run", str(WORKFLOWS / "chaining.yaml"), "--fakes", "fakes.yaml", cwd=tmp_path)
    assert (result.returncode, result.stderr.strip()) == (
        2,
        "durable run: --fakes goes with --simulate",
    )
