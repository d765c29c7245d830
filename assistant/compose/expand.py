"""Hit[] -> Hit[]: the passages a good answer needs that top-k retrieval tends to miss.

Called by the pipeline between retrieval and composing (limits in ``assistant/weights.py``).
"""

from __future__ import annotations

import functools
import re
import threading
from itertools import islice
from typing import Mapping, Sequence

from ingest.records import Chunk, group_by_doc

from ..cues import cues
from ..opioid_terms import names_opioid
from ..records import Hit
from ..request import intent_catalogue, understand
from ..vocab import vocabulary
from ..weights import WEIGHTS
from .intents import about_condition, non_opioid_agents
from .query import PATIENT_HINT, age_populations, comedications, question_breadth
from .score import FIRST_LINE_BY_MECHANISM, plain_doc

@functools.lru_cache(maxsize=4096)
def _heading_mechanisms(heading: str) -> frozenset[str]:
    vocab = vocabulary()
    return frozenset(c for c in vocab.concept_ids(heading, with_classes=False)
                     if vocab.concepts[c].category == "mechanism")


_PRESCRIBING = frozenset({"first_choice", "how_to_prescribe", "max_dose", "titration"})
"""Intents answered by a drug's own section (its starting dose, steps and ceiling)."""
_FIRST_LINE_HEADING = re.compile(r"\bfirst[- ]line\b", re.IGNORECASE)
_TREATMENT_HEADING = cues().patterns["treatment_heading"]
_FIRST_LINE_CACHE: list = [None, {}]
"""[the corpus mapping it was built from, {doc_id: first-line passages}]: one corpus at a time."""
_FIRST_LINE_LOCK = threading.Lock()


def first_line_index(by_doc: Mapping[str, Sequence[Chunk]]) -> dict[str, tuple[Chunk, ...]]:
    """Documents with passages under a first-line treatment heading, and those passages, in
    corpus order (built once per corpus object)."""
    with _FIRST_LINE_LOCK:
        if _FIRST_LINE_CACHE[0] is not by_doc:
            index: dict[str, tuple[Chunk, ...]] = {}
            for doc, chunks in by_doc.items():
                found = tuple(c for c in chunks if _FIRST_LINE_HEADING.search(c.section) and not plain_doc(c))
                if found:
                    index[doc] = found
            _FIRST_LINE_CACHE[:] = [by_doc, index]
        return _FIRST_LINE_CACHE[1]


_OPIOID_DOCS_CACHE: list = [None, ()]


def opioid_guidance(by_doc: Mapping[str, Sequence[Chunk]]) -> tuple[Chunk, ...]:
    """The passages of guidelines whose title names opioids, in corpus order (built once per
    corpus object)."""
    with _FIRST_LINE_LOCK:
        if _OPIOID_DOCS_CACHE[0] is not by_doc:
            found = tuple(c for chunks in by_doc.values() for c in chunks if names_opioid(c.title))
            _OPIOID_DOCS_CACHE[:] = [by_doc, found]
        return _OPIOID_DOCS_CACHE[1]


def warm_corpus(by_doc: Mapping[str, Sequence[Chunk]]) -> None:
    """Build the per-corpus indexes now (``Assistant.warm``), not during the first answer."""
    first_line_index(by_doc)
    opioid_guidance(by_doc)


_FACTOR_CACHE: list = [None, {}]
"""[the corpus mapping it was built from, {concept: passages that mention it}]: one corpus at a time."""
_FACTOR_LOCK = threading.Lock()


def _factor_passages(by_doc: Mapping[str, Sequence[Chunk]], concept: str) -> tuple[Chunk, ...]:
    """The passages that mention a patient factor (kidney impairment, anticoagulation), in corpus
    order. Found once per corpus and factor: its aliases as a text search first, so that only
    the few passages that may mention it are analysed."""
    with _FACTOR_LOCK:
        if _FACTOR_CACHE[0] is not by_doc:
            _FACTOR_CACHE[:] = [by_doc, {}]
        found = _FACTOR_CACHE[1].get(concept)
    if found is not None:
        return found
    vocab = vocabulary()
    names = sorted({vocab.concepts[concept].name, *vocab.concepts[concept].aliases}, key=len, reverse=True)
    rx = re.compile(r"\b(?:" + "|".join(re.escape(a) for a in names) + r")", re.IGNORECASE)
    found = tuple(c for cs in by_doc.values() for c in cs
                  if rx.search(c.text) and concept in vocab.concept_ids(c.text, with_classes=False, affirmed=True))
    with _FACTOR_LOCK:
        if _FACTOR_CACHE[0] is by_doc:
            _FACTOR_CACHE[1][concept] = found
    return found


