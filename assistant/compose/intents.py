"""Select for what the request asks: the best sentence per intent and per pain mechanism.

The bottom line opens with these, in the catalogue's answer order (``assistant/intents.yaml``),
before the remaining space is filled by relevance. An opioid request leads with the
first-line options for the pain mechanism described (all three when none is named).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

from ..cues import cues
from ..opioid_terms import names_opioid
from ..request import intent_catalogue
from ..vocab import vocabulary
from ..weights import WEIGHTS
from .layout import Picked, best_per_factor
from .query import Query
from .sentences import answers
from .score import BEYOND_DRUG_ASKS, FIRST_LINE_BY_MECHANISM, INTENT_SENTENCE, Cand, about_agents, plain_doc

_P = cues().patterns
_NOT_FIRST_LINE = _P["not_first_line"]
_ADVISED_AGAINST = _P["advised_against"]
_PRACTICAL_ASKS = frozenset({"patient_advice", "non_drug"})
_RECOMMENDS = _P["recommends"]
_TREATMENT_HEADING = _P["treatment_heading"]
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


_INSTEAD_ASKS = frozenset({"alternative", "next_step"})


def _other_agents(c: Cand, tried: frozenset[str]) -> bool:
    """The statement is about another drug: the first drug it names is not one already tried
    ("Gabapentin is an alternative to a tricyclic" is about gabapentin)."""
    vocab = vocabulary()
    for m in sorted(vocab.mentions(c.sent.text), key=lambda m: m.start):
        if vocab.concepts[m.concept].category == "agent":
            return m.concept not in tried and not (set(vocab.concepts[m.concept].classes) & tried)
    return False


_LIST_ASKS = frozenset({"triggers", "side_effects", "non_drug", "monitoring"})
"""Asks answered by a list (triggers, effects, therapies, tests): the longer list answers more."""


def _answer_terms(c: Cand, ask: str | None) -> int:
    """How many different terms of the ask's answer pattern the sentence names (capped at 3:
    a list of three triggers or effects says enough)."""
    if ask not in _LIST_ASKS:
        return 0
    found = {m.group(0).lower() for m in intent_catalogue()[ask].answer.finditer(c.sent.text)}
    return min(len(found), 3)


def lead(cands: Sequence[Cand], q: Query, picked: Picked, patient: bool = False) -> list[Cand]:
    """Sentences that answer the request's intents and cover its pain mechanisms."""
    W = WEIGHTS
    pool = [c for c in cands if _eligible(c, q, patient)]
    if not pool:
        return []
    top = max(c.score for c in pool)
    floor = W.lead_share * top
    out: list[Cand] = []

    def take(options: list[Cand], ask: str | None = None) -> None:
        beyond_drug = ask in BEYOND_DRUG_ASKS
        options = [c for c in options if c.score >= floor and not picked.has(c)]
        if q.agents and not beyond_drug:
            about = [c for c in options if about_agents(q, c.about, c.direct)]
            options = about or options
        if options and len(out) < W.lead_max:
            # A sentence answering more of what is asked ("exercise ... when pain lasts more than
            # 4 weeks" for non-drug care of chronic pain) beats one answering a single intent.
            # Then the one that says more of it ("Triggers such as infection, constipation,
            # pressure sores and pain ..." over "... should prompt a search for a trigger").
            best = max(options, key=lambda c: (sum(answers(c.sent, a) for a in q.asks),
                                               _answer_terms(c, ask), c.score))
            if picked.add(best):
                out.append(best)

    helping = q.tried - q.intolerant
    if helping and "next_step" in q.asks:
        # Stepped care: first, how far the drug already taken can still be raised.
        take([c for c in pool if not c.sent.direct.isdisjoint(helping) and _TITRATES.search(c.sent.text)])
    for a in q.asks:
        options = [c for c in pool if answers(c.sent, a)]
        if a in _INSTEAD_ASKS and q.tried:
            # "What are the alternatives?" after a drug failed: a statement that names another drug,
            # about the pain mechanism in play when one is.
            options = [c for c in options if _other_agents(c, q.tried)] or options
            if q.mechanisms:
                options = [c for c in options if q.mechanisms & c.about] or options
        take(options, a)
    if set(q.asks) & _PRACTICAL_ASKS:
        for agent in sorted(q.agents - q.tried):
            # What a practical question names ("sits in her wheelchair all day ... what can we do
            # at home?"), when nothing above is about it.
            if not any(agent in c.direct for c in out):
                take([c for c in pool if agent in c.sent.direct])
    if set(q.asks) & _TREATMENT_ASKS:
        for mech in sorted(q.mechanisms & FIRST_LINE_BY_MECHANISM.keys()):
            if any(_mechanism_of(c, mech) and INTENT_SENTENCE["treatment"].search(c.sent.text) for c in out):
                continue
            take([c for c in pool if _mechanism_of(c, mech) and INTENT_SENTENCE["treatment"].search(c.sent.text)
                  and not (q.tried & c.direct and "next_step" not in q.asks)])
    return out


