"""Findings from measurements and from concept combinations (policy sections `measurements` and
`concepts`): what counts, what stays below threshold, and context still applying."""

from __future__ import annotations

import pytest
from safety_helpers import policy  # noqa: F401

from assistant.records import Turn
from assistant.safety import check_input
from assistant.safety.measures import MeasurementRule, readings
from assistant.safety.policy import parse_policy, DEFAULT_POLICY_PATH
from core.errors import ConfigError


def cats(text, policy, *more):
    turns = [Turn("user", text)] + [Turn("user", t) for t in more]
    return sorted({r.category for r in check_input(turns, policy).red_flags})


@pytest.mark.parametrize("text", [
    "Bladder scan showed 650 mL after she voided.",
    "PVR 450cc after voiding, sciatica both sides.",
    "bladder scanned: 0.8 L residual",
    "Bladder scan after she passed urine in the clinic toilet: 780 mL.",
])
def test_bladder_volume_over_threshold_is_retention(text, policy):
    assert cats(text, policy) == ["cauda_equina"]


@pytest.mark.parametrize("text", ["PVR 80 ml, normal emptying.", "Post-void residual 150 mL.",
                                  "She drinks 2 L of water a day.", "Bladder scan 60 ml."])
def test_bladder_volume_under_threshold_or_not_a_residual(text, policy):
    assert cats(text, policy) == []


@pytest.mark.parametrize("text", ["T 38.6, back pain, on ocrelizumab.", "temp 101.3F and rigors",
                                  "Obs: HR 110, BP 100/60, temp 38.9.", "IVDU, 39 °C, back pain."])
def test_febrile_temperature_in_any_notation(text, policy):
    assert "infection" in cats(text, policy)


@pytest.mark.parametrize("text", ["T 37.2, back pain after lifting.", "SLR 40 degrees on the left.",
                                  "If her temp goes over 38.5 she should come back."])
def test_temperatures_that_are_not_fever(text, policy):
    assert cats(text, policy) == []


def test_measurement_rules_read_units_and_signs():
    vol = MeasurementRule("urinary_retention", "v", "volume", 200, "src", ("bladder scan",), 8)
    assert [r.value for r in readings("bladder scan 0.5 L", (vol,))] == [500]
    t = MeasurementRule("osteoporosis", "t", "plain", None, "src", ("t-score",), 6, at_most=-2.5)
    assert [r.value for r in readings("DEXA T-score -3.1 at the spine", (t,))] == [-3.1]
    assert readings("T-score -1.2", (t,)) == []
    age = MeasurementRule("age_over_70", "age", "age", 70, "src", ())
    assert [r.value for r in readings("84F, fell at home", (age,))] == [84]
    assert [r.value for r in readings("Mum is 73 and on alendronate", (age,))] == [73]
    assert readings("45-year-old man", (age,)) == []


@pytest.mark.parametrize("text,expected", [
    ("Since yesterday when I wipe it feels like I'm wiping someone else's bum, I can't really feel the paper.",
     ["cauda_equina"]),
    ("This morning I had an accident in my pants - poo - and I honestly didn't feel it happen.", ["cauda_equina"]),
    ("Numbness started in both big toes on Monday, by Wednesday it was up to the ankles and today it's up "
     "to mid-shin both sides.", ["progressive_neuro_deficit"]),
    ("67M, lost 8 kg over 3 months without trying, back pain 2 months, wakes him at 3-4am every night.",
     ["malignancy"]),
    ("DEXA last year T-score -3.1 at the spine. She missed the bottom step this morning, jarred her back, "
     "sudden 9/10 pain. 66F.", ["fracture"]),
    ("Possible spinal epidural abscess - awaiting MRI. 63F diabetic, CRP 180, WCC 17.", ["infection"]),
])
def test_new_combinations_of_known_parts(text, expected, policy):
    assert cats(text, policy) == expected


@pytest.mark.parametrize("text", [
    "No numbness in the saddle area and no problems passing urine.",
    "Her legs have been weak since her relapse in 2015, unchanged at every review.",
    "Painful spasticity in both legs, and leg spasms that wake her at night.",
    "Back pain for 3 weeks after a long drive; she is worried about cancer because her mother had it.",
    "One course of IV methylprednisolone for a relapse in March. New low back ache after gardening.",
])
def test_ordinary_or_negated_descriptions_stay_quiet(text, policy):
    assert cats(text, policy) == []


def test_trace_names_how_a_finding_was_read(policy):
    v = check_input([Turn("user", "Bladder scan 650 mL, back pain.")], policy)
    assert any(r.rule_id == "measurement.urinary_retention" and "650 mL" in r.detail for r in v.rules_fired)
    v = check_input([Turn("user", "I can't really feel the paper when I wipe.")], policy)
    assert any(r.rule_id == "concept.saddle_anaesthesia" for r in v.rules_fired)


