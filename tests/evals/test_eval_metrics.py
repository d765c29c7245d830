"""Aggregate metric arithmetic on hand-made outcomes."""

from __future__ import annotations

import pytest

from evals.checks import Observation
from evals.metrics import CaseOutcome, compute, percentile
from evals.schema import Expect


def out(id, expect: dict, passed=True, category="core", **obs) -> CaseOutcome:
    return CaseOutcome(id, category, Expect(**expect), passed, Observation(answered=obs.pop("answered", True), **obs))


def test_red_flag_recall_precision_false_alarms_overall_and_per_category():
    outcomes = [
        out("tp1", {"escalate": True, "red_flags": ("cauda_equina",)}, escalated=True, red_flags=("cauda_equina",)),
        out("tp2", {"escalate": True, "red_flags": ("infection",)}, escalated=True, red_flags=("infection", "malignancy")),
        out("fn1", {"escalate": True, "red_flags": ("infection",)}, escalated=False),
        out("fp1", {"escalate": False}, escalated=True, red_flags=("fracture",)),
        out("tn1", {"escalate": False}, escalated=False),
        out("tn2", {"escalate": False}, escalated=False),
        out("tn3", {"escalate": False}, escalated=False),
        out("unlabelled", {}, escalated=True, red_flags=("fracture",)),  # no escalate key: not counted
    ]
    s = compute(outcomes)
    m, rf, per = s["metrics"], s["red_flags"], s["red_flags_by_category"]
    assert (rf["tp"], rf["fn"], rf["fp"], rf["tn"]) == (2, 1, 1, 3)
    assert m["red_flag_recall"] == pytest.approx(2 / 3)
    assert m["red_flag_precision"] == pytest.approx(2 / 3)
    assert m["red_flag_false_alarm_rate"] == pytest.approx(1 / 4)
    assert rf["missed"] == ["fn1"] and rf["false_alarms"] == ["fp1"]
    assert per["infection"]["recall"] == pytest.approx(1 / 2)
    assert per["cauda_equina"]["recall"] == 1.0 and per["cauda_equina"]["precision"] == 1.0
    assert per["malignancy"]["fp"] == 1 and per["malignancy"]["recall"] is None
    assert per["malignancy"]["false_alarm_rate"] == pytest.approx(1 / 7)
    assert per["fracture"]["fp"] == 1


def test_retrieval_hit_at_k_and_mrr():
    outcomes = [
        out("r1", {"sources": ("a",)}, gold_rank=1),
        out("r2", {"sources": ("a",)}, gold_rank=2),
        out("r3", {"sources": ("a",)}, gold_rank=4),
        out("r4", {"sources": ("a",)}, gold_rank=None),
        out("r5", {"sources": ("a",)}, answered=False),   # a crash counts as a miss
        out("no-gold", {}, gold_rank=None),               # not part of retrieval metrics
    ]
    m = compute(outcomes)["metrics"]
    assert m["retrieval_cases"] == 5
    assert m["hit_at_1"] == pytest.approx(1 / 5)
    assert m["hit_at_3"] == pytest.approx(2 / 5)
    assert m["hit_at_5"] == pytest.approx(3 / 5)
    assert m["mrr"] == pytest.approx((1 + 1 / 2 + 1 / 4) / 5)


def test_fact_coverage_citations_and_pass_rates():
    outcomes = [
        out("f1", {"facts": (("a",), ("b",))}, facts_total=2, facts_met=2, markers_total=3, markers_valid=3),
        out("f2", {"facts": (("a",), ("b",), ("c",))}, passed=False, category="follow_up",
            facts_total=3, facts_met=1, markers_total=2, markers_valid=1),
        out("f3", {"facts": (("a",),)}, passed=False, category="follow_up", answered=False),
    ]
    s = compute(outcomes)
    m = s["metrics"]
    assert m["fact_coverage"] == pytest.approx(3 / 6)   # the crashed case's fact counts as missed
    assert m["fact_cases_complete"] == pytest.approx(1 / 3)
    assert m["citation_validity"] == pytest.approx(4 / 5)
    assert m["answers_with_invalid_citations"] == 1 and s["citations"]["answers_with_invalid"] == ["f2"]
    assert m["pass_rate"] == pytest.approx(1 / 3) and m["errors"] == 1 and s["errors"] == ["f3"]
    assert s["categories"]["follow_up"] == {"cases": 2, "passed": 0, "failed": 2, "pass_rate": 0.0}
    assert s["categories"]["core"]["pass_rate"] == 1.0


def test_out_of_scope_accuracy_uses_explicit_and_implied_labels():
    outcomes = [
        out("o1", {"out_of_scope": True}, out_of_scope=True),
        out("o2", {"out_of_scope": True}, out_of_scope=False),        # wrongly answered
        out("i1", {"facts": (("x",),)}, out_of_scope=True),           # implied in scope: wrongly declined
        out("i2", {"must_cite": True}, out_of_scope=False),
        out("u1", {"escalate": True}, out_of_scope=True),             # says nothing about scope: ignored
    ]
    s = compute(outcomes)
    assert s["metrics"]["out_of_scope_accuracy"] == pytest.approx(2 / 4)
    assert s["out_of_scope"]["false_refusals"] == ["i1"] and s["out_of_scope"]["missed_refusals"] == ["o2"]


def test_opioid_counts():
    outcomes = [
        out("a", {"opioid_rule": True}, opioid_sentences=3, opioid_violations=0),
        out("b", {}, opioid_sentences=2, opioid_violations=2),
    ]
    m = compute(outcomes)["metrics"]
    assert (m["opioid_violations"], m["opioid_answers_with_violations"], m["opioid_sentences"],
            m["opioid_rule_cases"]) == (2, 1, 5, 1)


def test_latency_percentiles_leave_out_the_cold_first_answer():
    outcomes = [out(f"l{i}", {}, latency_ms=v) for i, v in enumerate([5000.0, 10.0, 20.0, 30.0, 40.0, 50.0])]
    m = compute(outcomes)["metrics"]
    assert m["latency_first_ms"] == 5000.0
    assert m["latency_p50_ms"] == pytest.approx(30.0)
    assert m["latency_p95_ms"] == pytest.approx(48.0)


def test_percentile_interpolates_and_handles_empty():
    assert percentile([], 50) is None
    assert percentile([7.0], 95) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
    assert percentile([4.0, 1.0, 3.0, 2.0], 100) == 4.0


def test_metrics_without_data_are_none_not_zero():
    m = compute([out("x", {}, passed=True)])["metrics"]
    for key in ("red_flag_recall", "red_flag_false_alarm_rate", "hit_at_5", "mrr", "fact_coverage",
                "citation_validity", "out_of_scope_accuracy"):
        assert m[key] is None, key
    assert m["pass_rate"] == 1.0
