"""Is anything retrieved relevant enough to answer from? (thresholds in ``assistant/weights.py``)"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from ..cues import cues
from ..drugs import drugs_named, named_in
from ..drugs import tokens as drug_tokens
from ..opioid_terms import names_opioid
from ..records import Hit
from ..request import sentence_before, treatment_state
from ..text import stems as _stems
from ..vocab import vocabulary
from ..weights import WEIGHTS
from .query import QUESTION_NOISE, age_populations
from .sentences import passage_terms, sentences

_CLINICAL_CATEGORIES = ("agent", "mechanism", "complaint", "disease", "finding")
_CONDITION_CATEGORIES = ("mechanism", "complaint", "disease", "finding")


@dataclass(frozen=True)
class Relevance:
    in_scope: bool
    best_dense: float | None
    lexical: float
    """Share of the query's content words found in the retrieved passages."""
    clinical: bool
    """The query names a clinical vocabulary entity that the passages also mention."""
    missing: tuple[str, ...] = ()
    """Populations, complaints or conditions the query names that no passage mentions
    ("back pain in pregnancy" when nothing retrieved says anything about pregnancy)."""
    missing_drugs: tuple[str, ...] = ()
    """Those of ``missing`` that are drugs the request names."""


_MUST_BE_COVERED = ("population", "complaint", "disease")
_TAKING = cues().patterns["ts_taking"]
"""A drug the patient takes ("on ocrelizumab") is context, not what is asked."""


_LIST_TAIL = re.compile(r"(?:^|\s)[\w/-]+(?:\s+[\d.]+\s*(?:mg|mcg|g|mg/day))?(?:\s+(?:od|bd|tds|qds|daily|nocte|prn))?"
                        r"\s*(?:,|and|&|\+|plus)\s*$", re.I)


def _taken(before: Sequence[str]) -> bool:
    """The words before a drug say the patient takes it, also as a later member of a list ("on
    clopidogrel and citalopram", "taking X, Y and Z")."""
    prefix = " ".join(before[-4:]) + " "
    rest = " ".join(before)
    for _ in range(4):
        if _TAKING.search(prefix):
            return True
        cut = _LIST_TAIL.sub("", rest)
        if cut == rest:
            return False
        rest = cut
        prefix = " ".join(rest.split()[-4:]) + " "
    return False


_DOSE = cues().patterns["dose"]
_DOSE_ASKED = cues().patterns["dose_asked"]
_DOSE_AMOUNT = cues().patterns["dose_amount"]
_ASKED_OBJECT = cues().patterns["asked_object"]
_MEDICAL_TERM = cues().patterns["medical_term"]
_ASKED_SUBJECT = cues().patterns["asked_subject"]
_CONTEXT_CLAUSE = cues().patterns["context_clause"]
_GENERIC_HEADS = frozenset(_stems(" ".join(cues().generic_heads)))
_PERSON_HEADS = frozenset(_stems(" ".join(cues().person_heads)))
_INDICATION_OF_DRUG = cues().patterns["indication_of_drug"]
_DRUG_ANAPHOR = cues().patterns["drug_anaphor"]


def _pointed_back(query: str, request: str) -> str:
    """The sentence before the request, when the request names no drug and points back at
    drugs ("which one first?"): where the drugs it asks about are named."""
    if not _DRUG_ANAPHOR.search(request) or drugs_named(request):
        return ""
    return sentence_before(query, request)


def _class_named(drug: str, named: set[str]) -> bool:
    vocab = vocabulary()
    ids = vocab.concept_ids(drug, with_classes=False)
    return any(set(vocab.concepts[c].classes) & named for c in ids if vocab.concepts[c].category == "agent")


def _uncovered_object(request: str, p_stems: set[str], p_concepts: set[str]) -> str | None:
    """What the request asks to treat or manage, when its head word is in no retrieved passage
    and it names no vocabulary entity they cover ("cognitive fog", "bladder urgency", "tremor")."""
    vocab = vocabulary()
    # What is asked is in the question sentences ("NSAIDs help a lot. What should I do?").
    asked = [x for x in re.split(r"(?<=[.!?])\s+", request) if x.rstrip().endswith("?")]
    request = " ".join(asked) or request
    found = [m.group(1) for m in _ASKED_OBJECT.finditer(request)]
    found += [m.group(1) or m.group(2) or m.group(3) for m in _ASKED_SUBJECT.finditer(request)]
    for phrase in found:
        phrase = phrase.strip()
        if any(c in p_concepts for c in vocab.concept_ids(phrase)):
            continue
        words = [w for w in re.findall(r"[a-z]+", phrase.lower())]
        heads = [s for s in (_stems(w) for w in reversed(words)) if s]
        if heads and heads[0] <= _PERSON_HEADS:
            continue  # "for a safety-critical job": who it is for
        head = next((h for h in heads if not h <= _GENERIC_HEADS and not h <= QUESTION_NOISE), None)
        if head and not (head & p_stems):
            return phrase
    return None


