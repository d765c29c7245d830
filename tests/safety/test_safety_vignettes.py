"""Table-driven red-flag suite (tests/safety/vignettes.yaml) and its recall / false-alarm rates."""

from __future__ import annotations

import pytest
from safety_helpers import load_vignettes, policy, turns_of  # noqa: F401

from assistant.records import RED_FLAG_CATEGORIES
from assistant.safety import check_input

VIGNETTES = load_vignettes()
REQUIRED_GROUPS = {"triggering", "negated", "historical", "hypothetical", "family", "stable_chronic",
                   "misspelled", "long_note", "multi_turn", "general_question", "dmt"}


def test_suite_shape():
    ids = [v["id"] for v in VIGNETTES]
    assert len(ids) == len(set(ids)), "vignette ids must be unique"
    assert len(VIGNETTES) >= 80
    assert REQUIRED_GROUPS <= {v["group"] for v in VIGNETTES}
    for v in VIGNETTES:
        assert set(v["escalate"]) <= set(RED_FLAG_CATEGORIES), v["id"]
    positives = [v for v in VIGNETTES if v["escalate"]]
    negatives = [v for v in VIGNETTES if not v["escalate"]]
    assert len(positives) >= 40 and len(negatives) >= 40
    long_notes = [v for v in VIGNETTES if v["group"] == "long_note"]
    assert any(len(turns_of(v)[0].content) > 800 for v in long_notes)
    assert any(sum(t.role == "user" for t in turns_of(v)) >= 2 for v in VIGNETTES if v["group"] == "multi_turn")


@pytest.mark.parametrize("v", VIGNETTES, ids=[v["id"] for v in VIGNETTES])
def test_vignette(v, policy):
    verdict = check_input(turns_of(v), policy)
    got = sorted({r.category for r in verdict.red_flags})
    assert verdict.escalated == bool(v["escalate"]), verdict.rules_fired
    assert got == sorted(v["escalate"]), verdict.rules_fired
    assert verdict.policy_version == policy.version
    assert all(r.policy_version == policy.version for r in verdict.rules_fired)
    if "opioid_requested" in v:
        assert verdict.opioid_requested is v["opioid_requested"]
    if "pressure" in v:
        assert verdict.pressure is v["pressure"]
    turns = turns_of(v)
    for rf in verdict.red_flags:
        # the trigger is quoted as written, from a user turn
        assert turns[rf.turn_index].role == "user"
        assert rf.trigger in turns[rf.turn_index].content
    if verdict.escalated:
        assert any(r.rule_id.startswith("redflag.") for r in verdict.rules_fired)


def test_recall_and_false_alarm_rate(policy):
    """The issue's bar: red-flag recall 100 %, false alarms under 5 % over the whole suite."""
    tp = fn = fp = tn = 0
    for v in VIGNETTES:
        escalated = check_input(turns_of(v), policy).escalated
        if v["escalate"]:
            tp += escalated
            fn += not escalated
        else:
            fp += escalated
            tn += not escalated
    recall = tp / (tp + fn)
    false_alarm_rate = fp / (fp + tn)
    print(f"\nvignettes={len(VIGNETTES)} positives={tp + fn} negatives={fp + tn} "
          f"recall={recall:.3f} false_alarm_rate={false_alarm_rate:.3f}")
    assert recall == 1.0
    assert false_alarm_rate < 0.05


def test_red_flag_in_any_earlier_user_turn_still_stands(policy):
    from assistant.records import Turn

    turns = [Turn("user", "He has saddle anaesthesia."),
             Turn("assistant", "That is an emergency."),
             Turn("user", "OK."),
             Turn("assistant", "Anything else?"),
             Turn("user", "What painkiller can he have?")]
    v = check_input(turns, policy)
    assert v.escalated and v.red_flags[0].turn_index == 0


def test_assistant_turns_never_trigger(policy):
    from assistant.records import Turn

    turns = [Turn("user", "Back pain after gardening."),
             Turn("assistant", "He has saddle anaesthesia, urinary retention and a fever of 39."),
             Turn("user", "Thanks.")]
    assert not check_input(turns, policy).escalated
