"""General fixes of policy 2026.12.16, each with a positive and a near miss written for this file
(not copied from the blind rounds): grades on lines headed by times of day, a sensory level in
either word order, 'not passing urine', a deficit dated from an operation years ago, dangerous
tackles and falls from shoulder height, repeated steroid courses, an expected post-operative CRP."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401


EXACT = [
    ("timed_grades_fall", "Neuro obs:\n09:00 power 5/5 both legs\n16:15 hip flexion 3/5 both sides, knee extension 3/5", ["progressive_neuro_deficit"]),
    ("timed_grades_steady", "Neuro obs:\n09:00 hip flexion 4/5 left\n16:15 hip flexion 4/5 left, unchanged", []),
    ("sides_not_times", "Hip flexion 5/5 right, 4/5 left, long-standing since his 2015 relapse.", []),
    ("sensory_level_reversed", "Back pain since Tuesday. Light touch reduced below T6 on both sides.", ["progressive_neuro_deficit"]),
    ("not_passing_urine", "Back pain and he's not passing urine since this morning.", ["cauda_equina"]),
    ("passing_urine_fine", "Back pain, passing urine normally, bowels fine.", []),
    ("foot_drop_since_op", "Right foot drop since my discectomy in 2009, no change at all. Now a stiff back after gardening.", []),
    ("foot_drop_new", "Right foot drop since Sunday and my back is killing me.", ["progressive_neuro_deficit"]),
    ("tip_tackle", "Tipped in a tackle on Saturday and landed on his neck, now upper back pain.", ["fracture"]),
    ("standing_height", "Slipped from standing height on a wet floor, 35, bruised back.", []),
    ("repeated_steroid_courses", "Several prednisolone courses for her COPD this year, now sudden back pain after lifting the shopping.", ["fracture"]),
    ("single_steroid_course", "One short pred course in March, now back pain after lifting shopping, 45.", []),
    ("crp_post_op", "Type 2 diabetic, day 2 after a knee replacement, CRP 120 in keeping with post-op, back ache from the bed.", []),
    ("crp_with_diabetes", "Type 2 diabetic, CRP 120, new back pain and sweats at night.", ["infection"]),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
