"""Chroma server mode (GUIDELINE_CHROMA_URL) against a real `chroma run` on 127.0.0.1:
ingest, search and ask work; a server that is down gives a clear error naming it after
bounded retries (exit 1 from the CLI, no traceback); answers resume when it is back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from assistant.pipeline import Assistant
from assistant.retrieve import HybridSearcher
from core.errors import RetrievalError
from ingest import versions
from ingest.index import run_ingest
from ingest.store import make_client
from ui.cli import main as cli

from tests.conftest import ChromaServer, FakeEmbedder, make_settings

from .conftest import ROOT, assert_recovered, assert_serving_one_complete_version

pytestmark = [pytest.mark.integration, pytest.mark.server]

QUERY = "first-line treatment for spasticity-related back pain in MS"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Our own server (not the session one): these tests stop and restart it."""
    srv = ChromaServer(tmp_path_factory.mktemp("chroma_rel"))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def served(server, tmp_path_factory, real_embedder):
    import shutil

    from tests.conftest import CORPUS

    tmp = tmp_path_factory.mktemp("server_mode")
    shutil.copytree(CORPUS, tmp / "corpus")
    s = make_settings(tmp, tmp / "corpus", chroma_url=server.url, keep_versions=2)
    report = run_ingest(s, embedder=real_embedder)
    assert report.switched
    assert not s.chroma_dir.exists()  # nothing embedded on disk: it all went to the server
    return s


def _env(monkeypatch, s) -> None:
    monkeypatch.setenv("GUIDELINE_DATA_DIR", str(s.data_dir))
    monkeypatch.setenv("GUIDELINE_CORPUS_DIR", str(s.corpus_dir))
    monkeypatch.setenv("GUIDELINE_CHROMA_URL", s.chroma_url)


def test_ingest_search_ask_against_a_server(served, real_embedder, monkeypatch, capsys):
    s = served
    client = make_client(s)
    assert_serving_one_complete_version(s, client, real_embedder)
    hs = HybridSearcher(s, embedder=real_embedder)
    res = hs.search(QUERY, 5)
    assert res.corpus_version == versions.current_version(s)
    assert any(w in res.hits[0].chunk.text.lower() for w in ("baclofen", "tizanidine"))
    a = Assistant(s, embedder=real_embedder, audit=False)
    ans = a.answer(QUERY)
    assert ans.corpus_version == res.corpus_version and ans.citations
    assert "baclofen" in ans.markdown.lower()
    _env(monkeypatch, s)
    assert cli(["search", QUERY, "--json", "--k", "3"]) == 0
    assert '"corpus_version"' in capsys.readouterr().out

    # Incremental re-ingest in server mode, and GC of the server's collections.
    p = s.corpus_dir / "ms-spasticity.md"
    p.write_text(p.read_text(encoding="utf-8") + "\nServer mode edit about stretching.\n", encoding="utf-8")
    r2 = run_ingest(s, embedder=real_embedder)
    assert r2.switched and r2.embedded == 1
    assert hs.search(QUERY, 3).corpus_version == r2.corpus_version
    assert_recovered(s, client)


def test_gc_leaves_other_installations_collections_alone(served, server, tmp_path, real_embedder):
    """Two data directories sharing one server: each GC deletes only its own collections."""
    client = make_client(served)
    mine_before = set(versions.owned_collections(served, client))
    other = make_settings(tmp_path, served.corpus_dir, chroma_url=server.url, keep_versions=1)
    emb = FakeEmbedder()
    r_other = run_ingest(other, embedder=emb)  # its GC must not touch ours
    assert set(versions.owned_collections(served, client)) == mine_before
    assert_serving_one_complete_version(served, client, real_embedder)

    p = served.corpus_dir / "ms-spasticity.md"
    p.write_text(p.read_text(encoding="utf-8") + "\nAnother edit.\n", encoding="utf-8")
    r = run_ingest(served, embedder=real_embedder)  # ... nor ours theirs
    assert r.switched and len(set(versions.owned_collections(served, client)) - mine_before) == 1
    names = {c.name for c in client.list_collections()}
    assert versions.collection_name(r_other.corpus_version) in names
    assert HybridSearcher(other, embedder=emb).search("stretching", 3).corpus_version == r_other.corpus_version
    assert_recovered(served, client)
    assert_recovered(other, client)


def test_server_down_is_a_clear_bounded_error_and_answers_resume(served, server, real_embedder,
                                                                 monkeypatch, capsys):
    s = served
    a = Assistant(s, embedder=real_embedder, audit=False)
    before = a.answer(QUERY)
    server.stop()
    try:
        t0 = time.perf_counter()
        with pytest.raises(RetrievalError) as e:
            a.answer(QUERY)
        elapsed = time.perf_counter() - t0
        msg = str(e.value)
        assert server.url in msg and "did not answer" in msg and f"{s.chroma_retries + 1} attempts" in msg
        assert elapsed < 15  # bounded: 0.2 + 0.4 + 0.8 s of back-off plus the attempts
        assert e.value.__traceback__ is None or "Traceback" not in msg

        # A fresh process's first contact fails the same way (no half-made client kept).
        with pytest.raises(RetrievalError, match="did not answer"):
            HybridSearcher(s, embedder=real_embedder).search(QUERY)

        # The CLI: exit code 1, one sentence on stderr, no traceback.
        _env(monkeypatch, s)
        assert cli(["search", QUERY]) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: ") and server.url in err and "Traceback" not in err
        env = {**os.environ, "PYTHONPATH": str(ROOT), "GUIDELINE_DATA_DIR": str(s.data_dir),
               "GUIDELINE_CORPUS_DIR": str(s.corpus_dir), "GUIDELINE_CHROMA_URL": s.chroma_url}
        (s.corpus_dir / "ms-spasticity.md").write_text(
            (s.corpus_dir / "ms-spasticity.md").read_text() + "\nEdit while down.\n")
        cur = versions.current_version(s)
        proc = subprocess.run([sys.executable, "-m", "ui.cli", "ingest", "--json"], env=env, cwd=str(ROOT),
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 1
        assert server.url in proc.stderr and "Traceback" not in proc.stderr
        # --json: stdout holds the error as a JSON object, never a traceback or nothing
        err = json.loads(proc.stdout)["error"]
        assert err["type"] == "RetrievalError" and server.url in err["message"]
        assert versions.current_version(s) == cur  # nothing switched
    finally:
        server.start()  # same port, same data

    # Back: the same Assistant reconnects and answers from the same version as before.
    after = a.answer(QUERY)
    assert after.corpus_version == before.corpus_version
    assert [c.chunk_id for c in after.citations] == [c.chunk_id for c in before.citations]
    r = run_ingest(s)  # and the ingest refused while it was down now goes through
    assert r.switched
    assert a.answer(QUERY).corpus_version == r.corpus_version
