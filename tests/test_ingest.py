"""Incremental, versioned, all-or-nothing ingestion (fake embedder: counts every text embedded)."""

import json

import pytest

from assistant.retrieve import HybridSearcher
from core.errors import IngestError
from ingest import versions
from ingest.chunk import embed_text
from ingest.index import index_is_stale, run_ingest
from ingest.serving import load_version


def _ingest(settings, emb, **kw):
    return run_ingest(settings, embedder=emb, **kw)


def test_first_ingest_then_no_change_embeds_nothing(settings, fake_embedder):
    r1 = _ingest(settings, fake_embedder)
    assert r1.switched and r1.documents.added >= 14 and r1.embedded == r1.chunks.added > 0
    calls = fake_embedder.calls
    r2 = _ingest(settings, fake_embedder)
    assert r2.embedded == 0 and fake_embedder.calls == calls
    assert not r2.switched and r2.corpus_version == r1.corpus_version
    assert r2.documents.unchanged == r1.documents.added
    assert not index_is_stale(settings)


def test_editing_one_document_reembeds_only_its_changed_chunks(settings, fake_embedder):
    r1 = _ingest(settings, fake_embedder)
    path = settings.corpus_dir / "ms-spasticity.md"
    text = path.read_text()
    old_ix = load_version(settings, r1.corpus_version)
    spas_chunks = [c for c in old_ix.chunks if c.doc_id == "ms-spasticity"]
    target = spas_chunks[-1]
    path.write_text(text.replace(target.text, target.text + " Added sentence about stretching daily."))
    assert index_is_stale(settings)
    before = fake_embedder.calls
    r2 = _ingest(settings, fake_embedder)
    assert r2.switched and r2.corpus_version != r1.corpus_version
    assert r2.documents.updated == 1 and r2.doc_changes == {"ms-spasticity": "updated"}
    assert r2.embedded == 1 == fake_embedder.calls - before
    assert r2.chunks.updated == 1 and r2.chunks.unchanged == r1.chunks.added - 1
    new_ix = load_version(settings, r2.corpus_version)
    assert any("Added sentence about stretching daily." in c.text for c in new_ix.chunks)


def test_removed_and_added_documents(settings, fake_embedder):
    r1 = _ingest(settings, fake_embedder)
    (settings.corpus_dir / "imaging-low-back-pain.md").unlink()
    new = settings.corpus_dir / "new-doc.md"
    new.write_text("""---
id: new-doc
title: "Heat therapy for back pain"
version: "1.0"
status: approved
last_reviewed: 2026-05-01
sources:
  - "American College of Physicians, Noninvasive Treatments for Low Back Pain, 2017"
---

# Heat therapy for back pain

## Key recommendations
Superficial heat gives a moderate short-term improvement in acute low back pain. Heat wraps are a simple self-management option for people with acute back pain.
""")
    r2 = _ingest(settings, fake_embedder)
    assert r2.documents.deleted == 1 and r2.documents.added == 1
    assert r2.doc_changes == {"imaging-low-back-pain": "deleted", "new-doc": "added"}
    ix = load_version(settings, r2.corpus_version)
    assert not any(c.doc_id == "imaging-low-back-pain" for c in ix.chunks)
    hs = HybridSearcher(settings, embedder=fake_embedder)
    res = hs.search("superficial heat wraps acute low back pain", 3)
    assert res.hits[0].chunk.doc_id == "new-doc"
    assert res.corpus_version == r2.corpus_version


def test_broken_file_is_refused_by_name_and_previous_version_serves(settings, fake_embedder):
    r1 = _ingest(settings, fake_embedder)
    (settings.corpus_dir / "broken.md").write_text("---\nid: broken\ntitle: [unclosed\n---\n# x\n")
    (settings.corpus_dir / "junk.pdf").write_bytes(b"\x00\x01\x02 not a pdf")
    with pytest.raises(IngestError) as ei:
        _ingest(settings, fake_embedder)
    msg = str(ei.value)
    assert "broken.md" in msg and "junk.pdf" in msg and "previous corpus version keeps serving" in msg
    assert {e.path for e in ei.value.errors} >= {"broken.md", "junk.pdf"}
    assert versions.current_version(settings) == r1.corpus_version
    res = HybridSearcher(settings, embedder=fake_embedder).search("tizanidine dose", 3)
    assert res.corpus_version == r1.corpus_version and res.hits


def test_settings_change_or_full_forces_rebuild(settings, fake_embedder, tmp_path):
    r1 = _ingest(settings, fake_embedder)
    r2 = _ingest(settings, fake_embedder, full=True)
    assert r2.rebuilt and r2.embedded == r1.embedded and r2.switched
    s2 = settings.model_copy(update={"chunk_size": 600})
    r3 = _ingest(s2, fake_embedder)
    assert r3.rebuilt and r3.embedded == r3.chunks.added and r3.chunks.added > r1.chunks.added


def test_status_filter_serves_approved_only_by_default(settings, fake_embedder):
    _ingest(settings, fake_embedder)
    hs = HybridSearcher(settings, embedder=fake_embedder)
    q = "cannabinoids draft update nabiximols spasticity neuropathic pain"
    default = hs.search(q, 20)
    assert all(h.chunk.status == "approved" for h in default.hits)
    everything = hs.search(q, 20, statuses=("approved", "under_review", "draft"))
    assert any(h.chunk.status == "under_review" for h in everything.hits)