_OPENING = re.compile(r"^\s*([A-Za-z][A-Za-z-]*(?:\s+[A-Za-z][A-Za-z-]*){0,%d})\s*(?:[,.:;(-]|\d|$)"
                      % (WEIGHTS.opening_topic_words - 1))


def _uncovered_opening(query: str, p_stems: set[str], p_concepts: set[str]) -> str | None:
    """A question that opens by naming its condition in clinical form ("Plantar fasciitis 8
    months, tried insoles ...") is about that condition: when it names no vocabulary entity
    and no retrieved passage uses the term, the question is not covered."""
    m = _OPENING.match(query)
    if m is None:
        return None
    phrase = m.group(1)
    if vocabulary().concept_ids(phrase):
        return None
    # Only a condition named by its clinical form ("fasciitis", "tendinopathy"): an opening
    # such as "Office worker", "Different pt" or "Ward nurse asks" is not a topic.
    term = _MEDICAL_TERM.search(phrase)
    if term is None or (_stems(term.group(1)) & p_stems):
        return None
    return phrase


def _uncovered_terms(text: str, topic: str | None, text_lower: str, words: frozenset[str],
                     p_stems: set[str], p_concepts: set[str]) -> list[str]:
    """Clinical terms by their form in ``text`` that no retrieved passage uses ("vertebroplasty")."""
    vocab = vocabulary()
    return [m.group(1).lower() for m in _MEDICAL_TERM.finditer(text)
            # A term of several words is covered only as a whole ("spinal cord stimulation").
            if (m.group(1).lower() not in text_lower if " " in m.group(1)
                else not (_stems(m.group(1)) & p_stems) and m.group(1).lower() not in words)
            # What another drug was given for ("given Ciproxin by urology for prostatitis.
            # Problem?") is the patient's story, not what is asked.
            and not _INDICATION_OF_DRUG.search(text[max(0, m.start() - 60):m.start()])
            and not _stems(m.group(1)) <= _GENERIC_HEADS
            # A name of a concept the passages cover ("cirrhosis" for liver disease).
            and not (vocab.concept_ids(m.group(1), with_classes=False) & p_concepts)
            and not (topic and m.group(1).lower() in topic.lower())]  # named once: "Plantar fasciitis"


def _condition_ids(text: str) -> set[str]:
    """The conditions (complaints, diseases, mechanisms, findings) a text names, pain itself aside."""
    vocab = vocabulary()
    return {c for c in vocab.concept_ids(text, with_classes=False, affirmed=True)
            if vocab.concepts[c].category in _CONDITION_CATEGORIES and c != "pain"}


def _names_condition(request: str) -> bool:
    return bool(_condition_ids(request)) or bool(_MEDICAL_TERM.search(request))


