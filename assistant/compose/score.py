"""Sentences of the retrieved passages scored against the question (``Cand``).

score = (lexical * IDF stem overlap + concept * concepts in common + heading * heading overlap)
        + intent bonuses, times the passage prior (rank, cosine) and audience factors.
Every number is a named field of ``assistant/weights.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping, Sequence

from ingest.records import Chunk

from ..cues import cues
from ..negation import has_negation, negated_main_clause
from ..records import Hit, SafetyVerdict
from ..request import intent_catalogue
from ..text import WORD
from ..text import stems as _stems
from ..vocab import vocabulary
from ..weights import WEIGHTS
from .query import Query
from .sentences import Sent
from .sentences import answers
from .sentences import sentences as _sentences

_C = cues()
_P = _C.patterns
INTENT_SENTENCE = _C.intent_sentence
_ADVERSE = _P["adverse"]
_MAXIMUM = _P["maximum"]
_CONDITION = _P["condition"]
_TIME_SPAN = _P["time_span"]
LATER_LINE = _P["later_line"]
_FIRST_LINE = _P["first_line"]
_KEY_RECS = _P["key_recs"]
_PITFALLS = _P["pitfalls"]
_ALGORITHM = _P["algorithm"]
FOR_PATIENTS = _P["for_patients"]
_PLAIN_DOC = _P["plain_doc"]
_STARTS_DRUG = _P["starts_drug"]
_TITRATES = _P["titrates"]
FIRST_LINE_BY_MECHANISM = {
    "musculoskeletal": (_P["first_line_musculoskeletal"], _P["first_line_musculoskeletal_active"]),
    "spasticity": (_P["first_line_spasticity"], _P["first_line_spasticity_active"]),
    "neuropathic": (_P["first_line_neuropathic"], _P["first_line_neuropathic_other"]),
}
"""Per pain mechanism, its first-line options: the drugs first, then a second option (activity and
physiotherapy, stretching, another drug family). An opioid request is answered with a cited
sentence for each; a drug first-line only for another mechanism answers another question."""


def other_mechanism_drug(text: str, mechanisms: frozenset[str]) -> bool:
    """The sentence names a first-line drug of another mechanism and none of the asked ones'
    (only when every asked mechanism has a first-line list)."""
    if not mechanisms or not all(m in FIRST_LINE_BY_MECHANISM for m in mechanisms):
        return False
    if any(_found(FIRST_LINE_BY_MECHANISM[m][0], text) for m in mechanisms):
        return False
    return any(_found(drugs, text) for m, (drugs, _) in FIRST_LINE_BY_MECHANISM.items() if m not in mechanisms)


_DOSE_ASKS = frozenset({"max_dose", "titration", "how_to_prescribe"})
_DRUG_ASKS = _DOSE_ASKS | {"first_choice", "side_effects", "monitoring"}
_DRUG_HEADING = _P["drug_heading"]
BEYOND_DRUG_ASKS = frozenset({"triggers", "non_drug", "imaging_referral", "mechanisms"})
"""What a request about a drug can ask that statements without the drug answer."""

@dataclass
class Cand:
    sent: Sent
    hit: Hit
    score: float
    role: str
    """'key' | 'pitfall' | 'algorithm' | 'patient' | 'body'"""
    title: str
    order: tuple
    about: frozenset[str]
    """Concepts of the sentence plus those of its document title and headings."""
    direct: frozenset[str]
    """The same without drug classes added."""


# Whether a cue pattern occurs in a text (sentence, heading path, title): the same passages come
# back answer after answer, so each pair is searched once (bounded).
FOUND_CACHE_SIZE = 200_000
_found_cache: dict[tuple[object, str], bool] = {}


def _found(pattern, text: str) -> bool:
    key = (pattern, text)
    hit = _found_cache.get(key)
    if hit is None:
        hit = pattern.search(text) is not None
        if len(_found_cache) >= FOUND_CACHE_SIZE:
            _found_cache.clear()
        _found_cache[key] = hit
    return hit


@lru_cache(maxsize=FOUND_CACHE_SIZE)
def _heading_terms(section: str, heading: str) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(stems of the inner headings, concepts of the heading path, the same without drug
    classes): a sentence is implicitly about its document and section ("Back pain in multiple
    sclerosis > Tizanidine" covers "The maximum dose is 36 mg"). Remembered across answers."""
    vocab = vocabulary()
    path = section + " " + heading
    return (_stems(section.split(" > ", 1)[-1] + " " + heading), vocab.concept_ids(path),
            vocab.concept_ids(path, with_classes=False))


def role(chunk: Chunk, sent: Sent) -> str:
    path = chunk.section.split(" > ")
    heads = " > ".join(path[1:] if len(path) > 1 else path) + (" > " + sent.heading if sent.heading else "")
    if _found(FOR_PATIENTS, heads):
        return "patient"
    if _found(_PITFALLS, heads):
        return "pitfall"
    if _found(_ALGORITHM, heads):
        return "algorithm"
    if _found(_KEY_RECS, heads):
        return "key"
    return "body"


def plain_doc(chunk: Chunk) -> bool:
    return bool(_found(_PLAIN_DOC, chunk.doc_id) or _found(_PLAIN_DOC, chunk.title))


def section_title(chunk: Chunk, sent: Sent) -> str:
    path = [p for p in chunk.section.split(" > ") if p]
    if sent.heading:
        path.append(sent.heading)
    if len(path) <= 1:
        return path[0] if path else chunk.title
    inner = path[-1]
    if len(path) >= 3:
        parent = path[-2]
        first = lambda s: WORD.findall(s.lower())[:1]  # noqa: E731
        # "First-line drug treatment: Spasticity component" reads; "Second-line
        # options: Second-line drug treatment" repeats itself.
        if first(parent) != first(inner):
            return f"{parent}: {inner}"
    return inner


def about_agents(q: Query, about: frozenset[str], direct: frozenset[str]) -> bool:
    """Is the statement about a drug the question names? A statement about the
    drug's class counts ("NSAIDs" for ibuprofen); one about a sibling does not
    (baclofen for tizanidine)."""
    return bool(q.agents & about or q.agent_classes & direct)


def via_class(agent: str, s: Sent) -> bool:
    """The sentence names the drug's class, not the drug ("gabapentinoids" for gabapentin)."""
    return not s.direct.isdisjoint(_classes(agent))


@lru_cache(maxsize=4096)
def _classes(agent: str) -> frozenset[str]:
    return frozenset(vocabulary().concepts[agent].classes)


def score_all(q: Query, hits: Sequence[Hit], audience: str, verdict: SafetyVerdict | None,
              similarity: Mapping[str, float] | None = None) -> list[Cand]:
    """Each sentence of ``hits`` scored against ``q``; ``similarity`` maps a sentence's text to
    its cosine with the question (``semantic.sentence_similarities``), when a model is at hand."""
    pairs: list[tuple[Hit, Sent]] = [(h, s) for h in hits for s in _sentences(h.chunk)]
    if not pairs:
        return []
    similarity = similarity or {}
    W = WEIGHTS
    catalogue = intent_catalogue()
    drugs_unasked = "non_drug" in q.asks and not (_DRUG_ASKS & set(q.asks)) and not q.agents
    n = len(pairs)
    df: dict[str, int] = {}
    for _, s in pairs:
        for t in s.stems:
            df[t] = df.get(t, 0) + 1
    w = {t: 1.0 + math.log((n + 1) / (df.get(t, 0) + 1)) for t in q.stems}
    w_total = sum(w.values()) or 1.0
    patient = audience == "patient" or q.patient_language
    red = bool(verdict and verdict.escalated)
    # "What about the spasms?" in a conversation about treatment asks how to treat them: a
    # treatment statement about the mechanism named beats its description.
    mech_asked = any(vocabulary().concepts[c].category == "mechanism" for c in q.focus)
    treat_w = W.treatment_mechanism if mech_asked and q.breadth != "broad" else W.treatment
    cands: list[Cand] = []
    sec_cache: dict[str, frozenset[str]] = {}
    role_cache: dict[str, tuple[str, str]] = {}
    sec_intent: dict[str, bool] = {}
    vocab = vocabulary()
    intents = sorted(q.intents)
    concept_weights = {x: (W.concept_focus if x in q.focus else 1.0) for x in q.concepts}
    concept_total = sum(concept_weights.values())
    section_bonus = W.section_intent_broad if q.breadth == "broad" else W.section_intent
    section_pats = [INTENT_SENTENCE[i] for i in intents if i != "algorithm" and i in INTENT_SENTENCE]
    for h, s in pairs:
        c = h.chunk
        key = c.section + "|" + s.heading
        held = role_cache.get(c.title + "|" + key)
        if held is None:  # both read only the heading path (the title when there is none)
            held = role_cache[c.title + "|" + key] = (role(c, s), section_title(c, s))
        srole, stitle = held
        if patient and s.dose_number:
            continue  # patient answers leave dosing detail out
        if s.opioid and not q.opioid_asked and not s.opioid_restricted:
            continue  # an opioid is never offered as a routine option
        hstems, ctx, ctx_direct = _heading_terms(c.section, s.heading)
        lex = sum(w[t] for t in q.stems & s.stems) / w_total
        for x in q.agents:
            # The drug's name is missing from a statement about its class: most of its weight.
            if via_class(x, s):
                lex += W.lexical_via_class * sum(w[t] for t in (_stems(vocab.concepts[x].name) & q.stems) - s.stems) / w_total
        head = sum(w[t] for t in q.stems & hstems) / w_total
        named_effects = (len({m.lower() for m in _ADVERSE.findall(s.text)})
                         if "side_effects" in q.intents else 0)
        con = 0.0
        if q.concepts:
            # Named effects are side effects, whether or not the sentence says "side effects".
            has = s.concepts | {"side_effects"} if named_effects else s.concepts
            # A statement about the drug's class speaks for the drug ("NICE advises against
            # gabapentinoids for sciatica" answers "is gabapentin effective for sciatica?").
            con = sum(v if x in has
                      else W.concept_via_class * v if x in q.agents and via_class(x, s)
                      else W.concept_in_context * v if x in ctx else 0.0
                      for x, v in concept_weights.items()) / concept_total
        score = W.lexical * lex + W.concept * con + W.heading * head
        sim = similarity.get(s.text)
        if sim is not None and sim > W.semantic_floor:
            score += W.semantic * (sim - W.semantic_floor)  # about the question in meaning, whatever its words
        for intent in intents:
            if intent == "dose":
                # The numbers answer a dose question; the word "dose" alone hardly does.
                if s.dose_number:
                    score += W.dose_number + (W.dose_maximum if q.max_dose and _found(_MAXIMUM, s.text) else 0.0)
                elif s.dose:
                    score += W.dose_word
                continue
            if intent == "indication":
                # "When is imaging indicated?" is answered by the circumstances that call
                # for it ("... when red flags suggest", "... persist beyond 4 to 6 weeks"),
                # not by statements of when it is not recommended.
                if negated_main_clause(s.text) or has_negation(
                        c.section.rsplit(" > ", 1)[-1] + " " + s.heading):
                    score *= W.indication_negated  # "not recommended ...", or under "When not to image"
                elif _found(_CONDITION, s.text):
                    score += W.indication_condition + (W.indication_time_span if _found(_TIME_SPAN, s.text) else 0.0)
                continue
            if intent == "interaction" and q.drugs >= 2 and _found(INTENT_SENTENCE["interaction"], s.text):
                covered = all(x in s.concepts or via_class(x, s) for x in q.agents)
                score += W.interaction + (W.interaction_both if covered else 0.0)  # about these drugs together
                continue
            if intent == "first_line" and _found(LATER_LINE, s.text):
                continue  # "second-line options ... despite first-line treatment" is about the next step
            if intent == "side_effects":
                if named_effects or _found(INTENT_SENTENCE["side_effects"], s.text):
                    score += W.side_effects + (W.side_effects_named if named_effects >= 2 else 0.0)
                continue
            pat = INTENT_SENTENCE.get(intent)
            if pat is not None and _found(pat, s.text):
                score += (treat_w if intent == "treatment" else W.intent_sentence)
        if q.units & s.number_units:
            score += W.number_in_unit  # the number asked for, in the unit asked for
        about_asked = sec_intent.get(c.section)
        if about_asked is None:
            inner = c.section.split(" > ", 1)[-1]
            about_asked = sec_intent[c.section] = any(_found(p, inner) for p in section_pats)
        if about_asked:
            score += section_bonus  # the section is about what was asked
        answered = ()
        if q.asks:
            sec_answers = sec_cache.get(key)
            if sec_answers is None:
                heads = c.section.split(" > ", 1)[-1] + " " + s.heading
                sec_answers = sec_cache[key] = frozenset(
                    a for a in q.asks if catalogue[a].sections is not None and _found(catalogue[a].sections, heads))
            answered = [a for a in q.asks if a in sec_answers or answers(s, a)]
            score += W.intent_answer * len(answered)  # answers what the request asks
        if drugs_unasked and _found(_DRUG_HEADING, c.section) and not answers(s, "non_drug"):
            score *= W.drug_not_asked  # "what else besides tablets?": drug sections are not asked
        if q.tried and not s.direct.isdisjoint(q.tried) and (
                _found(_STARTS_DRUG, s.text)
                or (s.dose_number and not s.direct.isdisjoint(q.intolerant))
                or (s.dose_number and not _found(_TITRATES, s.text) and not _DOSE_ASKS & set(q.asks))):
            continue  # the drug already taken is never recommended as if new
        if s.idx < 2 and s.step is None:
            score += W.opening_sentence  # a section's opening sentences usually state its point
        first_line_answer = (q.asks_first_line and bool(_found(_FIRST_LINE, s.text))
                             and not _found(LATER_LINE, s.text))
        if (q.agents and q.breadth != "broad" and not first_line_answer
                and not any(a in BEYOND_DRUG_ASKS for a in answered)
                and not about_agents(q, s.concepts | ctx, s.direct | ctx_direct)):
            # "max tizanidine dose": a sentence about another drug does not answer it.
            # "Is tramadol first-line?" is answered by what is first-line, whatever the drug;
            # "push the baclofen up? What first?" by the triggers to treat, whatever the drug.
            score *= W.other_agent
        s_mech = frozenset(x for x in s.direct if vocab.concepts[x].category == "mechanism") if q.mechanisms else ()
        if (s_mech and s_mech.isdisjoint(q.mechanisms)) or (
                not s_mech and s.direct.isdisjoint(q.agents) and other_mechanism_drug(s.text, frozenset(q.mechanisms))):
            # A statement about another pain mechanism (trigeminal neuralgia when neuropathic
            # leg pain is in question), or about a drug first-line only for another one,
            # answers another question.
            score *= W.other_mechanism
        if red and _found(INTENT_SENTENCE["red_flags"], s.text):
            score += W.red_flag
        prior = 1.0 / (1.0 + W.rank_decay * (h.rank - 1))
        if h.dense_score is not None:
            prior *= min(W.dense_prior_max, max(W.dense_prior_min, W.dense_prior_base + W.dense_prior_slope * h.dense_score))
        score *= prior
        plain = srole == "patient" or plain_doc(c)
        if patient:
            score *= W.patient_plain if plain else W.patient_not_plain
            if s.dose:
                score *= W.patient_dose
        elif plain:
            score *= W.clinician_plain
        if s.opioid and not q.opioid_asked:
            score *= W.opioid_not_asked
        if q.opioid_asked and s.opioid_restricted:
            score += W.opioid_restriction_asked  # asked for an opioid: where opioids stand comes first
        cands.append(Cand(s, h, score, srole, stitle, (c.doc_id, c.start, s.idx),
                           s.concepts | ctx, s.direct | ctx_direct))
    return cands

