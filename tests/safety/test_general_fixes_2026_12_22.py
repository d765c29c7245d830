"""General fixes of policy 2026.12.22, each with a positive and a near miss written for this file
(not copied from the blind rounds): decimals in a series of temperatures, a relative named with
the patient's age and sex, 'better' and 'nothing' inside a concept, 'like they always are', and a
seizure in someone on years of an enzyme-inducing antiepileptic."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401


EXACT = [
    ("temperature_series", "Day 5 after a lumbar discectomy: wound red, back pain worse. Temps 37.6 (day 3), 38.2 (day 4), 39.0 today.", ["infection"]),
    ("temperature_series_low", "Day 5 after a lumbar discectomy: wound clean, back pain settling. Temps 37.1 (day 3), 37.2 (day 4), 36.9 today.", []),
    ("relative_with_demographics", "Carer here for her dad, 84M. Long-term prednisolone for PMR. He slipped on the bathroom mat yesterday and now has severe back pain.", ["fracture"]),
    ("family_history_age", "Back pain after gardening. FH: father - prostate ca at 84, mother 79F alive and well.", []),
    ("better_lying_down", "Back ache for a week after moving furniture: worse bending, better lying down, sleeps well.", []),
    ("worse_lying_down", "Back ache for a month, worse lying down at night and it wakes him, history of prostate cancer.", ["malignancy"]),
    ("nothing_new", "Known diabetic neuropathy. Feet numb like they always are, nothing new. Back pain after a long drive.", []),
    ("seizure_on_antiepileptics", "Epilepsy, on phenytoin for 20 years. Had a tonic-clonic seizure last night and now back pain, won't stand.", ["fracture"]),
    ("seizure_without_fragile_bone", "Epilepsy, started levetiracetam last month. Had a tonic-clonic seizure last night, sore back muscles today.", []),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
