"""General fixes of policy 2026.12.53 (answer round 23), each with a near miss written for this
file, in other words than the round's case."""

from __future__ import annotations

import pytest
from safety_helpers import categories, policy  # noqa: F401

EXACT = [
    # Burning pain described as a body part on fire.
    ("feet_on_fire", ["My dad's feet feel on fire every night since his MS got worse two years ago. "
                      "What can help the burning?"], []),
    ("legs_like_on_fire", ["Her legs are like they're on fire at night - a burning ache. Is pregabalin worth trying?"], []),
    # Near miss: the person on fire (febrile) with back pain still escalates.
    ("person_on_fire", ["Back pain for a week and tonight he is on fire, shivering under two duvets."], ["infection"]),
]


@pytest.mark.parametrize("name,turns,expected", EXACT, ids=[e[0] for e in EXACT])
def test_general_fix(name, turns, expected, policy):
    assert categories(turns, policy) == expected


@pytest.mark.parametrize("text,expected", [
    ("Huisarts: on oxycodon 10 mg bd for a year, wants 20 mg bd.", True),
    ("Bekommt Morphin 10 mg retard und Tilidin bei Bedarf.", True),
    ("Tried codeïne, made her sick.", True),
    # Near miss: a word that starts like an opioid is not one.
    ("Her morphology on the MRI is unchanged.", False),
])
def test_european_opioid_spellings(text, expected):
    from assistant.opioid_terms import names_opioid
    from assistant.safety import mentions_opioid

    assert names_opioid(text) is expected
    assert mentions_opioid(text) is expected


ATTRIBUTED = [
    # Weakness the sentence puts down to the drug the patient wants to stop.
    ("stop_the_baclofen", ["SPMS, baclofen 25 mg tds. He now says his legs feel like jelly at transfers since the "
                           "last increase and he wants to just stop the baclofen tomorrow."], []),
    # Near miss: weakness getting worse with no drug blamed still escalates.
    ("weaker_no_drug", ["SPMS. His legs have got much weaker over the last week and he can no longer transfer; "
                        "he wants to stop physio."], ["progressive_neuro_deficit"]),
]


@pytest.mark.parametrize("name,turns,expected", ATTRIBUTED, ids=[e[0] for e in ATTRIBUTED])
def test_weakness_attributed_to_the_drug_stopped(name, turns, expected, policy):
    assert categories(turns, policy) == expected
