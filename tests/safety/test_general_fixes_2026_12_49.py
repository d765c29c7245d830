"""General fixes of policy 2026.12.49 (answer round 19's false escalation), with a near miss
written for this file: symptoms brought on by exercise in the heat that clear on cooling off
(Uhthoff's phenomenon) are not a progressive deficit."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401

EXACT = [
    ("clears_on_cooling_off", "RRMS. Since summer started she gets tingling in both legs after long runs, which clears within an hour of getting home and cooling off.", []),
    ("spreading_not_cooling", "RRMS. Since yesterday tingling in both legs spreading up to the waist, still there this morning, legs weaker on the stairs.", ["progressive_neuro_deficit"]),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
