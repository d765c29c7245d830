"""Loaders: Markdown, text, HTML, PDF -> SourceDoc, and every refusal names file + reason."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from core.errors import FileError
from core.settings import Settings
from ingest.load import iter_corpus_files, load_corpus, load_file

BODY = (
    "# Spasticity in multiple sclerosis\n\n"
    "## Key recommendations\n\n"
    "Baclofen is a first-line oral drug for spasticity in multiple sclerosis.\n"
    "Tizanidine is an alternative first-line oral drug for spasticity in multiple sclerosis.\n\n"
    "## Titration\n\n"
    "Tizanidine reaches its peak effect 1 to 2 hours after a dose.\n"
)

FRONT = """---
id: {id}
title: "Spasticity in MS"
version: "1.10"
status: approved
last_reviewed: 2024-03-01
sources:
  - "NICE, Multiple sclerosis in adults: management (NG220), 2022"
---
"""


def md(doc_id: str = "spasticity", body: str = BODY, front: str = FRONT) -> str:
    return front.format(id=doc_id) + body


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    d = tmp_path / "corpus"
    d.mkdir()
    return d


@pytest.fixture
def settings(tmp_path: Path, corpus: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", corpus_dir=corpus)


def write(corpus: Path, name: str, content: str | bytes) -> Path:
    p = corpus / name
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content, encoding="utf-8")
    return p


def refused(path: Path, corpus: Path, settings: Settings) -> FileError:
    with pytest.raises(FileError) as info:
        load_file(path, corpus, settings)
    return info.value


# --------------------------------------------------------------------------- Markdown / text


def test_markdown_front_matter_becomes_metadata(corpus, settings):
    p = write(corpus, "sub/spasticity.md", md())
    doc = load_file(p, corpus, settings)
    assert doc.doc_id == "spasticity"
    assert doc.title == "Spasticity in MS"
    assert doc.version == "1.10"  # a string, not the float 1.1
    assert doc.status == "approved"
    assert doc.last_reviewed == "2024-03-01"  # unquoted YAML date normalised to ISO text
    assert doc.sources == ("NICE, Multiple sclerosis in adults: management (NG220), 2022",)
    assert doc.path == "sub/spasticity.md"
    assert doc.fmt == "markdown"
    assert doc.text == BODY  # front matter removed, body verbatim
    assert doc.content_hash == hashlib.sha256(p.read_bytes()).hexdigest()


def test_body_offsets_index_the_returned_text(corpus, settings):
    doc = load_file(write(corpus, "spasticity.md", md()), corpus, settings)
    start = doc.text.index("## Titration")
    assert doc.text[start : start + len("## Titration")] == "## Titration"
    assert doc.text.startswith("# Spasticity")


def test_crlf_and_bom_are_normalised(corpus, settings):
    raw = ("\ufeff" + md()).replace("\n", "\r\n").encode("utf-8")
    p = write(corpus, "spasticity.markdown", raw)
    doc = load_file(p, corpus, settings)
    assert "\r" not in doc.text
    assert doc.text == BODY
    assert doc.content_hash == hashlib.sha256(raw).hexdigest()


def test_plain_text_uses_front_matter(corpus, settings):
    doc = load_file(write(corpus, "spasticity.txt", md()), corpus, settings)
    assert doc.fmt == "text"
    assert doc.doc_id == "spasticity"
    assert "Tizanidine reaches its peak" in doc.text


def test_quoted_null_is_text(corpus, settings):
    doc = load_file(write(corpus, "a.md", md().replace('version: "1.10"', "version: 'Null'")), corpus, settings)
    assert doc.version == "Null"


def test_quoted_date_is_accepted(corpus, settings):
    doc = load_file(write(corpus, "a.md", md().replace("2024-03-01", "'2023-12-31'")), corpus, settings)
    assert doc.last_reviewed == "2023-12-31"


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (
            lambda t: t.replace("status: approved", "status: final"),
            "front matter: field 'status' is 'final'; expected one of approved, under_review, draft",
        ),
        (lambda t: t.replace("---\n#", "#"), "front matter: no closing '---' line"),
        (
            lambda t: t.replace("2024-03-01", "2023-02-30"),
            "front matter: field 'last_reviewed' is '2023-02-30', which is not a real date",
        ),
        (
            lambda t: t.replace("2024-03-01", "March 2024"),
            "front matter: field 'last_reviewed' is 'March 2024'; expected a date YYYY-MM-DD",
        ),
        (lambda t: t.replace("title: \"Spasticity in MS\"", "title: \"\""), "front matter: field 'title' is empty"),
        (
            lambda t: t.replace("sources:\n  - \"NICE, Multiple sclerosis in adults: management (NG220), 2022\"", "sources: []"),
            "front matter: field 'sources' is an empty list; name at least one source",
        ),
        (
            lambda t: t.replace("sources:\n  - \"NICE, Multiple sclerosis in adults: management (NG220), 2022\"", "sources: NICE"),
            "front matter: field 'sources' must be a list of sources, got a str",
        ),
        (
            lambda t: t.replace("status: approved", "status: approved\nstatus: draft"),
            "front matter: invalid YAML (line 6: field 'status' appears twice)",
        ),
        (lambda t: t.replace(BODY, "\n \n"), "no guideline text after the front matter"),
        (lambda t: "---\n---\n" + BODY, "front matter: the --- block is empty; expected id, title, version, status, last_reviewed, sources"),
        (lambda t: "---\n- a\n- b\n---\n" + BODY, "front matter: expected 'field: value' lines, got a list"),
        (
            lambda t: t.replace("status: approved", "status: !!python/object:os.system approved"),
            "front matter: invalid YAML (line 5: tag 'tag:yaml.org,2002:python/object:os.system' is not allowed)",
        ),
        (lambda t: t.replace('title: "Spasticity in MS"', "title: ~"), "front matter: field 'title' is empty"),
        (lambda t: t.replace('title: "Spasticity in MS"', "title: null"), "front matter: field 'title' is empty"),
        (lambda t: t.replace("sources:\n  - ", "sources:\n  - ~\n  - "), "front matter: field 'sources' item 1 is empty"),
    ],
)
def test_front_matter_problems_are_named(corpus, settings, edit, reason):
    p = write(corpus, "spasticity.md", edit(md()))
    err = refused(p, corpus, settings)
    assert err.path == "spasticity.md"
    assert err.reason == reason
    assert str(err) == f"spasticity.md: {reason}"


def test_invalid_yaml_reports_the_file_line(corpus, settings):
    text = md().replace('title: "Spasticity in MS"', 'title: "Spasticity in MS')
    err = refused(write(corpus, "spasticity.md", text), corpus, settings)
    assert err.reason.startswith("front matter: invalid YAML (line ")
    line = int(err.reason.split("line ")[1].split(":")[0])
    # The unterminated quote opens on file line 3; PyYAML reports where it gave up, further down.
    assert 3 <= line <= 9


def test_several_problems_are_reported_together(corpus, settings):
    text = md().replace("2024-03-01", "2023-02-30").replace("status: approved", "status: final\nfoo: 1")
    err = refused(write(corpus, "spasticity.md", text), corpus, settings)
    assert "field 'last_reviewed' is '2023-02-30', which is not a real date" in err.reason
    assert "field 'status' is 'final'" in err.reason
    assert "foo" not in err.reason  # an unknown field is extra metadata, not an error


# Documents as published: missing metadata is derived and reported, never a refusal.


def test_missing_field_is_derived_with_a_warning(corpus, settings):
    doc = load_file(write(corpus, "spasticity.md", md().replace('version: "1.10"\n', "")), corpus, settings)
    assert doc.version == "1"
    assert doc.origin["version"].startswith("derived")
    assert doc.warnings == ("no 'version' given; using '1' (default)",)


def test_unknown_field_is_kept_as_extra_metadata(corpus, settings):
    text = md().replace("status: approved", "status: approved\nchapter_no: '12'\nauthors: [A. Writer]")
    doc = load_file(write(corpus, "spasticity.md", text), corpus, settings)
    assert doc.extra == {"chapter_no": "12", "authors": ["A. Writer"]}
    assert "front matter: unknown field 'chapter_no' kept as extra metadata" in doc.warnings


def test_markdown_without_front_matter_is_accepted(tmp_path, corpus):
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=corpus, default_status="under_review")
    body = "# Spasticity: Managing Tone\n\nLast updated: 14 March 2024\n\n" + BODY.split("\n", 1)[1]
    doc = load_file(write(corpus, "Spasticity Guide_v2.md", body), corpus, settings)
    assert doc.doc_id == "spasticity-guide_v2"
    assert doc.title == "Spasticity: Managing Tone"
    assert doc.last_reviewed == "2024-03-14"
    assert doc.status == "under_review"
    assert doc.version == "1"
    assert doc.text == body
    assert {w.split(";")[0] for w in doc.warnings} == {f"no '{f}' given" for f in
                                                      ("id", "title", "version", "status", "last_reviewed", "sources")}


def test_sidecar_overrides_the_file_and_changes_the_hash(corpus, settings):
    p = write(corpus, "guide.md", "# A guide\n\n" + BODY)
    plain = load_file(p, corpus, settings)
    write(corpus, "guide.meta.yaml", "id: spasticity-guide\nversion: '4.2'\nstatus: draft\nreviewer: Dr X\n")
    doc = load_file(p, corpus, settings)
    assert (doc.doc_id, doc.version, doc.status, doc.title) == ("spasticity-guide", "4.2", "draft", "A guide")
    assert doc.origin["version"] == "sidecar" and doc.origin["title"].startswith("derived")
    assert doc.extra == {"reviewer": "Dr X"}
    assert doc.content_hash != plain.content_hash
    # the sidecar is not a corpus document of its own
    assert [x.relative_to(corpus).as_posix() for x in iter_corpus_files(corpus)] == ["guide.md"]


def test_bad_value_in_a_sidecar_is_an_error_naming_the_sidecar(corpus, settings):
    p = write(corpus, "guide.md", "# A guide\n\n" + BODY)
    write(corpus, "guide.meta.yaml", "status: final\n")
    err = refused(p, corpus, settings)
    assert err.reason == "sidecar: field 'status' is 'final'; expected one of approved, under_review, draft"


def test_future_review_date_is_refused(corpus, settings):
    future = (date.today() + timedelta(days=30)).isoformat()
    err = refused(write(corpus, "a.md", md(doc_id="a").replace("2024-03-01", future)), corpus, settings)
    assert err.reason == f"front matter: field 'last_reviewed' is {future}, which is in the future"


@pytest.mark.parametrize("bad_id", ["Spasticity", "-lead", "has space", "a" * 81, "'ünïcode'"])
def test_bad_ids_are_refused(corpus, settings, bad_id):
    err = refused(write(corpus, "a.md", md(doc_id=bad_id)), corpus, settings)
    assert err.reason.startswith("front matter: field 'id' is '")
    assert "expected lowercase letters" in err.reason


def test_longest_allowed_id_loads(corpus, settings):
    doc_id = "a" + "b_-9" * 19 + "xyz"  # 80 characters
    assert len(doc_id) == 80
    assert load_file(write(corpus, "a.md", md(doc_id=doc_id)), corpus, settings).doc_id == doc_id


# --------------------------------------------------------------------------- bytes


def test_empty_file(corpus, settings):
    assert refused(write(corpus, "a.md", b""), corpus, settings).reason == "empty file"
    assert refused(write(corpus, "b.md", " \n\t\n"), corpus, settings).reason == "empty file"


def test_binary_file(corpus, settings):
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    assert refused(write(corpus, "a.md", png), corpus, settings).reason == "binary file (not text)"


def test_invalid_utf8_names_byte_and_offset(corpus, settings):
    raw = md().encode("utf-8")
    pos = raw.index(b"Baclofen")
    raw = raw[:pos] + b"\xe9" + raw[pos + 1 :]  # Latin-1 e-acute in the middle of ASCII text
    err = refused(write(corpus, "a.md", raw), corpus, settings)
    assert err.reason == f"not valid UTF-8 (byte 0xe9 at offset {pos})"


def test_utf16_is_called_a_wrong_encoding(corpus, settings):
    err = refused(write(corpus, "a.md", md().encode("utf-16")), corpus, settings)
    assert err.reason.startswith("not valid UTF-8 (byte 0xff at offset 0")
    assert "UTF-16" in err.reason


def test_stray_control_character_is_located(corpus, settings):
    err = refused(write(corpus, "a.md", md().replace("Tizanidine reaches", "Tizanidine\x1b reaches")), corpus, settings)
    line = md().split("\n").index("Tizanidine reaches its peak effect 1 to 2 hours after a dose.") + 1
    assert err.reason == f"control character U+001B on line {line}"


def test_huge_file_is_refused_with_the_limit(tmp_path, corpus):
    small = Settings(data_dir=tmp_path / "data", corpus_dir=corpus, max_file_bytes=1000)
    p = write(corpus, "a.md", md(body=BODY + "x" * 2000))
    size = p.stat().st_size
    assert refused(p, corpus, small).reason == f"file is {size} bytes; the limit is 1000"


def test_unsupported_extension(corpus, settings):
    err = refused(write(corpus, "notes.docx", b"PK\x03\x04"), corpus, settings)
    assert err.reason.startswith("unsupported file type '.docx'")


# --------------------------------------------------------------------------- HTML

HTML = """<!DOCTYPE html>
<html><head>
<meta charset="utf-8">
<title>ignored</title>
<meta name="guideline:id" content="ms-spasticity-html">
<meta name="guideline:title" content="Spasticity in MS (web)">
<meta name="guideline:version" content="2.0">
<meta name="guideline:status" content="under_review">
<meta name="guideline:last_reviewed" content="2025-01-20">
<meta name="guideline:sources" content="NICE, NG220, 2022; National MS Society, Spasticity, 2021 ;">
<style>p { color: red }</style>
</head><body>
<script>alert("do not index me")</script>
<nav><!-- a comment --></nav>
<h1>Spasticity in <em>MS</em></h1>
<h2>Key recommendations</h2>
<p>Offer <b>bac</b>lofen or tizanidine<br>as first-line oral drugs.</p>
<ul>
  <li><b>Bac</b>lofen is started at a <em>low</em> dose.</li>
  <li>Tizanidine peaks at 1&ndash;2 h.
    <ul><li>Titrate to at most 36 mg a day.</li></ul>
  </li>
