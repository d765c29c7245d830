"""General fixes of policy 2026.12.25, each with a positive and a near miss written for this file
(not copied from the blind rounds): checkbox templates, 'RTC', a grade marked new, letter-digit
abbreviations in capitals, dialysis as a bacteraemia source, weights lost in pounds, stairs,
a relative's age in brackets, reading about a red flag, measured height loss and flowsheets."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401

CHECKBOXES = """Triage: LBP after lifting, 3 days.
[ ] Fever
[ ] IV drug use
[ ] Trauma (fall/MVC)
[ ] Urinary retention
VS normal."""

FLOWSHEET_STABLE = """Annual MS review, chronic low back ache as before.
| Item | 2022 | 2023 | Today |
| L ankle DF | 4/5 | 4/5 | 4/5 |
| Sensory level | T8 | T8 | T8 |"""

FLOWSHEET_NEW = """Annual MS review, back ache worse.
| Item | 2022 | 2023 | Today |
| L ankle DF | 4/5 | 4/5 | 4/5 |
| Sensory level | T12 | T12 | T8 |"""

EXACT = [
    ("empty_checkboxes", CHECKBOXES, []),
    ("ticked_checkbox", CHECKBOXES.replace("[ ] Urinary retention", "[x] Urinary retention"), ["cauda_equina"]),
    ("rtc_return_to_clinic", "Mechanical LBP, improving on NSAID and PT. RTC 4 weeks.", []),
    ("rtc_yesterday_driver", "RTC yesterday as the driver, now neck and lower back pain.", ["fracture"]),
    ("rtc_collision", "Neck and back pain after being involved in an RTC at 60 mph this morning.", ["fracture"]),
    ("grade_marked_new", "Known stable R foot drop since 2018. NEW: L quads 4/5 and L hip flexion 4-/5 this week.", ["progressive_neuro_deficit"]),
    ("no_new_grade", "Known stable R foot drop since 2018. No new weakness; R ankle DF 4/5 as before.", []),
    ("capital_abbreviation_risk", "T2DM. Back pain for 10 days, CRP 160.", ["infection"]),
    ("capital_abbreviation_no_marker", "T2DM. Mechanical back pain for 10 days after gardening.", []),
    ("dialysis_with_fever", "On HD via tunnelled line. Back pain and temp 38.6 tonight.", ["infection"]),
    ("weight_range_pounds", "Back pain for six weeks. Lung cancer treated in 2019. Weight dropped from 180 to 160 lbs this year.", ["malignancy"]),
    ("weight_range_small", "Back pain for six weeks. Lung cancer treated in 2019, no recurrence. Weight went from 180 to 178 lbs this year, mechanical pain after lifting.", []),
    ("lost_pounds_night_pain", "Mid back pain that wakes me at night, lost about 25lbs since spring without dieting.", ["malignancy"]),
    ("stairs_over_70", "My grandad (84) went down a few stairs on his bottom yesterday and now has bad back pain.", ["fracture"]),
    ("stairs_young", "I (34) went down a few stairs on my bottom yesterday, bruised but walking fine, mild back ache.", []),
    ("reading_about_ces", "Sore back after the gym. I was reading about cauda equina online and got scared. Saddle sensation normal.", []),
    ("measured_height_loss", "Height 158 cm today (was 164 cm in 2021). Back pain since bending to pick up a bag last week.", ["fracture"]),
    ("measured_height_same", "Height 163 cm today (was 164 cm in 2021). Back pain since bending to pick up a bag last week.", []),
    ("flowsheet_stable", FLOWSHEET_STABLE, []),
    ("flowsheet_new_level", FLOWSHEET_NEW, ["progressive_neuro_deficit"]),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
