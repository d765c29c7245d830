"""The fast query path: a verified ONNX copy of the model embeds queries (real model, real Chroma)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from assistant.retrieve import HybridSearcher
from core.errors import ConfigError
from ingest import query_model
from ingest.embed_onnx import OnnxEmbedder

pytestmark = pytest.mark.integration

QUESTIONS = [
    "What is the best approach for treating back pain in a patient with multiple sclerosis?",
    "max tizanidine dose",
    "and if NSAIDs are contraindicated?",
    "urinary retention and saddle numbness in an MS patient with back pain",
    "are opioids first line for chronic low back pain?",
    "duloxetine for neuropathic pain dose",
    "imaging for acute low back pain without red flags",
    "baclofen side effects and withdrawal",
]


def test_ingest_prepares_and_verifies_the_query_model(real_index, real_embedder):
    s, report = real_index
    assert query_model.is_prepared(s, real_embedder.fingerprint)
    rec = json.loads((s.query_model_dir / query_model.VERIFIED).read_text())
    assert rec["verified"] and rec["fingerprint"] == real_embedder.fingerprint
    assert rec["min_cosine"] >= query_model.MIN_COSINE
    assert not any("query model" in w for w in report.warnings)


def test_searches_use_it_and_rank_exactly_as_sentence_transformers(real_index, real_embedder):
    s, _ = real_index
    fast = HybridSearcher(s, embedder=real_embedder)
    slow = HybridSearcher(s.model_copy(update={"query_embedder": "torch"}), embedder=real_embedder)
    assert isinstance(fast.query_embedder(), OnnxEmbedder)
    assert slow.query_embedder() is real_embedder
    for q in QUESTIONS:
        a, b = fast.search(q, 8), slow.search(q, 8)
        assert [h.chunk.chunk_id for h in a.hits] == [h.chunk.chunk_id for h in b.hits], q
        va, vb = fast.embed_query(q), slow.embed_query(q)
        assert float(np.dot(va, vb)) > 0.99999


def test_required_but_missing_is_a_clear_config_error(real_index, real_embedder, tmp_path):
    s, _ = real_index
    strict = s.model_copy(update={"query_embedder": "onnx", "model_dir": tmp_path / "empty"})
    with pytest.raises(ConfigError, match="no verified ONNX query model") as e:
        HybridSearcher(strict, embedder=real_embedder).search("max tizanidine dose")
    assert "guideline ingest" in str(e.value)
    # auto with the same empty dir: quietly sentence-transformers
    auto = strict.model_copy(update={"query_embedder": "auto"})
    searcher = HybridSearcher(auto, embedder=real_embedder)
    assert searcher.query_embedder() is real_embedder
    assert searcher.search("max tizanidine dose").hits


def test_a_copy_verified_for_another_model_is_not_used(real_index, real_embedder, fake_embedder, tmp_path):
    s, _ = real_index
    other = s.model_copy(update={"model_dir": tmp_path / "models"})
    rep = query_model.prepare(other, fake_embedder)  # compared with a different model: must fail
    assert not rep.verified and "differs" in rep.reason and rep.min_cosine < 0.9
    assert not query_model.is_prepared(other, fake_embedder.fingerprint)
    assert not query_model.is_prepared(other, real_embedder.fingerprint)
    assert HybridSearcher(other, embedder=real_embedder).query_embedder() is real_embedder
    # the same files verified against the real model are accepted
    assert query_model.prepare(other, real_embedder).verified
    assert isinstance(HybridSearcher(other, embedder=real_embedder).query_embedder(), OnnxEmbedder)


def test_answers_are_identical_on_either_query_path(real_index, real_embedder):
    from assistant.pipeline import Assistant

    s, _ = real_index
    fast = Assistant(s, embedder=real_embedder, audit=False)
    slow = Assistant(s.model_copy(update={"query_embedder": "torch"}), embedder=real_embedder, audit=False)
    for q in QUESTIONS[:5]:
        assert fast.answer(q).markdown == slow.answer(q).markdown, q


def test_ingest_embeds_passages_with_the_verified_copy_and_same_vectors(real_index, real_embedder):
    """The session index was embedded by the ONNX copy; its stored vectors are the
    sentence-transformers vectors of the same texts."""
    from ingest import versions
    from ingest.chunk import embed_text
    from ingest.serving import load_version
    from ingest.store import make_client, open_collection

    s, report = real_index
    assert report.embedded_with == "onnx-copy" and report.embedded == report.chunks.added
    man = versions.read_manifest(s, report.corpus_version)
    assert man["fingerprints"]["embedder"] == real_embedder.fingerprint
    ix = load_version(s, report.corpus_version)
    sample = ix.chunks[::17]
    col = open_collection(make_client(s), man["collection"], real_embedder)
    got = col.get(ids=[c.chunk_id for c in sample], include=["embeddings"])
    stored = dict(zip(got["ids"], np.asarray(got["embeddings"], dtype=np.float32)))
    ref = real_embedder.embed_documents([embed_text(c) for c in sample])
    for c, v in zip(sample, ref):
        assert float(np.dot(stored[c.chunk_id], v)) > 0.99999, c.chunk_id


def test_passage_embedder_torch_uses_sentence_transformers(real_embedder, tmp_path):
    import shutil

    from conftest import CORPUS, make_settings
    from ingest.index import run_ingest

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(CORPUS / "ms-spasticity.md", corpus)
    s = make_settings(tmp_path, corpus, passage_embedder="torch")
    before = real_embedder.calls
    rep = run_ingest(s, embedder=real_embedder)
    assert rep.embedded_with == real_embedder.fingerprint
    assert real_embedder.calls - before >= rep.embedded > 0


def test_a_cold_answer_process_never_imports_torch(real_index):
    """With the copy verified, answering (safety layer included) needs no torch at all."""
    import os
    import subprocess
    import sys

    s, _ = real_index
    code = (
        "import sys\n"
        "from assistant.pipeline import Assistant\n"
        "from core.settings import Settings\n"
        "a = Assistant(Settings(), audit=False)\n"
        "ans = a.answer('urinary retention and saddle numbness with back pain in MS')\n"
        "assert ans.safety.escalated and ans.citations, ans\n"
        "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)\n"
    )
    env = {**os.environ, "GUIDELINE_DATA_DIR": str(s.data_dir), "GUIDELINE_CORPUS_DIR": str(s.corpus_dir),
           "GUIDELINE_MODEL_DIR": str(s.query_model_dir)}
    env.pop("GUIDELINE_TEST_CHROMA_URL", None)
    if s.chroma_url:
        env["GUIDELINE_CHROMA_URL"] = s.chroma_url
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.split() == ["False", "False"]


def test_a_record_of_an_older_export_is_not_trusted(real_index, real_embedder, tmp_path):
    """After an export change, the old verification does not vouch for the new graph: the
    copy is re-verified by the next ingest (or `guideline ingest --if-stale`)."""
    import shutil

    s, _ = real_index
    other = s.model_copy(update={"model_dir": tmp_path / "models"})
    shutil.copytree(s.query_model_dir, other.query_model_dir)
    rec_path = other.query_model_dir / query_model.VERIFIED
    rec = json.loads(rec_path.read_text())
    old = other.query_model_dir / "minilm-l6-v2-fp32.onnx"
    shutil.copy(other.query_model_dir / rec["onnx_file"], old)
    rec_path.write_text(json.dumps({**rec, "onnx_file": old.name}))
    assert not query_model.is_prepared(other, real_embedder.fingerprint)
    assert HybridSearcher(other, embedder=real_embedder).query_embedder() is real_embedder
    assert query_model.needed(other, real_embedder)
    assert query_model.prepare(other, real_embedder).verified
    assert query_model.is_prepared(other, real_embedder.fingerprint)