def assess_relevance(query: str, hits: Sequence[Hit], request: str | None = None) -> Relevance:
    """Is anything retrieved relevant enough to answer from? (see ``Weights``)"""
    if not hits:
        return Relevance(False, None, 0.0, False)
    W = WEIGHTS
    vocab = vocabulary()
    q_stems = frozenset(s for s in _stems(query) if s not in QUESTION_NOISE)
    q_concepts = {c for c in vocab.concept_ids(query)
                  if vocab.concepts[c].category in _CLINICAL_CATEGORIES}
    terms = [passage_terms(h.chunk) for h in hits]
    p_stems: set[str] = set().union(*(t.stems for t in terms))
    p_concepts: set[str] = set().union(*(t.concepts for t in terms))
    p_named: set[str] = set().union(*(t.named for t in terms))
    """Concepts the passages name themselves (not only through a drug's class)."""
    lexical = len(q_stems & p_stems) / len(q_stems) if q_stems else 0.0
    clinical = bool(q_concepts & p_concepts)
    dense = [h.dense_score for h in hits if h.dense_score is not None]
    best = max(dense) if dense else None
    if best is not None:
        ok = best >= W.min_dense_score or (best >= W.rescue_dense_score and clinical)
    else:
        ok = clinical and lexical >= W.min_lexical_overlap
    # An answer about back pain in general is not an answer for a pregnant patient: a named
    # population or condition the passages never mention puts the question out of scope.
    # A vignette's background conditions ("depression (stable)", "knee OA") are context, not
    # what is asked: only the request's own conditions must be covered; a population (pregnant,
    # a child) counts wherever it is named.
    in_request = (vocab.concept_ids(request, with_classes=False, affirmed=True)
                  if request and len(request) < len(query) else None)
    named = [c for c in vocab.concept_ids(query, with_classes=False, affirmed=True)
             if vocab.concepts[c].category in _MUST_BE_COVERED and c != "pain"
             and (in_request is None or c in in_request or vocab.concepts[c].category == "population")]
    # A child by age ("12-year-old"): the child population, named or not.
    if "child" not in named and "child" in age_populations(query):
        named.append("child")
    missing = tuple(sorted(vocab.concepts[c].name for c in named
                           if c not in p_concepts and not (_stems(vocab.concepts[c].name) & p_stems)))
    if request:
        # A drug the request names (brands resolved to generics) that no retrieved passage names
        # is not covered, whatever its class: "methylprednisolone for a relapse" is not answered
        # by a sentence about corticosteroids. Opioids are answered by the opioid rule instead.
        text_lower = " ".join(t.lower for t in terms)
        words = frozenset().union(*(t.words for t in terms))
        asked_part = _CONTEXT_CLAUSE.sub("", request, count=1)
        back = _pointed_back(query, request)
        if back:
            asked_part = back + " " + asked_part
        toks = drug_tokens(asked_part)
        absent = [d.written for d in drugs_named(asked_part)
                  if not names_opioid(d.written) and not names_opioid(d.generic)
                  and not _stems(d.written) <= _GENERIC_HEADS  # "analgesic", "painkiller": no drug of its own
                  and not _taken(toks[max(0, d.token - 10):d.token])
                  and not named_in(d, text_lower, words)
                  # A drug whose own class the passages name ("pregabalin" and "gabapentinoids
                  # are not recommended for sciatica"), unless its dose is asked (doses are the
                  # drug's own); a class word that is the drug's only name in the vocabulary
                  # ("methylprednisolone" is a corticosteroid) does not count.
                  and not (not _DOSE.search(asked_part) and _class_named(d.generic or d.written, p_named))]
        topic = (_uncovered_object(request, p_stems, p_concepts)
                 or _uncovered_opening(query, p_stems, p_concepts))
        terms = _uncovered_terms(request, topic, text_lower, words, p_stems, p_concepts)
        if not terms and not topic and not _names_condition(request):
            # "What's first-line management?" asks about the diagnosis just stated ("... rheum
            # says fibromyalgia."), when that sentence names no condition the passages cover.
            before = sentence_before(query, request)
            if before and not (_condition_ids(before) & p_concepts):
                terms = _uncovered_terms(before, None, text_lower, words, p_stems, p_concepts)
        missing = tuple(dict.fromkeys(missing + tuple(absent) + ((topic,) if topic else ()) + tuple(terms)
                                      + _undosed(asked_part, hits)))
    return Relevance(ok and not missing, best, lexical, clinical, missing,
                     tuple(d for d in missing if d in absent) if request else ())


def _undosed(asked: str, hits: Sequence[Hit]) -> tuple[str, ...]:
    """"How many units of botulinum toxin per muscle?": the drugs whose amount the request asks
    for that no retrieved sentence naming them gives with a unit (the guidance says what the
    drug is for, not how much to give). Opioids are answered by the opioid rule instead."""
    if not _DOSE_ASKED.search(asked):
        return ()
    vocab = vocabulary()
    # Drugs only (not physiotherapy or exercise), and not those the patient already takes ("can I
    # add it to the nortriptyline she's already on?").
    taken = {t.drug for t in treatment_state((asked,))}
    agents = [c for c in vocab.concept_ids(asked, with_classes=False, affirmed=True)
              if vocab.concepts[c].category == "agent" and c not in taken
              and not names_opioid(vocab.concepts[c].name) and drugs_named(vocab.concepts[c].name)]
    if not agents:
        return ()
    dosed: set[str] = set()
    for h in hits:
        for sent in sentences(h.chunk):  # the passages' own sentences, annotated once per passage
            if _DOSE_AMOUNT.search(sent.text):
                dosed |= sent.concepts
    return tuple(f"a dose of {vocab.concepts[c].name}" for c in agents if c not in dosed)
