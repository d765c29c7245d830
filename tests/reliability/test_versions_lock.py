"""Kept versions, `guideline versions` / `guideline rollback`, and the ingest lock."""

from __future__ import annotations

import json
import os
import signal

import pytest

from assistant.retrieve import HybridSearcher
from core.errors import IngestError, IngestLockedError
from ingest import versions
from ingest.index import index_is_stale, run_ingest
from ingest.store import make_client
from ui.cli import main as cli

from tests.conftest import FakeEmbedder, make_settings

from .conftest import IngestRunner, assert_recovered, assert_serving_one_complete_version

DOC = "ms-spasticity.md"

pytestmark = pytest.mark.integration  # real embedded Chroma


def _env(monkeypatch, s) -> None:
    monkeypatch.setenv("GUIDELINE_DATA_DIR", str(s.data_dir))
    monkeypatch.setenv("GUIDELINE_CORPUS_DIR", str(s.corpus_dir))
    monkeypatch.setenv("GUIDELINE_KEEP_VERSIONS", str(s.keep_versions))


def _ingest_with_phrase(s, emb, phrase: str) -> str:
    p = s.corpus_dir / DOC
    text = p.read_text(encoding="utf-8")
    base = text.split("\n## Version note\n")[0]
    p.write_text(base + f"\n## Version note\n\nThis edition says {phrase} about stretching.\n",
                 encoding="utf-8")
    return run_ingest(s, embedder=emb).corpus_version


def _phrase_served(hs: HybridSearcher, phrase: str) -> tuple[bool, str]:
    res = hs.search(phrase, 3, mode="bm25")
    return any(phrase in h.chunk.text for h in res.hits), res.corpus_version


