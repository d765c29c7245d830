"""General fixes of policy 2026.12.29, each with a near miss written for this file: midline
tenderness or a step after trauma, focal tenderness or a low-grade temperature with a risk factor
for spinal infection, water mechanisms of high-energy trauma, form fields, a temperature that has
since settled, 'IDC' as a catheter, and a number followed by a comma."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401

EXACT = [
    # Trauma with midline tenderness or a palpable step.
    ("ladder_fall_midline_tender", "Electrician, 52. Was on the sixth rung of a ladder when the base slid out; he fell backwards "
     "onto a cable drum. Marked point tenderness over T12 and L1 spinous processes. Neuro intact.", ["fracture"]),
    ("fall_paraspinal_only", "Electrician, 52. Tripped over a cable at work yesterday and landed on his side. "
     "Paraspinal muscle spasm, no midline tenderness. Neuro intact.", []),
    ("step_after_tackle", "Rugby, 24M, went down awkwardly in a ruck and someone landed on him. Possible step at L1, can't tell.", ["fracture"]),
    ("lifting_strain_tender_young", "31F, twinged her back lifting a toddler, sore to touch over the lower back muscles, walking fine.", []),
    # Water mechanisms.
    ("dumped_headfirst", "22M dumped headfirst onto a sandbar by a wave, now thoracolumbar pain. Walked up the beach.", ["fracture"]),
    ("dived_shallow", "Dived into the shallow end of the pool at a party last night, now neck and upper back pain.", ["fracture"]),
    ("surf_paddling_ache", "22M sore lower back after a long surf session paddling, no fall or wipeout, better with stretching.", []),
    # Risk factor for spinal infection with focal tenderness or a low-grade temperature.
    ("ocrelizumab_tender_bone", "My lower back is really sore, it's right in the middle on the bone and it hurts if I press on it. "
     "I have MS and I'm on ocrelizumab.", ["infection"]),
    ("ocrelizumab_muscle_ache", "My lower back muscles ache after gardening, both sides, eases with a hot bath. "
     "I have MS and I'm on ocrelizumab.", []),
    ("abscess_low_grade_temp", "34M, LBP for 10 days, constant. T 37.8, HR 104. Admitted 6 weeks ago with an arm abscess.", ["infection"]),
    ("low_grade_temp_no_risk", "34M, LBP for 10 days after moving house. T 37.8, HR 84. Otherwise fit and well.", []),
    # Forms and settled findings.
    ("template_fields", "Building a triage template for our practice. Fields so far: 'Saddle anaesthesia Y/N', "
     "'Urinary retention Y/N', 'Temp deg C: __'. What else should go on it?", []),
    ("filled_form", "Triage form: saddle anaesthesia Y, urinary retention - not passed urine since last night. 48M.", ["cauda_equina"]),
    ("fever_settled_since", "41M. Chest infection 2 weeks ago with temps up to 38.4, finished antibiotics, no temperature since. "
     "Left-sided low back ache when he twists.", []),
    ("fever_still_going", "41M. Chest infection 2 weeks ago, temps up to 38.4 and still spiking a temperature since. "
     "Now low back pain.", ["infection"]),
    # 'IDC' as a catheter; a number ending a clause.
    ("idc_catheter", "Urinary retention, bladder scan 900 mL. Plan: IDC, document residual. Acute disc prolapse.", ["cauda_equina"]),
    ("comma_after_temperature", "Back pain for 3 days, temp 38.6, feels awful.", ["infection"]),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
