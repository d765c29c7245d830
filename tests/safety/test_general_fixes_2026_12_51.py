"""General fixes of policy 2026.12.51 (blind round 44), each with a near miss written for this
file, in other words than the round's cases."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401

EXACT = [
    # Vehicles clipping riders; e-scooters and e-bikes.
    ("cyclist_sideswiped", ["Courier, side-swiped by a taxi on his bike this morning, landed on his back, midline pain."], ["fracture"]),
    ("ebike_skidded", ["My e-bike skidded on wet leaves and I came down on my back, sore in the middle of the spine."], ["fracture"]),
    ("van_parked_no_crash", ["Delivery driver, back ache from lifting parcels out of the van all week, no fall, no crash."], []),
    # A short drop off a step in fragile bone.
    ("bottom_rung_osteoporosis", ["82-year-old with osteoporosis slipped off the bottom rung of the ladder yesterday, low back pain since."], ["fracture"]),
    ("bottom_step_young", ["29-year-old came off the bottom step of the stepladder, twisted ankle, no back pain at all."], []),
    # A query mark after a full stop opens the next sentence.
    ("query_after_negated_sentence", ["Breast cancer 2019, new thoracic pain, not mechanical. ?spinal mets - MRI requested."], ["malignancy"]),
    ("query_mark_benign", ["Back pain after gardening, not radiating, no fever. ?muscular strain - advised to keep active."], []),
    # Recovery is not recurrence.
    ("bladder_came_back_normal", ["Had CES decompression in 2014; the bladder came back normal within a year. Now mild mechanical back ache after gardening."], []),
    ("numbness_came_back", ["Had CES decompression in 2014. Since Tuesday the numbness in the saddle area came back."], ["cauda_equina"]),
    # French mixed into English.
    ("french_pied_traine", ["Since yesterday mon pied gauche traîne, and it is pire today, can't lift the toes."], ["progressive_neuro_deficit"]),
    ("french_stable", ["Ma jambe droite est faible depuis 2009, unchanged for years, no new problems."], []),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
