"""General fixes of policy 2026.12.26, each with a positive and a near miss written for this file
(not copied from the blind rounds): charts of bare grades, a weight or height given as the earlier
one, something 'going' in the back, 'my dad who's 81', other people as the experiencer, study
questions, and spinal tenderness as a sign of its own."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401

CHART_FALLING = """OT home visit, R sciatica since a disc bulge last month.
Power (MRC), right leg:
| Visit | Hip flex | Ankle DF | Big toe ext |
| 02/09 | 5 | 4 | 4 |
| 09/09 | 5 | 3 | 2 |
Plan: review next week."""

CHART_STEADY = CHART_FALLING.replace("| 09/09 | 5 | 3 | 2 |", "| 09/09 | 5 | 4 | 4+ |")

# The same numbers under a pain score: not graded power.
CHART_PAIN = """Pain diary (0-5 scale), back:
| Day | Morning | Evening |
| 02/09 | 4 | 5 |
| 09/09 | 2 | 1 |"""

EXACT = [
    ("chart_falling", CHART_FALLING, ["progressive_neuro_deficit"]),
    ("chart_steady", CHART_STEADY, []),
    ("chart_pain_scores", CHART_PAIN, []),
    ("weight_after_was", "Back pain for 2 months, worst at night. Scales say 61 kg, was 68 kg at Christmas.", ["malignancy"]),
    ("weight_after_was_gain", "Back pain for 2 months after a fall at the gym. Scales say 68 kg, was 66 kg at Christmas.", []),
    ("height_always_been", "My gran is 79. She was measured at 151 cm at the surgery but has always been 5 foot 2. Her mid back is sore since Sunday.", ["fracture"]),
    ("height_always_same", "I'm 45, measured at 157 cm at the surgery and have always been 5 foot 2. Lower back is sore since digging.", []),
    ("something_went_in_back", "Dad, 80, felt something 'give' in his back getting out of the car and can barely move.", ["fracture"]),
    ("something_went_young", "I'm 29 and felt something 'give' in my back at the gym, sore but walking about fine.", []),
    ("relative_who_is", "Writing for my dad who's 83: he slipped on the drive this morning and his lower back is agony.", ["fracture"]),
    ("relative_possessive", "I'm 38 with back ache after gardening. Worried because of my dad's cancer years ago.", []),
    ("friend_had_ces", "My friend lost control of her bladder with a slipped disc. I have sciatica down one leg, bladder fine, no numbness.", []),
    ("friend_is_patient", "My friend is 84 and fell in the garden yesterday, she can't get up for back pain.", ["fracture"]),
    ("study_question", "Revising for my medicine finals: why is painless urinary retention a worrying sign in cauda equina?", []),
    ("study_word_real_patient", "Pt 52M, painless urinary retention 900 ml on scan today, back pain.", ["cauda_equina"]),
    ("tenderness_over_70_alone", "Mr B, 76, three months of dull low back ache, midline tenderness at L3, no trauma, no other history.", []),
    ("tenderness_with_cancer", "Mr B, 66, prostate cancer in 2021, now midline tenderness at L3 on examination.", ["malignancy"]),
    ("sudden_pain_over_70", "Mr B, 76, sudden severe low back pain this morning on bending to tie his laces.", ["fracture"]),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
