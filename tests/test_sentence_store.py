"""Sentence vectors are stored with their corpus version and loaded instead of recomputed."""

from __future__ import annotations

import numpy as np

from assistant import sentence_store
from assistant.pipeline import Assistant
from ingest.index import run_ingest
from ingest.versions import current_version, version_dir


def test_stored_once_per_version_then_loaded_without_embedding(settings, fake_embedder):
    run_ingest(settings, embedder=fake_embedder)
    vid = current_version(settings)
    path = Assistant(settings, embedder=fake_embedder, audit=False).store_sentence_vectors()
    assert path == version_dir(settings, vid) / sentence_store.FILE and path.exists()

    calls = fake_embedder.calls
    b = Assistant(settings, embedder=fake_embedder, audit=False)
    assert b.store_sentence_vectors() == path
    assert fake_embedder.calls == calls  # read from the file, not embedded again
    texts = sentence_store.corpus_sentences(b.searcher.index().chunks)
    got = b.support_checker().vectors(texts[:5])
    assert fake_embedder.calls == calls
    for t in texts[:5]:
        want = fake_embedder.embed_query(t)
        assert np.allclose(got[t], want / np.linalg.norm(want), atol=1e-6)


def test_a_new_version_gets_its_own_file(settings, fake_embedder, corpus_copy):
    run_ingest(settings, embedder=fake_embedder)
    first = Assistant(settings, embedder=fake_embedder, audit=False).store_sentence_vectors()
    doc = corpus_copy / "ms-spasticity.md"
    said = "Nabiximols can cause dizziness, fatigue and mouth soreness, and it can affect fitness to drive."
    text = doc.read_text(encoding="utf-8")
    assert said in text
    doc.write_text(text.replace(said, said + " A new closing sentence about review intervals."), encoding="utf-8")
    run_ingest(settings, embedder=fake_embedder)
    second = Assistant(settings, embedder=fake_embedder, audit=False).store_sentence_vectors()
    assert second != first and second.parent.name == current_version(settings)
    texts = sentence_store.load(second, fake_embedder.fingerprint)
    assert texts is not None and "A new closing sentence about review intervals." in texts


def test_a_file_from_another_model_is_not_used(tmp_path):
    p = sentence_store.save(tmp_path / sentence_store.FILE, ["a b"], np.ones((1, 3), np.float32),
                            "onnx:all-MiniLM-L6-v2:int8:v2:normalized")
    assert sentence_store.load(p, "st:all-MiniLM-L6-v2:normalized") is None
    p = sentence_store.save(p, ["a b"], np.ones((1, 3), np.float32), "onnx:all-MiniLM-L6-v2:fp32:v2:normalized")
    assert set(sentence_store.load(p, "st:all-MiniLM-L6-v2:normalized")) == {"a b"}
    assert sentence_store.load(p, "st:another-model:normalized") is None
    assert sentence_store.load(tmp_path / "missing.npz", "st:all-MiniLM-L6-v2:normalized") is None


def test_save_refuses_mismatched_lengths(tmp_path):
    import pytest

    with pytest.raises(ValueError, match="2 sentences but 1 vectors"):
        sentence_store.save(tmp_path / "x.npz", ["a", "b"], np.ones((1, 3), np.float32), "st:m:normalized")


def test_a_file_in_the_earlier_object_array_form_is_made_again(tmp_path):
    # Reading it would need numpy's pickle support: it is treated as unreadable, never unpickled.
    p = tmp_path / sentence_store.FILE
    np.savez(p, texts=np.asarray(["a b"], dtype=object), vectors=np.ones((1, 3), np.float32),
             fingerprint=np.asarray("st:all-MiniLM-L6-v2:normalized"))
    assert sentence_store.load(p, "st:all-MiniLM-L6-v2:normalized") is None
