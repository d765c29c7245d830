"""General fixes of policy 2026.12.17, each with a positive and a near miss written for this file
(not copied from the blind rounds): legs going from under someone and stairs no longer managed,
heavy legs with a time course, a walking aid needed within days, a deficit named as such, an
undated mention of a cancer history that is dated long ago elsewhere, an illness that is 'fully
better', a past episode dated by month and year, weight-bearing after a fall."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401


EXACT = [
    ("legs_going_from_under", "His back has been bad for a week and today his legs keep going from under him.", ["progressive_neuro_deficit"]),
    ("stairs_no_longer", "Since Monday he couldn't get up the stairs, his back is agony.", ["progressive_neuro_deficit"]),
    ("stairs_breathless", "He gets breathless on the stairs because of his COPD; back ache after gardening.", []),
    ("heavy_legs_now", "Known breast cancer, new back pain for a fortnight and now her legs feel heavy.", ["malignancy", "progressive_neuro_deficit"]),
    ("heavy_shopping", "Back twinge carrying heavy shopping, walking fine.", []),
    ("frame_today", "Walked unaided last week, needs a frame today, back pain.", ["progressive_neuro_deficit"]),
    ("frame_for_years", "Has used a frame for years since her stroke, back ache after a long car journey.", []),
    ("deficit_named_new", "On exam a new motor deficit in the left leg, back pain 3 days.", ["progressive_neuro_deficit"]),
    ("deficit_named_none", "No motor deficit, back pain 3 days after gardening.", []),
    ("sensory_level_concept", "Sensation reduced below about T9 on both sides since yesterday.", ["progressive_neuro_deficit"]),
    ("remote_cancer_undated_later", ["Bowel cancer in 1998, all clear since. New back pain since lifting a sofa 2 days ago.", "Should we scan because of the cancer?"], []),
    ("recent_cancer_undated_later", ["Bowel cancer in 2022. New back pain since lifting a sofa 2 days ago.", "Should we scan because of the cancer?"], ["malignancy"]),
    ("flu_fully_better", "Had flu with a fever of 39 last week, fully better now; today pulled his back lifting.", []),
    ("fever_now", "Had flu last week, now a fever of 39 again and new back pain.", ["infection"]),
    ("month_year_episode", "Her last relapse was in March 2018, when she had acute urinary retention, which recovered. Now a mechanical backache.", []),
    ("falls_without_pain_79", "79M with MS, two falls at home in the last 6 months (tripped, no injuries), new burning pain in both shins.", []),
    ("fall_with_back_pain_79", "79M tripped over a rug this morning and now his lower back is very painful.", ["fracture"]),
    ("weight_bearing_after_fall", "Slipped on ice, 30, bruised back, unable to weight bear for an hour then fine.", []),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
