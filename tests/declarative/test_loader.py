"""Loading YAML (1.2 core schema) and JSON with the position of every node."""

from __future__ import annotations

import pytest

from durable.declarative.loader import SourceMap, load_text
from durable.declarative.problems import Problem


def test_yaml_1_1_surprises_stay_strings_and_numbers_are_yaml_1_2() -> None:
    loaded = load_text(
        "a: on\nb: no\nc: yes\nd: 1:30\ne: 2024-01-01\nf: 010\ng: 0o10\nh: 0x1f\n"
        "i: 1.5\nj: ~\nk: TRUE\n"
    )
    assert (loaded.data, loaded.problems) == (
        {
            "a": "on",
            "b": "no",
            "c": "yes",
            "d": "1:30",
            "e": "2024-01-01",
            "f": 10,
            "g": 8,
            "h": 31,
            "i": 1.5,
            "j": None,
            "k": True,
        },
        [],
    )


def test_positions_of_values_and_keys_are_one_based() -> None:
    loaded = load_text("steps:\n  - id: a\n    retry: {delay: 2s}\n")
    assert loaded.source_map == SourceMap(
        values={
            (): (1, 1),
            ("steps",): (2, 3),
            ("steps", 0): (2, 5),
            ("steps", 0, "id"): (2, 9),
            ("steps", 0, "retry"): (3, 12),
            ("steps", 0, "retry", "delay"): (3, 20),
        },
        keys={
            ("steps",): (1, 1),
            ("steps", 0, "id"): (2, 5),
            ("steps", 0, "retry"): (3, 5),
            ("steps", 0, "retry", "delay"): (3, 13),
        },
    )


def test_source_map_falls_back_to_the_nearest_known_ancestor() -> None:
    source_map = load_text("a:\n  b: 1\n").source_map
    assert source_map.value_at(("a", "b", "c", 0)) == (2, 6)
    assert source_map.key_at(("a", "zz")) == (2, 3)
    assert SourceMap().value_at(("x",)) == (0, 0)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "a: 1\na: 2\n",
            Problem(
                file="<document>",
                line=2,
                column=1,
                path=("a",),
                message="duplicate key 'a' (the first is at line 1)",
                hint="YAML keeps only the last value; remove one",
            ),
        ),
        (
            "a: .nan\n",
            Problem(
                file="<document>",
                line=1,
                column=4,
                path=("a",),
                message=".nan is not a JSON number",
                hint="quote it if it is text",
            ),
        ),
        (
            "a: !!python/none x\n",
            Problem(
                file="<document>",
                line=1,
                column=4,
                path=("a",),
                message="unsupported YAML tag 'tag:yaml.org,2002:python/none'",
                hint="remove the tag",
            ),
        ),
        (
            "a: {<<: {b: 1}}\n",
            Problem(
                file="<document>",
                line=1,
                column=5,
                path=("a", "<<"),
                message="YAML merge keys (<<) are not supported",
                hint="write the fields out",
            ),
        ),
        (
            "? [a]\n: 1\n",
            Problem(
                file="<document>",
                line=1,
                column=3,
                path=(),
                message="mapping keys must be plain strings, not lists or mappings",
            ),
        ),
    ],
)
def test_yaml_that_hides_mistakes_is_reported(text: str, problem: Problem) -> None:
    assert load_text(text).problems == [problem]


def test_an_empty_document_is_a_problem() -> None:
    assert [each.message for each in load_text("# nothing\n").problems] == ["the document is empty"]


def test_json_is_read_by_the_standard_library_with_yaml_positions() -> None:
    loaded = load_text('{"a": 1,\n "b": [true, null]}', json_text=True)
    assert (loaded.data, loaded.problems) == ({"a": 1, "b": [True, None]}, [])
    assert loaded.source_map.value_at(("b", 1)) == (2, 14)


def test_json_errors_say_where() -> None:
    assert load_text('{"a": 1,\n "b": [1 2]}', json_text=True, file="wf.json").problems == [
        Problem(
            file="wf.json",
            line=2,
            column=10,
            path=(),
            message="not valid JSON: Expecting ',' delimiter",
        )
    ]


def test_json_duplicate_keys_are_reported() -> None:
    problems = load_text('{"a": 1, "a": 2}', json_text=True).problems
    assert [each.message for each in problems] == ["duplicate key 'a' (the first is at line 1)"]


def test_the_pure_python_loader_gives_the_same_result_as_libyaml(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from durable.declarative import loader

    text = "a: on\nb: [1, {c: 1:30}]\nd: !!str 12\ne: 1\ne: 2\n"
    fast = load_text(text)
    monkeypatch.setattr(loader, "_FastLoader", loader._Loader)
    assert load_text(text) == fast
