"""The append-only audit log: one row per answer with its full trace, the hashing
mode that keeps no free text, refusal of UPDATE/DELETE, `guideline audit tail`."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3

import pytest

from assistant.audit import AuditLog
from assistant.pipeline import Assistant
from core.errors import InputError
from ingest.index import run_ingest
from ui.cli import main as cli

from tests.conftest import FakeEmbedder, make_settings

QUESTIONS = [
    ("What is the maximum daily dose of tizanidine?", "clinician"),
    ("Zorblatt has back pain with new saddle numbness and cannot pass urine", "clinician"),
    ("Can I take oxycodone for my back pain?", "patient"),
]

pytestmark = pytest.mark.integration  # real embedded Chroma


def _assistant(tmp_path, corpus, **kw) -> Assistant:
    s = make_settings(tmp_path, corpus, **kw)
    emb = FakeEmbedder()
    run_ingest(s, embedder=emb)
    return Assistant(s, embedder=emb)


def _rows(path) -> list[dict]:
    con = sqlite3.connect(path)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute("SELECT * FROM answers ORDER BY id")]
    finally:
        con.close()


def test_every_answer_writes_one_full_row(tmp_path, corpus_copy, monkeypatch, capsys):
    a = _assistant(tmp_path, corpus_copy)
    answers = [a.answer(q, audience=aud) for q, aud in QUESTIONS]
    rows = _rows(a.settings.audit_db)
    assert len(rows) == len(answers)
    for ans, row in zip(answers, rows):
        assert row["id"] == ans.audit_id
        assert abs(dt.datetime.fromisoformat(row["ts"]) - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=5)
        assert row["audience"] == ans.audience
        assert row["question"] == ans.question
        assert row["question_sha256"] == hashlib.sha256(ans.question.encode()).hexdigest()
        assert row["condensed_query"] == ans.condensed_query and row["condensed_query"]
        assert row["corpus_version"] == ans.corpus_version and ans.corpus_version
        assert json.loads(row["chunk_ids"]) == [h.chunk.chunk_id for h in ans.hits] and ans.hits
        assert json.loads(row["cited_chunk_ids"]) == [c.chunk_id for c in ans.citations]
        assert json.loads(row["rules_fired"]) == [r.to_json() for r in ans.safety.rules_fired]
        assert bool(row["escalated"]) == ans.safety.escalated
    assert answers[1].safety.escalated and json.loads(rows[1]["red_flags"])
    assert any(r["rule_id"].startswith("opioid") for r in json.loads(rows[2]["rules_fired"]))
    assert rows[2]["audience"] == "patient"

    # Feedback is a row of its own; bad feedback is refused by name.
    log = AuditLog(a.settings)
    log.feedback(answers[0].audit_id, "down", "missing the renal dose")
    with pytest.raises(InputError, match="'meh'"):
        log.feedback(answers[0].audit_id, "meh")
    with pytest.raises(InputError, match="No answer with audit id 999"):
        log.feedback(999, "up")

    # `guideline audit tail --json` reads it back, newest first.
    monkeypatch.setenv("GUIDELINE_DATA_DIR", str(a.settings.data_dir))
    assert cli(["audit", "tail", "--n", "2", "--json"]) == 0
    tail = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in tail] == [answers[2].audit_id, answers[1].audit_id]
    assert tail[0]["question"] == QUESTIONS[2][0] and tail[0]["corpus_version"] == answers[2].corpus_version
    assert cli(["audit", "tail"]) == 0
    text = capsys.readouterr().out
    assert f"#{answers[0].audit_id}" in text and "feedback=down" in text


def test_rows_cannot_be_changed_or_deleted(tmp_path, corpus_copy):
    a = _assistant(tmp_path, corpus_copy)
    ans = a.answer(QUESTIONS[0][0])
    AuditLog(a.settings).feedback(ans.audit_id, "up")
    con = sqlite3.connect(a.settings.audit_db)
    try:
        for sql in ("UPDATE answers SET question='x'", "DELETE FROM answers",
                    "UPDATE feedback SET rating='down'", "DELETE FROM feedback"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                con.execute(sql)
    finally:
        con.close()
    assert _rows(a.settings.audit_db)[0]["question"] == QUESTIONS[0][0]


def test_hashing_mode_keeps_no_question_text(tmp_path, corpus_copy):
    a = _assistant(tmp_path, corpus_copy, audit_hash_questions=True)
    answers = [a.answer(q, audience=aud) for q, aud in QUESTIONS]
    AuditLog(a.settings).feedback(answers[1].audit_id, "down", "Zorblatt was not escalated fast enough")
    rows = _rows(a.settings.audit_db)
    for (q, _), row in zip(QUESTIONS, rows):
        assert row["question"] is None and row["condensed_query"] is None
        assert row["question_sha256"] == hashlib.sha256(q.encode()).hexdigest()
        assert json.loads(row["chunk_ids"]) and row["corpus_version"]
    assert json.loads(rows[1]["red_flags"])[0]["category"]  # what fired is kept, not the words
    # Not a word of the questions or the comment anywhere in the database files.
    blob = b"".join(p.read_bytes() for p in a.settings.data_dir.glob("audit.sqlite*"))
    for word in (b"Zorblatt", b"saddle", b"oxycodone", b"tizanidine", b"urine"):
        assert word not in blob, word


def test_cited_passages_are_stored_once_and_again_by_a_new_process(tmp_path, corpus_copy):
    a = _assistant(tmp_path, corpus_copy)
    first = a.answer(QUESTIONS[0][0])
    again = a.answer(QUESTIONS[0][0])  # the same passages: nothing new to store
    ids = [c.chunk_id for c in first.citations]
    assert ids and [c.chunk_id for c in again.citations] == ids
    stored = AuditLog(a.settings).passages(ids)
    assert set(stored) == set(ids)
    assert all(stored[c.chunk_id]["text"] == c.text for c in first.citations)
    # Another process (a new log object) that cites them too finds them there.
    b = Assistant(a.settings, embedder=a.searcher.embedder)
    third = b.answer(QUESTIONS[0][0])
    assert AuditLog(a.settings).reconstruct(third.audit_id)["cited"][0]["text"] == first.citations[0].text
