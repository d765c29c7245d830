"""General fixes of policy 2026.12.35, each with a near miss written for this file: grip strength
falling, a grade before the higher grade it was ('2/5 (was 4/5)'), night pain in other words, a
relative written with 'age 68 years', a queried metastasis on imaging, belt-like pain round the
ribs, an osteoporosis drug someone 'takes', and an episode dated 'in 2021 ... where'."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401

EXACT = [
    ("grip_falling", "OT note: neck and upper back pain 2/12. Grip dyn R 31kg (6 wks ago) -> 17kg today. Dropping mugs.", ["progressive_neuro_deficit"]),
    ("grip_steady", "OT note: neck ache 2/12. Grip dyn R 31kg (6 wks ago) -> 30kg today. Hand function normal.", []),
    ("grade_was_higher", "SPMS, spasms worse 2/52. Saw her today: R DF 2/5 (was 4/5), can't transfer now.", ["progressive_neuro_deficit"]),
    ("grade_was_same", "SPMS, spasms worse 2/52. Saw her today: R DF 2/5 (was 2/5 last year too), transfers as usual.", []),
    ("father_age_years_night_weight", "My father age 68 years is having back pain since 2 months, more in night time, he is not able to sleep. He has lost 7 kg weight and is not feeling hungry.", ["malignancy"]),
    ("father_age_history_only", "My father aged 80 had prostate cancer years ago and died of it. I'm 40 with a sore back after the gym.", []),
    ("query_metastasis_imaging", "Hx RCC, nephrectomy 2021. LBP 3/52 at L2. CT: indeterminate lucency L2 body, ?metastasis ?haemangioma.", ["malignancy"]),
    ("haemangioma_known", "CT 2019: L2 vertebral haemangioma, unchanged on MRI 2023. Mechanical back ache after gardening.", []),
    ("belt_round_ribs_cancer", "My husband is 77 and has prostate cancer on zoladex. For 3 weeks pain in his upper back going round his ribs like a belt.", ["malignancy"]),
    ("takes_alendronic_after_slip", ["Mum slipped on the last 2 stairs yesterday and landed on her bum.", "She's 79 and takes alendronic acid for her bones; today she can't get off the sofa, screams when she tries."], ["fracture"]),
    ("relapse_dated_where", "In 2021 I had an MS relapse where my legs went weak and numb up to my waist; it all came back. Now my back is stiff from desk work, nothing new with my legs.", []),
    ("relapse_now", "My legs went weak and numb up to my waist since Tuesday, and my back hurts.", ["progressive_neuro_deficit"]),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
