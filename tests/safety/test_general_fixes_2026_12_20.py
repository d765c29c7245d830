"""General fixes of policy 2026.12.20, each with a positive and a near miss written for this file
(not copied from the blind rounds): 'for ages' qualifies only the words right before it, a
discovery ('this morning I realised') makes a finding new, a tiny dribble is retention, a
screening item answered 'NO - ...', and a red flag's name as a form's section heading."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401


EXACT = [
    ("for_ages_far_away", "Back pain and sciatica down both legs. Today I can't feel the tissue when I wipe, and I sat in the bathroom for ages.", ["cauda_equina"]),
    ("for_ages_right_after", "I've had a numb patch down there for ages, the neurologist says it's my MS and nothing has changed. Back ache after gardening.", []),
    ("realised_new", "Back pain since Friday. I realised last night that I can't feel the paper when I wipe.", ["cauda_equina"]),
    ("tiny_dribble", "Terrible back pain into both legs; I sat on the loo feeling full but only a tiny dribble came out.", ["cauda_equina"]),
    ("screen_no_dash", "Back pain 2 weeks.\nSaddle numbness: NO - normal when wiping\nBladder: NO - normal stream\nWeight loss: NO - weight stable", []),
    ("screen_yes_dash", "Back pain 2 weeks.\nSaddle numbness: YES - can't feel the paper since Monday\nBladder: normal", ["cauda_equina"]),
    ("section_heading", "Triage form, back pain 3 weeks.\nCauda equina:\n- Saddle numbness: no\n- Bladder change: no\nMalignancy:\n- Previous cancer: no", []),
    ("named_not_heading", "Back pain with new saddle numbness. Impression: cauda equina: needs MRI tonight.", ["cauda_equina"]),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
