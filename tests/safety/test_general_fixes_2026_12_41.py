"""General fixes of policy 2026.12.41 (answer round 17's false escalations), each with a near
miss written for this file: paraspinal tenderness, a side compared in brackets, and management
started 'now' for a long-standing emptying problem."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401

EXACT = [
    ("paraspinal_tender_catheter", "Long-term suprapubic catheter, unchanged, no fever. Exam: tender over lower lumbar paraspinals.", []),
    ("midline_tender_catheter_fever", "Long-term suprapubic catheter, temp 38.7 and rigors. Exam: midline tenderness at L3.", ["infection"]),
    ("side_compared_in_brackets", "Back ache, trunk leans to the left when walking (left leg weaker). Mechanical.", []),
    ("leg_weaker_since", "Back ache, and since Monday her left leg is weaker and she trips.", ["progressive_neuro_deficit"]),
    ("now_doing_isc", "MS 15 yrs. Hesitancy and incomplete emptying, now doing intermittent self-catheterisation for 2 years (no recent change).", []),
    ("new_retention_despite_isc", "MS. Does intermittent self-catheterisation, but since yesterday can't pass anything and the catheter drained 900 mL.", ["cauda_equina"]),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
