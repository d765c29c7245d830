"""What an admin relies on, each replayed as first reported: a rollback that survives the next
start, no duplicate versions, versions that say what they hold, the mass-deletion guard,
conflicting guidance flagged at ingest, in `check` and in answers, an audit log that rebuilds
an answer after its version is gone, and JSON on stdout when a `--json` command fails."""

from __future__ import annotations

import json
import sqlite3

import pytest

from assistant.audit import SCHEMA, AuditLog
from assistant.pipeline import Assistant
from core.errors import DeletionGuardError, IngestError
from ingest import pin, versions
from ingest.index import run_ingest
from ui.cli import main as cli

from tests.conftest import FakeEmbedder, make_settings

pytestmark = pytest.mark.integration  # real embedded Chroma

SPAS = "ms-spasticity.md"
TIZ_MAX = "The maximum dose of tizanidine is 36 mg per day in divided doses."


def _env(monkeypatch, s) -> None:
    monkeypatch.setenv("GUIDELINE_DATA_DIR", str(s.data_dir))
    monkeypatch.setenv("GUIDELINE_CORPUS_DIR", str(s.corpus_dir))
    monkeypatch.setenv("GUIDELINE_KEEP_VERSIONS", str(s.keep_versions))


def _edit(s, old: str, new: str, name: str = SPAS) -> None:
    p = s.corpus_dir / name
    text = p.read_text(encoding="utf-8")
    assert old in text
    p.write_text(text.replace(old, new), encoding="utf-8")


def _all_versions(s) -> list[str]:
    return sorted(v.version for v in versions.list_versions(s))


# ---------------------------------------------------------------- rollback that sticks


