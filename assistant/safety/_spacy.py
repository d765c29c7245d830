"""spaCy, imported without letting thinc import torch.

thinc (spaCy's ML layer) imports torch at import time whenever it is installed, only to
offer PyTorch layers. The safety layer runs a blank pipeline with NegEx and never uses
them, and answering a question otherwise needs no torch (queries go through the ONNX
copy): hiding torch for this one import saves ~1.5 s and ~250 MB in a cold process.
torch stays importable afterwards (the sentence-transformers fallback imports it as usual).
"""

from __future__ import annotations

import sys


def _import():
    if "torch" in sys.modules or "thinc" in sys.modules:
        import spacy  # torch is loaded already (or thinc decided): nothing to save

        return spacy
    sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` raise ImportError
    try:
        import spacy
        import thinc.compat  # noqa: F401 - settles has_torch while torch is hidden
    finally:
        if sys.modules.get("torch", ...) is None:
            del sys.modules["torch"]
    return spacy


spacy = _import()
