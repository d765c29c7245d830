"""General fixes of policy 2026.12.18, each with a positive and a near miss written for this file
(not copied from the blind rounds): quoted lay words inside concept parts, second-language and
telegraphic wording, a slash before a query mark, steroids over a stated span, a cough as a minor
strain, examination tools, 'never been told he has', a list header answered 'no personal history',
a diagnosis a clinician mentioned last year, and a service called an advice line."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401


EXACT = [
    ("quoted_heavy_legs", "Back ache for a month; over the past fortnight his legs feel 'heavy and clumsy'.", ["progressive_neuro_deficit"]),
    ("quoted_heavy_bag", "He says his work bag is 'really heavy', back ache after carrying it.", []),
    ("caught_toe_this_week", "She has caught her toe on the stairs twice this week and her left foot slaps.", ["progressive_neuro_deficit"]),
    ("telegraphic_saddle", "Back pain 5 days. From yesterday when I sit on toilet I not feel the paper when cleaning.", ["cauda_equina"]),
    ("telegraphic_fine", "Back pain 5 days. When I sit on toilet everything is normal.", []),
    ("slow_stream_push", "Since yesterday the pee is coming very slow, I push but only little come. Back pain both legs.", ["cauda_equina"]),
    ("query_slash", "Back pain with temps; ?discitis/?epidural abscess, MRI awaited.", ["infection"]),
    ("steroids_span", "On prednisolone 7.5 mg continuously for 26 months, coughed hard yesterday and now sudden severe low back pain.", ["fracture"]),
    ("steroids_short", "Prednisolone for 5 days for asthma last spring; coughed yesterday, mild back ache, 40.", []),
    ("cotton_wool_tool", "Saddle sensation tested with pin and cotton wool: intact. Mechanical back pain.", []),
    ("cotton_wool_symptom", "Since Monday my bottom feels like cotton wool when I wipe.", ["cauda_equina"]),
    ("never_told_cancer", "Back pain after lifting. He has never been told he has any kind of cancer, weight steady.", []),
    ("cancer_header_no_history", "Back pain after gardening.\nCancer: no personal history (father had bowel cancer).", []),
    ("clinician_mentioned_last_year", "Her neurologist mentioned cauda equina when she had back pain last year. She is fine now; what should we look out for?", []),
    ("advice_line_note", "Rheumatology advice line: 70F on long-term prednisolone, slipped on the stairs, now severe back pain.", ["fracture"]),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
