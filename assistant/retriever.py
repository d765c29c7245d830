"""LangChain ``BaseRetriever`` over the hybrid searcher (for chains and standard tests)."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from .records import Hit


def hit_to_document(hit: Hit) -> Document:
    c = hit.chunk
    return Document(
        id=c.chunk_id,
        page_content=c.text,
        metadata={**c.metadata(), "chunk_id": c.chunk_id, "rank": hit.rank, "score": hit.score,
                  "dense_score": hit.dense_score, "bm25_score": hit.bm25_score},
    )


class GuidelineRetriever(BaseRetriever):
    """Top-k guideline passages as LangChain Documents (metadata: doc, section, version, scores)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    searcher: Any
    """An ``assistant.retrieve.HybridSearcher``."""
    k: int = 8
    statuses: tuple[str, ...] | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                k: int | None = None, **kwargs: Any) -> list[Document]:
        res = self.searcher.search(query, k or self.k, statuses=self.statuses)
        return [hit_to_document(h) for h in res.hits]
