"""General fixes of policy 2026.12.33, each with a near miss written for this file: pain 'not
relieved by' rest, timed walks listed with commas, a reduced grade before its earlier full grade
in brackets, legs that do not obey, heights dated 'was' against 'always been', a loss measured
last month, clarifications by a carer, and checklists answered 'N'."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401

EXACT = [
    # "not relieved by" says the pain persists; it negates nothing after it.
    ("not_relieved_then_night_pain", "67M, 10 weeks of back pain, not relieved by lying down, and the pain is worse at night and wakes him at 3 am. Weight 80.6 kg in spring, 71.4 kg today, not trying to lose weight.", ["malignancy"]),
    ("relieved_by_lying_down", "67M, 10 weeks of back pain, relieved by lying down, sleeps well, weight steady at 80 kg.", []),
    # A timed walk listed with commas.
    ("t25fw_commas", "RRMS. Timed 25-foot walk: 5.8 s (January baseline), 6.1 s (4 wks ago), 12.4 s today. Mid-back pain 10 days.", ["progressive_neuro_deficit"]),
    ("t25fw_then_edss", "RRMS. T25FW 6.1, EDSS 3.0, both stable. Mechanical back ache after moving house.", []),
    # A reduced grade, then in brackets the full grade dated by a month.
    ("grade_bracket_month", "Hip flexion 4-/5 bilaterally (5/5 in Jan). Back pain 10 days.", ["progressive_neuro_deficit"]),
    ("grade_bracket_other_side", "Hip flexion R 4/5 (L 5/5), unchanged since his 2019 surgery.", []),
    # Legs that no longer obey, with a negation inside the phrase.
    ("legs_not_doing_what_told", 'Both legs feeling heavy, "not doing what I tell them", worse every day. Back pain.', ["progressive_neuro_deficit"]),
    ("legs_heavy_no_worse", "Both legs feel heavy as they always do with my MS, no worse than usual. Back ache after gardening.", []),
    # Heights: "was" last month against "always been".
    ("height_was_vs_always", "69F, back went suddenly bending for the cat's bowl. At the nurse check last month I was 5 ft 2 when I've always been 5 ft 4.", ["fracture"]),
    ("height_always_same", "69F, back stiff after gardening. At the nurse check last month I was 5 ft 4, as I've always been.", []),
    # A carer clarifying what the patient meant.
    ("clarified_temperature", ["Client 58M c/o low back pain after shoveling snow, says he 'had a temperature' yesterday.", "Clarified with client: he meant he felt hot and flushed. Oral temp 98.4 F. No chills, no sweats, no IV drug use."], []),
    ("not_clarified_temperature", ["Client 58M c/o low back pain, says he had a temperature yesterday.", "He has rigors today and is on methotrexate."], ["infection"]),
    # Checklists answered with a bare N or Y.
    ("checklist_n", "RED FLAG SCREEN:\nSaddle anesthesia: N\nBowel/bladder change: N\nFever/chills: N\nHx cancer: N\nLBP after a tackle.", []),
    ("checklist_y", "RED FLAG SCREEN:\nSaddle anesthesia: Y\nFever/chills: N\nLBP after a tackle.", ["cauda_equina"]),
    ("label_then_long_text_no", "Back pain for 3 days. Saddle numbness since this morning REPEAT REVIEW: No", ["cauda_equina"]),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
