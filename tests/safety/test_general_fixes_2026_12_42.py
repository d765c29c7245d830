"""General fixes of policy 2026.12.42 (blind round 36), each with a near miss written for this
file: a relative's contracted "'s been" makes the relative the patient, a date after a height or
weight makes it the earlier one, bone treatment in lay words and bisphosphonates by their British
names, sitting down 'heavy', weight lost in words, and 'the same as when' a finding was last seen."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401

EXACT = [
    ("relative_contracted_been", "Mum's been waking every night with her back, worse lying flat. She had breast cancer in 2016 and she's not eating much.", ["malignancy"]),
    ("relative_possessive_not_patient", "Mum's sister had breast cancer years ago. I've had mechanical back ache for 3 weeks after gardening, better when moving.", []),
    ("height_dated_after", "Practice nurse check: height 161 cm today; 166 cm at her 2019 health check. Mid back ache for 2 weeks.", ["fracture"]),
    ("height_same_dated_after", "Practice nurse check: height 165 cm today; 166 cm at her 2019 health check. Mid back ache for 2 weeks.", []),
    ("weight_dated_after", "Known prostate cancer. Weight 63 kg now, 71 kg a year ago. Some back ache after the garden.", ["malignancy"]),
    ("lay_bone_tablets_minor_fall", "She's on the weekly bone tablets and yesterday she sat down a bit heavy on the sofa; now her lower back is agony.", ["fracture"]),
    ("lay_bone_tablets_no_event", "She's on the weekly bone tablets. Aching lower back for years, same as always, no falls.", []),
    ("bare_british_bisphosphonate", "On ibandronic acid. Twisted lifting the shopping yesterday and now sharp low back pain.", ["fracture"]),
    ("weight_lost_in_words_with_cancer", "Had bowel cancer in 2019. Now back ache at night and he has lost loads of weight without trying.", ["malignancy"]),
    ("weight_gain_in_words", "Had bowel cancer in 2019, all clear. Back ache after decorating; he has put on loads of weight since retiring.", []),
    ("same_as_when_seen", "His right foot drop is the same as when the neurologist saw him last year. Back ache after lifting.", []),
    ("worse_than_when_seen", "His right foot drop is worse than when the neurologist saw him last month and now the left is catching too.", ["progressive_neuro_deficit"]),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
