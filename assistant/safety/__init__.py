"""Deterministic safety layer: red-flag escalation and the opioid-reservation rule.

Driven entirely by the versioned policy file ``policy.yaml`` (see docs/safety.md)::

    verdict = check_input(turns)          # before retrieval: red flags, opioid requests, pressure
    answer = enforce(answer, verdict)     # after composing: escalation first, opioid rule
"""

from __future__ import annotations

from .engine import UNCITED_FLAG, check_input, enforce
from .opioids import complies, mentions_opioid, reservation_chunk
from .policy import DEFAULT_POLICY_PATH, Policy, load_policy, parse_policy
from .redflags import escalation_query


def __getattr__(name: str):
    # Loaded on first use, not at import: `python -m assistant.safety.drug_names` must run
    # (to regenerate the drug names) while the policy still refuses the stale file.
    if name == "OPIOID_RESERVATION_QUERY":
        # Retrieval query that finds the corpus passage stating the reservation rule.
        return load_policy().opioids.reservation_query
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def warm_up(policy: Policy | None = None) -> None:
    """Build the NLP pipeline now (a few seconds, once per process) instead of on the first check."""
    from .context import get_nlp

    get_nlp(policy or load_policy())

__all__ = [
    "DEFAULT_POLICY_PATH",
    "OPIOID_RESERVATION_QUERY",
    "Policy",
    "UNCITED_FLAG",
    "check_input",
    "complies",
    "enforce",
    "escalation_query",
    "load_policy",
    "mentions_opioid",
    "parse_policy",
    "reservation_chunk",
    "warm_up",
]
