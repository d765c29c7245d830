"""General fixes of policy 2026.12.47 (blind round 41), each with a near miss written for this
file: grades dated 'at week N', a relative's thermometer, weight lost in second-language tenses,
a fall down five or more steps, teaching questions for a supervisor, 'not the whole story', a
catheter after an operation, full power in a correcting turn, and turning over in bed with
fragile bone."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401

EXACT = [
    ("grade_at_week_n", "Examination at week 3: L EHL 4/5. Today his left EHL is now 2/5.", ["progressive_neuro_deficit"]),
    ("grade_at_week_n_same", "Examination at week 3: L EHL 4/5. Today his left EHL is 4/5, unchanged.", []),
    ("relatives_thermometer", "Back killing me for a week and I inject heroin. My partner's thermometer said 102.4F last night.", ["infection"]),
    ("relatives_own_fever", "Back ache after lifting. My partner has had a fever of 38.9 with the flu all week.", []),
    ("second_language_weight_loss", "I am 61. I lose 8 kilo in 3 month, not on diet, and back pain wake me every night.", ["malignancy"]),
    ("second_language_weight_gain", "I am 61. I gain 8 kilo in 3 month because I stop smoking, back pain after work.", []),
    ("five_plus_steps", "Pushed in a crowd and went backwards down about 8 stone steps, landing on my back; severe mid back pain.", ["fracture"]),
    ("two_steps_young", "Aged 30, missed the last 2 steps and sat down hard, sore low back, walking normally.", []),
    ("teaching_question", "Teaching q for my supervisor session: how reliable is DRE for anal tone in suspected CES?", []),
    ("not_the_whole_story", ["64M, a week of back pain, obs fine.",
                             "Update - that's not the whole story: he has been rigoring at home and had 38.6 on the ear thermometer."], ["infection"]),
    ("post_op_catheter", "TURP three weeks ago and was catheterised for a few days after. Now mechanical back ache, passing urine normally.", []),
    ("new_retention_after_op", "TURP three weeks ago. Since yesterday he can't pass urine and the bladder scan shows 850 mL.", ["cauda_equina"]),
    ("correction_full_power", ["I think his left foot might be weaker than last week.",
                               "Correction - re-examined with my supervisor: PF, DF and EHL are 5/5 on both sides, no progression."], []),
    ("correction_still_weak", ["I think his left foot might be weaker than last week.",
                               "Correction - re-examined with my supervisor: EHL is 3/5 today, it was 5/5 last week."], ["progressive_neuro_deficit"]),
    ("turned_in_bed_myeloma", "Myeloma. Turned over in bed this morning and felt sudden severe band-like pain round her back.", ["fracture", "malignancy"]),
    ("turned_in_bed_no_fragile_bone", "Aged 40, turned over in bed and got a twinge in her low back, no other history.", []),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
