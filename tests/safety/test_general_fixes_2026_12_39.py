"""General fixes of policy 2026.12.39, each with a near miss written for this file: signs dated
years back in their own clause, voided volumes, readings that belonged to another patient,
grades across midnight, lost leg lifting, falls off vehicles, and lay saddle words."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401

EXACT = [
    ("retention_dated_clause", "Letter: urinary retention after a hip operation 2020 (scan 800 mL), resolved with a catheter. Now asks about back stretches.", []),
    ("retention_now_old_disc", "Disc operation 2019. Since last night urinary retention, scan 800 mL.", ["cauda_equina"]),
    ("dob_dates_nothing", "72M (DOB 1954) with saddle anaesthesia since this morning.", ["cauda_equina"]),
    ("voided_volumes", "Post-op review: voided 400 mL and 350 mL, post-void bladder scan 30 mL, perianal sensation intact.", []),
    ("residual_after_void", "She voided 90 mL, then bladder scan 720 mL, bilateral leg pain.", ["cauda_equina"]),
    ("other_patients_temp", ["Dialysis unit: 64M, back pain after lifting, temp 38.6.", "Apologies - the 38.6 belonged to the patient in the next bed. His is 36.9, no rigors, CRP 3."], []),
    ("temp_confirmed", ["Dialysis unit: 64M, back pain after lifting, temp 38.6.", "Rechecked: 38.8 and now rigors."], ["infection"]),
    ("grades_across_midnight", "ED: PWID, back pain, T 38.5. 21:00: hip flexion 4/5 bilat. 03:00: hip flexion 2/5 bilat.", ["infection", "progressive_neuro_deficit"]),
    ("cannot_lift_legs_off_bed", "Since this afternoon he can't lift either leg off the bed, back pain.", ["progressive_neuro_deficit"]),
    ("off_tractor_tender", "Came off the back of the tractor yesterday, landed flat on his back, tender midline at L1.", ["fracture"]),
    ("off_tractor_no_pain", "Came off the back of the tractor in 2009, no injury, no pain now; asks about lifting technique.", []),
    ("front_bottom_fuzzy", "Both legs sciatica for a week and her front bottom feels fuzzy when she wipes.", ["cauda_equina"]),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
