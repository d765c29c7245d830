"""General fixes of policy 2026.12.45 (blind round 39), each with a near miss written for this
file: the patient's relative ('his housemate, who is on steroids') is not the patient, Scots
'nae' negates, pointing at the back is pain, and 'from about head height' is a height."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401

EXACT = [
    ("patients_relative_not_patient", "Ade, 31, pulled his back lifting a box yesterday. His brother, who is on long-term steroids, had a spinal fracture last year.", []),
    ("writers_relative_is_patient", "My brother, who is on long-term steroids, pulled his back lifting a box yesterday and now his back is agony.", ["fracture"]),
    ("scots_nae_fever", "Sair back efter the liftin, nae fever, nae pain doon the legs, waterworks fine.", []),
    ("scots_fever_present", "Sair back for a week and he's had a fever and shivers since last night, temp 38.6.", ["infection"]),
    ("pointing_at_back_after_slide", "Gran is 86 and slid off her chair this morning; she keeps pointing at her lower back and won't sit up.", ["fracture"]),
    ("pointing_no_event", "Gran is 86, no falls or knocks, pointing at her knee which has been sore for years.", []),
    ("about_head_height", "Dropped from about head height onto her back during a lift at rehearsal, sharp pain in the middle of the spine.", ["fracture"]),
    ("lifted_no_drop", "Dancer, sore lower back after rehearsing overhead lifts all week, no falls, no drops.", []),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
