"""General fixes of policy 2026.12.48 (blind round 42), each with a near miss written for this
file: night pain in second-language wording, weight lost 'without any dieting', a vehicle hit from
behind, a screen named after a red flag, someone already catheterised, and a gestation written as
a ratio."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401

EXACT = [
    ("night_time_weight_loss", "I am 61 yrs. Back pain since 2 months, more in night time, I have to sit up in bed. Weight come down from 80 kg to 71 kg without any dieting.", ["malignancy"]),
    ("day_time_stable_weight", "I am 61 yrs. Back pain since 2 months, more in day time after work. Weight same 80 kg.", []),
    ("rear_ended_midline_tender", "Rear-ended at the lights yesterday, now the middle of my back hurts when you press right on the bone.", ["fracture"]),
    ("rear_ended_muscle_ache", "Rear-ended at the lights yesterday, stiff neck muscles, no back pain, walking about fine.", []),
    ("mscc_screen_clear", "Oncology helpline: MSCC screen done as routine - denies back pain, no leg weakness, bladder and bowels normal.", []),
    ("mscc_suspected", "Oncology helpline: known breast cancer, new band-like thoracic back pain and legs feel weaker since yesterday, ?MSCC.", ["malignancy", "progressive_neuro_deficit"]),
    ("already_catheterised", "Known BPH, already catheterised by urology last month, mechanical LBP after lifting.", []),
    ("new_retention", "Known BPH, since yesterday can't pass urine at all, bladder scan 900 mL, LBP.", ["cauda_equina"]),
    ("gestation_ratio_not_temp", "Obs triage: 31/40, low back and buttock pain, obs normal, afebrile.", []),
    ("temperature_after_ratio", "Obs triage: 31/40, back pain and rigors, temp 38.7.", ["infection"]),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
