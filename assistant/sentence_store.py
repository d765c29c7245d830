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
    # The sentences as UTF-8 bytes with their lengths: plain arrays, so reading the file never
    # needs numpy's pickle support (an object array would).
    encoded = [t.encode("utf-8") for t in texts]
    np.savez(tmp, text_bytes=np.frombuffer(b"".join(encoded), dtype=np.uint8),
             text_lengths=np.asarray([len(b) for b in encoded], dtype=np.int64),
             vectors=np.asarray(vectors, dtype=np.float32), fingerprint=np.asarray(fingerprint))
    os.replace(tmp, path)
    return path


def _texts(raw: np.ndarray, lengths: np.ndarray) -> list[str]:
    data = raw.tobytes()
    if int(lengths.sum()) != len(data):
        raise ValueError("sentence lengths do not match the stored text")
    ends = np.cumsum(lengths)
    return [data[e - n:e].decode("utf-8") for e, n in zip(ends.tolist(), lengths.tolist())]


def load(path: Path, fingerprint: str) -> dict[str, np.ndarray] | None:
    """Sentence -> unit vector, or None when there is no file or another model made it."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            if not compatible(str(z["fingerprint"]), fingerprint):
                return None
            texts, vecs = _texts(z["text_bytes"], z["text_lengths"]), z["vectors"]
    except (OSError, ValueError, KeyError, UnicodeDecodeError):
        return None  # unreadable (or written in the earlier object-array form): made again from the corpus
    if len(texts) != len(vecs):
        return None
    return dict(zip(texts, vecs))


def prepare(settings) -> Path | None:
    """Store the serving version's sentence vectors (after an ingest). None when the corpus is
    too large for sentence scoring by meaning (``Weights.semantic_max_passages``)."""
    from .pipeline import Assistant

    a = Assistant(settings, audit=False)
    return a.store_sentence_vectors()