def against_taken(cands: Sequence[Cand], q: Query, picked: Picked) -> list[Cand]:
    """What the guidance advises against among the drugs the patient already takes ("on
    gabapentin for sciatica": "NICE NG59 advises against gabapentinoids ... for sciatica"), the
    best-scored statement, about the pain mechanism in play when one is named."""
    if not q.tried:
        return []
    taken = set(q.tried) | {k for a in q.tried for k in vocabulary().concepts[a].classes}
    pool = [c for c in cands if not c.sent.dependent and not taken.isdisjoint(c.sent.direct)
            and _ADVISED_AGAINST.search(c.sent.text) and not picked.has(c)]
    if q.mechanisms:
        pool = [c for c in pool if q.mechanisms & c.about] or pool
    # Advice against a drug for a condition the patient is not said to have ("for sciatica" to
    # a patient with MS dysaesthetic pain) is not about them.
    concepts = vocabulary().concepts
    pool = [c for c in pool if all(x in q.concepts for x in c.sent.direct
                                   if x in concepts and concepts[x].category in ("complaint", "disease", "mechanism"))]
    out: list[Cand] = []
    for c in sorted(pool, key=lambda c: -c.score):
        if len(out) >= WEIGHTS.against_taken_max:
            break
        if picked.add(c):
            out.append(c)
    return out


def cautions(cands: Sequence[Cand], q: Query, picked: Picked, factors: Sequence[str], floor: float,
             patient: bool = False) -> list[Cand]:
    """What the guidance says against a drug for the patient's own comorbidities and co-medication
    ("NSAIDs should be avoided in people taking anticoagulants" for a man on warfarin), best first:
    a vignette's answer leads with it rather than with the drug's usual dose."""
    return best_per_factor(cands, factors, picked, WEIGHTS.caution_lead_max, lambda c: (
        c.score >= floor and _eligible(c, q, patient) and not c.sent.dependent and _names_drug(c)
        and bool(INTENT_SENTENCE["contraindication"].search(c.sent.text)
                 or INTENT_SENTENCE["safety"].search(c.sent.text))))


def non_opioid_agents(text: str) -> frozenset[str]:
    """The drugs and therapies ``text`` names, affirmed, other than opioids, with their classes
    ("on duloxetine": duloxetine, SNRIs, antidepressants)."""
    vocab = vocabulary()
    taking: set[str] = set()
    for a in vocab.concept_ids(text, with_classes=False, affirmed=True):
        con = vocab.concepts.get(a)
        if con is not None and con.category == "agent" and not names_opioid(con.name):
            taking |= {a, *(k for k in con.classes if k in vocab.concepts)}
    return frozenset(taking)


