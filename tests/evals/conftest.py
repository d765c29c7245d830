"""Hand-made Chunks, Citations and Answers for the evaluation tests.

``build_answer`` assembles an ``Answer`` the way the pipeline does: one citation
number per passage, sections rendered by ``assistant.render``, the retrieved hits
in rank order. Tests describe answers in a few lines and get realistic objects.
"""

from __future__ import annotations

import pytest

from assistant.records import Answer, Citation, Hit, RedFlag, SafetyVerdict, Section, Sentence
from assistant.render import render
from ingest.records import Chunk, sha256


def make_chunk(doc_id: str, section: str, text: str) -> Chunk:
    h = sha256(section + "\n" + text)
    return Chunk(
        chunk_id=f"{doc_id}:{h[:16]}", doc_id=doc_id, title=doc_id.replace("-", " ").title(),
        section=section, version="1.0", status="approved", last_reviewed="2026-08-20",
        start=0, end=len(text), text=text, content_hash=h,
    )


SPAS = make_chunk(
    "ms-spasticity", "Spasticity in multiple sclerosis > Second-line drugs > Tizanidine",
    "The maximum dose of tizanidine is 36 mg per day in divided doses.")
NSAID = make_chunk(
    "ms-back-pain", "Back pain in multiple sclerosis > First-line drug treatment > Musculoskeletal component",
    "NSAIDs give better relief of back pain than acetaminophen and are the first-line drug for the musculoskeletal component.")
PARA = make_chunk(
    "analgesics-nsaids-acetaminophen", "NSAIDs and acetaminophen > Acetaminophen: dosing and liver safety",
    "The maximum dose of acetaminophen in adults is 4 g per day.")
OPIOID = make_chunk(
    "opioid-prescribing", "Opioid prescribing > Key recommendations",
    "Opioids are reserved for severe, disabling pain that is not controlled by other measures.")
REDFLAG = make_chunk(
    "back-pain-red-flags", "Red flags in back pain > Cauda equina syndrome",
    "Suspected cauda equina syndrome needs emergency same-day hospital assessment and an emergency MRI scan.")
IMAGING = make_chunk(
    "imaging-low-back-pain", "Imaging for low back pain > When not to image",
    "Imaging is not recommended for acute or subacute nonspecific low back pain without red flags.")


def build_answer(
    question: str,
    body: list[tuple[str, list[Chunk]]] = (),
    *,
    retrieved: list[Chunk] | None = None,
    escalation: list[tuple[str, str]] = (),
    out_of_scope: bool = False,
    audience: str = "clinician",
    total_ms: float | None = 20.0,
) -> Answer:
    """An answer whose body sentences cite the given chunks; ``escalation`` = [(category, trigger)]."""
    numbers: dict[str, int] = {}
    citations: list[Citation] = []

    def cite(c: Chunk) -> int:
        if c.chunk_id not in numbers:
            numbers[c.chunk_id] = len(numbers) + 1
            citations.append(Citation.from_chunk(numbers[c.chunk_id], c))
        return numbers[c.chunk_id]

    sections: list[Section] = []
    flags = tuple(RedFlag(cat, trig, 0) for cat, trig in escalation)
    if flags:
        sections.append(Section("Red flag: urgent assessment needed", tuple(
            Sentence(f"'{f.trigger}' suggests possible {f.category.replace('_', ' ')}: arrange urgent assessment.")
            for f in flags), kind="escalation"))
    if out_of_scope:
        sections.append(Section("", (Sentence(
            "The guidance in the knowledge base does not cover this question. It covers back pain and "
            "pain in multiple sclerosis."),), kind="out_of_scope"))
    else:
        sents = tuple(Sentence(text, tuple(cite(c) for c in chunks)) for text, chunks in body)
        if sents:
            sections.append(Section("Answer", sents, kind="body"))
    cited = [c for c in (retrieved or []) if c.chunk_id not in numbers]
    order = [c for c in _cited_chunks(body)] + cited
    hits = tuple(Hit(c, 1.0 / (i + 1), i + 1) for i, c in enumerate(order))
    if retrieved is not None:
        # explicit retrieval order wins (lets tests put gold passages at a chosen rank)
        hits = tuple(Hit(c, 1.0 / (i + 1), i + 1) for i, c in enumerate(retrieved))
    verdict = SafetyVerdict(policy_version="test-1", escalated=bool(flags), red_flags=flags)
    return Answer(
        question=question, markdown=render(sections), sections=tuple(sections),
        citations=() if out_of_scope else tuple(citations), safety=verdict, audience=audience,
        out_of_scope=out_of_scope, condensed_query=question, corpus_version="v-test",
        hits=hits, timings_ms={"total": total_ms} if total_ms is not None else {},
    )


def _cited_chunks(body) -> list[Chunk]:
    seen: dict[str, Chunk] = {}
    for _, chunks in body:
        for c in chunks:
            seen.setdefault(c.chunk_id, c)
    return list(seen.values())


@pytest.fixture
def chunks():
    return {"spas": SPAS, "nsaid": NSAID, "para": PARA, "opioid": OPIOID, "redflag": REDFLAG, "imaging": IMAGING}


@pytest.fixture
def build():
    """The ``build_answer`` factory."""
    return build_answer


@pytest.fixture
def make_case():
    """Build an EvalCase from keyword fields (validated like a line of a set file)."""
    from evals.schema import parse_case

    def _make(id="c1", category="core", question="max tizanidine dose?", expect=None, **kw):
        return parse_case({"id": id, "category": category, "question": question, "expect": expect or {}, **kw})

    return _make
