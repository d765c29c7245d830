"""Hybrid retrieval: dense (Chroma, cosine) + BM25 (bm25s), fused by reciprocal rank.

Status and document filters are applied in Python on over-fetched candidates:
Chroma ``where`` filters cost far more than the search itself at scale.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterable, Iterator

from core.errors import ConfigError, RetrievalError
from core.settings import Settings
from ingest import versions
from ingest.serving import ServingCache, ServingIndex
from ingest.store import _is_not_found, describe, make_client, open_collection, with_retries

from .records import Hit

RRF_K = 60
"""Reciprocal-rank-fusion constant (the usual 60)."""
DENSE_WEIGHT = 1.0
BM25_WEIGHT = 1.0
OVERFETCH = 4
"""Candidates fetched per retriever = k * OVERFETCH (at least MIN_CANDIDATES)."""
MIN_CANDIDATES = 30


@dataclass(frozen=True)
class SearchResult:
    query: str
    hits: tuple[Hit, ...]
    corpus_version: str


class HybridSearcher:
    """Searches whichever corpus version is serving at the time of each call."""

    def __init__(self, settings: Settings, embedder=None, client=None):
        self.settings = settings
        self._embedder = embedder
        self._client = client
        self._client_lock = threading.Lock()
        self.serving = ServingCache(settings)
        self._qcache: OrderedDict[str, object] = OrderedDict()
        self._qlock = threading.Lock()
        self._local = threading.local()

    @property
    def embedder(self):
        if self._embedder is None:
            from ingest.embed import get_embedder

            self._embedder = get_embedder(self.settings.embed_batch_size)
        return self._embedder

    @property
    def client(self):
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = make_client(self.settings)
        return self._client

    def index(self) -> ServingIndex:
        """The version searches use now: the pinned one inside ``pinned()``, else CURRENT's."""
        ix = getattr(self._local, "ix", None)
        return ix if ix is not None else self.serving.get()

    @contextmanager
    def pinned(self) -> Iterator[ServingIndex]:
        """Every ``search`` and ``index`` call of this thread inside the block uses one
        corpus version, so an answer built from several searches never mixes versions
        when a re-ingest switches CURRENT meanwhile. Nested blocks share the outer pin."""
        if getattr(self._local, "ix", None) is not None:
            yield self._local.ix
            return
        self._local.ix = self.serving.get()
        try:
            yield self._local.ix
        finally:
            self._local.ix = None

    def query_embedder(self, ix: ServingIndex | None = None):
        """What embeds queries for this index: the verified ONNX copy of the model that
        embedded it (``ingest/query_model.py``) when prepared, else the embedder itself.

        Chosen once per corpus version (not per query: the choice reads files); a copy
        prepared later is picked up at the next version switch."""
        ix = ix or self.index()
        held = ix.extra.get("query_embedder")
        if held is None:
            held = ix.extra["query_embedder"] = self._pick_query_embedder(ix)
        return held

    def _pick_query_embedder(self, ix: ServingIndex):
        fp = ix.manifest.get("fingerprints", {}).get("embedder")
        if self.settings.query_embedder != "torch":
            from ingest.query_model import verified_query_embedder

            fast = verified_query_embedder(self.settings, fp)
            if fast is not None:
                return fast
            if self.settings.query_embedder == "onnx":
                raise ConfigError(
                    f"GUIDELINE_QUERY_EMBEDDER=onnx, but no verified ONNX query model for {fp} is in "
                    f"{self.settings.query_model_dir}. Run `guideline ingest` to prepare it, or unset the variable.")
        return self.embedder

    def embed_query(self, query: str, ix: ServingIndex | None = None):
        with self._qlock:
            v = self._qcache.get(query)
            if v is not None:
                self._qcache.move_to_end(query)
                return v
        v = self.query_embedder(ix).embed_query(query)
        with self._qlock:
            self._qcache[query] = v
            if len(self._qcache) > 512:
                self._qcache.popitem(last=False)
        return v

    def _drop_client(self, _err: Exception | None = None) -> None:
        """After a failed call to a Chroma server, forget the client and collection handles,
        so the next attempt connects afresh (the server may have restarted)."""
        if self.settings.chroma_url:
            with self._client_lock:
                self._client = None

    def _collection(self, ix: ServingIndex):
        with self._client_lock:
            if self._client is None:
                # One attempt: the caller's with_retries bounds the whole loop.
                self._client = make_client(self.settings, retry=False)
            client = self._client
        held = ix.extra.get("collection")
        # A handle is tied to the client that opened it: reopen after a reconnect.
        if held is None or held[0] is not client:
            col = open_collection(client, ix.collection_name, self.embedder)
            held = (client, col)
            ix.extra["collection"] = held
        return held[1]

    def _dense(self, ix: ServingIndex, qvec, n: int) -> list[tuple[str, float]]:
        n = min(n, len(ix.chunks))
        if n <= 0:
            return []

        def query():
            col = self._collection(ix)
            return col.query(query_embeddings=[qvec], n_results=n, include=["distances"])

        res = with_retries(query, self.settings, "search the guideline index", on_error=self._drop_client)
        return [(cid, 1.0 - float(d)) for cid, d in zip(res["ids"][0], res["distances"][0])]

    def search(self, query: str, k: int | None = None, *, statuses: Iterable[str] | None = None,
               doc_ids: Iterable[str] | None = None, mode: str = "hybrid",
               index: ServingIndex | None = None, dense_query: str | None = None) -> SearchResult:
        """Top-k passages of the serving version. ``mode``: hybrid | dense | bm25. ``index``: the
        version to search (one pinned in another thread); by default this thread's.
        ``dense_query``: what the embedding model reads, when it is not ``query`` (BM25 reads
        ``query``)."""
        k = k or self.settings.top_k
        if not query or not query.strip():
            raise RetrievalError("The search query is empty.")
        statuses = tuple(statuses) if statuses is not None else self.settings.include_statuses
        doc_filter = set(doc_ids) if doc_ids is not None else None
        for attempt in range(3):
            ix = index if index is not None and attempt == 0 else self.index()
            try:
                return self._search(ix, query, k, statuses, doc_filter, mode, dense_query or query)
            except (RetrievalError, ConfigError):
                raise
            except Exception as e:
                if not _is_not_found(e):
                    raise RetrievalError(f"Search failed: {type(e).__name__}: {str(e)[:200]}") from None
                # The version we held was switched away and garbage-collected under us
                # (another process ran an ingest): follow CURRENT and search again.
                self.serving.invalidate()
                if getattr(self._local, "ix", None) is not None:
                    # Only when keep_versions is too small for the answer's duration.
                    self._local.ix = self.serving.get()
                if attempt == 2 or versions.current_version(self.settings) == ix.version:
                    raise RetrievalError(
                        f"The vector collection {ix.collection_name} of corpus version {ix.version} "
                        f"is missing from {describe(self.settings)}. Run `guideline ingest --full` "
                        "to rebuild it.") from None
        raise AssertionError("unreachable")

    def _search(self, ix: ServingIndex, query: str, k: int, statuses, doc_filter, mode,
                dense_query: str) -> SearchResult:
        n = max(k * OVERFETCH, MIN_CANDIDATES)

        def allowed(cid: str) -> bool:
            c = ix.by_id.get(cid)
            return c is not None and (not statuses or c.status in statuses) and \
                (doc_filter is None or c.doc_id in doc_filter)

        dense: list[tuple[str, float]] = []
        lexical: list[tuple[str, float]] = []
        if mode in ("hybrid", "dense"):
            dense = [(cid, s) for cid, s in self._dense(ix, self.embed_query(dense_query, ix), n) if allowed(cid)]
        if mode in ("hybrid", "bm25"):
            lexical = [(ix.chunks[row].chunk_id, s) for row, s in ix.bm25.search(query, n)]
            lexical = [(cid, s) for cid, s in lexical if allowed(cid)]
        fused: dict[str, float] = {}
        for weight, ranked in ((DENSE_WEIGHT, dense), (BM25_WEIGHT, lexical)):
            for r, (cid, _) in enumerate(ranked, 1):
                fused[cid] = fused.get(cid, 0.0) + weight / (RRF_K + r)
        dscore = dict(dense)
        bscore = dict(lexical)
        order = sorted(fused, key=lambda c: (-fused[c], c))[:k]
        hits = tuple(
            Hit(chunk=ix.by_id[cid], score=fused[cid], rank=i, dense_score=dscore.get(cid),
                bm25_score=bscore.get(cid))
            for i, cid in enumerate(order, 1)
        )
        return SearchResult(query, hits, ix.version)
