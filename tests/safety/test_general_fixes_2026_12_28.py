"""General fixes of policy 2026.12.28, each with a near miss written for this file: a later turn
that corrects an earlier one, high-energy trauma dated long ago, low falls off the edge of a bed,
and dialect words for relatives in a family history."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401

EXACT = [
    ("typo_corrected", ["Mum can't pee since her back went", "Sorry, autocorrect - I meant she can't sleep. Her waterworks are normal, no numbness down below."], []),
    ("correction_negates_nothing", ["Mum can't pee since her back went", "Sorry, autocorrect - I meant to add she is 54."], ["cauda_equina"]),
    ("no_correction_marker", ["My dad is 60 and has a temperature of 38.9 with back pain, he feels awful", "He has no rigors and no sweats though."], ["infection"]),
    ("temperature_corrected", ["Triage: 35F, back pain after lifting, T 38.8", "Correction to the above: temp entered wrong, it was 36.8. No rigors, no sweats."], []),
    ("old_high_energy_trauma", "Roofer, 58. Fell 5 m off a roof in 2004, T12 fracture fixed. Fit for years; end-of-day stiffness only.", []),
    ("recent_high_energy_trauma", "Roofer, 58. Fell 5 m off a roof today; T12 fixation in 2004.", ["fracture"]),
    ("edge_of_bed_fragile", "SPMS, osteoporosis on alendronate. Slid off edge of bed this morning, now severe low back pain.", ["fracture"]),
    ("edge_of_bed_young", "I'm 30 and slid off the edge of my bed this morning, bit of a bruise, back fine.", []),
    ("mam_family_history", "My mam had myeloma. I'm 35 with a sore back since lifting boxes at the weekend, otherwise well.", []),
    ("mam_is_patient", "My mam is 81 and has myeloma; she lifted a bag of shopping and now her back is agony.", ["fracture"]),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected


GRADES = [
    ("full_power_dated_then_reduced", "GP saw her 3 days ago and wrote 'power 5/5 throughout, reflexes normal'. "
     "Today on the ward: Power L: hip flexion 3/5, knee extension 3/5.", ["progressive_neuro_deficit"]),
    ("full_power_dated_then_old_deficit", "GP saw her 3 days ago and wrote 'power 5/5 throughout, reflexes normal'. "
     "Power R EHL 4/5 since her 2015 discectomy, unchanged.", []),
]


@pytest.mark.parametrize("name,turns,expected", GRADES, ids=[e[0] for e in GRADES])
def test_full_power_dated_earlier_against_a_later_examination(name, turns, expected, policy):
    assert categories(turns, policy) == expected