def expand_hits(question: str, hits: Sequence[Hit], chunks: Sequence[Chunk] | Mapping[str, Sequence[Chunk]], *,
                audience: str = "clinician", query: str | None = None) -> tuple[Hit, ...]:
    """Add the passages a good answer needs that top-k retrieval tends to miss.

    * Sub-sections of a retrieved parent section: "First-line drug treatment" says
      "treated according to mechanism"; its sub-sections name the drugs.
    * Sections named after a pain mechanism the question (or its condensed ``query``)
      asks about, in the documents retrieved: "burning leg pain at night" retrieves
      the description under "Pain mechanisms > Neuropathic pain"; how to treat it is
      under "First-line drug treatment > Neuropathic component".
    * For a broad question ("best approach to ..."), the other sections of the
      leading guideline: the overview needs its whole skeleton (mechanisms, first-
      and second-line care, algorithm, pitfalls). The leading guideline is the
      document holding the most rank-weighted hits, plain-language documents
      excluded for clinicians.

    ``chunks`` are the serving corpus's passages (the served version and statuses),
    either as a flat list or, cheaper at scale, already grouped by document in
    reading order (``ServingIndex.by_doc``). Added passages are ranked after the
    retrieved ones, with no retrieval scores.
    """
    hits = tuple(hits)
    if not hits:
        return hits
    have = {h.chunk.chunk_id for h in hits}
    extra: list[Chunk] = []

    def add(c: Chunk) -> None:
        if c.chunk_id not in have:
            have.add(c.chunk_id)
            extra.append(c)

    by_doc = chunks if isinstance(chunks, Mapping) else group_by_doc(chunks)
    ranked = sorted(hits, key=lambda h: h.rank)
    children = 0
    for h in ranked[:WEIGHTS.expand_parents_from_top]:
        prefix = h.chunk.section + " > "
        for c in by_doc.get(h.chunk.doc_id, ()):
            if children >= WEIGHTS.expand_max_children:
                break
            if c.section.startswith(prefix) and c.chunk_id not in have:
                add(c)
                children += 1
    vocab = vocabulary()
    top_docs = list(dict.fromkeys(h.chunk.doc_id for h in ranked[:WEIGHTS.expand_parents_from_top]))
    ranked_docs = list(dict.fromkeys(h.chunk.doc_id for h in ranked))  # best-ranked first

    def add_sections(limit: int, wanted, docs: Sequence[str] | None = None) -> None:
        """Passages of the best-ranked documents (or ``docs``) whose section is ``wanted``, up
        to ``limit``."""
        added = 0
        for doc in (top_docs if docs is None else docs):
            for c in by_doc.get(doc, ()):
                if added >= limit:
                    return
                if c.chunk_id not in have and wanted(c.section):
                    add(c)
                    added += 1

    asked = frozenset(c for c in vocab.concept_ids(query or question, with_classes=False, affirmed=True)
                      if vocab.concepts[c].category == "mechanism")
    if asked:
        add_sections(WEIGHTS.expand_max_named,
                     lambda sec: bool(asked & _heading_mechanisms(sec.rsplit(" > ", 1)[-1])))
    # The first-line drugs' own sections for a request to choose, dose or titrate a drug for the
    # pain described ("which drug would you start and how would you titrate it?" about burning
    # feet): the section on choosing says which; the drug's section says how.
    req = understand(question)
    if asked and _PRESCRIBING.intersection(req.intents) and WEIGHTS.expand_max_drug_sections > 0:
        for mech in sorted(asked & FIRST_LINE_BY_MECHANISM.keys()):
            pat = FIRST_LINE_BY_MECHANISM[mech][0]
            cands = [c for doc in ranked_docs for c in by_doc.get(doc, ())
                     if c.chunk_id not in have and pat.search(c.section.rsplit(" > ", 1)[-1])
                     and not plain_doc(c)]
            cands.sort(key=lambda c: c.section.count(" > "))  # a drug's section before its sub-sections
            for c in cands[:WEIGHTS.expand_max_drug_sections]:
                add(c)
    # What the guidance says about the patient's own factors (kidney impairment, anticoagulation,
    # falls): a vignette retrieves its complaint's passages, while the caution for the patient's
    # comorbidity sits in another section or document. Passages of retrieved documents and those
    # that also name what the question names come first.
    if WEIGHTS.expand_max_factor > 0:
        told = vocab.concept_ids(query or question, with_classes=False, affirmed=True) | age_populations(query or question)
        factors = sorted(c for c in told if vocab.concepts[c].category == "population")
        asked_ids = vocab.concept_ids(query or question) - set(factors)
        factors += [c for c in comedications(question) if c not in factors]  # then what they take
        doc_rank = {d: i for i, d in enumerate(ranked_docs)}
        retrieved: frozenset[str] | None = None  # the factors a retrieved passage mentions
        for f in factors[:WEIGHTS.patient_factors_max]:
            cands = [c for c in _factor_passages(by_doc, f) if c.chunk_id not in have]
            if not cands:
                continue
            # Fewer when a retrieved passage already speaks to it: the caution for another drug
            # the answer may offer (acetaminophen and warfarin) is often in another passage.
            if retrieved is None:
                retrieved = frozenset().union(*(vocab.concept_ids(h.chunk.text, with_classes=False)
                                                 for h in ranked))
            spoken = f in retrieved
            # A guideline about a disease the patient does not have comes last (the gabapentinoid
            # renal doses of the MS guideline for a man with no MS and kidney disease).
            affirmed = told - set(factors)
            if len(cands) > WEIGHTS.expand_factor_pool:
                cands.sort(key=lambda c: (not about_condition(c, affirmed), doc_rank.get(c.doc_id, len(doc_rank))))
                cands = cands[:WEIGHTS.expand_factor_pool]
            cands.sort(key=lambda c: (not about_condition(c, affirmed),
                                      -len(asked_ids & vocab.concept_ids(c.text)),
                                      doc_rank.get(c.doc_id, len(doc_rank))))
            for c in cands[:WEIGHTS.expand_factor_spoken if spoken else WEIGHTS.expand_max_factor]:
                add(c)
    # Sections named after what the request asks ("Pitfalls", "Exercise and psychological
    # therapy" for non-drug care of chronic pain), in the documents retrieved.
    patterns = [d.sections for a, d in intent_catalogue().items() if a in req.intents and d.sections is not None]
    if patterns:
        # Each intent's sections, in the best-ranked documents first, then in any retrieved one
        # ("how fast should I wean?" retrieves the opioid guideline only for its reservation
        # statement).
        docs = top_docs + [d for d in ranked_docs if d not in top_docs]
        for pat in patterns:
            add_sections(WEIGHTS.expand_max_intent_each,
                         lambda sec, pat=pat: bool(pat.search(sec.split(" > ", 1)[-1])), docs=docs)
    if names_opioid(question):
        # An opioid asked about: the answer offers the first-line options for the pain described,
        # which opioid passages do not hold; add the sections that do, retrieved documents first.
        added = 0
        # First the treatment sections of the guideline the question is about (the best-ranked
        # document that is not about opioids): its own first options.
        named = vocab.concept_ids(query or question)
        cond = next((h.chunk for h in ranked if about_condition(h.chunk, named)), None)
        if cond is not None:
            for c in by_doc.get(cond.doc_id, ()):
                head = c.section.split(" > ", 1)[-1]
                if (added < WEIGHTS.expand_max_first_line and c.chunk_id not in have
                        and _TREATMENT_HEADING.search(head) and not names_opioid(head)):
                    add(c)
                    added += 1
        # ...and what the opioid guidance says about the drugs the patient already takes
        # ("on duloxetine": serotonin syndrome with tramadol; "on diazepam and pregabalin":
        # overdose risk), from the opioid guideline's own passages.
        taking = non_opioid_agents(query or question)
        if taking:
            mixed = 0
            for c in opioid_guidance(by_doc):
                if (mixed < WEIGHTS.expand_max_opioid_comedication and c.chunk_id not in have
                        and taking & vocab.concept_ids(c.text, with_classes=False)):
                    add(c)
                    mixed += 1
        with_first_line = first_line_index(by_doc)
        docs = [d for d in ranked_docs if d in with_first_line]
        ranked_set = set(ranked_docs)
        docs += list(islice((d for d in with_first_line if d not in ranked_set), WEIGHTS.expand_max_first_line))
        for doc in docs:
            for c in with_first_line[doc]:
                if added < WEIGHTS.expand_max_first_line and c.chunk_id not in have:
                    add(c)
                    added += 1
            if added >= WEIGHTS.expand_max_first_line:
                break
    if question_breadth(question) == "broad":
        weight: dict[str, float] = {}
        plain_ok = audience == "patient" or bool(PATIENT_HINT.search(question))
        for h in hits:
            if not plain_ok and plain_doc(h.chunk):
                continue
            weight[h.chunk.doc_id] = weight.get(h.chunk.doc_id, 0.0) + 1.0 / h.rank
        if weight:
            doc = max(weight, key=lambda d: weight[d])
            for c in tuple(by_doc.get(doc, ()))[:WEIGHTS.expand_max_chunks]:
                add(c)
    n = max(h.rank for h in hits)
    return hits + tuple(Hit(chunk=c, score=0.0, rank=n + i + 1) for i, c in enumerate(extra))