</ul>
<h3>Monitoring</h3>
<div>Check liver function during tizanidine treatment.</div>
<h4>Small print</h4>
</body></html>
"""


def test_html_meta_and_body_become_markdown(corpus, settings):
    doc = load_file(write(corpus, "web/spasticity.html", HTML), corpus, settings)
    assert (doc.doc_id, doc.title, doc.version, doc.status, doc.last_reviewed) == (
        "ms-spasticity-html",
        "Spasticity in MS (web)",
        "2.0",
        "under_review",
        "2025-01-20",
    )
    assert doc.sources == ("NICE, NG220, 2022", "National MS Society, Spasticity, 2021")
    assert doc.fmt == "html"
    assert doc.text == (
        "# Spasticity in MS\n\n"
        "## Key recommendations\n\n"
        "Offer baclofen or tizanidine as first-line oral drugs.\n\n"
        "- Baclofen is started at a low dose.\n"
        "- Tizanidine peaks at 1\u20132 h.\n"
        "- Titrate to at most 36 mg a day.\n\n"
        "### Monitoring\n\n"
        "Check liver function during tizanidine treatment.\n\n"
        "Small print\n"
    )
    assert "alert" not in doc.text and "color" not in doc.text and "ignored" not in doc.text


def test_html_with_meta_but_no_body_text(corpus, settings):
    head = HTML.split("<body>")[0]
    err = refused(write(corpus, "a.html", head + "<body><script>x()</script></body></html>"), corpus, settings)
    assert err.reason == "no guideline text in the HTML body"


def test_htm_extension_is_html(corpus, settings):
    assert load_file(write(corpus, "a.htm", HTML), corpus, settings).fmt == "html"


def test_html_without_meta_is_accepted(corpus, settings):
    page = ('<html><head><title>Hi page</title><meta name="dcterms.modified" content="2025-02-03"></head>'
            "<body><h1>Hi</h1><p>text</p></body></html>")
    doc = load_file(write(corpus, "a.html", page), corpus, settings)
    assert (doc.doc_id, doc.title, doc.last_reviewed, doc.status) == ("a", "Hi", "2025-02-03", "approved")


def test_html_missing_and_unknown_meta(corpus, settings):
    html = HTML.replace('<meta name="guideline:version" content="2.0">', '<meta name="guideline:owner" content="x">')
    doc = load_file(write(corpus, "a.html", html), corpus, settings)
    assert doc.version == "1" and doc.extra == {"guideline:owner": "x"}
    assert "front matter: unknown field 'guideline:owner' kept as extra metadata" in doc.warnings


def test_html_bad_status_names_the_meta_tag(corpus, settings):
    err = refused(write(corpus, "a.html", HTML.replace("under_review", "final")), corpus, settings)
    assert err.reason == (
        "front matter: field 'status' (guideline:status) is 'final'; expected one of approved, under_review, draft"
    )


def test_html_deep_nesting_does_not_crash(corpus, settings):
    html = HTML.replace("<h3>Monitoring</h3>", "<div>" * 3000 + "deep text" + "</div>" * 3000)
    doc = load_file(write(corpus, "a.html", html), corpus, settings)
    assert "deep text" in doc.text


# --------------------------------------------------------------------------- PDF

PDF_LINES = [
    "Intrathecal baclofen for severe spasticity",
    "Intrathecal baclofen is considered when oral drugs fail or cause intolerable side effects.",
    "A test dose is given before a pump is implanted.",
]

PDF_META = {
    "/GuidelineId": "itb-pdf",
    "/Title": "Intrathecal baclofen",
    "/GuidelineVersion": "1.0",
    "/GuidelineStatus": "approved",
    "/GuidelineLastReviewed": "2025-06-01",
    "/GuidelineSources": "NICE, NG220, 2022; National MS Society, Spasticity, 2021",
}


def make_pdf(path: Path, lines: list[str] | None, meta: dict[str, str] | None = None) -> Path:
    """A real PDF written by fpdf2; pypdf adds the custom document-information keys."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    if lines:
        pdf.set_font("Helvetica", size=11)
        for line in lines:
            pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    else:
        pdf.rect(20, 20, 80, 40)  # vector drawing only: no text layer
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    if meta:
        from pypdf import PdfReader, PdfWriter

        writer = PdfWriter(clone_from=PdfReader(path))
        writer.add_metadata(meta)
        with open(path, "wb") as f:
            writer.write(f)
    return path


