"""General fixes of policy 2026.12.27, each with a near miss: an intention to stop a sedating drug
attributes the complaint in its sentence to the drug; a turn saying the neurology is unchanged
makes an undated deficit part of the baseline."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401

EXACT = [
    ("intends_to_stop", "On tizanidine 4 mg tds. Says his legs feel wobbly and he's thinking of stopping it.", []),
    ("intends_to_stop_but_worsening", "On tizanidine 4 mg tds. Since Friday his legs are weaker by the day and now he can't stand; he's thinking of stopping it.",
     ["progressive_neuro_deficit"]),
    ("baseline_deficit", "RRMS, walks with a left foot drop and uses a stick. No new neurology. Aching back after a long shift.", []),
    ("baseline_deficit_neuro_stable", "PPMS. Right foot drop, AFO. Neuro stable at clinic. Low back ache worse standing.", []),
    ("baseline_but_new_since", "RRMS, left foot drop. No new neurology last month, but since Tuesday her right leg is weak too.",
     ["progressive_neuro_deficit"]),
    ("deficit_without_baseline_statement", "RRMS, walks with a left foot drop. Aching back after a long shift.",
     ["progressive_neuro_deficit"]),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
