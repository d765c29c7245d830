"""A verified ONNX copy of the embedding model, for queries and passages.

Answering a question embeds one short query. Through sentence-transformers that
means importing torch (seconds at process start) and ~20 ms per query on one
thread; the same network exported to ONNX (``embed_onnx``, fp32, pooling and
normalisation in the graph, ONNX Runtime's transformer fusions) starts in under a
second and embeds a query in ~8 ms. Ingestion embeds passages with it too: about
1.5x the sentence-transformers batch rate on this CPU, and no torch import.

The copy is used only after ``prepare`` has checked, on fixed probe texts (short,
typical and longer than the 256-token limit), that it gives the same vectors as the
sentence-transformers model: cosine >= ``MIN_COSINE`` for every probe. The result is
written next to the model and keyed by that model's fingerprint, which is also the
fingerprint the index records: the copy stands in for that model, on the query side
only for an index built with that fingerprint, on the passage side only when the
ingest's embedder has that fingerprint. Otherwise sentence-transformers does the work.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from core.settings import Settings

from . import versions

MIN_COSINE = 0.99999
"""fp32 export vs sentence-transformers measures ~1 - 1e-7; anything lower is a different model."""
VERIFIED = "query-model.json"

PROBES = (
    "max tizanidine dose?",
    "What is the best approach for treating back pain in a patient with multiple sclerosis?",
    "Urinary retention, saddle anaesthesia and bilateral leg weakness: cauda equina syndrome until "
    "proven otherwise; arrange emergency MRI the same day.",
    "Baclofen 5 mg three times daily, increased every three days to a maximum of 80 mg per day.",
    " ".join(["Neuropathic pain in multiple sclerosis is treated first with amitriptyline, duloxetine, "
              "gabapentin or pregabalin, titrated to effect and tolerability."] * 12),  # > 256 tokens
    "NSAIDs: lowest effective dose, shortest time; avoid in renal impairment or peptic ulcer.",
)


@dataclass(frozen=True)
class QueryModelReport:
    verified: bool
    fingerprint: str
    """Fingerprint of the model the copy was compared with (the index's embedder)."""
    onnx_file: str
    min_cosine: float
    max_abs_diff: float
    seconds: float
    reason: str = ""


def _read(settings: Settings) -> dict | None:
    try:
        return json.loads((settings.query_model_dir / VERIFIED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def prepare(settings: Settings, embedder) -> QueryModelReport:
    """Export the ONNX copy (once) and verify it against ``embedder``; record the result."""
    from .embed_onnx import OnnxEmbedder, export_onnx

    t0 = time.perf_counter()
    out = settings.query_model_dir
    path = export_onnx(out, quantized=False)
    onnx = OnnxEmbedder(quantized=False, model_dir=out)
    ref = np.asarray(embedder.embed_documents(list(PROBES)), dtype=np.float32)
    single = np.stack([onnx.embed_query(t) for t in PROBES])  # the path queries take
    batched = onnx.embed_documents(list(PROBES))  # the path passages take: padded, masked
    cos = np.concatenate([_cosines(ref, single), _cosines(ref, batched)])
    diff = max(float(np.abs(ref - single).max()), float(np.abs(ref - batched).max()))
    ok = bool(cos.min() >= MIN_COSINE)
    rep = QueryModelReport(
        verified=ok, fingerprint=embedder.fingerprint, onnx_file=path.name,
        min_cosine=float(cos.min()), max_abs_diff=diff,
        seconds=round(time.perf_counter() - t0, 2),
        reason="" if ok else f"ONNX copy differs from {embedder.fingerprint}: min cosine {cos.min():.6f}",
    )
    versions.write_atomic(out / VERIFIED, json.dumps(asdict(rep), indent=1))
    return rep


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def needed(settings: Settings, embedder) -> bool:
    """True when ``embedder`` (the sentence-transformers one) has no verified copy yet
    and queries or passages are allowed to use one."""
    from .embed import SentenceTransformerEmbedder

    wanted = settings.query_embedder != "torch" or settings.passage_embedder != "torch"
    return (wanted and isinstance(embedder, SentenceTransformerEmbedder)
            and not is_prepared(settings, embedder.fingerprint))


def is_prepared(settings: Settings, fingerprint: str) -> bool:
    """A verified record for ``fingerprint`` whose file is the current export: a record of an
    older export (another graph) does not vouch for the file this code would load."""
    from .embed_onnx import onnx_file_name

    rec = _read(settings)
    return bool(rec and rec.get("verified") and rec.get("fingerprint") == fingerprint
                and rec.get("onnx_file") == onnx_file_name(False)
                and (settings.query_model_dir / rec["onnx_file"]).is_file())


_loaded: dict[Path, object] = {}
_lock = threading.Lock()


def verified_query_embedder(settings: Settings, fingerprint: str | None):
    """The ONNX copy if it was verified against ``fingerprint``, else None (queries and passages).

    One instance per model file and process (the session holds ~90 MB of weights)."""
    if not fingerprint or not is_prepared(settings, fingerprint):
        return None
    from .embed_onnx import OnnxEmbedder

    key = settings.query_model_dir.resolve()
    with _lock:
        emb = _loaded.get(key)
        if emb is None:
            emb = _loaded[key] = OnnxEmbedder(quantized=False, model_dir=key, batch_size=settings.embed_batch_size)
        return emb


def ensure(settings: Settings) -> QueryModelReport | None:
    """Prepare the query model for the serving index if it is not prepared yet.

    For an index that predates this module, or one whose export was skipped: what
    ``guideline ingest --if-stale`` (``make run``) calls when nothing else changed.
    Returns None when nothing was needed (already prepared, ``query_embedder=torch``,
    no index, or an index embedded by another model)."""
    from .embed import get_embedder

    vid = versions.current_version(settings)
    if vid is None:
        return None
    fp = versions.read_manifest(settings, vid).get("fingerprints", {}).get("embedder")
    emb = get_embedder(settings.embed_batch_size)
    if fp != emb.fingerprint or not needed(settings, emb):
        return None
    return prepare(settings, emb)
