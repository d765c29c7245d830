"""General fixes of policy 2026.12.38, each with a near miss written for this file: known
metastases count whatever 'known' says, a deficit said not to change is the baseline, and a band
round the trunk counts only when new."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401

EXACT = [
    ("known_bone_mets_back_pain", "Oncology: breast ca with known bone mets (L2 on last scan). Back pain at L2 much worse for a week.", ["malignancy"]),
    ("bone_mets_relative", "Her sister has known bone mets from breast cancer. She herself has mild back ache after gardening.", []),
    ("ms_band_long_standing", "61M SPMS. Burning pain in both lower legs plus a band round the trunk. Is gabapentin reasonable?", []),
    ("band_new_since_sunday", "He has MS and since Sunday has a tight band round his middle.", ["progressive_neuro_deficit"]),
    ("deficit_not_changing", "Patient of 58, already 5 years a numb patch on the left shin and a slightly weaker ankle since his disc operation. It is not changing, same as always. Asks about back exercises.", []),
    ("deficit_getting_worse", "Patient of 58, numb patch on the left shin and the ankle is getting weaker every week since March. Asks about back exercises.", ["progressive_neuro_deficit"]),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