def test_pdf_with_metadata_and_text(corpus, settings):
    p = make_pdf(corpus / "itb.pdf", PDF_LINES, PDF_META)
    doc = load_file(p, corpus, settings)
    assert doc.fmt == "pdf"
    assert (doc.doc_id, doc.title, doc.version, doc.status, doc.last_reviewed) == (
        "itb-pdf",
        "Intrathecal baclofen",
        "1.0",
        "approved",
        "2025-06-01",
    )
    assert doc.sources == ("NICE, NG220, 2022", "National MS Society, Spasticity, 2021")
    assert "A test dose is given before a pump is implanted." in doc.text
    assert doc.content_hash == hashlib.sha256(p.read_bytes()).hexdigest()


def test_pdf_pages_are_joined(corpus, settings):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for text in ("First page says baclofen.", "Second page says tizanidine."):
        pdf.add_page()
        pdf.multi_cell(0, 6, text)
    p = corpus / "two.pdf"
    pdf.output(str(p))
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(p))
    writer.add_metadata(PDF_META)
    with open(p, "wb") as f:
        writer.write(f)
    text = load_file(p, corpus, settings).text
    assert text.index("First page says baclofen.") < text.index("Second page says tizanidine.")


def test_pdf_front_matter_in_text_when_metadata_absent(corpus, settings):
    lines = [
        "---",
        "id: itb-text",
        "title: Intrathecal baclofen",
        "version: '3'",
        "status: draft",
        "last_reviewed: 2024-11-02",
        "sources: [NICE NG220 2022]",
        "---",
        *PDF_LINES,
    ]
    doc = load_file(make_pdf(corpus / "itb.pdf", lines), corpus, settings)
    assert (doc.doc_id, doc.status, doc.version, doc.sources) == ("itb-text", "draft", "3", ("NICE NG220 2022",))
    assert doc.text.lstrip().startswith("Intrathecal baclofen for severe spasticity")
    assert "id: itb-text" not in doc.text


