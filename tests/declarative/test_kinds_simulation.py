"""Every step kind in simulation: outputs, custom status, activity calls and their virtual times."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from durable import RuntimeStatus
from durable.declarative import register_workflow
from durable.history import TimerCreated
from tests.declarative.helpers import START, at, calls, document, make_app, simulation, timers


class PaymentError(Exception):
    """A base class the documents catch by name."""


class PaymentDeclined(PaymentError):  # noqa: N818 - named as a payment gateway would
    """A subclass an activity raises."""


def run(text: str, input: Any = None, *, setup: Any = None, events: Any = ()) -> Any:
    """Register the document, run it to the end; return (simulation, instance id)."""
    app = make_app()
    register_workflow(app, document(text))
    sim = simulation(app)
    if setup is not None:
        setup(sim)
    instance = sim.start("wf", input, instance_id="wf-1")
    for name, data, delay in events:
        sim.raise_event(instance, name, data, at=delay)
    sim.run_until_idle()
    return sim, instance


# -- call --------------------------------------------------------------------------------------


def test_call_passes_its_with_and_records_the_result_under_its_id() -> None:
    sim, wf = run(
        """
        steps:
          - id: first
            call: work
            with: {amount: "${ input.amount }"}
            status: {stage: working}
            output: "${ result.input.amount * 2 }"
        output: {doubled: "${ steps.first }"}
        """,
        {"amount": 21},
    )
    status = sim.status(wf)
    assert (status.output, status.custom_status) == ({"doubled": 42}, {"stage": "working"})
    assert calls(sim, wf) == [("work", {"amount": 21}, START)]


def test_call_chain_passes_each_output_to_the_next_activity() -> None:
    sim, wf = run(
        """
        steps:
          - id: chain
            call: [work, charge, notify]
            with: start
        """
    )
    first = {"activity": "work", "input": "start"}
    second = {"activity": "charge", "input": first}
    assert calls(sim, wf) == [
        ("work", "start", START),
        ("charge", first, START),
        ("notify", second, START),
    ]
    assert sim.status(wf).output == {"activity": "notify", "input": second}


def test_call_retries_on_durable_timers_with_backoff() -> None:
    def setup(sim: Any) -> None:
        sim.fail("charge", times=2, error=ConnectionError("gateway down"))

    sim, wf = run(
        """
        steps:
          - id: pay
            call: charge
            retry: {max_attempts: 3, delay: 10s, backoff: 3}
        """,
        setup=setup,
    )
    assert [(name, when) for name, _, when in calls(sim, wf)] == [
        ("charge", START),
        ("charge", at(seconds=10)),
        ("charge", at(seconds=40)),
    ]
    assert sim.status(wf).status is RuntimeStatus.COMPLETED


def test_call_without_retry_left_is_failed_with_the_activity_error() -> None:
    def setup(sim: Any) -> None:
        sim.fail("charge", times=5, error=ConnectionError("gateway down"))

    sim, wf = run(
        """
        retries:
          twice: {max_attempts: 2, delay: 1m}
        steps:
          - id: pay
            call: charge
            retry: twice
        """,
        setup=setup,
    )
    status = sim.status(wf)
    assert status.status is RuntimeStatus.FAILED
    assert status.failure is not None
    assert status.failure.message == "activity 'charge' failed with ConnectionError: gateway down"
    assert [when for _, _, when in calls(sim, wf)] == [START, at(minutes=1)]


def test_call_timeout_races_each_attempt_against_a_timer() -> None:
    def setup(sim: Any) -> None:
        sim.delay("work", timedelta(minutes=10))

    sim, wf = run(
        """
        steps:
          - id: slow
            try:
              - id: attempt
                call: work
                timeout: 5m
            catch:
              - errors: [Timeout]
                as: problem
                do:
                  - id: handled
                    return: "${ problem.type & ': ' & problem.message }"
        """,
        setup=setup,
    )
    assert sim.status(wf).output == "Timeout: step 'attempt': did not finish within 5m"
    assert timers(sim.history(wf)) == [at(minutes=5)]


# -- http --------------------------------------------------------------------------------------


def _answers(*answers: Any) -> Any:
    def setup(sim: Any) -> None:
        sim.fake("durable.http_request", sequence=list(answers))

    return setup


def test_http_returns_status_headers_and_a_parsed_json_body() -> None:
    answer = {"status": 200, "headers": {"Content-Type": "application/json"}, "body": '{"a": 1}'}
    sim, wf = run(
        """
        steps:
          - id: fetch
            http:
              method: POST
              url: "${ 'https://api.example/' & input }"
              body: {q: 1}
        """,
        "items",
        setup=_answers(answer),
    )
    assert sim.status(wf).output == {
        "status": 200,
        "headers": {"content-type": "application/json"},
        "body": {"a": 1},
    }
    assert calls(sim, wf) == [
        (
            "durable.http_request",
            {
                "url": "https://api.example/items",
                "method": "POST",
                "headers": {"Content-Type": "application/json"},
                "body": '{"q":1}',
            },
            START,
        )
    ]


def test_http_async_polls_the_location_honouring_retry_after() -> None:
    accepted = {"status": 202, "headers": {"Location": "/jobs/1"}, "body": ""}
    later = {"status": 202, "headers": {"Location": "/jobs/1", "Retry-After": "60"}, "body": ""}
    done = {"status": 200, "headers": {}, "body": "ready"}
    sim, wf = run(
        """
        steps:
          - id: job
            http:
              url: https://api.example/start
              async: {poll_every: 10s, timeout: 1h}
        """,
        setup=_answers(accepted, later, done),
    )
    assert [(each[1]["url"], each[2]) for each in calls(sim, wf)] == [
        ("https://api.example/start", START),
        ("https://api.example/jobs/1", at(seconds=10)),
        ("https://api.example/jobs/1", at(seconds=70)),
    ]
    assert sim.status(wf).output == {"status": 200, "headers": {}, "body": "ready"}


def test_http_async_past_its_timeout_fails_with_timeout() -> None:
    accepted = {"status": 202, "headers": {"Location": "/jobs/1"}, "body": ""}
    sim, wf = run(
        """
        steps:
          - id: job
            http:
              url: https://api.example/start
              async: {poll_every: 20s, timeout: 30s}
        """,
        setup=_answers(accepted, accepted, accepted),
    )
    failure = sim.status(wf).failure
    assert failure is not None
    assert (failure.type_name, failure.message) == (
        "Timeout",
        "step 'job': https://api.example/jobs/1 still answered 202 Accepted after 30s (2 polls)",
    )
    assert [when for _, _, when in calls(sim, wf)] == [START, at(seconds=20), at(seconds=30)]


def test_http_server_errors_are_retried_and_client_errors_are_not() -> None:
    broken = {"status": 503, "headers": {}, "body": "busy"}
    missing = {"status": 404, "headers": {}, "body": "no such job"}
    sim, wf = run(
        """
        steps:
          - id: job
            http: {url: https://api.example/job}
            retry: {max_attempts: 5, delay: 1s}
        """,
        setup=_answers(broken, missing, broken),
    )
    failure = sim.status(wf).failure
    assert failure is not None
    assert (failure.type_name, failure.message) == (
        "HttpClientError",
        "step 'job': GET https://api.example/job answered 404: no such job",
    )
    assert [when for _, _, when in calls(sim, wf)] == [START, at(seconds=1)]


@pytest.mark.parametrize("polled", [False, True])
def test_http_an_activity_answer_that_is_not_a_response_fails_as_a_server_error(
    polled: bool,
) -> None:
    accepted = {"status": 202, "headers": {"Location": "/jobs/1"}, "body": ""}
    polling = "\n              async: {poll_every: 10s, timeout: 1h}" if polled else ""
    sim, wf = run(
        f"""
        steps:
          - id: job
            http:
              url: https://api.example/start{polling}
        """,
        setup=_answers(*([accepted] if polled else []), "no answer"),
    )
    failure = sim.status(wf).failure
    assert failure is not None
    assert (failure.type_name, failure.message) == (
        "HttpServerError",
        "step 'job': the HTTP activity's answer is not usable: not an HTTP response: 'no answer'",
    )
    assert len(calls(sim, wf)) == (2 if polled else 1)


# -- run ---------------------------------------------------------------------------------------


def test_run_starts_a_sub_workflow_with_a_deterministic_or_given_id() -> None:
    sim, wf = run(
        """
        steps:
          - id: first
            run: child
            with: "${ input }"
          - id: second
            run: child
            with: 2
            instance_id: "${ instance.id & '-second' }"
        output: ["${ steps.first }", "${ steps.second }"]
        """,
        1,
    )
    assert sim.status(wf).output == [{"child": 1}, {"child": 2}]
    assert sim.status("wf-1:0").status is RuntimeStatus.COMPLETED
    assert sim.status("wf-1-second").output == {"child": 2}


# -- wait --------------------------------------------------------------------------------------


def test_wait_sleeps_for_a_duration_or_until_a_time() -> None:
    sim, wf = run(
        """
        steps:
          - id: nap
            wait: 1h30m
          - id: ping
            call: work
          - id: until_noon
            wait: {until: "2030-01-01T12:00:00Z"}
          - id: pong
            call: work
        """
    )
    assert [when for _, _, when in calls(sim, wf)] == [at(hours=1, minutes=30), at(hours=12)]


# -- receive -----------------------------------------------------------------------------------


RECEIVE = """
steps:
  - id: answer
    receive: Decision
    timeout: 2d
    accept: "${ event.by = input.boss }"
    {on_timeout}
"""


def test_receive_takes_the_first_accepted_event_and_ignores_others() -> None:
    sim, wf = run(
        RECEIVE.replace("{on_timeout}", ""),
        {"boss": "ann"},
        events=[
            ("Decision", {"by": "bob", "ok": True}, timedelta(hours=1)),
            ("Decision", {"by": "ann", "ok": False}, timedelta(hours=5)),
        ],
    )
    status = sim.status(wf)
    assert status.output == {"by": "ann", "ok": False}
    assert status.completed_at == at(hours=5)


def test_receive_times_out_with_on_timeout_or_a_timeout_error() -> None:
    given, _ = run(RECEIVE.replace("{on_timeout}", "on_timeout: none"), {"boss": "ann"})
    failing, _ = run(RECEIVE.replace("{on_timeout}", ""), {"boss": "ann"})
    assert (given.status("wf-1").output, given.status("wf-1").completed_at) == ("none", at(days=2))
    failure = failing.status("wf-1").failure
    assert failure is not None
    assert (failure.type_name, failure.message) == (
        "Timeout",
        "step 'answer': no 'Decision' event was accepted within 2d",
    )


def test_receive_on_an_event_named_on_keeps_the_name_a_string() -> None:
    sim, wf = run(
        "steps:\n  - id: answer\n    receive: on\n    timeout: 1d\n",
        events=[("on", "yes", timedelta(minutes=1))],
    )
    assert sim.status(wf).output == "yes"


# -- set, switch, fail, return -------------------------------------------------------------------


def test_set_assigns_variables_for_later_steps() -> None:
    sim, wf = run(
        """
        steps:
          - id: start
            set: {total: "${ input * 2 }", label: fixed}
          - id: more
            set: {total: "${ vars.total + 1 }"}
        output: {vars: "${ vars }", first: "${ steps.start }"}
        """,
        5,
    )
    assert sim.status(wf).output == {
        "vars": {"total": 11, "label": "fixed"},
        "first": {"total": 10, "label": "fixed"},
    }


@pytest.mark.parametrize(
    ("amount", "expected"),
    [(5, ["work"]), (500, ["charge", "notify"]), (50_000, ["refund"])],
)
def test_switch_runs_the_first_case_that_holds_else_the_default(
    amount: int, expected: list[str]
) -> None:
    sim, wf = run(
        """
        steps:
          - id: route
            switch:
              - when: "${ input < 100 }"
                do: [{id: small, call: work}]
              - when: "${ input < 10000 }"
                do: [{id: medium, call: charge}, {id: tell, call: notify}]
            default: [{id: large, call: refund}]
        """,
        amount,
    )
    assert [name for name, _, _ in calls(sim, wf)] == expected


def test_fail_raises_a_typed_error_that_catch_matches_by_name() -> None:
    sim, wf = run(
        """
        steps:
          - id: guarded
            try:
              - id: refuse
                fail: {error: LimitExceeded, message: "over ${ input }", details: {limit: 10}}
            catch:
              - errors: [SomethingElse]
                do: [{id: wrong, return: wrong}]
              - errors: [LimitExceeded]
                as: problem
                do: [{id: right, return: "${ problem }"}]
        """,
        11,
    )
    assert sim.status(wf).output == {
        "type": "LimitExceeded",
        "message": "step 'refuse': over 11",
        "types": [
            "LimitExceeded",
            "FailStepError",
            "StepError",
            "DurableError",
            "Exception",
            "BaseException",
        ],
        "step": "refuse",
        "details": {"limit": 10},
    }


def test_fail_that_nothing_catches_fails_the_instance_with_its_type_name() -> None:
    sim, wf = run("steps:\n  - id: stop\n    fail: {error: Refused, message: no}\n")
    failure = sim.status(wf).failure
    assert failure is not None
    assert (failure.type_name, failure.message) == ("Refused", "step 'stop': no")
    assert failure.matches("FailStepError")


def test_return_ends_the_run_at_once_even_inside_a_branch() -> None:
    sim, wf = run(
        """
        steps:
          - id: both
            parallel:
              fast:
                - {id: done, return: early}
              slow:
                - {id: pause, wait: 1d}
                - {id: never, call: work}
          - id: after
            call: notify
        """
    )
    assert (sim.status(wf).output, calls(sim, wf)) == ("early", [])


# -- parallel ----------------------------------------------------------------------------------


def test_parallel_join_all_gives_each_branch_output_by_name() -> None:
    def setup(sim: Any) -> None:
        sim.delay("charge", timedelta(minutes=3))

    sim, wf = run(
        """
        steps:
          - id: both
            parallel:
              left: [{id: l, call: work, with: 1}]
              right:
                - {id: r, call: charge, with: 2}
                - {id: r2, call: notify, with: "${ steps.r.input }"}
        """,
        setup=setup,
    )
    assert sim.status(wf).output == {
        "left": {"activity": "work", "input": 1},
        "right": {"activity": "notify", "input": 2},
    }
    assert [(name, when) for name, _, when in calls(sim, wf)] == [
        ("work", START),
        ("charge", START),
        ("notify", at(minutes=3)),
    ]


def test_parallel_join_any_takes_the_first_branch_and_cancels_the_others() -> None:
    sim, wf = run(
        """
        steps:
          - id: race
            join: any
            parallel:
              quick: [{id: q, wait: 1h}, {id: q2, call: work}]
              slow: [{id: s, wait: 1d}, {id: s2, call: charge}]
          - id: later
            wait: 2d
        output: "${ steps.race }"
        """
    )
    assert sim.status(wf).output == {"quick": {"activity": "work", "input": None}}
    assert [name for name, _, _ in calls(sim, wf)] == ["work"]


def test_parallel_failure_cancels_the_other_branches() -> None:
    sim, wf = run(
        """
        steps:
          - id: guarded
            try:
              - id: both
                parallel:
                  broken: [{id: b, wait: 1h}, {id: b2, fail: {error: Broken}}]
                  waiting: [{id: w, receive: Go, timeout: 1d}, {id: w2, call: work}]
            catch:
              - errors: [Broken]
                do: [{id: later, receive: Go, timeout: 1d}]
        """,
        events=[("Go", "for the handler", timedelta(hours=2))],
    )
    assert (sim.status(wf).output, calls(sim, wf)) == ("for the handler", [])


# -- for_each ----------------------------------------------------------------------------------


def test_for_each_keeps_input_order_and_at_most_max_parallel_outstanding() -> None:
    def setup(sim: Any) -> None:
        sim.delay("work", timedelta(minutes=1))

    sim, wf = run(
        """
        steps:
          - id: each
            for_each: "${ input }"
            as: n
            max_parallel: 2
            do:
              - {id: one, call: work, with: "${ n * 10 + index }"}
            output: "${ result.input }"
        """,
        [1, 2, 3, 4, 5],
        setup=setup,
    )
    assert sim.status(wf).output == [10, 21, 32, 43, 54]
    assert [(each[1], each[2]) for each in calls(sim, wf)] == [
        (10, START),
        (21, START),
        (32, at(minutes=1)),
        (43, at(minutes=1)),
        (54, at(minutes=2)),
    ]


def test_for_each_multi_step_bodies_see_their_own_item_outputs() -> None:
    sim, wf = run(
        """
        steps:
          - id: each
            for_each: [a, b]
            do:
              - {id: first, call: work, with: "${ item }"}
              - {id: second, call: notify, with: "${ steps.first.input & '!' }"}
        """
    )
    assert sim.status(wf).output == [
        {"activity": "notify", "input": "a!"},
        {"activity": "notify", "input": "b!"},
    ]


def test_for_each_collect_runs_every_item_and_lists_the_errors() -> None:
    def setup(sim: Any) -> None:
        sim.fake("work", lambda item: item if item != 2 else (_ for _ in ()).throw(KeyError(item)))

    sim, wf = run(
        """
        steps:
          - id: each
            for_each: "${ input }"
            on_error: collect
            do: [{id: one, call: work, with: "${ item }"}]
        """,
        [1, 2, 3],
        setup=setup,
    )
    assert sim.status(wf).output == {
        "results": [1, None, 3],
        "errors": [{"index": 1, "type": "KeyError", "message": "2"}],
    }


def test_for_each_fail_stops_starting_items_after_the_first_failure() -> None:
    def setup(sim: Any) -> None:
        sim.fail("work", times=1, error=ValueError("bad item"))

    sim, wf = run(
        """
        steps:
          - id: each
            for_each: "${ input }"
            max_parallel: 1
            do: [{id: one, call: work, with: "${ item }"}]
        """,
        [1, 2, 3],
        setup=setup,
    )
    assert sim.status(wf).status is RuntimeStatus.FAILED
    assert [each[1] for each in calls(sim, wf)] == [1]


# -- loop --------------------------------------------------------------------------------------


LOOP = """
steps:
  - id: watch
    loop: {loop}
    do:
      - id: poll
        call: check
        status: {polls: "${ iteration }"}
"""


def _states(*states: str) -> Any:
    def setup(sim: Any) -> None:
        sim.fake("check", sequence=list(states))

    return setup


def test_loop_polls_every_interval_until_the_condition_holds() -> None:
    sim, wf = run(
        LOOP.replace("{loop}", "{every: 1m, until: \"${ result = 'done' }\", expires: 1h}"),
        setup=_states("queued", "running", "done"),
    )
    status = sim.status(wf)
    assert (status.output, status.custom_status) == ("done", {"polls": 3})
    assert [when for _, _, when in calls(sim, wf)] == [START, at(minutes=1), at(minutes=2)]


def test_loop_expiry_gives_on_expiry_and_never_waits_past_it() -> None:
    sim, wf = run(
        LOOP.replace(
            "{loop}",
            "{every: 25m, until: \"${ result = 'done' }\", expires: 1h, "
            'on_expiry: {last: "${ result }", polls: "${ iteration }"}}',
        ),
        setup=_states("a", "b", "c", "d"),
    )
    assert sim.status(wf).output == {"last": "c", "polls": 3}
    assert timers(sim.history(wf)) == [at(minutes=25), at(minutes=50), at(hours=1)]


def test_loop_that_runs_out_of_iterations_before_its_expiry_fails_naming_the_count() -> None:
    sim, wf = run(
        LOOP.replace(
            "{loop}", "{every: 1m, until: \"${ result = 'done' }\", expires: 1h, max_iterations: 2}"
        ),
        setup=_states("a", "b", "c"),
    )
    failure = sim.status(wf).failure
    assert failure is not None
    assert (failure.type_name, failure.message, sim.status(wf).completed_at) == (
        "Timeout",
        "step 'watch': the loop's until did not hold in 2 iterations",
        at(minutes=1),
    )


def test_loop_max_iterations_without_until_ends_normally() -> None:
    sim, wf = run(LOOP.replace("{loop}", "{max_iterations: 3}"), setup=_states("a", "b", "c", "d"))
    assert (sim.status(wf).output, len(calls(sim, wf))) == ("c", 3)


def test_loop_checkpoint_continues_as_new_and_keeps_its_progress() -> None:
    sim, wf = run(
        """
        steps:
          - id: before
            call: work
            with: "${ input }"
          - id: watch
            loop: {every: 1m, until: "${ result = 'done' }", expires: 1h, checkpoint_every: 2}
            do: [{id: poll, call: check}]
        output: {input: "${ input }", before: "${ steps.before.input }", state: "${ steps.watch }"}
        """,
        "job-7",
        setup=_states("a", "b", "c", "d", "done"),
    )
    assert sim.status(wf).output == {"input": "job-7", "before": "job-7", "state": "done"}
    assert [name for name, _, _ in calls(sim, wf)] == [
        "work",
        "check",
        "check",
        "check",
        "check",
        "check",
    ]
    assert [when for _, _, when in calls(sim, wf)][-1] == at(minutes=4)
    assert len([e for e in sim.history(wf) if isinstance(e, TimerCreated)]) == 0


# -- try ---------------------------------------------------------------------------------------


def test_try_compensates_newest_first_then_catches_by_base_class_then_finally() -> None:
    def setup(sim: Any) -> None:
        sim.fake("charge", PaymentDeclined("card expired"))

    sim, wf = run(
        """
        steps:
          - id: saga
            try:
              - {id: reserve, call: work, with: seat}
              - {id: hold, call: notify, with: room}
              - {id: pay, call: charge}
            compensate:
              reserve: [{id: unreserve, call: refund, with: "${ result.input }"}]
              hold: [{id: unhold, call: refund, with: "${ result.input }"}]
            catch:
              - errors: [PaymentError]
                as: declined
                do: [{id: sorry, call: notify, with: "${ declined.type }"}]
            finally: [{id: tidy, call: check}]
        """,
        setup=setup,
    )
    assert [(name, value) for name, value, _ in calls(sim, wf)] == [
        ("work", "seat"),
        ("notify", "room"),
        ("charge", None),
        ("refund", "room"),
        ("refund", "seat"),
        ("notify", "PaymentDeclined"),
        ("check", None),
    ]
    assert sim.status(wf).output == {"activity": "notify", "input": "PaymentDeclined"}


def test_try_without_a_matching_handler_compensates_runs_finally_and_fails() -> None:
    def setup(sim: Any) -> None:
        sim.fake("charge", PaymentDeclined("card expired"))

    sim, wf = run(
        """
        steps:
          - id: saga
            try:
              - {id: reserve, call: work}
              - {id: pay, call: charge}
            compensate:
              reserve: [{id: unreserve, call: refund}]
            catch:
              - errors: [Timeout]
                do: [{id: late, return: late}]
            finally: [{id: tidy, call: check}]
        """,
        setup=setup,
    )
    assert [name for name, _, _ in calls(sim, wf)] == ["work", "charge", "refund", "check"]
    failure = sim.status(wf).failure
    assert failure is not None
    assert failure.message == "activity 'charge' failed with PaymentDeclined: card expired"


# -- the document as a whole ---------------------------------------------------------------------


def test_document_timeout_fails_a_run_that_is_still_going() -> None:
    sim, wf = run("timeout: 1d\nsteps:\n  - {id: long, wait: 2d}\n  - {id: never, call: work}\n")
    failure = sim.status(wf).failure
    assert failure is not None
    assert (failure.type_name, failure.message, calls(sim, wf)) == (
        "Timeout",
        "workflow 'wf' did not finish within 1d",
        [],
    )


def test_input_that_does_not_match_the_input_schema_fails_with_validation_error() -> None:
    sim, wf = run(
        "input: {type: object, required: [amount]}\nsteps:\n  - {id: one, call: work}\n", {}
    )
    failure = sim.status(wf).failure
    assert failure is not None
    assert (failure.type_name, failure.message) == (
        "ValidationError",
        "the input does not match the document's input schema at /: "
        "'amount' is a required property",
    )


def test_now_and_uuid_come_from_the_orchestration_context() -> None:
    sim, wf = run(
        """
        steps:
          - {id: nap, wait: 1h}
          - id: stamp
            set: {when: "${ $now() }", also: "${ now }", id: "${ $uuid() }", ms: "${ $millis() }"}
        """
    )
    output = sim.status(wf).output
    assert (output["when"], output["also"], output["ms"]) == (
        "2030-01-01T01:00:00.000Z",
        "2030-01-01T01:00:00.000Z",
        int(at(hours=1).timestamp() * 1000),
    )
    assert len(output["id"]) == 36


def test_an_expression_that_fails_fails_its_step_with_expression_error() -> None:
    sim, wf = run("steps:\n  - id: bad\n    call: work\n    with: \"${ $error('nope') }\"\n")
    failure = sim.status(wf).failure
    assert failure is not None
    assert failure.type_name == "ExpressionError"
    assert failure.message.startswith("step 'bad': steps[0].with: nope")


def test_document_timeout_holds_across_continue_as_new() -> None:
    sim, wf = run(
        """
        timeout: 10m
        steps:
          - id: watch
            loop: {every: 3m, max_iterations: 100, checkpoint_every: 1}
            do: [{id: poll, call: check}]
        """
    )
    failure = sim.status(wf).failure
    assert failure is not None
    assert (failure.type_name, sim.status(wf).completed_at) == ("Timeout", at(minutes=10))
    assert [when for _, _, when in calls(sim, wf)] == [
        START,
        at(minutes=3),
        at(minutes=6),
        at(minutes=9),
    ]
