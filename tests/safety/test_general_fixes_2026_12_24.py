"""General fixes of policy 2026.12.24 (false escalations found by answer round 9), each with a
positive and a near miss written for this file: a spaced dash between clauses, heat-related
symptoms that settle on cooling, and a sign documented years ago."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401

EXACT = [
    ("dash_separates_clauses", "MS, aching back. Worried swimming makes things worse - after a hot bath my legs feel heavy until I cool off. OK to keep going?", []),
    ("dash_inside_new_deficit", "Back pain. Legs getting weaker - can't manage the stairs since Monday.", ["progressive_neuro_deficit"]),
    ("heat_until_cooled", "When I got hot on holiday my legs went weak and tingly until I cooled down, then fine. Back ache on and off.", []),
    ("documented_years_ago", "Chronic LBP. O/E reduced pinprick over the left buttock, old, documented 2018. Bladder and bowel normal.", []),
    ("baseline_is_not_bloods", "U&E normal last month. Exam today: tone up, power 4+/5 in both legs.", []),
    ("new_saddle_numbness", "Chronic LBP. Since yesterday reduced pinprick over both buttocks and can't feel wiping.", ["cauda_equina"]),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
