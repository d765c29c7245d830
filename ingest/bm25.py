"""Lexical index (bm25s, English Snowball stemmer + stopwords), one per corpus version."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

_stemmer = None


def _get_stemmer():
    global _stemmer
    if _stemmer is None:
        import Stemmer

        _stemmer = Stemmer.Stemmer("english")
    return _stemmer


def tokenize(texts: Sequence[str]):
    import bm25s

    return bm25s.tokenize(list(texts), stopwords="en", stemmer=_get_stemmer(), show_progress=False)


def build(texts: Sequence[str], directory: Path) -> None:
    import bm25s

    retriever = bm25s.BM25()
    retriever.index(tokenize(texts), show_progress=False)
    retriever.save(str(directory))


class Bm25Index:
    """Loaded index; ``search`` returns (row, score) pairs, best first."""

    def __init__(self, directory: Path, n_docs: int):
        import bm25s

        self.n_docs = n_docs
        self._r = bm25s.BM25.load(str(directory)) if n_docs else None

    def _tokens(self, text: str) -> list[str]:
        import bm25s

        return bm25s.tokenize([text], stopwords="en", stemmer=_get_stemmer(),
                              return_ids=False, show_progress=False)[0]

    def knows(self, word: str) -> bool:
        """Does the corpus use this word (stemmed as the index stems it)?"""
        if not self._r:
            return False
        tokens = self._tokens(word)
        return bool(tokens) and all(t in self._r.vocab_dict for t in tokens)

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        if not self._r or not query.strip():
            return []
        k = min(k, self.n_docs)
        # Query tokens must map into the index's own vocabulary; unknown words score 0.
        vocab = self._r.vocab_dict
        words = [w for w in self._tokens(query) if w in vocab]
        if not words:
            return []  # only stopwords / words the corpus never uses
        # n_threads=0: in this thread (n_threads=1 starts a thread pool for every query).
        docs, scores = self._r.retrieve([words], k=k, show_progress=False, n_threads=0)
        out = []
        for row, score in zip(np.asarray(docs[0]).tolist(), np.asarray(scores[0]).tolist()):
            if score > 0:
                out.append((int(row), float(score)))
        return out
