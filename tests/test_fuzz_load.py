"""Fuzzing the loaders: whatever the bytes, the result is a SourceDoc or a FileError naming the file."""

from __future__ import annotations

import string
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from core.errors import FileError
from core.settings import Settings
from ingest.load import FIELDS, load_file
from ingest.records import STATUSES, SourceDoc

FUZZ = hsettings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz-corpus")


@pytest.fixture(scope="module")
def cfg(corpus: Path) -> Settings:
    return Settings(data_dir=corpus.parent / "data", corpus_dir=corpus, max_file_bytes=20_000)


def load_or_refuse(corpus: Path, cfg: Settings, name: str, data: bytes) -> SourceDoc | FileError:
    p = corpus / name
    p.write_bytes(data)
    try:
        doc = load_file(p, corpus, cfg)
    except FileError as e:  # anything else propagates and fails the test
        assert e.path == name
        assert e.reason.strip()
        return e
    assert isinstance(doc, SourceDoc)
    assert doc.path == name and doc.text.strip()
    return doc


@FUZZ
@given(data=st.binary(max_size=3000), ext=st.sampled_from([".md", ".txt", ".html", ".pdf", ".markdown", ".htm"]))
def test_random_bytes(corpus, cfg, data, ext):
    out = load_or_refuse(corpus, cfg, "random" + ext, data)
    if isinstance(out, SourceDoc):
        # Documents are accepted as published: text without front matter loads with derived,
        # valid metadata, and every derived field is reported.
        assert out.doc_id == "random" and out.status in STATUSES
        assert date.fromisoformat(out.last_reviewed) <= date.today()
        assert {w.split(";")[0] for w in out.warnings} >= {f"no '{f}' given" for f in ("id", "version", "status")}


# --------------------------------------------------------------------------- front matter

scalars = st.one_of(
    st.text(max_size=30),
    st.integers(),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
    st.dates(),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=12)
keys = st.one_of(st.sampled_from(FIELDS), st.text(max_size=12))


@FUZZ
@given(meta=st.dictionaries(keys, values, max_size=8), body=st.text(max_size=400))
def test_random_front_matter_mapping(corpus, cfg, meta, body):
    block = yaml.safe_dump(meta, allow_unicode=True)
    load_or_refuse(corpus, cfg, "fm.md", f"---\n{block}---\n{body}".encode("utf-8", "surrogatepass"))


@FUZZ
@given(block=st.text(alphabet=string.printable + "é—[]{}:-'\"!&*|>%@`", max_size=400), body=st.text(max_size=200))
def test_random_front_matter_text(corpus, cfg, block, body):
    data = f"---\n{block}\n---\n{body}".encode("utf-8", "surrogatepass")
    load_or_refuse(corpus, cfg, "fm.txt", data)


ids = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,79}", fullmatch=True)
one_line = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=40).filter(
    lambda s: s.strip() == s and s
)


@FUZZ
@given(
    doc_id=ids,
    title=one_line,
    version=one_line,
    status=st.sampled_from(STATUSES),
    reviewed=st.dates(min_value=date(1990, 1, 1), max_value=date.today()),
    sources=st.lists(one_line, min_size=1, max_size=4),
)
def test_valid_front_matter_round_trips(corpus, cfg, doc_id, title, version, status, reviewed, sources):
    meta = {"id": doc_id, "title": title, "version": version, "status": status,
            "last_reviewed": reviewed, "sources": sources}
    body = "# Heading\n\nBaclofen is a first-line drug for spasticity in multiple sclerosis.\n"
    text = "---\n" + yaml.safe_dump(meta, allow_unicode=True) + "---\n" + body
    doc = load_or_refuse(corpus, cfg, "valid.md", text.encode("utf-8"))
    assert isinstance(doc, SourceDoc), doc
    assert (doc.doc_id, doc.title, doc.version, doc.status) == (doc_id, title, version, status)
    assert doc.last_reviewed == reviewed.isoformat()
    assert doc.sources == tuple(sources)
    assert doc.text == body


