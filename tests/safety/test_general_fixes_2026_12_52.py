"""General fixes of policy 2026.12.52 (answer round 21), each with a near miss written for this
file, in other words than the round's case."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401

EXACT = [
    # A fall the note says did no harm.
    ("fall_no_injury_osteoporosis", ["79M, osteoporosis on risedronate. Had a fall, no injury, GP checked him over. "
                                     "Asking about his burning feet at night."], []),
    # Only right after the fall: words between are not read ("fell in the lounge last week, no injury").
    ("fell_without_injury", ["Osteoporotic lady, fell without injury on Monday; wants advice on her knee OA."], []),
    ("fall_then_back_pain", ["79M, osteoporosis on risedronate. Fell in the lounge last week and has had "
                             "severe mid-back pain since."], ["fracture"]),
    ("no_injury_elsewhere", ["Osteoporosis on alendronate. Slipped on the stairs this morning and hurt her back; "
                             "husband has no injury."], ["fracture"]),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
