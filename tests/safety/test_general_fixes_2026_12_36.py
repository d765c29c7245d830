"""General fixes of policy 2026.12.36, each with a near miss written for this file: a correcting
turn that states saddle sensation or the sphincters normal, hypercalcaemia with back pain,
dictation's 'a pyrexial', a finding that 'would be an emergency', and a planned activity."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401

EXACT = [
    ("clarified_saddle_normal", ["Video consult: 39M sciatica, says his 'privates feel numb'.",
                                 "On clarification he meant the top of his left thigh near the groin; saddle sensation normal on self-check and bladder function normal."], []),
    ("clarified_but_retention_kept", ["Video consult: 39M sciatica, says his 'privates feel numb'.",
                                      "On clarification he meant the top of his left thigh; saddle sensation normal, but he hasn't passed urine since this morning despite trying."], ["cauda_equina"]),
    ("normal_without_correction", ["Physio letter: bilateral sciatica, new numbness around the back passage.",
                                   "GP review: bowels and bladder normal."], ["cauda_equina"]),
    ("calcium_back_pain", "72M, backache 2 months. Bloods: corrected calcium 2.94, Hb 101.", ["malignancy"]),
    ("calcium_normal_back_pain", "72M, backache 2 months. Bloods: corrected calcium 2.41, Hb 141.", []),
    ("dictation_a_febrile", "Dictated. Back pain after rowing. A febrile. No saddle and aesthesia, bladder normal.", []),
    ("febrile_dictated_real", "Dictated. Back pain after a discectomy last week, febrile at 38.6, wound red.", ["infection"]),
    ("would_be_emergency", "My physio said that losing control of my bladder would be an emergency. For now it is just stiffness after netball.", []),
    ("is_happening_now", "My physio said to watch my bladder. Since last night I can't pass urine and my bottom feels numb.", ["cauda_equina"]),
    ("plans_to_start_lifting", "45F, osteoporosis on alendronate, no back pain. Wants to start heavy lifting at the gym - any precautions?", []),
    ("lifted_with_osteoporosis", "45F, osteoporosis on alendronate. Sudden mid-back pain after lifting a heavy box at the gym yesterday.", ["fracture"]),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
