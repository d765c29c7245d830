"""Opioid-name detection runs a reduced pipeline and remembers its answers: it must find
exactly the names the full pipeline's entity ruler finds."""

from __future__ import annotations

import pytest

from assistant.safety.context import CONTEXT_NAMES, get_nlp, opioid_mentions, phrase_spans
from assistant.safety.policy import OPIOID, load_policy

TEXTS = [
    "Offer an NSAID first.\nOxycodone may be considered; tramadol is not first-line.",
    "Opiods are reserved for severe pain. Non-opioid analgesia comes first; codiene is not advised.",
    "Percocet at night, no morphine; fentanyl patches - never routine.",
    "Paracetamol and ibuprofen, then physiotherapy.",
    "",
]


@pytest.mark.parametrize("text", TEXTS)
def test_same_names_as_the_full_pipeline(text):
    policy = load_policy()
    nlp = get_nlp(policy).nlp
    full = [e.text for e in nlp(text, disable=[f"ctx_{c}" for c in CONTEXT_NAMES]).ents if e.label_ == OPIOID]
    assert opioid_mentions(text, policy) == full
    assert opioid_mentions(text, policy) == full  # answered again from the remembered result


def test_remembered_results_are_not_shared_lists():
    policy = load_policy()
    first = opioid_mentions(TEXTS[0], policy)
    assert first, "the sample text names opioids"
    first.clear()
    assert opioid_mentions(TEXTS[0], policy)
    spans = phrase_spans("Opioids are never first-line.", policy.opioids.violation_phrases, policy, "violations")
    spans.append((0, 1))
    assert (0, 1) not in phrase_spans("Opioids are never first-line.", policy.opioids.violation_phrases,
                                      policy, "violations")
