"""General fixes of policy 2026.12.44 (blind round 38), each with a near miss written for this
file: falls from warehouse racking and other raised structures, 'as every year' as a stable
finding, a carer who has asked again as a correction, and the toilet-paper test said normal."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401

EXACT = [
    ("fell_off_racking", "Storeman, 30, fell off the racking onto his back; pain in the middle of his lower back.", ["fracture"]),
    ("leaning_on_racking", "Storeman, 30, low back ache after a long shift restacking the racking, no fall, no injury.", []),
    ("level_as_every_year", "Annual SCI review: sensory level T8 as every year, bladder managed with ISC as always.", []),
    ("level_new_this_year", "Annual SCI review: sensory level now T6, it was T8 last month; legs weaker this week.", ["progressive_neuro_deficit"]),
    ("carer_asked_again_normal", ["My husband says his bottom has gone numb since the back pain started.",
                                  "I've asked him properly now - it's only the outer part of one buttock. He can feel the toilet paper fine and wees normally."], []),
    ("carer_asked_again_still_numb", ["My husband says his bottom has gone numb since the back pain started.",
                                      "I've asked him properly now - he can't feel the toilet paper on either side and he hasn't weed since last night."], ["cauda_equina"]),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
