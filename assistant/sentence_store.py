"""Sentence vectors of a corpus version, stored beside it.

The grounded composer scores passage sentences by meaning (``compose``'s ``vectors``). Their
vectors depend only on the corpus version and the model, so they are computed once, when the
version is ingested (``guideline ingest`` calls :func:`prepare` after a switch), and written to
``sentence_vectors.npz`` in that version's directory. A serving process loads them instead of
embedding every sentence again; a version without the file (an older one, or one built by the
admin page's re-ingest) gets it the next time a process starts serving it.

The file is written atomically (temporary file, then rename) and read only when it was made by
the same model: the ONNX copy and sentence-transformers give the same vectors (checked when the
copy is exported), an int8 engine does not.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import numpy as np

FILE = "sentence_vectors.npz"


def _model(fingerprint: str) -> str | None:
    """The model a fingerprint names, or None for an engine whose vectors differ (int8)."""
    parts = fingerprint.split(":")
    if len(parts) < 2 or "int8" in parts:
        return None
    return parts[1]


def compatible(stored: str, current: str) -> bool:
    a, b = _model(stored), _model(current)
    return a is not None and a == b


def corpus_sentences(chunks: Iterable) -> list[str]:
    """Every composer sentence of the passages, once each, in reading order."""
    from .compose.sentences import sentences

    return list(dict.fromkeys(s.text for c in chunks for s in sentences(c)))


def save(path: Path, texts: list[str], vectors: np.ndarray, fingerprint: str) -> Path:
    if len(texts) != len(vectors):
        raise ValueError(f"{len(texts)} sentences but {len(vectors)} vectors")
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}.npz")
    np.savez(tmp, texts=np.asarray(texts, dtype=object), vectors=np.asarray(vectors, dtype=np.float32),
             fingerprint=np.asarray(fingerprint))
    os.replace(tmp, path)
    return path


def load(path: Path, fingerprint: str) -> dict[str, np.ndarray] | None:
    """Sentence -> unit vector, or None when there is no file or another model made it."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=True) as z:
            if not compatible(str(z["fingerprint"]), fingerprint):
                return None
            texts, vecs = z["texts"], z["vectors"]
    except (OSError, ValueError, KeyError):
        return None  # unreadable: made again from the corpus
    if len(texts) != len(vecs):
        return None
    return {str(t): v for t, v in zip(texts, vecs)}


def prepare(settings) -> Path | None:
    """Store the serving version's sentence vectors (after an ingest). None when the corpus is
    too large for sentence scoring by meaning (``Weights.semantic_max_passages``)."""
    from .pipeline import Assistant

    a = Assistant(settings, audit=False)
    return a.store_sentence_vectors()
