"""Corpus checker: content rules on top of loading, warnings kept apart from errors."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from core.errors import IngestError
from core.settings import PROJECT_ROOT, Settings
from ingest.check import CheckReport, check_corpus

FILLER = (
    "Baclofen is a first-line oral drug for spasticity-related pain in multiple sclerosis.\n"
    "Tizanidine is an alternative first-line oral drug for spasticity-related pain in multiple sclerosis.\n"
    "Tizanidine is titrated slowly to a maximum of 36 mg a day in divided doses.\n"
)


def doc(doc_id: str, body: str | None = None, *, reviewed: str = "2025-05-01") -> str:
    if body is None:
        body = f"# Title of {doc_id}\n\n## Key recommendations\n\n{FILLER}\n## Details\n\n{FILLER}"
    return (
        "---\n"
        f"id: {doc_id}\n"
        f"title: Title of {doc_id}\n"
        "version: '1'\n"
        "status: approved\n"
        f"last_reviewed: {reviewed}\n"
        "sources:\n  - NICE, NG220, 2022\n"
        "---\n"
        f"{body}"
    )


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    d = tmp_path / "corpus"
    d.mkdir()
    return d


@pytest.fixture
def settings(tmp_path: Path, corpus: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", corpus_dir=corpus)


def reasons(report: CheckReport) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for e in report.errors:
        out.setdefault(e.path, []).append(e.reason)
    return out


def test_clean_corpus_passes(corpus, settings):
    (corpus / "alpha.md").write_text(doc("alpha"))
    (corpus / "beta.txt").write_text(doc("beta", "Plain text guideline.\n" + FILLER * 2))
    report = check_corpus(corpus, settings)
    assert report.ok, report.lines()
    assert report.errors == [] and report.warnings == []
    assert sorted(d.doc_id for d in report.docs) == ["alpha", "beta"]
    report.raise_if_errors()  # no-op when clean


def test_content_rules_name_file_and_problem(corpus, settings):
    (corpus / "two-h1.md").write_text(doc("two-h1", f"# One\n\n## Key recommendations\n\n{FILLER}\n# Two\n\n{FILLER}"))
    (corpus / "no-h1.md").write_text(doc("no-h1", f"## Key recommendations\n\n{FILLER}{FILLER}"))
    (corpus / "no-keyrecs.md").write_text(doc("no-keyrecs", f"# Title\n\n## Summary\n\n{FILLER}{FILLER}"))
    short_body = "# Short\n\n## Key recommendations\n\nToo short.\n"
    (corpus / "short.md").write_text(doc("short", short_body))
    (corpus / "named-wrong.md").write_text(doc("something-else"))
    (corpus / "named-wrong2.txt").write_text(doc("other", FILLER * 3))
    report = check_corpus(corpus, settings)
    got = reasons(report)
    # House style is advice, not a refusal (documents are accepted as published).
    assert not {"two-h1.md", "no-h1.md", "no-keyrecs.md"} & set(got)
    advice = {(w.path, w.reason) for w in report.warnings}
    assert ("two-h1.md", "2 H1 headings (body lines 1, 9); house style is exactly one") in advice
    assert ("no-h1.md", "no H1 heading ('# Title'); house style is exactly one") in advice
    assert ("no-keyrecs.md", "no '## Key recommendations' section (house style)") in advice
    assert got["short.md"] == [f"body is {len(short_body.strip())} characters; at least 200 expected"]
    assert got["named-wrong.md"] == [
        "front matter: field 'id' is 'something-else' but the file is named 'named-wrong.md'; "
        "the id must equal the file name without extension"
    ]
    assert len(got["named-wrong2.txt"]) == 1 and "field 'id' is 'other'" in got["named-wrong2.txt"][0]


def test_headings_inside_code_fences_do_not_count(corpus, settings):
    body = f"# Title\n\n## Key recommendations\n\n{FILLER}\n```\n# not a heading\n```\n{FILLER}"
    (corpus / "fenced.md").write_text(doc("fenced", body))
    assert check_corpus(corpus, settings).ok


def test_html_and_pdf_skip_the_markdown_only_rules(corpus, settings):
    html = (
        '<html><head><meta name="guideline:id" content="not-the-stem">'
        '<meta name="guideline:title" content="T"><meta name="guideline:version" content="1">'
        '<meta name="guideline:status" content="approved"><meta name="guideline:last_reviewed" content="2025-01-01">'
        '<meta name="guideline:sources" content="NICE, NG220, 2022"></head>'
        f"<body><h2>No H1 here</h2><p>{FILLER * 2}</p></body></html>"
    )
    (corpus / "page.html").write_text(html)
    report = check_corpus(corpus, settings)
    assert report.ok, report.lines()


def test_loading_errors_and_content_errors_are_all_reported(corpus, settings):
    (corpus / "ok.md").write_text(doc("ok"))
    (corpus / "broken.md").write_text(doc("broken").replace("status: approved", "status: final"))
    (corpus / "short.md").write_text(doc("short", "# S\n\n## Key recommendations\n\nTiny.\n"))
    report = check_corpus(corpus, settings)
    assert set(reasons(report)) == {"broken.md", "short.md"}
    with pytest.raises(IngestError) as info:
        report.raise_if_errors()
    assert len(info.value.errors) == 2
    assert "broken.md" in str(info.value) and "short.md" in str(info.value)
    assert [line.split(":")[0] for line in report.lines()] == ["error", "error"]


def test_stale_review_is_a_warning_not_an_error(corpus, settings):
    old = date.today().replace(year=date.today().year - 4, day=1).isoformat()
    recent = (date.today() - timedelta(days=365 * 2)).isoformat()
    (corpus / "old.md").write_text(doc("old", reviewed=old))
    (corpus / "recent.md").write_text(doc("recent", reviewed=recent))
    report = check_corpus(corpus, settings)
    assert report.ok
    assert [(w.path, w.reason) for w in report.warnings] == [
        ("old.md", f"last_reviewed is {old}, more than 3 years ago")
    ]
    assert report.lines() == [f"warning: old.md: last_reviewed is {old}, more than 3 years ago"]


def test_empty_corpus_is_an_error(corpus, settings):
    (corpus / "README.md").write_text("# About\n")
    report = check_corpus(corpus, settings)
    assert [e.reason for e in report.errors] == ["no guideline files in the corpus directory"]


# --------------------------------------------------------------------------- the real corpus

REAL_CORPUS = PROJECT_ROOT / "corpus"


def test_real_corpus_has_no_errors(tmp_path):
    report = check_corpus(REAL_CORPUS, Settings(data_dir=tmp_path / "data", corpus_dir=REAL_CORPUS))
    assert report.errors == [], "\n".join(report.lines())
    assert len(report.docs) >= 14, f"{len(report.docs)} documents; the corpus needs at least 14"


def test_real_corpus_readme_is_not_a_guideline():
    from ingest.load import iter_corpus_files

    assert (REAL_CORPUS / "README.md").is_file()
    assert REAL_CORPUS / "README.md" not in iter_corpus_files(REAL_CORPUS)