def test_policy_refuses_bad_measurement_and_concept_sections():
    base = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    bad = base.replace("    quantity: volume\n", "    quantity: weight\n", 1)
    with pytest.raises(ConfigError, match="quantity must be one of"):
        parse_policy(bad)
    bad = base.replace("{finding: saddle_anaesthesia, parts: [saddle_site, sensory_change]}",
                       "{finding: saddle_anaesthesia, parts: [saddle_site, sensory_chnage]}", 1)
    with pytest.raises(ConfigError, match="unknown part"):
        parse_policy(bad)


# --- drug names from the maintained library ------------------------------------------------------

def test_generated_drug_names_match_the_library_and_the_policy_lists():
    """drug_names.yaml is what the installed library gives for the policy's drug_classes."""
    from assistant.safety import drug_names

    assert drug_names.main(["--check"]) == 0


@pytest.mark.parametrize("text,expected", [
    ("On Tysabri, T 38.2 and back pain.", ["infection"]),
    ("He takes Fosamax; lifted a suitcase and felt a crack in his back.", ["fracture"]),
    ("Imuran for Crohn's, rigors last night, back pain.", ["infection"]),
])
def test_brand_names_resolve_to_their_class(text, expected, policy):
    assert cats(text, policy) == expected


def test_brand_opioid_is_an_opioid_request(policy):
    v = check_input([Turn("user", "Can I give him Zytram for his back?")], policy)
    assert v.opioid_requested


def test_drug_name_file_made_from_other_lists_is_refused(tmp_path):
    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8").replace(
        "steroids: [prednisolone, prednisone,", "steroids: [prednisone,", 1)
    (tmp_path / "drug_names.yaml").write_text(
        (DEFAULT_POLICY_PATH.parent / "drug_names.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "policy.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="regenerate"):
        parse_policy(text, str(tmp_path / "policy.yaml"))


# --- who and when --------------------------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("Mum is 73 and on alendronate for osteoporosis. She lifted a bag of compost this afternoon and felt "
     "sudden severe pain low in her back.", ["fracture"]),
    ("My dad has been on prednisolone for years. He slipped getting out of the bath and now has sudden "
     "back pain.", ["fracture"]),
    ("Family history: mother has osteoporosis and a brother had lymphoma. I lifted a box at work and my "
     "back hurts.", []),
    ("My mother had breast cancer. I have had back ache for a week after gardening.", []),
])
def test_a_relative_can_be_the_patient_or_the_family_history(text, expected, policy):
    assert cats(text, policy) == expected


@pytest.mark.parametrize("text", [
    "Had emergency decompression for cauda equina in 2012, made a full recovery. Now ordinary stiffness.",
    "She had urinary retention after her hip replacement in 2018, catheter for a day, voided fine afterwards.",
    "She has osteoporosis. She hasn't fallen or hurt herself and has no back pain.",
])
def test_dated_episodes_and_plain_negations_stay_quiet(text, policy):
    assert cats(text, policy) == []


def test_a_dated_episode_does_not_hide_a_new_one(policy):
    assert cats("Urinary retention in 2018; new retention since this morning.", policy) == ["cauda_equina"]


def test_weight_change_between_two_weights_in_one_turn():
    rule = MeasurementRule("weight_loss", "body weight", "weight_change", 5, "src", ("wt", "weight", "weighs"))
    (r,) = readings("Wt 81.4 kg in Jan, 72.0 kg today (Apr).", (rule,))
    assert round(r.value) == 12
    (r,) = readings("Weighs 11 st 2 lb now, was 12 st 10 lb at Christmas.", (rule,))
    assert 12 < r.value < 13
    assert readings("Weight 80 kg in Jan, 79 kg today.", (rule,)) == []          # 1 %: not a loss
    assert readings("Wt 70 kg in Jan, 78 kg today.", (rule,)) == []              # a gain
    assert readings("Lifted 20 kg boxes, then 25 kg ones.", (rule,)) == []       # not a body weight


def test_a_measured_weight_loss_with_unremitting_back_pain_escalates(policy):
    assert cats("64M. Wt 81.4 kg in Jan, 72.0 kg today. Constant LBP, no relief with rest.", policy) == ["malignancy"]


def test_power_grades_written_out_of_five_are_compared(policy):
    assert cats("Hip flexion 4 out of 5 last week, 2 out of 5 today.", policy) == ["progressive_neuro_deficit"]
    assert cats("Hip flexion 4 out of 5 last week, 4 out of 5 today.", policy) == []