def test_rollback_is_pinned_across_if_stale_and_an_explicit_ingest_reserves_without_duplicates(
        tmp_path, corpus_copy, monkeypatch, capsys):
    s = make_settings(tmp_path, corpus_copy, keep_versions=3)
    emb = FakeEmbedder()
    v1 = run_ingest(s, embedder=emb).corpus_version
    _edit(s, TIZ_MAX, TIZ_MAX.replace("36 mg", "24 mg"))
    v2 = run_ingest(s, embedder=emb).corpus_version
    _env(monkeypatch, s)

    # Rollback by a unique prefix: pinned, and it names the corpus file that still differs.
    prefix = v1[:-3]
    assert cli(["rollback", prefix]) == 0
    out = capsys.readouterr().out
    assert f"Corpus version {v1} is now serving, pinned" in out
    assert "ms-spasticity.md (changed)" in out and "guideline ingest" in out
    assert versions.current_version(s) == v1 and pin.read_pin(s).version == v1

    # What `make run` does on every start: the pin holds, it says so, nothing is built.
    assert cli(["ingest", "--if-stale"]) == 0
    out = capsys.readouterr().out
    assert f"Corpus version {v1} is pinned by a rollback" in out and "ms-spasticity.md (changed)" in out
    assert versions.current_version(s) == v1 and _all_versions(s) == sorted([v1, v2])
    assert cli(["ingest", "--if-stale", "--json"]) == 0
    skipped = json.loads(capsys.readouterr().out)
    assert skipped["skipped"] is True and skipped["reason"] == "pinned" and skipped["pin"]["version"] == v1

    # Versions show the serving, pinned version and what each one changed.
    assert cli(["versions", "--json"]) == 0
    listed = {v["version"]: v for v in json.loads(capsys.readouterr().out)}
    assert listed[v1]["serving"] and listed[v1]["pinned"] and listed[v1]["pin"]["previous"] == v2
    assert not listed[v2]["serving"] and not listed[v2]["pinned"]
    assert listed[v2]["changes"] == {"ms-spasticity": {"change": "updated", "from": "2.1", "to": "2.1"}}
    spas = next(d for d in listed[v2]["document_list"] if d["doc_id"] == "ms-spasticity")
    assert spas["version"] == "2.1" and spas["status"] == "approved"

    # An explicit ingest follows the corpus again: the corpus equals v2, so v2 serves again
    # (no duplicate version pushing v1 out of the kept three), and the pin is gone.
    r = run_ingest(s, embedder=emb)
    assert r.switched and r.restored and r.unpinned and r.corpus_version == v2 and r.embedded == 0
    assert _all_versions(s) == sorted([v1, v2]) and pin.read_pin(s) is None
    assert cli(["ingest", "--if-stale"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_rollback_prefix_must_be_unique(tmp_path, corpus_copy, monkeypatch, capsys):
    s = make_settings(tmp_path, corpus_copy)
    emb = FakeEmbedder()
    v1 = run_ingest(s, embedder=emb).corpus_version
    _edit(s, TIZ_MAX, TIZ_MAX.replace("36 mg", "30 mg"))
    v2 = run_ingest(s, embedder=emb).corpus_version
    common = next(i for i in range(len(v1)) if v1[i] != v2[i])
    with pytest.raises(IngestError, match="ambiguous") as ei:
        versions.rollback(s, v1[:common])
    assert v1 in str(ei.value) and v2 in str(ei.value)
    assert versions.current_version(s) == v2 and pin.read_pin(s) is None
    _env(monkeypatch, s)
    assert cli(["rollback", "nope", "--json"]) == 1
    err = json.loads(capsys.readouterr().out)["error"]
    assert err["type"] == "IngestError" and "Unknown corpus version 'nope'" in err["message"]


# ---------------------------------------------------------------- mass-deletion guard


def test_pointing_the_corpus_at_a_one_file_folder_deletes_nothing_without_consent(
        tmp_path, corpus_copy, monkeypatch, capsys):
    s = make_settings(tmp_path, corpus_copy)
    emb = FakeEmbedder()
    v1 = run_ingest(s, embedder=emb).corpus_version
    one = tmp_path / "one"
    one.mkdir()
    (one / SPAS).write_bytes((corpus_copy / SPAS).read_bytes())
    wrong = make_settings(tmp_path, one)
    with pytest.raises(DeletionGuardError) as ei:
        run_ingest(wrong, embedder=emb)
    assert "would delete 15 of 16 served documents" in str(ei.value) and "--allow-deletions" in str(ei.value)
    assert "ms-back-pain" in ei.value.deleted and versions.current_version(s) == v1

    _env(monkeypatch, wrong)
    assert cli(["ingest", "--json"]) == 1
    err = json.loads(capsys.readouterr().out)["error"]
    assert err["type"] == "DeletionGuardError" and len(err["deleted"]) == 15
    assert versions.current_version(s) == v1

    # Within the share (1 of 16 deleted) an ingest goes ahead; beyond it, consent does.
    (corpus_copy / "imaging-low-back-pain.md").unlink()
    assert run_ingest(s, embedder=emb).documents.deleted == 1
    r = run_ingest(wrong, embedder=emb, allow_deletions=True)
    assert r.switched and r.documents.deleted == 14


# ---------------------------------------------------------------- conflicting guidance


def test_a_changed_maximum_is_reported_at_ingest_in_check_and_in_the_answer(
        tmp_path, corpus_copy, monkeypatch, capsys):
    s = make_settings(tmp_path, corpus_copy)
    emb = FakeEmbedder()
    r0 = run_ingest(s, embedder=emb)
    # The shipped corpus files tizanidine as first-line in one document, second-line in another.
    roles = [c for c in r0.conflicts if c["kind"] == "role" and c["subject"] == "tizanidine"]
    assert roles and {st["doc_id"] for st in roles[0]["statements"]} == {"ms-back-pain", "ms-spasticity"}
    assert not [c for c in r0.conflicts if c["kind"] == "quantity"]

    # One document now says 24 mg (and was reviewed most recently); the other still says 36 mg.
    _edit(s, TIZ_MAX, TIZ_MAX.replace("36 mg", "24 mg"))
    _edit(s, "last_reviewed: 2026-08-05", "last_reviewed: 2026-11-20")
    r = run_ingest(s, embedder=emb)
    qty = [c for c in r.conflicts if c["kind"] == "quantity"]
    assert len(qty) == 1 and qty[0]["subject"] == "tizanidine" and qty[0]["aspect"] == "maximum"
    assert {(st["doc_id"], st["value"]) for st in qty[0]["statements"]} == {
        ("ms-spasticity", "24 mg per day"), ("ms-back-pain", "36 mg per day")}

    _env(monkeypatch, s)
    assert cli(["check", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and any(c["kind"] == "quantity" for c in report["conflicts"])
    assert cli(["check"]) == 0
    out = capsys.readouterr().out
    assert "conflict: maximum of tizanidine" in out and "24 mg per day: ms-spasticity" in out

    a = Assistant(s, embedder=emb, audit=False)
    ans = a.answer("max tizanidine dose?")
    md = ans.markdown
    # The number of the citation whose passage states each value (a document may be cited twice).
    n = {v: next(c.n for c in ans.citations if v in c.text) for v in ("24 mg per day", "36 mg per day")}
    assert {c.doc_id for c in ans.citations if c.n in n.values()} == {"ms-spasticity", "ms-back-pain"}
    assert f"24 mg per day [{n['24 mg per day']}] vs 36 mg per day [{n['36 mg per day']}]" in md
    assert "sources_differ" in ans.flags
    bottom = next(sec for sec in ans.sections if sec.kind == "bottom_line")
    stated = " ".join(x.text for x in bottom.sentences if not x.text.startswith("The sources differ"))
    assert "24 mg" in stated and "36 mg" not in stated  # follows the most recently reviewed document


# ---------------------------------------------------------------- audit


def test_audit_rows_rebuild_the_answer_after_its_version_is_collected(tmp_path, corpus_copy,
                                                                      monkeypatch, capsys):
    s = make_settings(tmp_path, corpus_copy, keep_versions=1)
    emb = FakeEmbedder()
    run_ingest(s, embedder=emb)
    a = Assistant(s, embedder=emb)
    ans = a.answer("What is the maximum daily dose of tizanidine?", source="cli")
    assert ans.citations
    with __import__("assistant.audit", fromlist=["audit_source"]).audit_source("eval"):
        a.answer("max tizanidine dose?")
    # The cited version is garbage-collected by later ingests.
    _edit(s, TIZ_MAX, TIZ_MAX + " Tizanidine doses are spread over the day.")
    run_ingest(s, embedder=emb)
    assert not versions.version_dir(s, ans.corpus_version).exists()

    log = AuditLog(s)
    row = log.reconstruct(ans.audit_id)
    assert row["answer"] == ans.markdown and row["source"] == "cli" and row["app_version"]
    assert row["corpus_version"] == ans.corpus_version
    assert row["safety_trace"]["policy_version"] == ans.safety.policy_version
    assert [(c["n"], c["chunk_id"], c["text"], c["corpus_version"]) for c in row["cited"]] == [
        (c.n, c.chunk_id, c.text, ans.corpus_version) for c in ans.citations]

    # `audit tail` shows real use by default; evaluation answers only when asked for.
    _env(monkeypatch, s)
    assert cli(["audit", "tail", "--json"]) == 0
    assert [r["source"] for r in json.loads(capsys.readouterr().out)] == ["cli"]
    assert cli(["audit", "tail", "--source", "all", "--json"]) == 0
    assert [r["source"] for r in json.loads(capsys.readouterr().out)] == ["eval", "cli"]
    assert cli(["audit", "show", str(ans.audit_id)]) == 0
    out = capsys.readouterr().out
    assert "source=cli" in out and ans.citations[0].text.splitlines()[0] in out


def test_hashing_mode_keeps_the_answer_hash_not_its_text(tmp_path, corpus_copy):
    import hashlib

    s = make_settings(tmp_path, corpus_copy, audit_hash_questions=True)
    emb = FakeEmbedder()
    run_ingest(s, embedder=emb)
    ans = Assistant(s, embedder=emb).answer("What is the maximum daily dose of tizanidine?")
    row = AuditLog(s).reconstruct(ans.audit_id)
    assert row["answer"] is None and row["answer_sha256"] == hashlib.sha256(ans.markdown.encode()).hexdigest()
    assert row["source"] == "api" and row["cited"][0]["text"] == ans.citations[0].text


def test_an_audit_file_from_before_the_new_columns_is_migrated(tmp_path, corpus_copy):
    s = make_settings(tmp_path, corpus_copy)
    s.data_dir.mkdir(parents=True)
    con = sqlite3.connect(s.audit_db)
    con.executescript(SCHEMA)  # the original columns only
    con.execute("INSERT INTO answers (ts, audience, question, question_sha256, condensed_query, corpus_version,"
                " chunk_ids, cited_chunk_ids, escalated, red_flags, opioid_rule_applied, rules_fired,"
                " policy_version, out_of_scope, composer, flags, total_ms) VALUES"
                " ('2026-11-01T00:00:00+00:00','clinician','old question','x',NULL,'v0','[]','[]',0,'[]',0,'[]',"
                " 'p',0,'grounded','[]',1.0)")
    con.commit()
    con.close()
    emb = FakeEmbedder()
    run_ingest(s, embedder=emb)
    ans = Assistant(s, embedder=emb).answer("What is the maximum daily dose of tizanidine?", source="ui")
    rows = AuditLog(s).tail(10)
    assert [r["id"] for r in rows] == [ans.audit_id, 1]
    assert rows[0]["source"] == "ui" and rows[0]["answer"] == ans.markdown
    assert rows[1]["question"] == "old question" and rows[1]["source"] is None and rows[1]["answer"] is None
    assert [r["id"] for r in AuditLog(s).tail(10, source="real")] == [ans.audit_id, 1]


def test_many_openers_of_an_old_audit_file_migrate_it_once(tmp_path, corpus_copy):
    import threading

    s = make_settings(tmp_path, corpus_copy)
    s.data_dir.mkdir(parents=True)
    con = sqlite3.connect(s.audit_db)
    con.executescript(SCHEMA)
    con.close()
    start = threading.Barrier(12)
    errors: list[str] = []

    def open_it() -> None:
        start.wait()
        try:
            AuditLog(s).tail(1)
        except Exception as e:  # noqa: BLE001 - recorded, fails the test below
            errors.append(f"{type(e).__name__}: {e}")

    threads = [threading.Thread(target=open_it) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    con = sqlite3.connect(s.audit_db)
    cols = [r[1] for r in con.execute("PRAGMA table_info(answers)")]
    con.close()
    assert len(cols) == len(set(cols)) and {"source", "answer", "cited", "safety_trace"} <= set(cols)


# ---------------------------------------------------------------- --json failures


def test_every_json_command_prints_an_error_object_on_failure(tmp_path, corpus_copy, monkeypatch, capsys):
    s = make_settings(tmp_path, corpus_copy)
    _env(monkeypatch, s)
    bad = corpus_copy / "ms-spasticity.md"
    bad.write_text(bad.read_text(encoding="utf-8").replace("status: approved", "status: final"))
    assert cli(["ingest", "--json"]) == 1
    err = json.loads(capsys.readouterr().out)["error"]
    assert err["type"] == "IngestError" and err["file"] == "ms-spasticity.md"
    assert err["files"][0]["file"] == "ms-spasticity.md" and "final" in err["files"][0]["reason"]

    assert cli(["check", "--json"]) == 1
    rep = json.loads(capsys.readouterr().out)
    assert rep["ok"] is False and rep["error_details"][0]["file"] == "ms-spasticity.md"
    assert "final" in rep["error_details"][0]["reason"]
    assert rep["error"]["type"] == "CheckError" and rep["error"]["file"] == "ms-spasticity.md"

    assert cli(["ask", "anything", "--json"]) == 1  # no index yet
    err = json.loads(capsys.readouterr().out)["error"]
    assert err["type"] == "IndexMissingError" and "guideline ingest" in err["message"]
    assert cli(["audit", "show", "7", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["error"]["type"] == "InputError"
