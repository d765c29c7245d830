"""Conflict check across approved documents (ingest/conflicts.py) and the answer-side note
(assistant/disagree.py): numbers tied to a drug, roles, and what is deliberately not compared."""

from __future__ import annotations

import shutil

from assistant.disagree import CitedSentence, CitedSource, find_disagreement
from ingest.conflicts import find_conflicts, quantities, roles
from ingest.load import load_corpus
from ingest.records import SourceDoc

from tests.conftest import CORPUS, make_settings


def _doc(doc_id: str, body: str, status: str = "approved", reviewed: str = "2026-01-01") -> SourceDoc:
    return SourceDoc(doc_id, doc_id.title(), "1.0", status, reviewed, ("Body, Guide, 2026",), f"{doc_id}.md",
                     "markdown", f"# {doc_id}\n\n## Key recommendations\n\n{body}\n", content_hash=doc_id)


def test_numbers_are_tied_to_the_drug_and_read_as_what_they_are():
    q = quantities("The maximum dose of tizanidine is 36 mg per day in divided doses.")
    assert [(x.drug, x.kind, x.dim, x.value) for x in q] == [("tizanidine", "maximum", "mass/day", (36.0,))]
    q = quantities("Tizanidine is usually started at 2 mg and increased in 2 mg steps at intervals of several days.")
    assert [(x.kind, x.value) for x in q] == [("starting dose", (2.0,)), ("titration step", (2.0,))]
    # grams are milligrams x 1000; a timing without a cue is not a quantity to compare
    assert quantities("The maximum dose of acetaminophen is 4 g per day.")[0].value == (4000.0,)
    assert quantities("Gabapentin can be titrated up to 3,600 mg per day.")[0].value == (3600.0,)
    # a clause without a drug continues the previous clause's only drug
    q = quantities("Ibuprofen is given at 400 mg three times daily, with a maximum of 1,200 mg per day.")
    assert [(x.drug, x.kind, x.value) for x in q] == [("ibuprofen", "dose", (400.0,)),
                                                      ("ibuprofen", "maximum", (1200.0,))]
    assert quantities("Pregabalin is started at 75 to 150 mg daily.")[0].value == (75.0, 150.0)
    assert quantities("Tizanidine reaches its peak effect 1 to 2 hours after a dose.") == []
    # two drugs in one clause: the number belongs to the nearest drug before it
    q = quantities("Baclofen is started at 5 mg, while tizanidine is started at 2 mg.")
    assert {(x.drug, x.value) for x in q} == {("baclofen", (5.0,)), ("tizanidine", (2.0,))}


def test_roles_come_from_the_clause_and_else_from_the_heading():
    r = roles("Baclofen or gabapentin is the first-line drug for spasticity, with tizanidine or dantrolene "
              "as second-line options.", None)
    assert {(d, role) for d, role, _ in r} == {("baclofen", "first_line"), ("gabapentin", "first_line"),
                                               ("tizanidine", "second_line"), ("dantrolene", "second_line")}
    # "when first-line drugs are ineffective" is not a first-line statement; the heading decides
    r = roles("Tizanidine is considered when first-line drugs are ineffective.", "second_line")
    assert [(d, role) for d, role, _ in r] == [("tizanidine", "second_line")]


def test_different_maxima_across_approved_documents_are_a_conflict_but_drafts_are_not():
    a = _doc("doc-a", "The maximum dose of tizanidine is 36 mg per day.")
    b = _doc("doc-b", "Tizanidine is titrated up to 24 mg per day.")
    c = _doc("doc-c", "The maximum dose of tizanidine is 12 mg per day.", status="draft")
    found = find_conflicts([a, b, c])
    assert len(found) == 1 and found[0].kind == "quantity" and found[0].aspect == "maximum"
    assert [(s.doc_id, s.value) for s in found[0].statements] == [("doc-a", "36 mg per day"),
                                                                   ("doc-b", "24 mg per day")]
    # the same number, or different kinds of number, are no conflict
    same = _doc("doc-d", "Tizanidine may be increased up to 36 mg per day.")
    start = _doc("doc-e", "Tizanidine is started at 2 mg at night.")
    assert find_conflicts([a, same, start]) == []


def test_roles_for_different_conditions_are_not_compared():
    spas = _doc("doc-a", "Gabapentin is a first-line drug for spasticity.")
    neuro = _doc("doc-b", "Gabapentin is a second-line option for neuropathic pain.")
    assert find_conflicts([spas, neuro]) == []
    other = _doc("doc-c", "Gabapentin is a second-line option for spasticity.")
    assert [c.subject for c in find_conflicts([spas, other])] == ["gabapentin"]


def test_the_shipped_corpus_flags_tizanidine_first_and_second_line(tmp_path):
    shutil.copytree(CORPUS, tmp_path / "corpus")
    s = make_settings(tmp_path, tmp_path / "corpus")
    docs, errors = load_corpus(s.corpus_dir, s)
    assert not errors
    found = {(c.kind, c.subject): c for c in find_conflicts(docs)}
    tiz = found[("role", "tizanidine")]
    assert {(st.doc_id, st.value) for st in tiz.statements} == {("ms-back-pain", "first_line"),
                                                                ("ms-spasticity", "second_line")}
    assert not [k for k in found if k[0] == "quantity"]


SOURCES = [CitedSource(1, "ms-spasticity", "Spasticity", "approved", "2026-08-05"),
           CitedSource(2, "ms-back-pain", "Back pain in MS", "approved", "2026-09-15")]


def test_cited_sentences_that_disagree_get_one_line_and_the_newer_document_wins():
    d = find_disagreement([
        CitedSentence("The maximum dose of tizanidine is 36 mg per day in divided doses.", (1,)),
        CitedSentence("Tizanidine is titrated up to 24 mg per day in divided doses.", (2,)),
        CitedSentence("Tizanidine can cause sedation.", (1,)),
    ], SOURCES)
    assert d is not None
    # the value the answer follows comes first
    assert d.note.startswith("The sources differ on the maximum of tizanidine: 24 mg per day [2] vs 36 mg per day [1]")
    assert "Back pain in MS (reviewed 2026-09-15) [2]" in d.note
    assert d.preferred_doc == "ms-back-pain" and d.superseded == (0,) and d.preferred_sentence == 1


def test_agreeing_or_unattributable_sentences_get_no_note():
    same = [CitedSentence("The maximum dose of tizanidine is 36 mg per day.", (1,)),
            CitedSentence("Tizanidine is titrated up to 36 mg per day.", (2,))]
    assert find_disagreement(same, SOURCES) is None
    one_doc = [CitedSentence("Tizanidine is started at 2 mg.", (1,)),
               CitedSentence("The maximum dose of tizanidine is 36 mg per day.", (1,))]
    assert find_disagreement(one_doc, SOURCES) is None
    both = [CitedSentence("The maximum dose of tizanidine is 36 mg per day.", (1, 2)),
            CitedSentence("Tizanidine is titrated up to 24 mg per day.", (2,))]
    assert find_disagreement(both, SOURCES) is None  # the first sentence cites both documents


def test_a_tie_in_review_dates_prefers_neither():
    tie = [CitedSource(1, "a", "A", "approved", "2026-01-01"), CitedSource(2, "b", "B", "approved", "2026-01-01")]
    d = find_disagreement([CitedSentence("The maximum dose of tizanidine is 36 mg per day.", (1,)),
                           CitedSentence("The maximum dose of tizanidine is 24 mg per day.", (2,))], tie)
    assert d.preferred_doc is None and d.superseded == () and "check the documents" in d.note
