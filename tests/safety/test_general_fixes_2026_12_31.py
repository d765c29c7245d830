"""General fixes of policy 2026.12.31, each with a near miss written for this file: tick boxes on
forms, measured series (timed walk, EDSS), new cord signs, drugs only cancer gets, two-wheeler
collisions, lay voiding difficulty, bone pain, later turns that date an earlier one, relatives
named before a pronoun, and the tokenizer's handling of '38C.' and '~'."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401

EXACT = [
    # Tick boxes: the ticked answer says it; an unticked template says nothing.
    ("form_ticked_no", "Saddle numbness: [ ] Y  [x] N\nUrine retention / incontinence: [ ] Y  [x] N\nTrauma (fall / RTA): [ ] Y  [x] N\nLBP after lifting.", []),
    ("form_ticked_yes", "Saddle numbness: [x] Y  [ ] N\nUrine retention: [ ] Y  [x] N\nLBP after lifting.", ["cauda_equina"]),
    ("template_unticked", "Draft referral form: 'Red flags present? [ ] saddle anaesthesia [ ] urinary retention [ ] fever'. Anything missing?", []),
    ("yn_field_answered", "Urinary retention (Y/N): Y. Back pain 3 days, both legs sore.", ["cauda_equina"]),
    # A full stop after a number and its unit ends the sentence.
    ("leaflet_fever_above_38c", "The sheet says 'RETURN IF: loss of bowel control, fever above 38C.' I have none of those, it's a sore back from moving boxes.", []),
    ("fever_38c_then_sentence", "Back pain with temp 38.6C. I have been shivering all night. On natalizumab.", ["infection"]),
    # Measured series: a timed walk up 20 % or more, EDSS up 1 point or more, within the year.
    ("t25fw_doubled", "RRMS. T25FW 5.8 s (Jan) -> 12.4 s today. Band-like thoracic back pain.", ["progressive_neuro_deficit"]),
    ("t25fw_same", "RRMS. T25FW 5.8 s (Jan) -> 6.0 s today. Mechanical low back pain.", []),
    ("edss_over_years", "SPMS, EDSS 3.0 (2015) -> 6.0 (2024). Chronic low back pain, unchanged.", []),
    # New cord signs; long-standing ones are not.
    ("new_upgoing_plantars", "Back pain 2 weeks. Brisk reflexes and upgoing plantars, new since last clinic.", ["progressive_neuro_deficit"]),
    ("known_upgoing_plantars", "Known SPMS: brisk reflexes and upgoing plantars as before, no change. Back pain after gardening.", []),
    ("approx_sensory_level", "Pinprick level ~T8 both sides, legs stiff, mid-back pain.", ["progressive_neuro_deficit"]),
    # Drugs only cancer gets, on a medication list.
    ("letrozole_night_pain", "58F, thoracic back pain 6 weeks waking her at night. Meds: amlodipine, letrozole 2.5 mg od.", ["malignancy"]),
    ("letrozole_mechanical_no_pain_change", "Meds: letrozole 2.5 mg od, amlodipine. Asking about the interaction of letrozole with St John's wort.", []),
    # Two-wheeler collisions and speeds written with '~'.
    ("two_wheeler_skid", "19M pillion on two-wheeler, skidded at ~60 km/h. Mid back pain, tender over T12.", ["fracture"]),
    ("thrown_off_balance", "I was thrown off balance when the bus braked and my lower back has ached since.", []),
    # Lay voiding difficulty and a lay saddle.
    ("urine_not_coming_press", ["Back paining 5 days after lifting cement bags.", "From yesterday urine is not coming properly, I have to press the stomach."], ["cauda_equina"]),
    ("seat_area_rubber", "When I sit on the scooter the seat area feels like rubber, no feeling there. Back pain since Monday.", ["cauda_equina"]),
    ("erection_without_article", "Shooting pains both legs since lifting rebar; since 3 days cannot get erection.", ["cauda_equina"]),
    # Bone pain with a cancer marker; a PSA whose bracketed date is the earlier value's.
    ("psa_bone_pain", "74M, LBP 2 months, aching in all my bones. PSA 86 ng/mL (4.1 in 2019).", ["malignancy"]),
    ("psa_dated_itself", "PSA 25 in 2010, prostatectomy, undetectable since. Back ache after digging, 3 days.", []),
    # Weighing in stones; a wife who made the patient weigh.
    ("stone_weights_wife", ["I'm 61 and my lower back has ached a few months.", "My wife made me weigh myself - 11 st 4 lb at Christmas, 9 st 10 lb now, not dieting. The ache wakes me at night."], ["malignancy"]),
    # Transfers needing two staff against the usual.
    ("two_staff_transfer", "HD unit: back pain 2 days, temp 38.9. Legs feel weak, needed 2 staff to transfer to chair, normally walks in himself.", ["infection", "progressive_neuro_deficit"]),
    # Easing between two parts makes pain mechanical.
    ("eases_lying_down", "49M, seminoma 1998, cured. LBP 3 days after moving a wardrobe, worse bending, eases lying down. No night pain.", []),
    # A relative named before 'she' in a patient's own message.
    ("neighbour_she_could_not_walk", "My neighbour aunty had bone cancer and at the end she could not walk. Now my back is paining from carrying pots. I am 29, healthy.", []),
    ("mum_is_patient_she_cannot_walk", "My mum is 80 and she fell yesterday, now she cannot walk. I am worried.", ["progressive_neuro_deficit"]),
    # Retention managed by intermittent self-catheterisation, however abbreviated, is her usual state.
    ("self_cath_abbreviated", "58M PPMS. Does intermittent self-cath for retention. 3 months of burning pain in both legs. What would you start?", []),
    ("self_cath_started_yesterday", "Had to start self-cathing yesterday for new retention; back pain and numb bottom since Monday.", ["cauda_equina"]),
    # A later turn that dates the earlier one and says it is not so now.
    ("correction_dated", ["Via interpreter: 'numbness in the bottom area and he wet himself'. LBP 2 weeks.", "Correction - that was in 2018, he had surgery and everything returned to normal. Nothing like that now."], []),
    ("later_turn_not_a_correction", ["Via interpreter: 'numbness in the bottom area and he wet himself'. LBP 2 weeks.", "He also had a similar episode in 2018 that settled."], ["cauda_equina"]),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
