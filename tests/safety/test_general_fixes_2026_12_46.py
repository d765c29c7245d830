"""General fixes of policy 2026.12.46 (blind round 40 and answer round 18), each with a near miss
written for this file: hand tasks lost over weeks, bending to pick something up, lytic
appearances, a queried fever answered by a later measured temperature, and a drug named as the
cause of weak legs."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401

EXACT = [
    ("hand_tasks_lost_over_weeks", "Neck ache. Over the last 3 wks he keeps dropping things and can't do up his buttons.", ["progressive_neuro_deficit"]),
    ("hand_tasks_long_standing", "MS for 20 years; she has dropped things and struggled with buttons for years, unchanged.", []),
    ("bent_to_pick_up_with_mets", "Known lytic vertebral deposits. Bent to pick up the paper and felt sudden severe back pain.", ["fracture", "malignancy"]),
    ("lytic_appearance", "Breast cancer 2019. XR: lytic appearance of T11.", ["malignancy"]),
    ("queried_fever_measured_normal", ["Back sore since Sunday and I think he might be running a temperature?",
                                       "Checked with a thermometer twice: 36.7 and 36.9. He'd been in a hot bath."], []),
    ("queried_fever_measured_high", ["Back sore since Sunday and I think he might be running a temperature?",
                                     "Checked with a thermometer twice: 38.4 and 38.6, and he's shivering."], ["infection"]),
    ("fever_not_answered_same_turn", "He had a fever of 38.9 overnight with back pain; temp 36.9 in clinic now.", ["infection"]),
    ("drug_makes_legs_jelly", ["He has MS and spasticity, on baclofen 20 mg tds.",
                               "He says the baclofen makes his legs feel like jelly and he wants to stop it."], []),
    ("legs_weaker_not_attributed", ["He has MS and spasticity, on baclofen 20 mg tds.",
                                    "Since Tuesday his legs are getting weaker and he fell twice."], ["progressive_neuro_deficit"]),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
