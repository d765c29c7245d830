"""Select for what the request asks: the best sentence per intent and per pain mechanism.

The bottom line opens with these, in the catalogue's answer order (``assistant/intents.yaml``),
before the remaining space is filled by relevance. An opioid request leads with the
first-line options for the pain mechanism described (all three when none is named).
"""

from __future__ import annotations

from typing import Sequence

from ..cues import cues
from ..weights import WEIGHTS
from .layout import Picked
from .query import Query
from .sentences import answers
from .score import INTENT_SENTENCE, Cand, about_agents, plain_doc

_P = cues().patterns
FIRST_LINE_BY_MECHANISM = {
    "musculoskeletal": (_P["first_line_musculoskeletal"], _P["first_line_musculoskeletal_active"]),
    "spasticity": (_P["first_line_spasticity"],),
    "neuropathic": (_P["first_line_neuropathic"],),
}
"""Per pain mechanism, the first-line options an opioid request is answered with: a cited
sentence for each pattern (NSAID and activity/physiotherapy for musculoskeletal pain)."""
_NOT_FIRST_LINE = _P["not_first_line"]
_TITRATES = _P["titrates"]
_FIRST_LINE_HEADING = _P["first_line"]
_TREATMENT_ASKS = frozenset({"first_choice", "how_to_prescribe", "next_step", "alternative", "plan_acute",
                             "plan_chronic"})


def _eligible(c: Cand, q: Query, patient: bool) -> bool:
    if c.sent.opioid:
        return False  # where opioids stand is stated by the safety notice or the body
    if c.role == "algorithm" and c.sent.step is not None:
        return False  # a step needs its pathway
    if patient and not (c.role == "patient" or plain_doc(c.hit.chunk)):
        return False
    return True


def _mechanism_of(c: Cand, mech: str) -> bool:
    return mech in c.about


def lead(cands: Sequence[Cand], q: Query, picked: Picked, patient: bool = False) -> list[Cand]:
    """Sentences that answer the request's intents and cover its pain mechanisms."""
    W = WEIGHTS
    pool = [c for c in cands if _eligible(c, q, patient)]
    if not pool:
        return []
    top = max(c.score for c in pool)
    floor = W.lead_share * top
    out: list[Cand] = []

    def take(options: list[Cand]) -> None:
        options = [c for c in options if c.score >= floor and not picked.has(c)]
        if q.agents:
            about = [c for c in options if about_agents(q, c.about, c.direct)]
            options = about or options
        if options and len(out) < W.lead_max:
            # A sentence answering more of what is asked ("exercise ... when pain lasts more than
            # 4 weeks" for non-drug care of chronic pain) beats one answering a single intent.
            best = max(options, key=lambda c: (sum(answers(c.sent, a) for a in q.asks), c.score))
            if picked.add(best):
                out.append(best)

    helping = q.tried - q.intolerant
    if helping and "next_step" in q.asks:
        # Stepped care: first, how far the drug already taken can still be raised.
        take([c for c in pool if not c.sent.direct.isdisjoint(helping) and _TITRATES.search(c.sent.text)])
    for a in q.asks:
        take([c for c in pool if answers(c.sent, a)])
    if set(q.asks) & _TREATMENT_ASKS:
        for mech in sorted(q.mechanisms & FIRST_LINE_BY_MECHANISM.keys()):
            if any(_mechanism_of(c, mech) and INTENT_SENTENCE["treatment"].search(c.sent.text) for c in out):
                continue
            take([c for c in pool if _mechanism_of(c, mech) and INTENT_SENTENCE["treatment"].search(c.sent.text)
                  and not (q.tried & c.direct and "next_step" not in q.asks)])
    return out


def opioid_alternatives(cands: Sequence[Cand], q: Query, picked: Picked, patient: bool = False) -> list[Cand]:
    """One cited first-line option per pain mechanism described (all when none is)."""
    mechs = sorted(q.mechanisms & FIRST_LINE_BY_MECHANISM.keys()) or sorted(FIRST_LINE_BY_MECHANISM)
    out: list[Cand] = []
    for mech in mechs:
        for pat in FIRST_LINE_BY_MECHANISM[mech]:
            if any(pat.search(c.sent.text) for c in out):
                continue
            options = [c for c in cands if not c.sent.opioid and pat.search(c.sent.text) and not picked.has(c)
                       and c.role not in ("pitfall",) and (patient or not plain_doc(c.hit.chunk))
                       and (_mechanism_of(c, mech) or len(mechs) == 1)]
            # Not a later step ("... when first-line drugs are ineffective"); a statement naming
            # the first-line option, under a first-line heading, beats one that merely mentions it.
            options = [c for c in options if not _NOT_FIRST_LINE.search(c.sent.text)
                       and not _NOT_FIRST_LINE.search(c.hit.chunk.section)] or options
            if options:
                best = max(options, key=lambda c: (
                    (patient and (c.role == "patient" or plain_doc(c.hit.chunk))),
                    bool(INTENT_SENTENCE["first_line"].search(c.sent.text)) + bool(
                        _FIRST_LINE_HEADING.search(c.hit.chunk.section)), c.score))
                if picked.add(best):
                    out.append(best)
    return out
