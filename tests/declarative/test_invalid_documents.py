"""Every document in invalid/ is refused with exactly the problems its header expects.

Each file starts with one ``# expect: <dotted path> | <message fragment>`` line
per problem. The test checks that validation (against an app with the
standard activities and a ``child`` workflow) reports problems at exactly
those paths, each containing its fragment in ``file:line:col: path: message
(hint)`` form, with a real line and column wherever the document loaded.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from durable.declarative import KINDS, validate
from tests.declarative.helpers import make_app

FOLDER = Path(__file__).parent / "invalid"
FILES = sorted(FOLDER.glob("*.yaml"))
CATEGORIES = (
    "kind",
    "duration",
    "retry",
    "reference",
    "expression",
    "yaml",
    "two_kinds",
    "unknown_kind",
)


def _expectations(path: Path) -> list[tuple[str, str]]:
    found = []
    for line in path.read_text().splitlines():
        if line.startswith("# expect: "):
            where, _, fragment = line.removeprefix("# expect: ").partition(" | ")
            found.append((where.strip(), fragment.strip()))
    return found


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.stem)
def test_invalid_document_reports_exactly_its_expected_problems(path: Path) -> None:
    result = validate(path, app=make_app())
    expected = _expectations(path)
    assert result.plan is None
    assert sorted({problem.dotted_path for problem in result.problems}) == sorted(
        {where for where, _ in expected}
    )
    for where, fragment in expected:
        lines = [problem.format() for problem in result.problems if problem.dotted_path == where]
        assert any(fragment in line for line in lines), (fragment, lines)
    assert all(problem.line > 0 and problem.column > 0 for problem in result.problems)


def test_invalid_documents_are_at_least_thirty_and_each_names_its_expectations() -> None:
    assert len(FILES) >= 30
    assert all(_expectations(path) for path in FILES)


def test_invalid_documents_cover_every_category_and_every_kind() -> None:
    stems = [path.stem for path in FILES]
    assert [each for each in CATEGORIES if not any(stem.startswith(each) for stem in stems)] == []
    assert [kind for kind in KINDS if not any(s.startswith(f"kind_{kind}_") for s in stems)] == []
