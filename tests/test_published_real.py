"""The VA/DoD low back pain guideline (2022, public domain) as published, ingested with no
edits beside the two published-style fixtures, then searched through `guideline search`.

The PDF lives outside the repository, at ``../shared/data/guidelines/`` from the repository
root (CI checks ``shared/`` out beside the clone); ``GUIDELINE_PUBLISHED_DIR`` points
elsewhere. A missing PDF is a failure, never a skip.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import make_settings

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parent.parent
PUBLISHED = Path(os.environ.get("GUIDELINE_PUBLISHED_DIR", ROOT.parent / "shared" / "data" / "guidelines"))
VADOD = PUBLISHED / "vadod-low-back-pain-2022.pdf"
FIXTURES = Path(__file__).parent / "fixtures" / "published"

DIRTY = [
    re.compile(r"\[\[?\d+(?:[-,]\s*\d+)*\]?\]"),          # [23], [[23]](#...)
    re.compile(r"[.,;:a-z]\(\d{1,3}(?:\s*[-,]\s*\d{1,3})*\)"),  # ...pain.(53)
    re.compile(r"Page \d+ of \d+"),                         # running footer
    re.compile(r"February 2022 Page"),
    re.compile("[\u200b\ufb00-\ufb06\u00b9\u00b2\u00b3]"),  # zero-width, ligatures, superscripts
    re.compile(r"\.{6,}"),                                  # table-of-contents leaders
]


def assert_clean(hit: dict) -> None:
    for p in DIRTY:
        m = p.search(hit["text"])
        assert m is None, f"{m.group()!r} in {hit['section']}: {hit['text'][:300]}"
    assert "References" not in hit["section"] and "Participant List" not in hit["section"]


@pytest.fixture(scope="module")
def published_index(tmp_path_factory, real_embedder):
    from ingest.index import run_ingest

    assert VADOD.is_file(), (f"{VADOD} is missing: the published-guideline tests need it "
                             "(../shared/data/guidelines beside the repository, or GUIDELINE_PUBLISHED_DIR)")
    tmp = tmp_path_factory.mktemp("published")
    corpus = tmp / "corpus"
    corpus.mkdir()
    shutil.copy(VADOD, corpus / VADOD.name)  # as published: no sidecar, no edits
    for f in FIXTURES.iterdir():
        shutil.copy(f, corpus / f.name)
    s = make_settings(tmp, corpus)
    report = run_ingest(s, embedder=real_embedder)
    return s, report


def search(settings, query: str, k: int = 5) -> list[dict]:
    env = {**os.environ, "GUIDELINE_DATA_DIR": str(settings.data_dir),
           "GUIDELINE_CORPUS_DIR": str(settings.corpus_dir)}
    if settings.chroma_url:
        env["GUIDELINE_CHROMA_URL"] = settings.chroma_url
    p = subprocess.run([sys.executable, "-m", "ui.cli", "search", query, "--k", str(k), "--json"],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)["hits"]


def test_published_documents_ingest_without_edits(published_index):
    settings, report = published_index
    assert report.switched and report.documents.added == 3
    derived = [w for w in report.warnings if "vadod-low-back-pain-2022.pdf" in w]
    assert any("no 'id' given; using 'vadod-low-back-pain-2022'" in w for w in derived)
    from ingest import versions

    chunks = [json.loads(line) for line in
              (versions.version_dir(settings, report.corpus_version) / "chunks.jsonl").open()]
    vadod = [c for c in chunks if c["doc_id"] == "vadod-low-back-pain-2022"]
    kinds = {k: sum(1 for c in vadod if c["kind"] == k) for k in ("text", "table_row", "recommendation")}
    assert kinds["recommendation"] == 39  # the guideline's 39 numbered recommendations, each on its own
    assert kinds["table_row"] > 100  # red flags, epidemiology, dosing, glossary ... (not the superseded 2017 table)
    recs = [c for c in vadod if c["kind"] == "recommendation"]
    assert all(c["strength"] and len(c["text"]) < 600 for c in recs), [c["text"][:200] for c in recs]
    for c in vadod:
        assert_clean(c)


def test_search_finds_a_recommendation_with_its_strength(published_index):
    settings, _ = published_index
    hits = search(settings, "duloxetine for chronic low back pain recommendation")
    for h in hits:
        assert_clean(h)
    rec = next(h for h in hits if h["section"].endswith("> Recommendation 18")
               and h["text"].startswith("For patients with chronic low back pain, we suggest duloxetine"))
    # the recommendation alone, its strength in its sentence; its discussion is a passage of its own
    assert rec["text"] == "For patients with chronic low back pain, we suggest duloxetine (Weak for)."


def test_search_returns_table_rows_with_their_headers(published_index):
    settings, _ = published_index
    hits = search(settings, "red flags for cauda equina syndrome urinary retention saddle anesthesia")
    for h in hits:
        assert_clean(h)
    row = next(h for h in hits if h["text"].startswith("Possible Serious Conditions: Cauda equina"))
    assert "Red Flags (e.g., signs, symptoms, history): Urinary retention" in row["text"]
    assert row["section"].endswith("Table 1. Red Flags for Possible Serious Conditions")

    hits = search(settings, "baclofen starting dose maximum per day")
    for h in hits:
        assert_clean(h)
    dose = next(h for h in hits if "Generic: Baclofen" in h["text"])
    assert "Starting Dose: 5 mg TID" in dose["text"] and "Max/Day: 80 mg" in dose["text"]


def test_search_on_the_fixtures_is_clean(published_index):
    settings, _ = published_index
    hits = search(settings, "first drug for spasticity in multiple sclerosis")
    for h in hits:
        assert_clean(h)
    assert any("Baclofen is the standard initial medication" in h["text"] or "Drug: Baclofen" in h["text"]
               for h in hits)
    hits = search(settings, "can amitriptyline be combined with duloxetine for sciatica")
    for h in hits:
        assert_clean(h)
    assert any("do not prescribe amitriptyline together with duloxetine" in h["text"] for h in hits)
