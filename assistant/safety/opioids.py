"""The opioid-reservation rule: which sentences mention an opioid, and whether they comply."""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.records import Hit

from .policy import Policy, load_policy


def mentions_opioid(text: str, policy: Policy | None = None) -> bool:
    """True when ``text`` names an opioid (generic, brand or class word; misspellings tolerated)."""
    if not text or not text.strip():
        return False
    from .context import opioid_mentions  # lazy: spaCy loads on first use

    return bool(opioid_mentions(text, policy or load_policy()))


def phrase_spans(text: str, phrases: tuple[str, ...], policy: Policy, key: str) -> list[tuple[int, int]]:
    from .context import phrase_spans as spans  # lazy: spaCy loads on first use

    return spans(text, phrases, policy, key)


def missing_framing(text: str, policy: Policy) -> list[str]:
    """Names of the policy's framing groups (reserved / severe / uncontrolled / risk) not met."""
    return [name for name, phrases in policy.opioids.framing_groups
            if not phrase_spans(text, phrases, policy, f"framing:{name}")]


def has_framing(text: str, policy: Policy) -> bool:
    return not missing_framing(text, policy)


def violations(text: str, policy: Policy) -> list[str]:
    """Phrases presenting an opioid as first-line, default, routine or safe, as written.

    A phrase inside a negated form ("never a first-line or default treatment") does not count.
    """
    op = policy.opioids
    hits = phrase_spans(text, op.violation_phrases, policy, "violations")
    if not hits:
        return []
    negated = phrase_spans(text, op.negated_violations, policy, "negated_violations")
    out = []
    for s, e in hits:
        if not any(ns <= s and e <= ne for ns, ne in negated):
            out.append(text[s:e])
    return out


def restricts(text: str, policy: Policy) -> bool:
    """The sentence limits or warns about opioid use (policy ``opioids.restrictive_cues``) and
    presents no opioid as first-line."""
    cues = policy.opioids.restrictive_cues
    return bool(cues) and not violations(text, policy) and bool(phrase_spans(text, cues, policy, "restrictive"))


def reserves(text: str, policy: Policy) -> bool:
    """The sentence reserves opioids for severe pain (the ``reserved`` and ``severe`` framing groups
    are there; what it lacks is said by the full statement beside it)."""
    missing = set(missing_framing(text, policy))
    return not ({"reserved", "severe"} & missing) and not violations(text, policy)


def complies(text: str, policy: Policy) -> bool:
    """The rule for one sentence: no opioid, or framed and not presented as first-line."""
    if not mentions_opioid(text, policy):
        return True
    return has_framing(text, policy) and not violations(text, policy)


_SENT_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")


def reservation_chunk(hits: Sequence[Hit], policy: Policy | None = None):
    """The retrieved passage that states the reservation rule, if any.

    It must contain one of the policy's reservation sentences, and that sentence must itself
    comply: a poisoned passage that quotes the wording next to "first-line" is not used.
    """
    policy = policy or load_policy()
    for h in hits:
        key = (policy.fingerprint, h.chunk.text)
        states = _STATES_RULE.get(key)
        if states is None:
            states = _states_rule(h.chunk.text, policy)
            if len(_STATES_RULE) >= 50_000:
                _STATES_RULE.clear()
            _STATES_RULE[key] = states
        if states:
            return h.chunk
    return None


_STATES_RULE: dict[tuple[str, str], bool] = {}
"""(policy, passage text) -> the passage states the rule: the same passages come back answer
after answer."""


def _states_rule(text: str, policy: Policy) -> bool:
    patterns = [" ".join(p.split()) for p in policy.opioids.reservation_passage]
    for sent in _SENT_SPLIT.split(text):
        norm = " ".join(sent.lower().split())
        if any(p in norm for p in patterns) and complies(sent, policy) and mentions_opioid(sent, policy):
            return True
    return False
