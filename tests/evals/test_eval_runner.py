"""run_eval with a scripted answer function standing in for assistant.answer."""

from __future__ import annotations

import pytest

from core.errors import IndexMissingError, InputError
from evals.runner import run_eval


class ScriptedAnswers:
    """answer(question, history, audience, settings) -> a prepared Answer, recording each call."""

    def __init__(self, answers: dict):
        self.answers = answers
        self.calls = []

    def __call__(self, question, history=(), audience="clinician", settings=None):
        self.calls.append((question, tuple(history), audience, settings))
        a = self.answers[question]
        if isinstance(a, Exception):
            raise a
        return a


def test_run_passes_history_audience_settings_and_checks_each_case(build, chunks, make_case):
    cases = [
        make_case("tiz", question="max tizanidine dose?",
                  expect={"facts": [["36 mg"]], "must_cite": True, "sources": ["ms-spasticity"]}),
        make_case("fu", "follow_up", question="and if NSAIDs are contraindicated?",
                  conversation=[{"role": "user", "content": "MS back pain?"}, {"role": "assistant", "content": "NSAIDs."}],
                  expect={"facts": [["4 g"]]}),
        make_case("pt", "patient_audience", question="what helps?", audience="patient", expect={"facts": [["yoga"]]}),
    ]
    fn = ScriptedAnswers({
        "max tizanidine dose?": build("max tizanidine dose?", [("The maximum dose of tizanidine is 36 mg per day.", [chunks["spas"]])]),
        "and if NSAIDs are contraindicated?": build("q", [("Acetaminophen, at a maximum of 4 g per day, is an alternative.", [chunks["para"]])]),
        "what helps?": build("what helps?", [("Staying active helps.", [chunks["nsaid"]])], audience="patient"),
    })
    settings = object()
    seen = []
    run = run_eval(cases, answer_fn=fn, settings=settings, progress=lambda d, t, cid: seen.append((d, t, cid)))

    assert seen == [(1, 3, "tiz"), (2, 3, "fu"), (3, 3, "pt")]
    assert fn.calls[1][1][0].role == "user" and fn.calls[1][1][1].content == "NSAIDs."
    assert fn.calls[2][2] == "patient" and fn.calls[0][3] is settings
    assert [r.passed for r in run.results] == [True, True, False]
    failing = run.results[2].failed_checks()
    assert [c.name for c in failing] == ["facts"]
    m = run.metrics
    assert m["pass_rate"] == pytest.approx(2 / 3) and m["fact_coverage"] == pytest.approx(2 / 3)
    assert m["hit_at_1"] == 1.0 and m["citation_validity"] == 1.0
    assert run.summary["categories"]["patient_audience"]["passed"] == 0
    assert run.summary["run"]["corpus_version"] == "v-test"
    assert run.summary["checks"]["facts"] == {"run": 3, "passed": 2, "scored": True}


def test_response_is_the_ask_json_object(build, chunks, make_case):
    a = build("max tizanidine dose?", [("Max 36 mg per day.", [chunks["spas"]])])
    run = run_eval([make_case()], answer_fn=ScriptedAnswers({"max tizanidine dose?": a}))
    line = run.results[0].to_json()
    assert line["response"] == a.to_json()
    assert {"id", "category", "passed", "checks", "response"} <= set(line)
    assert line["checks"][0] == {"name": "citations_valid", "passed": True,
                                 "reason": "all 1 citation number(s) point at retrieved passages", "scored": True}


def test_latency_from_timings_or_wall_clock(build, chunks, make_case):
    timed = build("a", [("x.", [chunks["nsaid"]])], total_ms=123.0)
    untimed = build("b", [("x.", [chunks["nsaid"]])], total_ms=None)
    run = run_eval([make_case("a", question="a"), make_case("b", question="b")],
                   answer_fn=ScriptedAnswers({"a": timed, "b": untimed}))
    assert run.results[0].observed.latency_ms == 123.0
    wall = run.results[1].observed.latency_ms
    assert wall is not None and 0 <= wall < 5000


def test_a_failing_case_is_recorded_and_the_run_continues(build, chunks, make_case):
    fn = ScriptedAnswers({"bad": InputError("The question is empty."),
                          "good": build("good", [("x.", [chunks["nsaid"]])])})
    run = run_eval([make_case("bad", question="bad", expect={"facts": [["x"]]}), make_case("good", question="good")],
                   answer_fn=fn)
    bad, good = run.results
    assert not bad.passed and bad.response is None and "InputError" in bad.error
    assert bad.checks[0].name == "answered" and not bad.checks[0].passed
    assert good.passed
    assert run.metrics["errors"] == 1 and run.metrics["fact_coverage"] == 0.0


def test_environment_errors_stop_the_run(make_case):
    fn = ScriptedAnswers({"max tizanidine dose?": IndexMissingError("No corpus version has been built yet.")})
    with pytest.raises(IndexMissingError):
        run_eval([make_case()], answer_fn=fn)


def test_default_answer_fn_is_the_assistant(monkeypatch, build, chunks, make_case):
    import assistant

    calls = []

    def fake_answer(question, history=(), audience="clinician", settings=None):
        calls.append(question)
        return build(question, [("x.", [chunks["nsaid"]])])

    monkeypatch.setattr(assistant, "answer", fake_answer)
    run = run_eval([make_case()])
    assert calls == ["max tizanidine dose?"] and run.results[0].passed