def test_report_json_schema(settings, fake_embedder):
    rep = _ingest(settings, fake_embedder).to_json()
    assert set(rep) >= {"corpus_version", "documents", "chunks", "embedded", "seconds"}
    for key in ("documents", "chunks"):
        assert set(rep[key]) == {"added", "updated", "unchanged", "deleted"}
    json.dumps(rep)


def test_report_says_where_the_time_went(settings, fake_embedder):
    r1 = _ingest(settings, fake_embedder)
    assert {"load", "diff", "chunk", "embed", "store", "finalize", "switch"} <= set(r1.stage_seconds)
    assert all(v >= 0 for v in r1.stage_seconds.values())
    assert sum(r1.stage_seconds.values()) <= r1.seconds + 0.01
    r2 = _ingest(settings, fake_embedder)  # nothing changed: no chunking, embedding or storing
    assert set(r2.stage_seconds) == {"load", "diff", "conflicts"}
    assert json.loads(json.dumps(r2.to_json()))["stage_seconds"].keys() == {"load", "diff", "conflicts"}


def test_serving_index_groups_passages_once_per_version(settings, fake_embedder):
    r = _ingest(settings, fake_embedder)
    ix = load_version(settings, r.corpus_version)
    assert sorted(c.chunk_id for cs in ix.by_doc.values() for c in cs) == sorted(c.chunk_id for c in ix.chunks)
    for doc, cs in ix.by_doc.items():
        assert all(c.doc_id == doc for c in cs)
        assert [c.start for c in cs] == sorted(c.start for c in cs)
    approved = ix.titles(("approved",))
    approved.append("mutated by a caller")
    assert "mutated by a caller" not in ix.titles(("approved",))  # the memo hands out copies
    assert len(ix.titles(("approved",))) < len(ix.titles())  # the draft is filtered out


def test_no_query_model_for_other_embedders(settings, fake_embedder, tmp_path):
    settings = settings.model_copy(update={"model_dir": tmp_path / "models"})
    r = _ingest(settings, fake_embedder)
    assert "query_model" in r.stage_seconds
    assert not (settings.query_model_dir / "query-model.json").exists()
    assert not any("query model" in w for w in r.warnings)


def test_fake_embedder_embeds_its_own_passages(settings, fake_embedder, tmp_path):
    settings = settings.model_copy(update={"model_dir": tmp_path / "models"})
    r = _ingest(settings, fake_embedder)
    assert r.embedded_with == fake_embedder.fingerprint and fake_embedder.calls == r.embedded
    assert _ingest(settings, fake_embedder).embedded_with == ""  # nothing embedded


def test_passage_embedder_onnx_without_a_verified_copy_is_a_clear_error(settings, fake_embedder, tmp_path):
    from core.errors import ConfigError

    good = _ingest(settings, fake_embedder)
    strict = settings.model_copy(update={"model_dir": tmp_path / "empty", "passage_embedder": "onnx"})
    (settings.corpus_dir / "ms-spasticity.md").write_text(
        (settings.corpus_dir / "ms-spasticity.md").read_text() + "\nStretch daily.\n")
    with pytest.raises(ConfigError, match="no verified ONNX copy of fake:hash-bow") as e:
        _ingest(strict, fake_embedder)
    assert "GUIDELINE_PASSAGE_EMBEDDER" in str(e.value)
    assert versions.current_version(settings) == good.corpus_version  # the old version still serves


class _RecordingEmbedder:
    """The fake embedder, keeping the texts of each embed_documents call."""

    def __init__(self, inner):
        self.inner, self.fingerprint, self.dim = inner, inner.fingerprint, inner.dim
        self.call_texts: list[list[str]] = []

    def embed_documents(self, texts):
        self.call_texts.append(list(texts))
        return self.inner.embed_documents(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)


def test_passages_reach_the_engine_longest_first_across_calls(settings, fake_embedder):
    # A document with 300 short and long sections, so the embed stage makes several calls.
    sections = "\n\n".join(
        f"## Topic {i}\n\n" + " ".join(["Review the plan of care with the patient."] * (1 + i % 7))
        for i in range(300))
    (settings.corpus_dir / "many-sections.md").write_text(
        "---\nid: many-sections\ntitle: \"Many sections\"\nversion: \"1\"\nstatus: approved\n"
        "last_reviewed: 2026-01-01\nsources:\n  - \"Test source\"\n---\n\n# Many sections\n\n"
        + "## Key recommendations\n\nReview the plan of care at each visit.\n\n" + sections + "\n")
    emb = _RecordingEmbedder(fake_embedder)
    r = _ingest(settings, emb)
    assert len(emb.call_texts) >= 2, "expected the embed stage to make several calls"
    lengths = [len(t) for call in emb.call_texts for t in call]
    assert len(lengths) == r.embedded
    assert lengths == sorted(lengths, reverse=True)
    # The reordering must not change which vector a passage gets: each shipped passage is
    # its own nearest neighbour by its own text.
    ix = load_version(settings, r.corpus_version)
    hs = HybridSearcher(settings, embedder=fake_embedder)
    for c in [c for c in ix.chunks if c.doc_id == "ms-spasticity"]:
        assert hs.search(embed_text(c), 1, mode="dense").hits[0].chunk.chunk_id == c.chunk_id
