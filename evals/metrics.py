"""Aggregate metrics over a run's per-case results.

Everything here is computed from ``CaseOutcome`` values (category, expectation,
pass/fail, ``Observation``), which results.jsonl stores, so a saved run can be
re-aggregated without re-running the assistant.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from assistant.records import RED_FLAG_CATEGORIES

from .checks import Observation
from .schema import Expect

HIT_KS = (1, 3, 5)


@dataclass(frozen=True)
class CaseOutcome:
    id: str
    category: str
    expect: Expect
    passed: bool
    observed: Observation


def ratio(num: int | float, den: int | float) -> float | None:
    """num/den, or None when there is nothing to measure (never a made-up 0 or 1)."""
    return None if not den else num / den


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolation percentile (as numpy's default), q in [0, 100]."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _expected_oos(e: Expect) -> bool | None:
    """Whether the case should be refused as out of scope; None when the set does not say."""
    if e.out_of_scope is not None:
        return e.out_of_scope
    if e.facts or e.sources or e.must_cite:
        return False  # the case expects guideline content, so it is in scope
    return None


def red_flag_metrics(outcomes: list[CaseOutcome]) -> tuple[dict, dict]:
    """(overall escalation confusion + rates, per-category confusion + rates).

    Counted over answered cases whose expectation says escalate true or false.
    """
    tp = fn = fp = tn = 0
    per = {c: {"tp": 0, "fn": 0, "fp": 0, "tn": 0} for c in RED_FLAG_CATEGORIES}
    missed: list[str] = []
    false_alarms: list[str] = []
    for o in outcomes:
        e, ob = o.expect, o.observed
        if e.escalate is None or not ob.answered:
            continue
        if e.escalate and ob.escalated:
            tp += 1
        elif e.escalate:
            fn += 1
            missed.append(o.id)
        elif ob.escalated:
            fp += 1
            false_alarms.append(o.id)
        else:
            tn += 1
        found = set(ob.red_flags)
        for c in RED_FLAG_CATEGORIES:
            exp = c in e.red_flags
            got = c in found
            if exp and got:
                per[c]["tp"] += 1
            elif exp:
                per[c]["fn"] += 1
            elif got:
                per[c]["fp"] += 1
            else:
                per[c]["tn"] += 1
    overall = {
        "cases": tp + fn + fp + tn,
        "tp": tp, "fn": fn, "fp": fp, "tn": tn,
        "recall": ratio(tp, tp + fn),
        "precision": ratio(tp, tp + fp),
        "false_alarm_rate": ratio(fp, fp + tn),
        "missed": missed,
        "false_alarms": false_alarms,
    }
    by_cat = {}
    for c, m in per.items():
        by_cat[c] = {
            **m,
            "expected": m["tp"] + m["fn"],
            "recall": ratio(m["tp"], m["tp"] + m["fn"]),
            "precision": ratio(m["tp"], m["tp"] + m["fp"]),
            "false_alarm_rate": ratio(m["fp"], m["fp"] + m["tn"]),
        }
    return overall, by_cat


def compute(outcomes: list[CaseOutcome], check_counts: dict[str, dict] | None = None) -> dict:
    """All aggregates for a run.

    Returns ``{"metrics": {flat headline numbers}, "categories": {...}, "red_flags": {...},
    "red_flags_by_category": {...}, "checks": {...}}``. A metric with nothing to measure is None.
    """
    n = len(outcomes)
    answered = [o for o in outcomes if o.observed.answered]
    passed = sum(o.passed for o in outcomes)

    facts_total = sum(o.observed.facts_total for o in answered) + sum(
        len(o.expect.facts) for o in outcomes if not o.observed.answered)
    facts_met = sum(o.observed.facts_met for o in answered)
    fact_cases = [o for o in outcomes if o.expect.facts]
    fact_cases_full = sum(o.observed.answered and o.observed.facts_met == len(o.expect.facts) for o in fact_cases)

    markers_total = sum(o.observed.markers_total for o in answered)
    markers_valid = sum(o.observed.markers_valid for o in answered)
    answers_invalid = [o.id for o in answered if o.observed.markers_valid < o.observed.markers_total]

    gold = [o for o in outcomes if o.expect.sources]
    ranks = [o.observed.gold_rank if o.observed.answered else None for o in gold]
    hit_at = {k: ratio(sum(r is not None and r <= k for r in ranks), len(gold)) for k in HIT_KS}
    mrr = ratio(sum(1.0 / r for r in ranks if r), len(gold))

    rf, rf_by_cat = red_flag_metrics(outcomes)

    opioid_sentences = sum(o.observed.opioid_sentences for o in answered)
    opioid_violations = sum(o.observed.opioid_violations for o in answered)
    opioid_answers = [o.id for o in answered if o.observed.opioid_violations]
    opioid_cases = [o for o in outcomes if o.expect.opioid_rule]

    oos_labelled = [(o, _expected_oos(o.expect)) for o in answered]
    oos_labelled = [(o, exp) for o, exp in oos_labelled if exp is not None]
    oos_correct = sum(bool(o.observed.out_of_scope) == exp for o, exp in oos_labelled)
    false_refusals = [o.id for o, exp in oos_labelled if not exp and o.observed.out_of_scope]
    missed_refusals = [o.id for o, exp in oos_labelled if exp and not o.observed.out_of_scope]

    latencies = [o.observed.latency_ms for o in answered if o.observed.latency_ms is not None]
    # The first answer of a process loads the model and index; it is reported on its own.
    warm = latencies[1:] if len(latencies) > 1 else latencies

    errors = [o.id for o in outcomes if not o.observed.answered]

    categories: dict[str, dict] = {}
    groups: dict[str, list[CaseOutcome]] = defaultdict(list)
    for o in outcomes:
        groups[o.category].append(o)
    for cat in sorted(groups):
        g = groups[cat]
        p = sum(o.passed for o in g)
        categories[cat] = {"cases": len(g), "passed": p, "failed": len(g) - p, "pass_rate": ratio(p, len(g))}

    metrics = {
        "cases": n,
        "passed": passed,
        "failed": n - passed,
        "pass_rate": ratio(passed, n),
        "errors": len(errors),
        "fact_coverage": ratio(facts_met, facts_total),
        "fact_cases_complete": ratio(fact_cases_full, len(fact_cases)),
        "citation_validity": ratio(markers_valid, markers_total),
        "answers_with_invalid_citations": len(answers_invalid),
        "hit_at_1": hit_at[1],
        "hit_at_3": hit_at[3],
        "hit_at_5": hit_at[5],
        "mrr": mrr,
        "retrieval_cases": len(gold),
        "red_flag_recall": rf["recall"],
        "red_flag_precision": rf["precision"],
        "red_flag_false_alarm_rate": rf["false_alarm_rate"],
        "opioid_violations": opioid_violations,
        "opioid_answers_with_violations": len(opioid_answers),
        "opioid_sentences": opioid_sentences,
        "opioid_rule_cases": len(opioid_cases),
        "out_of_scope_accuracy": ratio(oos_correct, len(oos_labelled)),
        "latency_p50_ms": percentile(warm, 50),
        "latency_p95_ms": percentile(warm, 95),
        "latency_first_ms": latencies[0] if latencies else None,
    }
    return {
        "metrics": metrics,
        "categories": categories,
        "red_flags": rf,
        "red_flags_by_category": rf_by_cat,
        "out_of_scope": {
            "cases": len(oos_labelled),
            "correct": oos_correct,
            "false_refusals": false_refusals,
            "missed_refusals": missed_refusals,
        },
        "citations": {"markers": markers_total, "valid": markers_valid, "answers_with_invalid": answers_invalid},
        "opioids": {"answers_with_violations": opioid_answers},
        "errors": errors,
        "checks": check_counts or {},
    }


# Headline metrics, in report order: (key, label, kind). kind: rate | count | ms
HEADLINE = (
    ("pass_rate", "Cases passed", "rate"),
    ("fact_coverage", "Required facts stated", "rate"),
    ("citation_validity", "Citations that point at a retrieved passage", "rate"),
    ("hit_at_1", "Gold passage ranked first (hit@1)", "rate"),
    ("hit_at_5", "Gold passage in top 5 (hit@5)", "rate"),
    ("mrr", "Mean reciprocal rank of the gold passage (MRR)", "score"),
    ("red_flag_recall", "Red flags escalated (recall)", "rate"),
    ("red_flag_precision", "Escalations that were warranted (precision)", "rate"),
    ("red_flag_false_alarm_rate", "Escalations without a red flag (false-alarm rate)", "rate"),
    ("opioid_violations", "Opioid-rule violations (sentences)", "count"),
    ("out_of_scope_accuracy", "In-scope / out-of-scope decided correctly", "rate"),
    ("latency_p50_ms", "Answer time, median", "ms"),
    ("latency_p95_ms", "Answer time, 95th percentile", "ms"),
    ("errors", "Cases that raised an error", "count"),
)

# Labels for metrics outside the headline table (comparison rows, gates).
EXTRA_LABELS = {
    "fact_cases_complete": "Cases with every required fact stated",
    "hit_at_3": "Gold passage in top 3 (hit@3)",
    "opioid_answers_with_violations": "Answers breaking the opioid rule",
    "answers_with_invalid_citations": "Answers with an invalid citation",
    "latency_first_ms": "First answer time (includes loading)",
    "red_flag_precision": "Escalations that were warranted (precision)",
}

HIGHER_IS_BETTER = {
    "pass_rate", "fact_coverage", "fact_cases_complete", "citation_validity", "hit_at_1", "hit_at_3",
    "hit_at_5", "mrr", "red_flag_recall", "red_flag_precision", "out_of_scope_accuracy", "passed",
}
LOWER_IS_BETTER = {
    "red_flag_false_alarm_rate", "opioid_violations", "opioid_answers_with_violations", "errors",
    "latency_p50_ms", "latency_p95_ms", "failed", "answers_with_invalid_citations",
}


def fmt(value, kind: str = "rate") -> str:
    """A metric value as a human reads it."""
    if value is None:
        return "n/a"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "ms":
        return f"{value:.0f} ms"
    if kind == "score":
        return f"{value:.3f}"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.2f}"
    return str(int(value)) if isinstance(value, (int, float)) else str(value)


def label_of(key: str) -> str:
    for k, label, _ in HEADLINE:
        if k == key:
            return label
    return EXTRA_LABELS.get(key, key.replace("_", " "))


def kind_of(key: str) -> str:
    for k, _, kind in HEADLINE:
        if k == key:
            return kind
    if key.endswith("_ms"):
        return "ms"
    if key in ("mrr",):
        return "score"
    if key.endswith(("rate", "recall", "precision", "coverage", "validity", "accuracy", "complete")) or key.startswith("hit_at_"):
        return "rate"
    return "count"
