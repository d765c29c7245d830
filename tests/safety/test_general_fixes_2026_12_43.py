"""General fixes of policy 2026.12.43 (blind round 37), each with a near miss written for this
file: a query mark written onto a word, a queried sign answered by a later examination, a height
loss between two measurements, stepping down off something, a stated drop height, midline 'TTP'
and a palpable step, a problem-list date and a dated narrative opener, a relative's pronoun in a
patient's own message, trauma with a sphincter sign, and a slipped disc."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401

EXACT = [
    ("query_mark_on_word_escalates", "Triage note: ?saddle numbness, 52F with LBP. Please see.", ["cauda_equina"]),
    ("query_answered_by_exam", ["Triage note: ?saddle numbness, 52F with LBP. Please see.",
                                "Seen: the numb patch is on the outer thigh. Saddle sensation S2-S5 intact, anal tone normal, voiding normally."], []),
    ("definite_sign_not_answered_by_exam", ["52F with LBP, saddle numbness since this morning.",
                                            "Seen: saddle sensation intact to light touch only in parts, reduced on the left buttock."], ["cauda_equina"]),
    ("measured_height_loss", "Annual review: height 158 cm today; 161 cm measured at last year's review. New mid back ache for 2 weeks.", ["fracture"]),
    ("recalled_height_loss_small", "Height 158 cm today; she thinks she was about 161 cm when younger. New mid back ache for 2 weeks.", []),
    ("stepped_off_bus_over_70", "79M, low back pain since stepping off a bus on Monday.", ["fracture"]),
    ("stepped_off_bus_young", "39M, low back pain since stepping off a bus on Monday, no other features.", []),
    ("drop_height_high_energy", "Climber, 5 m drop onto his back at the wall, severe low back pain.", ["fracture"]),
    ("drop_height_small", "Climber, low back ache after bouldering, no falls, jumped down from the wall as usual.", []),
    ("midline_ttp_after_fall", "Fell in the garden, now midline TTP at L2.", ["fracture"]),
    ("paraspinal_ttp_after_fall", "Fell in the garden, now TTP over the right paraspinal muscles only, midline non-tender.", []),
    ("problem_list_dated", "Problems: 1. Discitis L4-5 - 2014 - treated, resolved. 2. Mechanical LBP - current.", []),
    ("problem_list_recent", "Problems: 1. Discitis L4-5 - 2026 - on IV antibiotics. 2. LBP.", ["infection"]),
    ("dated_narrative_opener", "As you know, in June 2013 he was admitted with a spinal epidural abscess. He now has mechanical back pain only.", []),
    ("writer_patient_relative_pronoun", "My dad had cauda equina two years ago, he lost control of his bladder then. I've got sciatica down my right leg; everything else is normal.", []),
    ("writer_patient_own_sign", "My dad had sciatica too. I've got sciatica down my right leg. Since yesterday I can't feel the toilet paper when I wipe.", ["cauda_equina"]),
    ("trauma_with_sphincter_sign", "19M, tackled at rugby and landed hard on his back; since then he has wet himself twice without noticing.", ["cauda_equina", "fracture"]),
    ("slipped_disc_not_trauma", "Slipped disc at L4/5 diagnosed last month; last night she wet the bed without waking.", ["cauda_equina"]),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
