"""General fixes of policy 2026.12.23, each with a positive and a near miss written for this file
(not copied from the blind rounds): a power chart read down its columns, an examination said to
have been normal before, a temperature in a row of vital signs, a suspected vertebral fracture,
reported speech after a counselling word, and being woken in the small hours."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401

CHART_FALLING = """Neuro obs, left L4 myotome, 44F with a large L3/4 disc.

| Date/time | Knee ext L | Ankle DF L |
|---|---|---|
| Day 1 0900 | 5/5 | 5/5 |
| Day 1 2100 | 4/5 | 4/5 |
| Day 2 0900 | 3/5 | 4-/5 |

Plan was review at clinic next week."""

CHART_RECOVERING = CHART_FALLING.replace("| 5/5 | 5/5 |", "| 3/5 | 4-/5 |", 1).replace(
    "| Day 2 0900 | 3/5 | 4-/5 |", "| Day 2 0900 | 5/5 | 5/5 |")

CHART_BY_MUSCLE = """Exam today, 50M with sciatica.

| Muscle | Left | Right |
|---|---|---|
| Hip flexion | 5/5 | 5/5 |
| Ankle DF | 5/5 | 4/5 |

Long-standing right foot weakness after a 2009 injury, unchanged."""

EXACT = [
    ("chart_power_falling", CHART_FALLING, ["progressive_neuro_deficit"]),
    ("chart_power_recovering", CHART_RECOVERING, []),
    ("table_by_muscle_not_time", CHART_BY_MUSCLE, []),
    ("baseline_normal_then_weak_now", "Known stable left L5 root signs. Now new right-sided thigh pain with right quads 4/5 and right hip flexion 4-/5. Power was normal at review in June.", ["progressive_neuro_deficit"]),
    ("baseline_normal_grade_unchanged", "Right ankle DF 4/5, same as at every visit since 2015. Reflexes were normal at review in June.", []),
    ("vitals_row_febrile", "On natalizumab. Thoracic back pain for a week.\nObs this week:\nThu 37.2 HR 88\nFri 38.4 HR 112 BP 100/60", ["infection"]),
    ("vitals_row_afebrile", "On natalizumab. Thoracic back pain for a week.\nObs this week:\nThu 36.8 HR 78\nFri 37.3 HR 84 BP 124/80", []),
    ("suspected_vertebral_fracture", "Nursing home: 91F slipped off the commode, now lumbar pain and won't mobilise. ?wedge #, can't exclude until x-ray tomorrow.", ["fracture"]),
    ("old_vertebral_fracture_mechanical", "62F, wedge fracture of L1 in 2015 after a fall, treated. Now 3 weeks of mechanical low back ache after gardening, no trauma.", []),
    ("suspected_fracture_excluded", "Slipped on ice, lumbar pain. X-ray to rule out fracture: no fracture seen, alignment normal.", []),
    ("reported_speech_after_counselling", "On fingolimod for MS. Back pain for a week. When reviewed in the pharmacy she said she has been having fevers every night.", ["infection"]),
    ("counselled_about_fever", "On fingolimod for MS, back pain for a week. Counselled her to come back if she has fevers.", []),
    ("woken_small_hours_cancer", "Back pain for six weeks that keeps waking him at 4am. Prostate cancer treated in 2020.", ["malignancy"]),
    ("awake_small_hours_no_history", "Mechanical back pain for six weeks since lifting, sometimes up at 4am with the baby.", []),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