def test_keep_last_n_list_and_rollback(tmp_path, corpus_copy, monkeypatch, capsys):
    s = make_settings(tmp_path, corpus_copy, keep_versions=3)
    emb = FakeEmbedder()
    phrases = ["alphaedition", "bravoedition", "charlieedition", "deltaedition"]
    vids = [_ingest_with_phrase(s, emb, ph) for ph in phrases]
    assert len(set(vids)) == 4
    client = make_client(s)
    hs = HybridSearcher(s, embedder=emb, client=client)
    assert _phrase_served(hs, "deltaedition") == (True, vids[3])

    # Only the last 3 are kept: the oldest directory and its collection are gone.
    kept = [v.version for v in versions.list_versions(s)]
    assert kept == sorted(vids[1:], reverse=True)
    assert not versions.version_dir(s, vids[0]).exists()
    assert sorted(versions.owned_collections(s, client)) == sorted(versions.collection_name(v) for v in vids[1:])
    assert_recovered(s, client)

    _env(monkeypatch, s)
    assert cli(["versions"]) == 0
    out = capsys.readouterr().out.splitlines()
    heads = [line for line in out if not line.startswith("    ")]
    assert len(heads) == 3 and heads[0].startswith(f"* {vids[3]}")
    assert all(any(v in line for line in heads) for v in vids[1:])
    # Each version says what changed in it, by document and document version.
    assert sum("~ms-spasticity" in line for line in out) == 3
    assert cli(["versions", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [v["version"] for v in listed] == kept and [v["current"] for v in listed] == [True, False, False]
    assert [v["serving"] for v in listed] == [True, False, False] and not any(v["pinned"] for v in listed)
    assert listed[0]["changes"] == {"ms-spasticity": {"change": "updated", "from": "2.1", "to": "2.1"}}
    assert {d["doc_id"] for d in listed[0]["document_list"]} >= {"ms-spasticity", "ms-back-pain"}

    # Roll back two versions: the long-lived searcher serves the old text, not the new.
    assert cli(["rollback", vids[1]]) == 0
    assert vids[1] in capsys.readouterr().out
    assert versions.current_version(s) == vids[1]
    assert _phrase_served(hs, "bravoedition") == (True, vids[1])
    assert _phrase_served(hs, "deltaedition")[0] is False
    assert_serving_one_complete_version(s, client, emb, hs)
    assert index_is_stale(s)  # the corpus on disk is newer than what serves

    # Unknown, garbage-collected and path-like versions: a clear error, nothing switched.
    for bad in ("20200101T000000000000-abcdef", vids[0], "../versions", "nope"):
        assert cli(["rollback", bad]) == 1
        err = capsys.readouterr().err
        assert f"Unknown corpus version {bad!r}" in err and vids[1] in err and "Traceback" not in err
        assert versions.current_version(s) == vids[1]

    # The next ingest after a rollback builds from the corpus again; the rolled-back
    # version stays among the kept ones.
    v5 = run_ingest(s, embedder=emb).corpus_version
    assert _phrase_served(hs, "deltaedition") == (True, v5)
    assert vids[1] in [v.version for v in versions.list_versions(s)]
    assert_recovered(s, client)


def test_rollback_refuses_a_version_whose_collection_is_gone(tmp_path, corpus_copy):
    s = make_settings(tmp_path, corpus_copy, keep_versions=3)
    emb = FakeEmbedder()
    v1 = _ingest_with_phrase(s, emb, "firstedition")
    v2 = _ingest_with_phrase(s, emb, "secondedition")
    client = make_client(s)
    client.delete_collection(versions.collection_name(v1))  # e.g. removed by hand on the server
    with pytest.raises(IngestError, match="vector collection .* is missing"):
        versions.rollback(s, v1)
    assert versions.current_version(s) == v2
    # ... and an ingest notices a damaged serving version and rebuilds it.
    versions.switch(s, v1, reason="test")  # force it to serve, as if restored from an old backup
    # The corpus equals the whole kept v2: that version serves again, no duplicate is built.
    r = run_ingest(s, embedder=emb)
    assert r.switched and r.restored and r.corpus_version == v2 and r.embedded == 0
    assert_serving_one_complete_version(s, client, emb)
    # A corpus no kept version matches: the damaged serving version is noticed and rebuilt.
    versions.switch(s, v1, reason="test")
    v3 = _ingest_with_phrase(s, emb, "thirdedition")
    r = run_ingest(s, embedder=emb)
    assert r.corpus_version == v3 and not r.switched
    versions.switch(s, v1, reason="test")
    p = s.corpus_dir / DOC
    p.write_text(p.read_text(encoding="utf-8") + "\nFourth edition sentence.\n", encoding="utf-8")
    r = run_ingest(s, embedder=emb)
    assert r.switched and r.rebuilt and any("missing or incomplete" in w for w in r.warnings)
    assert_serving_one_complete_version(s, client, emb)


def test_second_ingest_is_refused_and_a_killed_holder_does_not_stick(tmp_path, corpus_copy, monkeypatch,
                                                                     capsys):
    s = make_settings(tmp_path, corpus_copy)
    emb = FakeEmbedder()
    v1 = run_ingest(s, embedder=emb).corpus_version
    (corpus_copy / DOC).write_text((corpus_copy / DOC).read_text() + "\nLocked edit.\n")
    runner = IngestRunner(s)
    try:
        child = runner.start(pause_at="embed:first")  # holds the lock, then sleeps
        events = runner.events()
        for msg in events:
            if msg.get("paused"):
                break
        with pytest.raises(IngestLockedError) as e:
            run_ingest(s, embedder=emb)
        msg = str(e.value)
        assert "Another ingest run is in progress" in msg and f"pid {child}" in msg
        with pytest.raises(IngestLockedError):
            versions.rollback(s, v1)
        _env(monkeypatch, s)
        assert cli(["ingest", "--json"]) == 1
        err = capsys.readouterr().err
        assert "Another ingest run is in progress" in err and "Traceback" not in err

        os.kill(child, signal.SIGKILL)  # dies holding the lock
        exit_msg = [m for m in events if "exit" in m][0]
        assert exit_msg["signal"] == signal.SIGKILL
        r = run_ingest(s, embedder=emb)  # the kernel released the flock: no stale lock
        assert r.switched and r.doc_changes == {"ms-spasticity": "updated"}
        assert_recovered(s, make_client(s))
    finally:
        runner.close()


def test_lock_is_released_after_a_failed_run(tmp_path, corpus_copy):
    s = make_settings(tmp_path, corpus_copy)
    emb = FakeEmbedder()
    run_ingest(s, embedder=emb)
    bad = corpus_copy / "broken.md"
    bad.write_text("---\nid: broken\n---\n")
    with pytest.raises(IngestError):
        run_ingest(s, embedder=emb)
    bad.unlink()
    with versions.ingest_lock(s):  # free again
        pass


def test_crash_between_history_and_current_keeps_both_versions(tmp_path, corpus_copy):
    """The two writes of a switch are not one syscall: a death between them loses nothing."""
    s = make_settings(tmp_path, corpus_copy, keep_versions=3)
    emb = FakeEmbedder()
    v1 = _ingest_with_phrase(s, emb, "oneedition")
    v2 = _ingest_with_phrase(s, emb, "twoedition")
    # Simulate: v2 built and renamed into place, history written, CURRENT not yet replaced.
    versions.write_atomic(versions.current_path(s), v1 + "\n")
    with open(s.data_dir / "history.jsonl", "a") as f:
        f.write('{"version": "torn')  # and a torn last line from another crash
    client = make_client(s)
    assert_serving_one_complete_version(s, client, emb)
    v3 = _ingest_with_phrase(s, emb, "threeedition")
    assert {v1, v2, v3} <= {v.version for v in versions.list_versions(s)}
    assert versions.history(s)[-1]["version"] == v3  # not glued onto the torn line
    assert_recovered(s, client)


def test_half_deleted_version_is_never_listed(tmp_path, corpus_copy):
    """GC renames a doomed version to .del-* before deleting it: a crash mid-delete
    leaves nothing that looks like a complete version."""
    s = make_settings(tmp_path, corpus_copy, keep_versions=1)
    emb = FakeEmbedder()
    v1 = _ingest_with_phrase(s, emb, "oneedition")
    v2 = _ingest_with_phrase(s, emb, "twoedition")
    assert [v.version for v in versions.list_versions(s)] == [v2]
    # A leftover of a GC killed after the rename: partly deleted, manifest still there.
    ghost = s.versions_dir / f".del-{v1}"
    ghost.mkdir()
    (ghost / "manifest.json").write_text("{}")
    assert [v.version for v in versions.list_versions(s)] == [v2]
    with pytest.raises(IngestError):
        versions.rollback(s, f".del-{v1}")
    _ingest_with_phrase(s, emb, "threeedition")
    assert not ghost.exists()


def test_reader_follows_when_gc_deletes_the_version_it_holds(tmp_path, corpus_copy):
    """keep_versions=1: an ingest deletes the very collection a reader is using; the
    reader's next search follows CURRENT to the new version instead of failing."""
    s = make_settings(tmp_path, corpus_copy, keep_versions=1)
    emb = FakeEmbedder()
    v1 = _ingest_with_phrase(s, emb, "oneedition")
    hs = HybridSearcher(s, embedder=emb)
    with hs.pinned() as ix:
        assert ix.version == v1 and hs.search("stretching", 3).corpus_version == v1
        v2 = _ingest_with_phrase(s, emb, "twoedition")  # GC removes v1's directory and collection
        assert not versions.version_dir(s, v1).exists()
        res = hs.search("stretching", 3)
        assert res.corpus_version == v2 and hs.index().version == v2
    assert _phrase_served(hs, "twoedition") == (True, v2)
