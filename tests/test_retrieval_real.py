"""Real packaged model + real embedded Chroma over the shipped corpus."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parent.parent


def test_spasticity_query_ranks_baclofen_or_tizanidine_first(real_assistant):
    res = real_assistant.searcher.search("first-line treatment for spasticity-related back pain in MS", 5)
    top = res.hits[0].chunk.text.lower()
    assert "baclofen" in top or "tizanidine" in top
    assert all(h.dense_score is not None or h.bm25_score is not None for h in res.hits)
    assert [h.rank for h in res.hits] == list(range(1, len(res.hits) + 1))


@pytest.mark.parametrize("query,doc", [
    ("maximum daily dose of tizanidine", "ms-spasticity"),
    ("acetaminophen maximum dose per day", "analgesics-nsaids-acetaminophen"),
    ("saddle anaesthesia urinary retention emergency MRI", "back-pain-red-flags"),
    ("burning dysesthesias amitriptyline first-line", "ms-neuropathic-pain"),
    ("CDC opioid prescribing naloxone", "opioid-prescribing"),
])
def test_topic_queries_find_their_document_in_top3(real_assistant, query, doc):
    res = real_assistant.searcher.search(query, 3)
    assert doc in [h.chunk.doc_id for h in res.hits], [h.chunk.doc_id for h in res.hits]


def test_dense_scores_separate_on_and_off_topic(real_assistant):
    on = real_assistant.searcher.search("treating back pain in multiple sclerosis", 3).hits[0].dense_score
    off = max((h.dense_score or 0) for h in real_assistant.searcher.search("What is the capital of France?", 3).hits)
    assert on > 0.5 and off < 0.3 and on - off > 0.3


def _cli(*args, settings, timeout=300):
    env = {**os.environ, "GUIDELINE_DATA_DIR": str(settings.data_dir),
           "GUIDELINE_CORPUS_DIR": str(settings.corpus_dir)}
    if settings.chroma_url:
        env["GUIDELINE_CHROMA_URL"] = settings.chroma_url
    return subprocess.run([sys.executable, "-m", "ui.cli", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=timeout)


def test_cli_search_json_and_ingest_json(real_index):
    settings, report = real_index
    p = _cli("search", "first-line treatment for spasticity-related back pain in MS", "--json", settings=settings)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["corpus_version"] == report.corpus_version
    h = out["hits"][0]
    assert set(h) == {"rank", "chunk_id", "doc_id", "title", "section", "version", "score", "text"}
    assert "baclofen" in h["text"].lower() or "tizanidine" in h["text"].lower()
    p = _cli("ingest", "--json", settings=settings)
    assert p.returncode == 0, p.stderr
    rep = json.loads(p.stdout)
    assert rep["embedded"] == 0 and rep["corpus_version"] == report.corpus_version


def test_cli_reports_missing_index_plainly(tmp_path):
    from tests.conftest import make_settings

    s = make_settings(tmp_path)
    p = _cli("search", "baclofen", settings=s)
    assert p.returncode == 1
    assert "guideline ingest" in p.stderr and "Traceback" not in p.stderr
