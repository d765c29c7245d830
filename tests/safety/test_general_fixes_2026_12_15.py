"""General fixes of policy 2026.12.15, each with a positive and a near miss written for this file
(not copied from the blind rounds): red flags investigated and excluded later in the note,
weakness that the examination did not bear out, a cancer history dated long ago, return
precautions, intensifiers inside lay phrases, low falls in frail people, PSA, osteopenia and
named motor deficits."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401


EXACT = [
    # A combination investigated and excluded afterwards, with the investigation named.
    ("fall_then_ct_clear", "81F on alendronate, tripped on the rug and landed on her back. X-ray lumbar spine: no fracture. Walking with her frame.", []),
    ("fall_then_opinion", "81F on alendronate, tripped on the rug and landed on her back. I don't think there's a fracture.", ["fracture"]),
    ("ct_clear_then_new_fall", "CT spine last month showed no fracture. Yesterday the 84-year-old slipped again and landed on her bottom, now her back is agony.", ["fracture"]),
    ("sciatica_retention_mri_clear", "Both legs sciatica and a bladder scan of 450 mL after voiding. MRI: no cauda equina compression.", []),
    # Weakness complained of, then a full motor examination.
    ("heavy_legs_then_full_power", "On tizanidine, says her legs feel heavy and like jelly in the afternoons. Examined: power 5/5 throughout, reflexes unchanged.", []),
    ("full_power_except", "His legs are getting weaker by the day. Power 5/5 throughout except left ankle dorsiflexion 2/5.", ["progressive_neuro_deficit"]),
    ("full_power_then_new_weakness", "Power 5/5 bilaterally at clinic on Monday. Since then her right leg has been giving way.", ["progressive_neuro_deficit"]),
    # A cancer history dated long ago combines with night pain or weight loss, not with a mechanical pain alone.
    ("remote_cancer_mechanical", "Colon cancer treated in 1999, discharged. Now new low back pain after moving furniture.", []),
    ("remote_cancer_night_pain", "Colon cancer treated in 1999, discharged. Now new low back pain that wakes him at night.", ["malignancy"]),
    ("recent_cancer_mechanical", "Colon cancer treated in 2023. Now new low back pain after moving furniture.", ["malignancy"]),
    ("remote_with_recurrence", "Breast cancer in 2001 with a recurrence in 2009. New low back pain after lifting.", ["malignancy"]),
    # Return precautions are advice, not findings.
    ("return_precautions", "Mechanical LBP. Return precautions given: new leg weakness, numbness in the groin, trouble urinating, fever.", []),
    ("return_precautions_then_real", "Return precautions given last week. Today: new numbness in the groin and he can't pass urine.", ["cauda_equina"]),
    # Intensifiers inside lay phrases.
    ("nothing_actually_comes_out", "Back pain for a week and now when I try to wee nothing actually comes out.", ["cauda_equina"]),
    ("wees_fine", "Back pain for a week, weeing normally, nothing else.", []),
    # Low falls in frail people.
    ("slid_off_bed_90", "Mum is 90, slid off the bed onto her bottom this morning and now her lower back is very sore.", ["fracture"]),
    ("slid_off_bed_40", "I'm 40, slid off the sofa onto my bottom, bit sore.", []),
    # PSA and osteopenia.
    ("psa_very_high", "72M, PSA 96 ng/mL last week, new back pain for 3 weeks.", ["malignancy"]),
    ("psa_normal", "72M, PSA 2.1, new back pain for 3 weeks after digging.", []),
    ("osteopenia_lift", "58F with osteopenia on DEXA, twinge lifting shopping, mechanical pain.", []),
    ("osteoporosis_lift", "58F with osteoporosis on DEXA, sudden pain lifting shopping.", ["fracture"]),
    # A motor deficit named as such.
    ("new_root_deficit", "Possible new L5 motor deficit on the left, hard to examine because of pain.", ["progressive_neuro_deficit"]),
    ("old_root_deficit", "Known old L5 motor deficit on the left since surgery in 2012, unchanged.", []),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
