"""General fixes of policy 2026.12.40, each with a near miss written for this file: a bracket
ends a negation, a quotation is a document's only when named in its own sentence, pain shown by
holding the back, 'nothing feels numb', loads falling on the back, formal and old-fashioned
wording, hands gone clumsy, 'say I did get', 'the same for N years', coursework questions."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401

EXACT = [
    ("bracket_ends_negation", "71F on prednisolone 15 mg for 3 years (never stopped), lifted a heavy pot yesterday, sudden mid-back pain.", ["fracture"]),
    ("negation_inside_bracket_only", "71F, no steroids (never had them), no osteoporosis, lifted a heavy pot yesterday, mid-back ache.", ["fracture"]),
    ("quote_after_guideline_turn", ["70M thoracic back pain 2 weeks. What does the guideline suggest?",
                                    "From his oncology letter: \"Metastatic lung cancer, started chemotherapy.\""], ["malignancy"]),
    ("leaflet_quote_same_sentence", "Physio gave me this leaflet: \"Seek help if you have numbness around your bottom.\" My back is just stiff.", []),
    ("holding_back_after_slide", "Care home: Mrs K, 86, slid off her chair onto the floor last night, now holding her lower back and won't stand.", ["fracture"]),
    ("nothing_feels_numb", "Sore back after deadlifts, nothing feels numb down there, weeing fine.", []),
    ("something_feels_numb", "Sore back after deadlifts and since last night it feels numb down there.", ["cauda_equina"]),
    ("bar_across_back", "Gym: the bar came down across his upper back, now midline tender at T6.", ["fracture"]),
    ("formal_lavatory", "I can no longer perceive the lavatory seat beneath me and my water is reluctant to come; my back pains me down both legs.", ["cauda_equina"]),
    ("hands_clumsy", "Over the past week her hands have gone clumsy and she is dropping cups; neck ache.", ["progressive_neuro_deficit"]),
    ("say_i_got_fever", "If I travel next month, say I did get a fever with my usual back ache, should I see a doctor?", []),
    ("same_for_years", "Numb patch on my left foot and a weak calf since surgery in 2015; it has been exactly the same for 10 years. Back exercises?", []),
    ("coursework_question", "For my A-level coursework, what are the signs of spinal cord compression?", []),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected
