"""Hit[] -> Answer: the grounded composer (no LLM).

Every clinical statement of the answer is a sentence of a retrieved passage,
lightly cleaned (list markers and emphasis stripped), never reworded. The
composer only chooses and arranges. The package follows the stages:

* ``sentences``  passage -> annotated sentences (cached per chunk id)
* ``query``      the question -> what it asks (concepts, intents, breadth)
* ``relevance``  is anything retrieved relevant enough to answer from?
* ``score``      each sentence scored against the question (``semantic``: by meaning too)
* ``layout``     bottom line, sections under the guideline's own headings, then
                 (broad questions) algorithm and pitfalls, then a disclaimer
* ``suggest``    suggested follow-up questions
* ``expand``     passages top-k retrieval tends to miss (called by the pipeline)

Citations are numbered in order of first use, one number per passage. When nothing
retrieved is relevant enough the answer says so, names what the knowledge base covers
and cites nothing. Weights and thresholds: ``assistant/weights.py``; cue words:
``assistant/cues.yaml``; clinical vocabulary: ``assistant/vocab.yaml``.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..negation import negated_main_clause as _negated_main_clause  # noqa: F401  (tests)
from ..cues import cues
from ..opioid_terms import names_opioid
from ..records import Answer, Citation, Hit, SafetyVerdict, Section, Sentence, Turn
from ..request import intent_catalogue, understand
from ..vocab import vocabulary
from ..render import render
from ..text import number_units as _number_units  # noqa: F401  (tests)
from ..weights import WEIGHTS
from . import intents as I
from . import layout as L
from .expand import expand_hits
from .query import age_populations, comedications
from .expand import warm_corpus  # noqa: F401  (Assistant.warm)
from .query import Query as _Query  # noqa: F401
from .query import parse_query as _parse_query
from .query import question_breadth
from .relevance import Relevance, assess_relevance
from .score import FOR_PATIENTS as _FOR_PATIENTS
from .score import LATER_LINE as _LATER_LINE  # noqa: F401  (tests)
from .score import about_agents as _about_agents
from .score import score_all as _score_all
from .semantic import Vectors, semantic_query, sentence_similarities
from .sentences import sentences as _sentences  # noqa: F401  (tests)
from .suggest import suggestions as _suggestions

__all__ = ["DISCLAIMER_CLINICIAN", "DISCLAIMER_PATIENT", "OUT_OF_SCOPE_TEXT", "Relevance", "assess_relevance",
           "compose", "expand_hits", "out_of_scope_answer", "question_breadth", "warm_corpus"]

# Names kept for callers of the single-module composer (values live in Weights).
MIN_DENSE_SCORE = WEIGHTS.min_dense_score
RESCUE_DENSE_SCORE = WEIGHTS.rescue_dense_score
MIN_LEXICAL_OVERLAP = WEIGHTS.min_lexical_overlap
NARROW_MAX_SENTENCES = WEIGHTS.narrow_max_sentences
FOCUSED_MAX_SENTENCES = WEIGHTS.focused_max_sentences
BROAD_BODY_SENTENCES = WEIGHTS.broad_body_sentences
BROAD_PITFALLS = WEIGHTS.broad_pitfalls
BOTTOM_LINE_MAX = WEIGHTS.bottom_line_max

DISCLAIMER_CLINICIAN = ("Decision support drawn from the cited guideline passages; "
                        "it is not a substitute for clinical judgement.")
DISCLAIMER_PATIENT = ("General information from the cited guidance; it does not replace advice "
                      "from your own doctor or care team.")
OUT_OF_SCOPE_TEXT = "The guidance in this knowledge base does not cover this question."
_OPIOID_REQUEST = cues().patterns["opioid_request_verbs"]
_INTERROGATIVE = cues().patterns["interrogative"]


_PHASE_ASKS = ("plan_acute", "plan_chronic")
"""Requests for the plan of one phase of the pain, which a pathway's steps answer."""


def _framed_alone(text: str) -> bool:
    """The opioid sentence can be shown as written, as the safety layer keeps it: it carries the
    whole reservation framing, reserves opioids for severe pain, or is a caution; none presents
    an opioid as first-line. Any other the safety layer would drop."""
    from ..safety.opioids import complies, reserves, restricts
    from ..safety.policy import load_policy

    policy = load_policy()
    # A caution ("fentanyl patches are not for opioid-naive patients") is kept as written too.
    return complies(text, policy) or restricts(text, policy) or reserves(text, policy)


def _patient_factors(question: str, history: Sequence[Turn]) -> list[str]:
    """Populations and listed comorbidities named about the patient (in this turn or the user's
    earlier ones), in a fixed order."""
    vocab = vocabulary()
    said = " ".join([t.content for t in history if t.role == "user"] + [question])
    told = vocab.concept_ids(said, with_classes=False, affirmed=True) | age_populations(said)
    # A drug the patient takes can put them in a population ("on diazepam": sedating medicines).
    told |= {k for c in told if c in vocab.concepts for k in vocab.concepts[c].classes
             if k in vocab.concepts and vocab.concepts[k].category == "population"}
    listed = set(cues().patient_factors)
    factors = sorted(c for c in told if c in vocab.concepts
                     and (vocab.concepts[c].category == "population" or c in listed))
    # Then the medicines the patient already takes, after the comorbidities.
    earlier = tuple(t.content for t in history if t.role == "user")
    return factors + [c for c in comedications(question, earlier) if c not in factors]


def _disclaimer(audience: str) -> Section:
    text = DISCLAIMER_PATIENT if audience == "patient" else DISCLAIMER_CLINICIAN
    return Section("", (Sentence(text),), kind="disclaimer")


def out_of_scope_answer(question: str, hits: Sequence[Hit], *, query: str | None = None,
                        audience: str = "clinician", verdict: SafetyVerdict | None = None,
                        covered_topics: Sequence[str] | None = None, missing: Sequence[str] = ()) -> Answer:
    """The answer when the knowledge base does not cover the question: cites nothing."""
    topics = [t.strip() for t in (covered_topics or ()) if t and t.strip()]
    if not topics:
        topics = list(dict.fromkeys(h.chunk.title for h in hits))
    sentences = [Sentence(OUT_OF_SCOPE_TEXT)]
    if missing:
        sentences.append(Sentence("Nothing in it addresses " + " or ".join(missing) + "."))
    if topics:
        sentences.append(Sentence("It covers: " + "; ".join(dict.fromkeys(topics)) + "."))
    sections = (Section("", tuple(sentences), kind="out_of_scope"), _disclaimer(audience))
    return Answer(
        question=question, markdown=render(sections), sections=sections, citations=(),
        safety=verdict or SafetyVerdict(policy_version=""), audience=audience, out_of_scope=True,
        condensed_query=query, hits=tuple(hits), composer="grounded", suggestions=(),
    )


def compose(question: str, hits: Sequence[Hit], *, query: str | None = None, audience: str = "clinician",
            verdict: SafetyVerdict | None = None, covered_topics: Sequence[str] | None = None,
            history: Sequence[Turn] = (), embed: Callable[[str], np.ndarray] | None = None,
            vectors: Vectors | None = None) -> Answer:
    """A structured, cited answer made only of sentences of the retrieved passages.

    ``history`` (earlier turns) gives the treatment state; ``embed`` (the query embedder)
    lets the request's intents be recognised by meaning as well as by cue words; ``vectors``
    (sentence vectors of the same model) lets sentences be scored by meaning as well."""
    W = WEIGHTS
    req = understand(question, [t.content for t in history if t.role == "user"], embed)
    hits = tuple(hits)
    text = query or question
    # One passage, one hit: keep the best-ranked copy.
    uniq: dict[str, Hit] = {}
    for h in sorted(hits, key=lambda h: h.rank):
        uniq.setdefault(h.chunk.chunk_id, h)
    asked = req.request or question
    # Drugs are checked for coverage in what is asked; a case presented without a question
    # ("... long-term prednisolone; now severe back pain") names its drugs as context.
    rel = assess_relevance(text, list(uniq.values()),
                           request=asked if _INTERROGATIVE.search(asked) else None)
    opioid_named = names_opioid(question)
    wants_opioid = opioid_named and bool(_OPIOID_REQUEST.search(asked))
    # An opioid named anywhere in the question as an option for this patient (asked for, under
    # pressure, "if I don't give him co-codamol") gets the first-line alternatives too.
    opioid_notice = (wants_opioid or (verdict is not None and verdict.opioid_requested)
                     or (W.opioid_named_alternatives and opioid_named))
    if not rel.in_scope and not (opioid_notice and set(rel.missing) <= set(rel.missing_drugs)):
        # An opioid asked for is always answered: by the rule and the first-line options, also
        # when another drug it names is not covered ("upped tramadol ... + sertraline 150").
        return out_of_scope_answer(question, hits, query=query, audience=audience, verdict=verdict,
                                   covered_topics=covered_topics, missing=rel.missing)
    q = _parse_query(question, text, req)
    sims = None
    if vectors is not None and W.semantic > 0:
        sem_q = semantic_query(question, query, req.request, W.semantic_request_chars)
        sims = sentence_similarities(vectors, sem_q, [s.text for h in uniq.values() for s in _sentences(h.chunk)])
    cands = _score_all(q, list(uniq.values()), audience, verdict, sims)
    cands = [c for c in cands if c.score > 0]
    if not cands:
        return out_of_scope_answer(question, hits, query=query, audience=audience, verdict=verdict,
                                   covered_topics=covered_topics)
    picked = L.Picked()
    options: list = []
    if wants_opioid:
        # An opioid asked for as treatment: keep only opioid statements that carry the reservation
        # framing on their own (never one completed mid-sentence); the rule itself is stated
        # first by the safety notice.
        # A statement about the opioid together with another drug the question names ("on
        # diazepam - can I add an opioid?") is kept whatever its wording: the interaction matters
        # more than the form the safety layer gives its framing.
        others = frozenset(a for a in q.agents if not names_opioid(vocabulary().concepts[a].name))
        cands = [c for c in cands if not c.sent.opioid or _framed_alone(c.sent.text)
                 or not c.sent.direct.isdisjoint(others)]
    if wants_opioid and not (verdict is not None and verdict.opioid_requested):
        # No safety notice will state the rule: the answer states it first, as a sentence of its own.
        rule = [c for c in cands if c.sent.opioid_restricted and c.sent.opioid]
        if rule and picked.add(best_rule := max(rule, key=lambda c: c.score)):
            options.append(best_rule)
    if opioid_notice:
        # ...and the answer leads with the cited first-line options for the pain described.
        options += I.opioid_alternatives(cands, q, picked, patient=audience == "patient" or q.patient_language)
    every = cands  # the patient's own factors are answered from any passage, not only the drug's
    if q.breadth == "narrow" and q.agents and not wants_opioid:
        # "max tizanidine dose" is answered by tizanidine sentences only.
        about = [c for c in cands if _about_agents(q, c.about, c.direct)]
        if about:
            cands = about
    docs = L.doc_rank(cands, q)
    blocks: list[L.Block] = []
    patient = audience == "patient"
    patient_sel = patient or q.patient_language  # select plain-language statements
    top = max(c.score for c in cands)
    factors = _patient_factors(question, history)
    warn = [] if patient_sel or wants_opioid else I.cautions(cands, q, picked, factors, W.caution_lead_share * top)
    if opioid_notice and not patient_sel:
        # The opioid asked for and what the patient already takes ("tramadol with duloxetine",
        # "codeine with diazepam and pregabalin"): what the guidance says of the combination.
        said = " ".join([t.content for t in history if t.role == "user"] + [question])
        warn += I.opioid_comedication(every, said, picked, W.opioid_comedication_max)
    if not patient_sel:
        warn += I.against_taken(every, q, picked)  # "advises against gabapentinoids" for one on gabapentin
    lead = options + warn + I.lead(cands, q, picked, patient_sel)

    if q.breadth == "narrow":
        bl = lead + L.bottom_line(cands, q, picked, max(0, W.bottom_line_short - len(lead)), docs, patient_sel)
        body = L.body(cands, q, picked, audience, W.narrow_max_sentences, W.narrow_per_section,
                      W.narrow_body_threshold)[:W.narrow_max_sections]
        extra: list[L.Block] = []
    elif q.breadth == "focused":
        bl = lead + L.bottom_line(cands, q, picked, max(0, W.bottom_line_short - len(lead)), docs, patient_sel)
        body = L.body(cands, q, picked, audience, W.focused_max_sentences, W.focused_per_section,
                      W.focused_body_threshold)[:W.focused_max_sections]
        extra = (L.pitfalls(cands, picked, docs, W.focused_pitfalls, W.focused_pitfall_share * top)
                 if not patient_sel else [])
        top_algo = [c for c in cands if c.role == "algorithm" and c.sent.step is not None and c.hit.rank <= W.next_step_pathway_rank
                    and "second_line" in q.intents]
        # "It's 7 weeks now, what gets added?": the pathway's steps for that phase of the pain.
        phases = [intent_catalogue()[a].sections for a in q.asks if a in _PHASE_ASKS]
        # Only a pathway of a guideline about the patient's condition, and not for a request that
        # asks for the algorithm itself (the whole pathway answers that).
        phase_algo = [c for c in cands if c.role == "algorithm" and c.sent.step is not None
                      and any(p is not None and p.search(c.title.rsplit(": ", 1)[-1]) for p in phases)
                      and I.about_condition(c.hit.chunk, q.concepts)
                      ] if not patient_sel and "algorithm" not in q.intents else []
        if "algorithm" in q.intents or top_algo or phase_algo:
            # "Next steps?" is answered by a pathway that retrieval ranks among the best.
            steps = phase_algo or top_algo or [c for c in cands if c.role == "algorithm" and c.sent.step is not None]
            best = max(steps, key=lambda c: c.score).hit.chunk.chunk_id if steps else None
            stages = frozenset(c.title for c in phase_algo) or None  # the phase's stages only
            extra = [b for b in L.algorithm(cands, docs, only_chunk=best, sections=stages)] + extra
    else:
        bl = lead + L.bottom_line(cands, q, picked, max(0, W.bottom_line_max - len(lead)), docs, patient_sel)
        body = L.broad_body(cands, q, picked, docs, audience, W.broad_body_sentences)
        extra = [] if patient_sel else L.algorithm(cands, docs) + L.pitfalls(cands, picked, docs, W.broad_pitfalls, 0.0)
        if not patient_sel:
            # Algorithm before pitfalls reads as "what to do", then "what to avoid".
            extra.sort(key=lambda b: 0 if b.kind == "algorithm" else 1)

    # What the guidance says about the patient's own comorbidities, before anything else is added.
    # Patients are told too ("numb legs" and a heat pad: the risk of burns), in their own heading.
    mine = L.for_this_patient(every, factors, picked, W.patient_factors_max, W.patient_factors_share * top,
                              heading="For you" if patient else "For this patient", q=q)
    # A plain-language answer stays with the plain-language passages it was built from.
    more = [] if patient_sel else L.also_relevant(cands, picked, W.also_relevant_max, W.also_relevant_share * top)
    if bl:
        blocks.append(L.Block("In short" if patient else "Bottom line", "bottom_line", False, bl))
    blocks.extend(body)
    blocks.extend(mine)
    blocks.extend(more)
    blocks.extend(extra)
    L.attach_antecedents(blocks, cands, picked)
    L.dedupe_titles(blocks)
    if patient_sel:
        for b in blocks:
            if b.kind == "body" and _FOR_PATIENTS.search(b.heading):
                b.heading = b.cands[0].hit.chunk.title

    # Number citations in order of first use: one passage, one number.
    numbers: dict[str, int] = {}
    chunk_by_id = {cid: h.chunk for cid, h in uniq.items()}
    sections: list[Section] = []
    for b in blocks:
        sents: list[Sentence] = []
        for c in b.cands:
            cites = []
            for cid in picked.chunks_of(c):
                if cid not in numbers:
                    numbers[cid] = len(numbers) + 1
                cites.append(numbers[cid])
            sents.append(Sentence(c.sent.text, tuple(sorted(set(cites)))))
        if sents:
            sections.append(Section(b.heading, tuple(sents), kind=b.kind, ordered=b.ordered))
    sections.append(_disclaimer(audience))
    citations = tuple(Citation.from_chunk(n, chunk_by_id[cid])
                      for cid, n in sorted(numbers.items(), key=lambda x: x[1]))
    present = {b.kind for b in blocks}
    suggestions = _suggestions(cands, set(numbers), q, audience, question, present)
    sections_t = tuple(sections)
    return Answer(
        question=question, markdown=render(sections_t), sections=sections_t, citations=citations,
        safety=verdict or SafetyVerdict(policy_version=""), audience=audience, out_of_scope=False,
        condensed_query=query, hits=hits, composer="grounded", suggestions=suggestions,
    )