def opioid_comedication(cands: Sequence[Cand], said: str, picked: Picked, max_n: int) -> list[Cand]:
    """Opioid statements that name a drug, or the class of a drug, the patient already takes
    (``said``: what the user wrote; serotonin syndrome with an SNRI, overdose risk with
    benzodiazepines), best first."""
    taking = non_opioid_agents(said)
    out: list[Cand] = []
    for c in sorted((c for c in cands if c.sent.opioid and not c.sent.dependent and taking & c.sent.direct),
                    key=lambda c: -c.score):
        if len(out) >= max_n:
            break
        if picked.add(c):
            out.append(c)
    return out


def condition_doc(cands: Sequence[Cand], named: frozenset[str] = frozenset()) -> str | None:
    """The guideline the question is about: the best-ranked retrieved document that is not
    about opioids (chronic low back pain, sciatica, neuropathic pain in MS ...) and whose title
    names no disease the conversation does not (``named``: the concepts it names)."""
    best: tuple[int, str] | None = None
    for c in cands:
        if c.hit.score <= 0 or not about_condition(c.hit.chunk, named):
            continue  # an added passage (score 0) is not what the question retrieved
        if best is None or c.hit.rank < best[0]:
            best = (c.hit.rank, c.hit.chunk.doc_id)
    return best[1] if best else None


def about_condition(chunk, named: frozenset[str]) -> bool:
    """Can the passage's guideline be the one about the patient's condition? Not an opioid
    guideline, not a patient leaflet, and its title names no disease the conversation does not
    ("back pain in multiple sclerosis" is not about a patient without MS)."""
    return (not names_opioid(chunk.title) and not plain_doc(chunk)
            and _title_diseases(chunk.title) <= named)


@lru_cache(maxsize=1024)
def _title_diseases(title: str) -> frozenset[str]:
    vocab = vocabulary()
    return frozenset(c for c in vocab.concept_ids(title, with_classes=False)
                     if vocab.concepts[c].category == "disease")


def _names_drug(c: Cand) -> bool:
    concepts = vocabulary().concepts
    return any(concepts[x].category == "agent" for x in c.sent.direct if x in concepts)


def _condition_options(cands: Sequence[Cand], q: Query, picked: Picked, patient: bool) -> list[Cand]:
    """The condition's own first options, from its guideline: one non-drug and one drug
    statement that recommend something, best scored first."""
    doc = condition_doc(cands, q.concepts)
    if doc is None:
        return []
    pool = [c for c in cands if c.hit.chunk.doc_id == doc and not c.sent.opioid and not picked.has(c)
            and c.role != "pitfall" and not _NOT_FIRST_LINE.search(c.sent.text)
            and not _NOT_FIRST_LINE.search(c.hit.chunk.section)
            and (patient or not plain_doc(c.hit.chunk)) and _RECOMMENDS.search(c.sent.text)]
    out: list[Cand] = []
    for kind in ("non_drug", "drug"):
        opts = [c for c in pool if (answers(c.sent, "non_drug") if kind == "non_drug"
                                    else _names_drug(c) and not answers(c.sent, "non_drug"))]
        if opts:
            best = max(opts, key=lambda c: (bool(_TREATMENT_HEADING.search(c.hit.chunk.section)), c.score))
            if picked.add(best):
                out.append(best)
    return out


def opioid_alternatives(cands: Sequence[Cand], q: Query, picked: Picked, patient: bool = False) -> list[Cand]:
    """The first-line options for the pain described, each cited: the condition's own first
    options from its guideline (exercise and an NSAID for chronic low back pain), then one per
    pain mechanism described; every mechanism's when nothing else is found."""
    out = _condition_options(cands, q, picked, patient)
    mechs = sorted(q.mechanisms & FIRST_LINE_BY_MECHANISM.keys())
    if not mechs and not out:
        mechs = sorted(FIRST_LINE_BY_MECHANISM)
    elif not mechs and not any(_names_drug(c) and not answers(c.sent, "non_drug") for c in out):
        # No mechanism described and the condition's guideline gave no drug option: back pain
        # without a described mechanism is treated as musculoskeletal (an NSAID first).
        mechs = ["musculoskeletal"]
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
