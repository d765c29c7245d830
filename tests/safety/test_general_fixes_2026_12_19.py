"""General fixes of policy 2026.12.19, each with a positive and a near miss written for this file
(not copied from the blind rounds): counts in words, 'despite', a stable word next to a finding,
'acute' as a name or a time-course label, toilet paper as the saddle site, help to stand up,
legs that kept giving way, being found on the floor, a quoted relative, teaching sessions, heat
named as the cause, worry words, and a value on a labelled line."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401


EXACT = [
    ("count_in_words_current", "Long-standing urgency on oxybutynin. For the past three days he hasn't been able to pass urine at all, back pain.", ["cauda_equina"]),
    ("count_in_words_stable", "Long-standing urgency on oxybutynin for three years, unchanged. Back ache after digging.", []),
    ("despite_concession", "Back pain. Since this morning he can't pass urine despite standing at the toilet for ages.", ["cauda_equina"]),
    ("usual_binds_tighter", "She's on 50 mg now and sleeping better, but her usual urinary urgency is no better. Back ache.", []),
    ("acute_retention_dated", "Back pain. PMH: one episode of acute urinary retention in 2019 after surgery, catheterised, TWOC fine.", []),
    ("acute_label_at_seventy", "Acute LBP after weeding the garden, he is 70, otherwise well. Which painkiller?", []),
    ("sudden_severe_at_seventy", "He is 78 and had sudden severe low back pain getting out of the car.", ["fracture"]),
    ("toilet_paper_not_touching", "Back pain 4 days; since yesterday the toilet paper feels like it's not touching anything.", ["cauda_equina"]),
    ("toilet_paper_normal", "Back pain 4 days; wiping with toilet paper feels normal, no numbness.", []),
    ("help_to_stand", "Back pain for weeks. A week ago Mum walked to the shops; now it takes me and my brother to stand her up.", ["progressive_neuro_deficit"]),
    ("legs_kept_giving_way", "Back pain after a fall this morning; this afternoon her legs kept giving way when she tried to stand.", ["progressive_neuro_deficit"]),
    ("found_sitting_on_floor", "Mrs K, 88, osteoporosis on alendronate, was found sitting on the floor by the night staff; back pain today.", ["fracture"]),
    ("slid_down_quoted", "He is 84 and on long-term prednisolone; he 'slid down' the side of his bed last night and now his back hurts.", ["fracture"]),
    ("teaching_session_list", "I'm running a teaching session for our carers next week: what are the back pain red flags, e.g. cauda equina or spinal infection?", []),
    ("heat_named_first", "I have MS. Hot baths make my legs feel weaker for half an hour, then they recover. Is a heat pack OK for back ache?", []),
    ("worry_breaks", "With MS, when I run my legs feel weak and I worry I'm making it worse. Back ache too. Is running safe?", []),
    ("labelled_bladder_scan", "Back pain and bilateral sciatica.\nBladder scan (HCA, 21:40, straight after she voided and said it was fine): 610 ml", ["cauda_equina"]),
    ("labelled_scan_small", "Back pain and bilateral sciatica.\nBladder scan (HCA, 21:40, straight after she voided and said it was fine): 40 ml", []),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected


def test_a_relative_quoted_is_the_patient(policy):
    turns = ["Ambulance handover: son called us because dad 'couldn't get up off the toilet' - his legs "
             "kept buckling under him since lunchtime. Back pain for two weeks."]
    assert categories(turns, policy) == ["progressive_neuro_deficit"]
