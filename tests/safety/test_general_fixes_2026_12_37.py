"""General fixes of policy 2026.12.37, each with a near miss written for this file: grades in
sentences labelled by day inside a longer line, compared muscle by muscle; lost standing, a hoist
needed for the first time and a band round the trunk; handling injuries in fragile bone; surgery
'for' a diagnosis and a month-and-year date as history (an operation awaited is not); lay corrections of the saddle and sphincters; general
questions that compare conditions; a residual deficit; a straight-leg raise in degrees."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401

EXACT = [
    ("labelled_rows_fall", "Ortho ward. 52F, L5 radiculopathy. Tue: R EHL 4+/5, DF 5/5. Thu: R EHL 3/5, DF 4/5. Plan?", ["progressive_neuro_deficit"]),
    ("labelled_rows_same", "Ortho ward. 52F, L5 radiculopathy. Tue: R EHL 4+/5, DF 5/5. Thu: R EHL 4+/5, DF 5/5. Plan?", []),
    ("cannot_stand_hoist", "My wife has MS. Over 4 days she has gone from walking with a stick to not being able to stand, and the carers used the hoist for the first time today.", ["progressive_neuro_deficit"]),
    ("hoist_for_years", "My wife has MS and has used a hoist for transfers for six years; her back aches after long days in the chair.", []),
    ("band_round_middle", "He has MS and since Sunday has a tight band round his middle and his legs feel heavier.", ["progressive_neuro_deficit"]),
    ("hoisted_steroids", "Nursing home: resident 88, on long-term prednisolone for polymyalgia. Cried out when she was being turned this morning and now has back pain and won't sit up.", ["fracture"]),
    ("hoisted_no_fragility", "Nursing home: resident 58, no osteoporosis, not on steroids. Grumbled when being turned, says her back is stiff from lying.", []),
    ("underwent_surgery_for_ces", "Letter: she underwent decompression for cauda equina syndrome in 2012 with full recovery. Today: knee pain only.", []),
    ("ces_now_after_surgery_years_ago", "She had surgery for a disc in 2012. Since last night she can't feel the toilet paper and can't pass urine.", ["cauda_equina"]),
    ("ces_dated_month_year", "Cauda equina syndrome in February 2016, fully recovered. Today: blood pressure review.", []),
    ("awaiting_decompression_now", "She is awaiting decompression for cauda equina, MRI today shows a large L4/5 disc.", ["cauda_equina"]),
    ("lay_correction_normal", ["My dad says he's numb down there.", "Sorry, he meant his shins - he says his bottom and privates feel completely normal and he's weeing and opening his bowels just like always."], []),
    ("lay_correction_but_retention", ["My dad says he's numb down there.", "Sorry, he meant his shins - his bottom feels fine but he hasn't had a wee since yesterday."], ["cauda_equina"]),
    ("general_tell_apart", "Genuine question: how do you tell apart MS bladder urgency and hesitancy from cauda equina in someone with back pain?", []),
    ("residual_foot_drop", "45M RRMS, residual L foot drop since a 2019 relapse, uses an AFO. Aching low back pain after long shifts, exam unchanged.", []),
    ("new_foot_drop", "45M RRMS, new L foot drop this week, tripping on the kerb, back pain.", ["progressive_neuro_deficit"]),
    ("slr_angle_degree_sign", "Sciatica 3 wks. SLR positive at 40° on the right, power 5/5 throughout, afebrile.", []),
    ("degree_sign_with_cue", "Back pain after an epidural last week, hot and shivery, 39° last night.", ["infection"]),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
