"""General fixes of policy 2026.12.50 (blind round 43 and answer round 20's false escalations),
each with a near miss written for this file, in other words than the round's cases."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401

EXACT = [
    # A large animal or vehicle coming down on someone, a rider thrown at a jump.
    ("cow_fell_on_farmer", ["Farmer, 52, the cow fell on him in the crush this morning; tender at T12, palpable step."], ["fracture"]),
    ("rider_thrown_at_hedge", ["Eventing rider thrown at a hedge yesterday, thoracic back pain since."], ["fracture"]),
    ("horse_lover_no_fall", ["Keen rider, 40. Mechanical low back pain after mucking out the stables all weekend, no fall, neuro intact."], []),
    # A labour epidural, and an infected-looking site after a spinal procedure.
    ("labour_epidural_site_pus", ["Had an epidural in labour 8 days ago. The injection site is red and swollen with pus coming out, and her back aches."], ["infection"]),
    ("labour_epidural_site_fine", ["Had an epidural for the delivery last week. Her back is a bit bruised where the needle went in, no redness, no fever."], []),
    ("wound_ooze_without_procedure", ["Sacral pressure sore oozing a little, dressed by the district nurse; back pain unchanged for years."], []),
    # Lay rigors and fever.
    ("shaking_all_over", ["My husband's back is killing him and he's shaking all over, can't stop, feels boiling hot."], ["infection"]),
    ("shaking_after_swim", ["He was shivering after the cold swim but warmed up in minutes, no temperature; the back ache is from rowing."], []),
    # A sneeze in a second-language tense, a relative who 'has' osteoporosis.
    ("mum_have_osteoporosis_sneeze", ["My mother have osteoporosis on alendronate. Last night she cough very hard and now her back is very pain, cannot sit up. Hospital or not?"], ["fracture"]),
    ("sister_has_osteoporosis_he_lifts", ["Sister has osteoporosis; he has acute back pain after lifting."], []),
    ("writer_own_back_mum_has_osteoporosis", ["I have back pain after lifting a sofa yesterday. My mum has osteoporosis and she broke her wrist last year - am I at risk too?"], []),
    # 'already gone' is no spread; the MS course is a diagnosis.
    ("tingling_already_gone", ["36F, thigh tingling after a long run yesterday, already gone. Perianal sensation intact, bladder and bowels normal."], []),
    ("tingling_gone_numb", ["Since yesterday both feet have gone numb and it is creeping up the shins."], ["progressive_neuro_deficit"]),
    ("progressive_ms_wheelchair", ["My wife has secondary progressive MS and uses a wheelchair most of the day; achy back from sitting, same for years."], []),
    # A series ends at a number with another unit.
    ("edss_then_distance", ["Clinic 3 months ago: EDSS 4.0, 300 m with a stick. Today mechanical back ache only, walking the same."], []),
    ("edss_rises", ["EDSS 3.0 -> 4.5 since the summer, now needs a frame indoors."], ["progressive_neuro_deficit"]),
    # Heat makes the legs heavier: Uhthoff's phenomenon.
    ("heat_pad_heavier_legs", ["A heat pack on my back helps, though the heat pack sometimes makes my legs feel heavier. OK to keep using it?"], []),
    ("heavier_each_day", ["My legs feel heavier every day this week and I tripped twice on the stairs."], ["progressive_neuro_deficit"]),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
