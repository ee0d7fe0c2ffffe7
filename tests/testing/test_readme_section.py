"""The README's "Testing your workflows" example is test_readme_example.py, verbatim."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (Path(__file__).parent / "test_readme_example.py").read_text()
HEADING = "## Testing your workflows"


def python_blocks(text: str) -> list[str]:
    section = text[text.index(HEADING) :]
    following = re.search(r"^## ", section[len(HEADING) :], re.MULTILINE)
    if following:
        section = section[: len(HEADING) + following.start()]
    return re.findall(r"^```python\n(.*?)^```", section, re.MULTILINE | re.DOTALL)


def test_readme_testing_section_shows_the_example_that_runs_as_a_test() -> None:
    text = (ROOT / "README.md").read_text()
    assert HEADING in text
    assert python_blocks(text) == [EXAMPLE]