@FUZZ
@given(days=st.integers(min_value=1, max_value=40_000))
def test_future_dates_always_refused(corpus, cfg, days):
    future = date.today() + timedelta(days=days)
    text = (
        f"---\nid: a\ntitle: t\nversion: '1'\nstatus: draft\nlast_reviewed: {future.isoformat()}\n"
        "sources: [s]\n---\n# Body text here\n"
    )
    out = load_or_refuse(corpus, cfg, "future.md", text.encode())
    assert isinstance(out, FileError) and "in the future" in out.reason


# --------------------------------------------------------------------------- HTML

tags = st.sampled_from(
    ["h1", "h2", "h3", "h4", "p", "li", "ul", "ol", "div", "span", "b", "script", "style", "table", "td", "br",
     "head", "body", "meta", "title", "pre", "a", "svg", "template", "!--", "x-custom"]
)
meta_names = st.sampled_from([f"guideline:{f}" for f in FIELDS] + ["guideline:other", "GUIDELINE:ID", "description"])


@st.composite
def html_docs(draw) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 6))):
        parts.append(f'<meta name="{draw(meta_names)}" content="{draw(st.text(max_size=20))}">')
    for _ in range(draw(st.integers(0, 25))):
        choice = draw(st.integers(0, 3))
        tag = draw(tags)
        if choice == 0:
            parts.append(f"<{tag}>")
        elif choice == 1:
            parts.append(f"</{tag}>")
        elif choice == 2:
            parts.append(draw(st.text(max_size=30)))
        else:
            parts.append(draw(st.sampled_from(["<", ">", "&amp;", "&#0;", "&#xD800;", "<![CDATA[x]]>", "<?pi?>", '"', "</"])))
    return "".join(parts)


@FUZZ
@given(html=html_docs())
def test_random_html(corpus, cfg, html):
    load_or_refuse(corpus, cfg, "page.html", html.encode("utf-8", "surrogatepass"))


@FUZZ
@given(body=html_docs())
def test_random_html_body_with_valid_meta(corpus, cfg, body):
    head = "".join(
        f'<meta name="guideline:{k}" content="{v}">'
        for k, v in [("id", "x"), ("title", "T"), ("version", "1"), ("status", "draft"),
                     ("last_reviewed", "2024-01-01"), ("sources", "S")]
    )
    out = load_or_refuse(corpus, cfg, "valid.html", (f"<html><head>{head}</head><body>{body}</body></html>").encode("utf-8", "surrogatepass"))
    if isinstance(out, SourceDoc):
        # The converter emits tidy Markdown: trimmed lines, at most one blank line between blocks.
        assert "\n\n\n" not in out.text
        assert all(line == line.strip() for line in out.text.split("\n"))


# --------------------------------------------------------------------------- PDF


@pytest.fixture(scope="module")
def pdf_bytes(corpus: Path) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    for line in ["---", "id: p", "title: T", "version: '1'", "status: draft", "last_reviewed: 2024-01-01",
                 "sources: [S]", "---", "Baclofen is a first-line drug for spasticity."]:
        pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.binary(min_size=0, max_size=8), st.integers(0, 8)), min_size=1, max_size=6))
def test_damaged_pdf(corpus, cfg, pdf_bytes, edits):
    data = bytearray(pdf_bytes)
    for where, insert, cut in edits:
        i = int(where * len(data))
        data[i : i + cut] = insert
    load_or_refuse(corpus, cfg, "damaged.pdf", bytes(data))


def test_undamaged_pdf_fixture_loads(corpus, cfg, pdf_bytes):
    doc = load_or_refuse(corpus, cfg, "intact.pdf", pdf_bytes)
    assert isinstance(doc, SourceDoc) and doc.doc_id == "p"
