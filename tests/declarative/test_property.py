"""Generated documents either run in simulation or are refused with path-bearing problems.

The generator builds documents of every kind, nested, from pieces that are
mostly right and sometimes wrong (bad durations, typos, banned functions,
references to steps that do not exist or come later, garbage values). The
validator must never raise: it returns problems, each at a path that exists
in the document. A valid document must run to an end in simulation, and a
failure must be one a document can cause, never an internal error.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from durable import RuntimeStatus
from durable.declarative import register_workflow, validate
from durable.testing import Simulation
from tests.declarative.helpers import START, make_app


def mostly(good: list[Any], bad: list[Any]) -> st.SearchStrategy[Any]:
    """Mostly one of `good`, sometimes one of `bad`."""
    return st.sampled_from(good * 12 + bad)


IDS = mostly([chr(code) for code in range(ord("a"), ord("t"))], ["Bad-Id", "a"])
ACTIVITIES = mostly(["work", "charge", "notify", "check"], ["nope"])
DURATIONS = mostly(["1s", "5m", "1h", "1d", "PT1M"], ["0s", "2 seconds", 30, "1:30"])
TEMPLATES = mostly(
    ["${ input }", "plain", 7, None, "${ $now() }", "${ $uuid() }", "text ${ input } more"],
    [
        {"x": "${ steps.a }"},
        "${ vars.v }",
        "${ $random() }",
        "${ input.( }",
        "${ item }",
        "${ result }",
        "${ $error('boom') }",
    ],
)
CONDITIONS = mostly(
    ["${ true }", "${ false }", "${ input = 1 }"],
    ["${ result = 'x' }", "${ 1 }", "yes", "${ event }"],
)
RETRIES = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "max_attempts": mostly([1, 2], [0]),
            "delay": DURATIONS,
            "jitter": mostly(["full", "none"], ["some"]),
        },
    ),
    mostly(["fast"], ["missing"]),
)
COMMON = {"if": CONDITIONS, "output": TEMPLATES, "status": TEMPLATES, "description": st.just("d")}
GARBAGE = st.dictionaries(
    st.sampled_from(["id", "cal", "call", "wait", "frob"]), st.integers(), max_size=3
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=5,
)


def _step(kind: dict[str, Any], optional: dict[str, Any] | None = None) -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries({"id": IDS, **kind}, optional={**COMMON, **(optional or {})})


def _leaf() -> st.SearchStrategy[Any]:
    retried = {"timeout": DURATIONS, "retry": RETRIES, "with": TEMPLATES}
    return st.one_of(
        _step(
            {"call": st.one_of(ACTIVITIES, st.lists(ACTIVITIES, min_size=1, max_size=3))}, retried
        ),
        _step({"run": mostly(["child"], ["chld"])}, retried),
        _step(
            {
                "http": st.fixed_dictionaries(
                    {"url": st.sampled_from(["https://x.example", "${ input }"])}
                )
            }
        ),
        _step({"wait": st.one_of(DURATIONS, st.just({"until": "2030-01-02T00:00:00Z"}))}),
        _step(
            {"receive": st.sampled_from(["Go", "on"]), "timeout": DURATIONS},
            {"accept": CONDITIONS, "on_timeout": TEMPLATES},
        ),
        _step(
            {"set": st.dictionaries(mostly(["v", "w"], ["Bad"]), TEMPLATES, min_size=1, max_size=2)}
        ),
        _step(
            {
                "fail": st.fixed_dictionaries(
                    {"error": mostly(["Oops"], ["bad name"])}, optional={"message": TEMPLATES}
                )
            }
        ),
        _step({"return": TEMPLATES}),
        _step(
            {
                "approval": st.fixed_dictionaries(
                    {
                        "request": st.just({"call": "work"}),
                        "event": st.just("Ok"),
                        "timeout": DURATIONS,
                    },
                    optional={
                        "escalate": st.lists(
                            st.fixed_dictionaries({"after": DURATIONS, "call": ACTIVITIES}),
                            max_size=2,
                        ),
                        "on_timeout": TEMPLATES,
                        "accept": CONDITIONS,
                    },
                )
            }
        ),
    )


def _any_step(children: st.SearchStrategy[Any] | None = None) -> st.SearchStrategy[Any]:
    leaf = _leaf()
    choices = {"step": leaf, "garbage": GARBAGE, "json": JSON}
    return st.sampled_from(["step"] * 28 + ["garbage", "json"]).flatmap(choices.__getitem__)


def _nested(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    body = st.lists(children, min_size=1, max_size=3)
    return st.one_of(
        _step(
            {
                "switch": st.lists(
                    st.fixed_dictionaries({"when": CONDITIONS, "do": body}), min_size=1, max_size=2
                )
            },
            {"default": body},
        ),
        _step(
            {"parallel": st.dictionaries(st.sampled_from(["x", "y"]), body, min_size=1)},
            {"join": st.sampled_from(["all", "any"])},
        ),
        _step(
            {"for_each": st.sampled_from(["${ [1, 2] }", [1, 2, 3], "${ input }"]), "do": body},
            {"max_parallel": mostly([1, 2], [0]), "on_error": st.sampled_from(["fail", "collect"])},
        ),
        _step(
            {
                "loop": st.fixed_dictionaries(
                    {"max_iterations": st.sampled_from([1, 2, 3])},
                    optional={
                        "every": DURATIONS,
                        "expires": DURATIONS,
                        "until": CONDITIONS,
                        "on_expiry": TEMPLATES,
                    },
                ),
                "do": body,
            }
        ),
        _step(
            {
                "try": body,
                "catch": st.lists(
                    st.fixed_dictionaries({"do": body}, optional={"errors": st.just(["Oops"])}),
                    min_size=1,
                    max_size=2,
                ),
            },
            {"finally": body, "compensate": st.dictionaries(IDS, body, min_size=1, max_size=1)},
        ),
    )


STEPS = st.recursive(_any_step(), _nested, max_leaves=8)
RAW_DOCUMENTS = st.fixed_dictionaries(
    {
        "durable": mostly([1], [2]),
        "name": mostly(["wf"], ["bad name"]),
        "version": mostly(["1"], [1.5]),
        "steps": st.lists(STEPS, min_size=1, max_size=4),
    },
    optional={
        "timeout": DURATIONS,
        "output": TEMPLATES,
        "retries": st.just({"fast": {"max_attempts": 2, "delay": "1s"}}),
        "defaults": st.fixed_dictionaries({}, optional={"retry": RETRIES, "timeout": DURATIONS}),
        "input": mostly([{"type": "integer"}], [{"type": "objekt"}]),
    },
)


def _renumbered(document: Any, counter: list[int]) -> Any:
    """The document with every step id made unique (ids in references are left alone)."""
    if isinstance(document, list):
        return [_renumbered(each, counter) for each in document]
    if not isinstance(document, dict):
        return document
    renamed = {key: _renumbered(value, counter) for key, value in document.items()}
    if isinstance(renamed.get("id"), str) and renamed["id"] != "Bad-Id":
        counter[0] += 1
        renamed["id"] = f"{renamed['id']}{counter[0]}"
    return renamed


DOCUMENTS = st.tuples(RAW_DOCUMENTS, st.booleans()).map(
    lambda pair: _renumbered(pair[0], [0]) if pair[1] else pair[0]
)
FAILURES = {
    "ExpressionError",
    "ValidationError",
    "Timeout",
    "Oops",
    "SubOrchestratorError",
    "HttpClientError",
    "HttpServerError",
}


def _resolves(document: Any, path: tuple[str | int, ...]) -> bool:
    node = document
    for part in path:
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if not (in_list or (isinstance(node, dict) and part in node)):
            return False
        node = node[part]
    return True


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DOCUMENTS)
def test_a_generated_document_runs_or_is_refused_with_path_bearing_problems(
    document: dict[str, Any],
) -> None:
    app = make_app()
    result = validate(document, app=app)
    if not result.ok:
        assert result.plan is None
        assert [
            p for p in result.problems if not p.message or not _resolves(document, p.path)
        ] == []
        return
    register_workflow(app, document)
    with Simulation(app, start=START, max_steps=20_000) as sim:
        sim.fake("durable.http_request", {"status": 200, "headers": {}, "body": "ok"})
        instance = sim.start("wf", 1, instance_id="generated")
        sim.run_until_idle()
        status = sim.status(instance)
    assert status.status in (RuntimeStatus.COMPLETED, RuntimeStatus.FAILED)
    if status.failure is not None:
        assert status.failure.type_name in FAILURES, status.failure
