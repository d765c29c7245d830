"""LangChain's standard retriever tests, run against our retriever over a real index."""

import pytest
from langchain_tests.integration_tests import RetrieversIntegrationTests

from assistant.retriever import GuidelineRetriever

pytestmark = pytest.mark.integration


class TestGuidelineRetriever(RetrieversIntegrationTests):
    @pytest.fixture(autouse=True)
    def _searcher(self, real_assistant):
        type(self)._searcher_obj = real_assistant.searcher

    @property
    def retriever_constructor(self):
        searcher = type(self)._searcher_obj

        class Bound(GuidelineRetriever):
            def __init__(self, **kw):
                super().__init__(searcher=searcher, **kw)

        return Bound

    @property
    def retriever_constructor_params(self) -> dict:
        return {}

    @property
    def retriever_query_example(self) -> str:
        return "maximum dose of tizanidine"


def test_documents_carry_citation_metadata(real_assistant):
    docs = GuidelineRetriever(searcher=real_assistant.searcher, k=3).invoke("tizanidine dose")
    assert len(docs) == 3
    md = docs[0].metadata
    assert {"doc_id", "title", "section", "version", "status", "chunk_id", "score"} <= set(md)
    assert docs[0].id == md["chunk_id"]
