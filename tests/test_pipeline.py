"""The answer pipeline end to end with the real model and index."""

import pytest

from assistant.records import Turn
from core.errors import InputError

pytestmark = pytest.mark.integration

SEED = "What is the best approach for treating back pain in a patient with Multiple Sclerosis (MS)?"


def test_seed_answer_covers_the_guidance_with_valid_citations(real_assistant):
    ans = real_assistant.answer(SEED)
    text = ans.markdown.lower()
    for fact in ("neuropathic", "spasticity", "musculoskeletal", "nsaid", "baclofen", "tizanidine",
                 "amitriptyline", "physiotherapy", "reserved for severe, disabling pain", "red flag"):
        assert fact in text, fact
    assert len(ans.citations) >= 5 and not ans.out_of_scope
    retrieved = {h.chunk.chunk_id for h in ans.hits}
    assert all(c.chunk_id in retrieved for c in ans.citations)
    import re
    marks = {int(n) for n in re.findall(r"\[(\d+)\]", ans.markdown)}
    assert marks == {c.n for c in ans.citations}
    assert ans.corpus_version and ans.safety.policy_version and not ans.safety.escalated


def test_follow_ups_stay_on_topic(real_assistant):
    history = [Turn("user", SEED), Turn("assistant", "(previous answer)")]
    a = real_assistant.answer("and if NSAIDs are contraindicated?", history)
    assert "acetaminophen" in a.markdown.lower() and a.condensed_query != "and if NSAIDs are contraindicated?"
    b = real_assistant.answer("max tizanidine dose?", history)
    assert "36 mg" in b.markdown and len(b.citations) <= 4
    c = real_assistant.answer("does he need imaging?", history)
    assert "imaging" in c.markdown.lower() or "mri" in c.markdown.lower()


def test_out_of_scope_has_no_citations(real_assistant):
    ans = real_assistant.answer("What is the capital of France?")
    assert ans.out_of_scope and not ans.citations and "does not cover" in ans.markdown


def test_red_flag_in_an_earlier_turn_leads_the_answer(real_assistant):
    history = [Turn("user", "58M with MS, new saddle anaesthesia and urinary retention since yesterday"),
               Turn("assistant", "(previous answer)")]
    ans = real_assistant.answer("what analgesia can I give him?", history)
    assert ans.safety.escalated and ans.sections[0].kind == "escalation"
    assert {r.category for r in ans.safety.red_flags} == {"cauda_equina"}
    assert "saddle anaesthesia" in ans.markdown.split("\n\n")[0].lower()


def test_stream_yields_the_enforced_answer_in_pieces(real_assistant):
    s = real_assistant.stream("max tizanidine dose?")
    pieces = list(s)
    assert len(pieces) >= 2 and "".join(pieces).strip() == s.answer.markdown.strip()


@pytest.mark.parametrize("bad,msg", [("", "empty"), ("   ", "empty"), ("x" * 25_000, "limit is 20,000")])
def test_bad_questions_are_refused_clearly(real_assistant, bad, msg):
    with pytest.raises(InputError, match=msg):
        real_assistant.answer(bad)


def test_a_long_note_is_answered_from_its_question(real_assistant):
    """A pasted note past the retrieval limit is accepted; its last question is what is answered,
    and its findings still reach the safety check."""
    filler = "Lives with partner, works part-time, independent with personal care. " * 40
    note = ("47M with secondary progressive MS, 8 weeks of low back pain with painful night-time "
            "spasms in both legs and clonus at both ankles. " + filler +
            "Which drug should we start for the spasms and at what dose?")
    assert len(note) > real_assistant.settings.max_question_chars
    ans = real_assistant.answer(note)
    assert not ans.out_of_scope and ans.citations
    assert "baclofen" in ans.markdown.lower()
    flagged = real_assistant.answer(note.replace("Lives with partner", "New saddle anaesthesia. Lives with partner", 1))
    assert flagged.safety.escalated


@pytest.mark.integration
def test_sentences_are_scored_by_meaning_only_in_corpora_whose_sentences_stay_cached(real_assistant, monkeypatch):
    import dataclasses

    from assistant import pipeline

    ix = real_assistant.searcher.index()
    vectors = real_assistant.sentence_vectors(ix)
    assert vectors is not None
    got = vectors(["Baclofen is started at a low dose."])
    assert abs(float(got["Baclofen is started at a low dose."] @ got["Baclofen is started at a low dose."]) - 1.0) < 1e-5
    monkeypatch.setattr(pipeline, "WEIGHTS", dataclasses.replace(pipeline.WEIGHTS, semantic_max_passages=len(ix.chunks) - 1))
    assert real_assistant.sentence_vectors(ix) is None


def test_a_drug_the_request_names_is_searched_for_when_nothing_retrieved_names_it(real_assistant, monkeypatch):
    import dataclasses

    from assistant import pipeline
    ix = real_assistant.searcher.index()
    assert ix.bm25.knows("pregabalin") and not ix.bm25.knows("modafinil")
    q = "Chronic low back pain, fear of movement, worried about his job. What do I do with the pregabalin?"
    unrelated = real_assistant.searcher.search("STarT Back risk stratification psychosocial yellow flags", 4).hits
    assert not any("pregabalin" in h.chunk.text.lower() for h in unrelated)
    added = real_assistant._named_drug_hits(q, unrelated)
    assert added and any("pregabalin" in h.chunk.text.lower() for h in added)
    assert real_assistant._named_drug_hits(q.replace("pregabalin", "modafinil"), unrelated) == ()  # not in the corpus
    monkeypatch.setattr(pipeline, "WEIGHTS", dataclasses.replace(pipeline.WEIGHTS, named_drug_max=0))
    assert real_assistant._named_drug_hits(q, unrelated) == ()
