"""General fixes of policy 2026.12.30, each with a near miss written for this file: US spinal
procedure abbreviations, lay incontinence and rigors, screening lines answered in the negative,
worry questions, baseline labels in care notes, ages written '86 y.o.', students' questions and
deficits that have nearly gone."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401

EXACT = [
    # Spinal procedures written as US abbreviations; ESI as a triage level is not one.
    ("esi_with_level", "66M s/p L4-5 interlaminar ESI 19 days ago, back pain worse and constant since. WBC 14.9, CRP 186.", ["infection"]),
    ("esi_triage_level_no_markers", "ED triage ESI 3. 40M back pain after lifting a sofa, walking, otherwise well.", []),
    # Lay incontinence and rigors.
    ("wet_my_pants", ["Sciatica in both legs this week.", "I wet my pants twice today and didn't even feel it."], ["cauda_equina"]),
    ("wet_my_pants_laughing", "I'm 30 with a sore back from the gym. My friend made me laugh so hard last year I nearly wet my pants, haha. Stretches?", []),
    ("shaking_under_blankets", "On Kesimpta for MS. Mid-back pain a week and I've been shaking like crazy under the blankets the last 2 nights.", ["infection"]),
    # A screening line answered in the negative as a whole.
    ("screen_line_denies", "RED FLAG SCREEN:\n- Bowel/bladder change (retention, incontinence, frequency): denies\n- Saddle anesthesia: denies\nMechanical LBP.", []),
    ("screen_line_positive", "RED FLAG SCREEN:\n- Bowel/bladder change (retention, incontinence, frequency): yes, retention since last night\n- Saddle anesthesia: denies", ["cauda_equina"]),
    ("protocol_fever_no", "Protocol answers: fever - no (98.2 F oral). Leg weakness - no. LBP 4 days after gardening.", []),
    # Worry about a relative's diagnosis.
    ("worry_question", "My dad's prostate cancer has spread to his spine. I'm 34 with a sore back from squats. Does this mean I could have cancer in my spine too?", []),
    ("aches_at_night_day_only", "My back aches during the day at work and eases when I lie down at night. Stretches?", []),
    ("own_cancer_history", "I had prostate cancer treated 2 years ago and now my back aches at night. Could it have spread?", ["malignancy"]),
    # Care notes: baseline labels and ages written with full stops.
    ("baseline_incontinence_and_fall_86", "Resident: 86 y.o. F. 0140 found sitting on the floor beside bed, unwitnessed. 0200 incontinent of urine (baseline). 0530 c/o my back hurts, pain is new.", ["fracture"]),
    ("baseline_was_continent", "Resident 78 y.o. M, new incontinence of urine today, baseline was continent. Back pain after a lift.", ["cauda_equina", "fracture"]),
    # Students and deficits that have nearly gone.
    ("student_question", "Nursing student here. What distinguishes cauda equina syndrome from conus medullaris syndrome if both have saddle anesthesia and urinary retention?", []),
    ("student_with_patient", "Student nurse on placement: my patient has new saddle anaesthesia and urinary retention since this morning. What should I do?", ["cauda_equina"]),
    # A reduced grade, then the full grade it was before; sides compared are not a change.
    ("grade_then_earlier_full", "R L5 radiculopathy. EHL R 4-/5, was 5/5 at visit 3 wks ago.", ["progressive_neuro_deficit"]),
    ("otherwise_full_same_as_before", "Power: EHL R 4+/5, otherwise 5/5, same as documented at first visit. SLR positive on the right.", []),
    ("grades_of_two_sides", "R L5 radiculopathy. EHL R 4/5, L 5/5, unchanged since her 2019 discectomy.", []),
    # 'hurts' is pain.
    ("back_hurts_after_fall_81", "Mum is 81 and slipped in the kitchen this morning; now her back hurts when she moves.", ["fracture"]),
    ("back_hurts_young_no_fall", "I'm 28 and my back hurts after a long day at my desk.", []),
    ("numbness_nearly_gone", "6 weeks after microdiscectomy, numbness on the lateral foot 'almost completely gone', walking 2 miles daily.", []),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