def test_pdf_without_any_front_matter_is_accepted(corpus, settings):
    doc = load_file(make_pdf(corpus / "itb_2025.pdf", PDF_LINES), corpus, settings)
    assert doc.doc_id == "itb_2025" and doc.status == "approved"
    assert "A test dose is given before a pump is implanted." in doc.text
    assert any(w.startswith("no 'id' given") for w in doc.warnings)


def test_pdf_bad_metadata_names_the_key(corpus, settings):
    meta = {**PDF_META, "/GuidelineStatus": "final", "/GuidelineOwner": "x"}
    del meta["/GuidelineVersion"]
    err = refused(make_pdf(corpus / "itb.pdf", PDF_LINES, meta), corpus, settings)
    assert err.reason == "front matter: field 'status' (/GuidelineStatus) is 'final'; expected one of approved, under_review, draft"


def test_pdf_without_text_layer_is_refused(corpus, settings):
    p = make_pdf(corpus / "scan.pdf", None, PDF_META)
    assert refused(p, corpus, settings).reason == "no text layer (scanned PDF?)"


def test_damaged_pdf_is_refused(corpus, settings):
    good = make_pdf(corpus / "itb.pdf", PDF_LINES, PDF_META).read_bytes()
    p = write(corpus, "broken.pdf", good[: len(good) // 3])
    assert refused(p, corpus, settings).reason.startswith("PDF could not be read: ")


def test_not_a_pdf_is_refused(corpus, settings):
    err = refused(write(corpus, "fake.pdf", md()), corpus, settings)
    assert err.reason == "PDF could not be read: no %PDF header (not a PDF file)"


# --------------------------------------------------------------------------- corpus


def test_iter_corpus_files_filters_and_sorts(corpus):
    for name in ["b.md", "a.txt", "README.md", ".hidden.md", ".git/x.md", "sub/README.md", "sub/c.html",
                 "d.pdf", "notes.docx", "e.MD"]:
        write(corpus, name, "x")
    names = [p.relative_to(corpus).as_posix() for p in iter_corpus_files(corpus)]
    assert names == ["a.txt", "b.md", "d.pdf", "e.MD", "sub/README.md", "sub/c.html"]


def test_load_corpus_collects_every_error(corpus, settings):
    write(corpus, "README.md", "# About this corpus\n")  # skipped, not an error
    write(corpus, "a.md", md(doc_id="a"))
    write(corpus, "b.md", md(doc_id="b").replace("status: approved", "status: final"))
    write(corpus, "c.md", b"")
    write(corpus, "d.md", md(doc_id="a"))  # same id as a.md
    write(corpus, "e.docx", b"PK")
    write(corpus, "f.txt", md(doc_id="f"))
    docs, errors = load_corpus(corpus, settings)
    assert [d.doc_id for d in docs] == ["a", "f"]
    by_path = {e.path: e.reason for e in errors}
    assert set(by_path) == {"b.md", "c.md", "d.md", "e.docx"}
    assert by_path["b.md"].startswith("front matter: field 'status' is 'final'")
    assert by_path["c.md"] == "empty file"
    assert by_path["d.md"] == "duplicate id 'a' (also in a.md)"
    assert by_path["e.docx"].startswith("unsupported file type '.docx'")


def test_load_corpus_missing_directory(tmp_path, settings):
    docs, errors = load_corpus(tmp_path / "nope", settings)
    assert docs == []
    assert len(errors) == 1 and errors[0].reason == "corpus directory does not exist"


def test_module_import_stays_light():
    code = ("import sys, ingest.load; "
            "print(sorted(m for m in ('pypdf', 'bs4', 'pdfplumber') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
