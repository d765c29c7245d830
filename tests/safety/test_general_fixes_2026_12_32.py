"""General fixes of policy 2026.12.32, each with a near miss written for this file: charts whose
rows hold bare power grades, cord signs 'not documented before', tenderness over a spinous
process a few words away, sweats and shaking in lay words, hard landings, month-and-year dates,
heights and weights followed by their earlier value, relatives named before a finding, foreign
'no' on checklists, and self-catheterisation named after the retention it manages."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401

CHART = ("MS nurse flowsheet, RRMS on Kesimpta. New back pain since 10.03.\n\n"
         "| Date | T25FW (s) | EDSS | L hip flex (MRC) | Comment |\n|---|---|---|---|---|\n"
         "| 02.09.2024 | 6,1 | 3,0 | 5 | stable |\n| 17.03.2025 | 9,8 | 4,0 | 4 | back pain started |\n"
         "| 24.03.2025 | 14,2 | 5,0 | 3 | now uses a stick |")
CHART_SAME = CHART.replace("| 4 | back pain started |", "| 5 | back pain started |").replace("| 3 | now uses a stick |", "| 5 | walks as before |").replace("9,8", "6,2").replace("14,2", "6,3").replace("4,0", "3,0").replace("5,0", "3,0")

EXACT = [
    # A chart of bare MRC grades under a header naming power, with pain in a comment cell.
    ("chart_grades_fall", CHART, ["progressive_neuro_deficit"]),
    ("chart_grades_same", CHART_SAME, []),
    # Cord signs first found today; documented ones are not new.
    ("hoffmann_not_documented_before", "RA, neck pain 3 months. Hoffmann positive bilaterally today (not documented before).", ["progressive_neuro_deficit"]),
    ("hoffmann_documented_before", "Known SPMS. Hoffmann positive bilaterally, documented before and unchanged. Back ache.", []),
    # Tenderness over a spinous process named a few words away; beside the spine it is muscle.
    ("percussion_tenderness_spinous_l3", "On ocrelizumab. Marked tenderness to percussion over the spinous process of L3, constant back pain 10 days.", ["infection"]),
    ("paraspinal_beside_spinous", "On fingolimod. Paraspinal tenderness to the right of the spinous process of L4 after lifting.", []),
    # Sweats and shaking described by what they do.
    ("sweating_through_sleeping_bag", ["Sleeps rough, lower back killing him.", "Sweating through the sleeping bag every night and shaking like crazy even when it is not that cold; injecting again since Christmas."], ["infection"]),
    ("shaking_from_cold", "Sleeps rough, lower back sore from the concrete; shaking from the cold at night. No drug use.", []),
    # A hard landing loads the spine.
    ("hard_parachute_landing", "Static-line jump, hard landing onto buttocks and back. Midline lumbar pain, tender over L1 spinous process.", ["fracture"]),
    ("plane_hard_landing", "Plane had a hard landing in Madrid and my back has been stiff since; 32, no other problems.", []),
    # A measured height after which its earlier value is given; a relative's age in years.
    ("height_then_earlier", ["I write for my mother, 76 years. Back pain a few days.", "The nurse measured her today 158 cm, last year it was 163 cm. Pain started suddenly when she sat down hard."], ["fracture"]),
    ("height_same", "Mum, 76 years: measured today 162 cm, last year it was 163 cm. Back stiff after gardening, no fall.", []),
    # A relative named before a finding in a sentence that also names the patient-relative.
    ("friend_could_not_walk", "My husband (45) has back pain from padel. His friend from work had an abscess in the spine from injecting and could not walk, so now my husband is panicking. He has no fever.", []),
    ("husband_could_not_walk", "My husband (45) has back pain from padel and since yesterday he could not walk, so now I am panicking.", ["progressive_neuro_deficit"]),
    # Checklists answered 'no' in other languages.
    ("checklist_nie", "Red flag checklist:\n- Dretwienie krocza (saddle numbness): NIE\n- Goraczka (fever): NIE - 36,6 C\n- Nowotwor (history of cancer): NIE\nLBP 5 days.", []),
    ("checklist_tak", "Red flag checklist:\n- Dretwienie krocza (saddle numbness): TAK (yes), since yesterday\n- Goraczka (fever): NIE\nLBP 5 days.", ["cauda_equina"]),
    # Self-catheterisation named after the retention it manages, since a month and year.
    ("incomplete_emptying_rik", "Neurogenic bladder (detrusor overactivity with incomplete emptying) - clean intermittent self-catheterisation 4 x daily since 03.2018. Mechanical back ache from a new wheelchair.", []),
    ("incomplete_emptying_new", "New incomplete emptying since Monday, bladder scan 650 ml, back pain and both legs numb.", ["cauda_equina", "progressive_neuro_deficit"]),
    ("foot_drop_since_discectomy_year", "Left foot drop since failed L4/5 discectomy 2009, wears AFO, 2/5 as always. Wants physio for stiffness.", []),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
