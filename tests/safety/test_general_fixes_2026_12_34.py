"""General fixes of policy 2026.12.34, each with a near miss written for this file: timed walks
with labelled values, thoracolumbar pain, a queried myeloma, the year nearest a cancer, a
leaflet's words quoted, ticked screening lines answered 'absent', chart errors corrected, and
stable examinations 'as at all previous reviews'."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401

EXACT = [
    # A timed walk with a label before each value.
    ("t25fw_labelled", "SPMS. Timed 25-foot walk: Jan 7.1 s, Apr 7.4 s, today 16.8 s. Low back pain 3 weeks.", ["progressive_neuro_deficit"]),
    ("t25fw_labelled_same", "SPMS. Timed 25-foot walk: Jan 7.1 s, Apr 7.4 s, today 7.5 s. Low back ache after gardening.", []),
    # Thoracolumbar pain with hypercalcaemia; a queried myeloma.
    ("thoracolumbar_hypercalcaemia", "71F, 5/52 thoracolumbar pain. Adj Ca 2.78 (2.20-2.60), ESR 104.", ["malignancy"]),
    ("query_myeloma", "68M, back pain 6 weeks. ?myeloma - SPEP sent, not back yet.", ["malignancy"]),
    ("thoracolumbar_normal_calcium", "45F, thoracolumbar ache after lifting, adj Ca 2.35, ESR 8.", []),
    # The year nearest the cancer dates it.
    ("dcis_2004_followup_2014", "47F, DCIS 2004 treated, discharged from follow-up 2014. Now 5 days of low back pain after moving a sofa, eases lying down.", []),
    ("cancer_2004_recurrence_2021", "Breast cancer 2004, recurrence 2021, on letrozole. New back pain 5 days.", ["malignancy"]),
    # A leaflet's words, quoted.
    ("leaflet_quoted", 'I was given this leaflet at physio: "Seek urgent help if you have: numbness around your bottom; loss of bowel control; fever with back pain." I have not got any of that, just a stiff back.', []),
    ("patient_quoted", 'She told me "I can\'t feel my bottom and I wet myself" this morning. Back pain 3 days.', ["cauda_equina"]),
    # A ticked screening line answered "absent", or "present".
    ("ticked_absent", "Red flags screened:\n[x] Saddle anaesthesia - absent\n[x] Fever / IVDU / immunosuppression - absent\n[x] Significant trauma / osteoporosis - absent\nMechanical LBP.", []),
    ("ticked_present", "Red flags screened:\n[x] Saddle anaesthesia - absent\n[x] Fever / IVDU / immunosuppression - present, T 38.9, IVDU\nLBP 4 days.", ["infection"]),
    # A chart error corrected in a later turn.
    ("chart_error_corrected", ["Renal transplant on tacrolimus/MMF. Chronic LBP. Obs: 22:00 T 38.9.", "Sorry - chart error, 38.9 was transcribed wrongly (meant 36.9). Rechecked 36.7. No spinal tenderness, CRP 4."], []),
    ("temperature_confirmed", ["Renal transplant on tacrolimus/MMF. Chronic LBP. Obs: 22:00 T 38.9.", "Rechecked: 39.1 now, rigors, tender over L2."], ["infection"]),
    # Stable examinations and a clinic named after an injury.
    ("sci_stable_review", "Spinal injury outpatients, annual review. T6 AIS A since MVC 2009. Sensory level T6 as at all previous reviews. DEXA hip T-score -2.1, known osteoporosis. No falls.", []),
    ("sci_new_level", "Spinal injury outpatients. T6 AIS A since 2009. Sensory level now T4, new since last week. Back pain.", ["progressive_neuro_deficit"]),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
