"""The safety layer against the shipped corpus, chunked as ingestion chunks it (no model needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from safety_helpers import hits_of, make_answer, policy  # noqa: F401

from assistant.records import Section, Sentence, Turn
from assistant.safety import check_input, complies, enforce, mentions_opioid, reservation_chunk
from assistant.safety.redflags import red_flag_chunk
from core.settings import Settings
from ingest.chunk import chunk_document
from ingest.load import load_corpus

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def chunks(tmp_path_factory):
    s = Settings(data_dir=tmp_path_factory.mktemp("data"), corpus_dir=ROOT / "corpus")
    docs, errors = load_corpus(ROOT / "corpus", s)
    assert not errors
    return [c for d in docs for c in chunk_document(d, s)]


def test_every_category_finds_its_red_flag_passage_in_the_corpus(policy, chunks):
    hits = hits_of(*chunks)
    for cat in policy.categories:
        c = red_flag_chunk(hits, cat, policy)
        assert c is not None, cat.id
        assert c.doc_id in policy.escalation.red_flag_doc_ids or "red flag" in c.section.lower()


def test_reservation_passage_is_found_among_the_opioid_chunks(policy, chunks):
    opioid_chunks = [c for c in chunks if c.doc_id == "opioid-prescribing"]
    c = reservation_chunk(hits_of(*opioid_chunks), policy)
    assert c is not None and c.doc_id == "opioid-prescribing"


def test_corpus_opioid_sentences_come_out_compliant(policy, chunks):
    """Every corpus sentence naming an opioid, as a composer might quote it, passes enforcement."""
    import re

    sentences = []
    for c in chunks:
        for s in re.split(r"(?<=[.!?])\s+", c.text.replace("\n", " ")):
            s = s.strip(" -")
            if s and mentions_opioid(s, policy):
                sentences.append(s)
    assert len(sentences) > 30
    v = check_input([Turn("user", "Which opioids can be used for back pain?")], policy)
    hits = hits_of(*[c for c in chunks if c.doc_id == "opioid-prescribing"])
    a = make_answer([Section("From the guidelines", tuple(Sentence(s) for s in sentences))], hits=hits, verdict=v)
    out = enforce(a, v, policy)
    from assistant.safety.opioids import reserves, restricts

    # each sentence obeys the rule on its own, or only cautions about / reserves opioids, with
    # the full rule stated as a sentence of its own
    assert all(complies(s.text, policy) or restricts(s.text, policy) or reserves(s.text, policy)
               for sec in out.sections for s in sec.sentences)
    # kept corpus sentences carry the full framing themselves; the rest are replaced by the
    # statement, once, never spliced into another sentence
    out_texts = [s.text for sec in out.sections for s in sec.sentences]
    op = policy.opioids
    inserted = {op.statement, op.alternatives_sentence, op.pressure_sentence}
    assert all(t in sentences or t in inserted for t in out_texts)
    assert any(t in sentences for t in out_texts)  # framed corpus sentences are kept verbatim
    assert out_texts.count(op.statement) == 1
