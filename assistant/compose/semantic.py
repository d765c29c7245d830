"""Question-sentence similarity by meaning, with the embedding model the index uses.

The lexical and concept scores of ``score`` see words; a question that describes a condition
without naming it ("her leg locks into a painful cramp for a minute, ten times a day") shares
few words with the sentence that answers it ("painful tonic spasms respond to
carbamazepine"). The cosine of the two under the shipped sentence-transformers model adds that
meaning. Passage sentences are embedded once per process (``SupportChecker``'s cache).
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np

from ..condense import split_context

Vectors = Callable[[Sequence[str]], Mapping[str, np.ndarray]]
"""texts -> unit vectors, one per distinct text (``SupportChecker.vectors``)."""


def semantic_query(question: str, query: str | None, request: str | None, long_chars: int) -> str:
    """What the sentences are compared with: the condensed query, or for a long vignette or
    note its request plus the carried context (the rest would drown what is asked)."""
    text = query or question
    if len(question) <= long_chars or not request:
        return text
    context = split_context(text)[1]
    return (f"{request} (context: {context})" if context else request).strip()


def sentence_similarities(vectors: Vectors, query: str, texts: Sequence[str]) -> dict[str, float]:
    """Cosine of each distinct text with ``query``."""
    uniq = list(dict.fromkeys(texts))
    if not uniq or not query.strip():
        return {}
    vecs = vectors([query, *uniq])
    q = vecs[query]
    return {t: float(np.dot(vecs[t], q)) for t in uniq}
