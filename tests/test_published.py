"""Guidance as published: PDF layout, HTML and Markdown tables, reference markers,
numbered recommendations, non-answer sections. Fixtures in tests/fixtures/published are
written for these tests (in our own words); the real VA/DoD PDF is tested in
tests/test_published_real.py."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from core.settings import Settings
from ingest.chunk import chunk_document
from ingest.load import load_file
from ingest.parse.refs import strip_refs

FIXTURES = Path(__file__).parent / "fixtures" / "published"

MARKERS = re.compile(r"\[\[?\d+\]?\]|\(#ref|\u200b|[\u00b9\u00b2\u00b3\u2070-\u2079]|\(\s*(?:figure|table)\s+\d", re.I)


def assert_clean(text: str) -> None:
    m = MARKERS.search(text)
    assert m is None, f"reference marker {m.group()!r} left in: {text}"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    d = tmp_path / "corpus"
    d.mkdir()
    return d


@pytest.fixture
def settings(tmp_path: Path, corpus: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", corpus_dir=corpus)


def chunks_of(name: str, corpus: Path, settings: Settings):
    shutil.copy(FIXTURES / name, corpus / name)
    doc = load_file(corpus / name, corpus, settings)
    return doc, chunk_document(doc, settings)


# --------------------------------------------------------------------------- reference markers


@pytest.mark.parametrize(("raw", "clean", "refs"), [
    ("It helps.\u200b[[46]](#refitem-1192150-9DC749D5) Next.", "It helps. Next.", ("46",)),
    ("Baclofen is first line [3, 4].", "Baclofen is first line.", ("3, 4",)),
    ("Use heat[^12] first.", "Use heat first.", ("12",)),
    ("Exercise helps\u00b9\u00b2 most people.", "Exercise helps most people.", ("12",)),
    ("Stretch daily (Figure 1, Table 6).", "Stretch daily.", ("Figure 1, Table 6",)),
    ("Offer it<sup>7</sup> early.", "Offer it early.", ("7",)),
    ("A risk ratio [RR] of 1.25 was seen.", "A risk ratio [RR] of 1.25 was seen.", ()),
    ("Kolber et al. (2021) found a benefit.", "Kolber et al. (2021) found a benefit.", ()),
])
def test_reference_markers_are_stripped_and_kept(raw, clean, refs):
    got = strip_refs(raw)
    assert (got.text, got.refs) == (clean, refs)


def test_parenthesised_numbers_only_in_documents_that_cite_that_way():
    text = "Pain improved.(53) Function too,(54, 55) as in Recommendation 27 (186-188) and the review (2019)."
    got = strip_refs(text, paren_numbers=True)
    assert got.text == "Pain improved. Function too, as in Recommendation 27 and the review (2019)."
    assert got.refs == ("53", "54, 55", "186-188")
    assert strip_refs("Take 2 tablets (1) at night.").text == "Take 2 tablets (1) at night."


def test_recommendation_passage_carries_its_strength_in_its_first_sentence():
    from ingest.parse.recs import answer_text, recommendation

    para = ("Recommendation 27. For patients with chronic low back pain, we suggest against opioids. "
            "For patients already on long-term opioids, see the opioid guideline. (Weak against | Reviewed, New-replaced)")
    rec = recommendation(para)
    assert (rec.label, rec.strength) == ("Recommendation 27", "Weak against")
    assert answer_text(para, rec) == ("For patients with chronic low back pain, we suggest against opioids (Weak against). "
                                      "For patients already on long-term opioids, see the opioid guideline.")
    acp = recommendation("Recommendation 2: Clinicians should offer exercise (Grade: strong recommendation; "
                         "moderate-quality evidence).")
    assert acp.strength == "Strong recommendation; moderate-quality evidence"
    assert recommendation("1. Reassure the patient that acute pain usually improves.") is None


# --------------------------------------------------------------------------- NICE-style HTML


def test_nice_style_html_page_ingests_as_published(corpus, settings):
    doc, chunks = chunks_of("nice-style-sciatica.html", corpus, settings)
    assert doc.doc_id == "nice-style-sciatica"
    assert doc.title == "Sciatica in adults: assessment and non-invasive management"
    assert doc.last_reviewed == "2024-11-05"  # 'Last updated', the latest date the page states
    assert doc.status == "approved"
    assert doc.sources[0].startswith("Example Institute for Health Guidance")
    text = "\n".join(c.text for c in chunks)
    for noise in ("cookies", "Breadcrumb", "All rights reserved", "analytics", "Home", "Journal of Spine"):
        assert noise not in text  # navigation, banners, footer, scripts and the reference list
    for c in chunks:
        assert_clean(c.text)
    recs = {c.label: c for c in chunks if c.kind == "recommendation"}
    assert set(recs) == {"1.1.1", "1.1.2", "1.2.1"}
    # the number is the passage's label, not part of the sentence an answer quotes
    assert recs["1.1.1"].text.startswith("Ask every person with leg pain")
    assert recs["1.1.1"].refs == ("3",)
    rows = [c for c in chunks if c.kind == "table_row"]
    assert len(rows) == 3
    assert all(c.section.endswith("> Table 2. Medicines that may be tried for persistent sciatica") for c in rows)
    duloxetine = next(c for c in rows if "Duloxetine" in c.text)
    assert duloxetine.text.startswith("Medicine: Duloxetine; Starting dose: 30 mg once a day; "
                                      "Usual maximum: 120 mg a day; Main cautions: Nausea; liver disease.")
    # the table's footnote travels with every row
    assert all("do not prescribe amitriptyline together with duloxetine" in c.text for c in rows)
    # the pointer sentence is gone: the table it points to is there
    assert "See Table 2" not in text


# --------------------------------------------------------------------------- Markdown chapter


def test_markdown_chapter_with_anchors_and_drug_table(corpus, settings):
    doc, chunks = chunks_of("ms-spasticity-chapter.md", corpus, settings)
    assert doc.doc_id == "ms-spasticity-chapter"
    assert doc.last_reviewed == "2023-09-18"
    assert doc.extra["publisher"] == "Example Neurology Handbook"
    assert any("unknown field 'tags'" in w for w in doc.warnings)
    for c in chunks:
        assert_clean(c.text)
    sections = {c.section.split(" > ")[-1] for c in chunks}
    assert "Acknowledgements" not in sections and "References" not in sections
    treatment = next(c for c in chunks if c.kind == "text" and c.section.endswith("> Treatment"))
    assert "Baclofen is the standard initial medication for spasticity in multiple sclerosis." in treatment.text
    # the sentence starting 'However, it ...' stays with the sentence it depends on
    assert "multiple sclerosis. However, it causes drowsiness" in treatment.text
    assert {"51", "12", "Figure 2, Table 6"} <= set(treatment.refs)
    assert "See Table 6" not in treatment.text
    rows = {c.text.split(";")[0]: c for c in chunks if c.kind == "table_row"}
    assert set(rows) == {"Drug: Baclofen", "Drug: Tizanidine", "Drug: Gabapentin"}
    baclofen = rows["Drug: Baclofen"]
    assert baclofen.section.endswith("> Treatment > Table 6. Oral drugs for spasticity in multiple sclerosis")
    assert "Maximum dose: 100 mg a day in divided doses" in baclofen.text
    assert "Note: Do not stop baclofen abruptly" in baclofen.text
    assert baclofen.label == "Table 6"


# --------------------------------------------------------------------------- PDF layout

HEADER = "Example Spine Society lumbar guideline, June 2024"
LEFT = [
    "Most acute low back pain settles within six",
    "weeks. Physiotherapists teach a graded pro-",
    "gramme of exercise and walking that the",
    "patient continues at home every day.",
]
RIGHT = [
    "Imaging is kept for red flags or for pain that",
    "has not improved after six weeks of care.",
    "Plain radiographs add little for most patients",
    "and expose them to radiation without benefit.",
]


def make_layout_pdf(path: Path) -> Path:
    """Four pages with a running header and 'Page n of 4' footer; a title and numbered
    headings in a larger font; two-column text with a hyphenated line end; a ruled table."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    for n in range(1, 5):
        pdf.add_page()
        pdf.set_font("Helvetica", size=8)
        pdf.set_xy(10, 6)
        pdf.cell(0, 4, HEADER)
        pdf.set_xy(10, 288)
        pdf.cell(0, 4, f"Page {n} of 4")
        y = 30
        if n == 1:
            pdf.set_font("Helvetica", "B", 20)
            pdf.set_xy(10, y)
            pdf.cell(0, 10, "Lumbar pain in adults")
            y += 20
        pdf.set_font("Helvetica", "B", 13)
        pdf.set_xy(10, y)
        pdf.cell(0, 7, f"{n}. Section number {n}")
        y += 12
        pdf.set_font("Helvetica", size=10)
        for col_x, lines in ((10, LEFT), (110, RIGHT)):
            for i, line in enumerate(lines * 4):
                pdf.set_xy(col_x, y + i * 5)
                pdf.cell(88, 5, line)
        if n == 3:
            pdf.set_xy(10, 200)
            pdf.set_font("Helvetica", "B", 10)
            pdf.cell(0, 6, "Table 1. Oral drugs for back pain")
            pdf.set_xy(10, 208)
            pdf.set_font("Helvetica", size=10)
            with pdf.table(col_widths=(40, 50, 50), width=140, align="LEFT") as table:
                for row in (("Drug", "Starting dose", "Maximum dose"),
                            ("Naproxen", "250 mg twice a day", "1000 mg a day"),
                            ("Ibuprofen", "200 mg three times a day", "1200 mg a day")):
                    r = table.row()
                    for cell in row:
                        r.cell(cell)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


def test_pdf_layout_becomes_clean_structured_passages(corpus, settings):
    p = make_layout_pdf(corpus / "lumbar-2024.pdf")
    doc = load_file(p, corpus, settings)
    assert doc.title == "Lumbar pain in adults"
    text = doc.text
    assert HEADER not in text and "Page 2 of 4" not in text  # running header and footer dropped
    assert "## 1. Section number 1" in text and "## 4. Section number 4" in text
    assert "graded programme of exercise" in text  # hyphenated line end joined
    # two columns: the left column's text is read whole before the right column's
    left = text.index("patient continues at home every day.")
    right = text.index("Imaging is kept for red flags")
    assert left < right
    assert "six Imaging" not in text and "weeks. Physiotherapists" in text
    chunks = chunk_document(doc, settings)
    rows = [c for c in chunks if c.kind == "table_row"]
    assert [c.text for c in rows] == [
        "Drug: Naproxen; Starting dose: 250 mg twice a day; Maximum dose: 1000 mg a day.",
        "Drug: Ibuprofen; Starting dose: 200 mg three times a day; Maximum dose: 1200 mg a day.",
    ]
    assert rows[0].section.endswith("> Table 1. Oral drugs for back pain")
    for c in chunks:
        assert "Page " not in c.text and HEADER not in c.text


def test_pdf_parse_is_cached_by_content(corpus, settings):
    p = make_layout_pdf(corpus / "lumbar-2024.pdf")
    first = load_file(p, corpus, settings)
    cached = list((settings.data_dir / "parse-cache").glob("*.json"))
    assert len(cached) == 1
    assert load_file(p, corpus, settings).text == first.text


def test_ligatures_and_soft_hyphens_are_normalised():
    from ingest.parse.pdf import _LIGATURES, _join_lines

    assert "\ufb01rst \ufb02ow e\ufb00ect".translate(_LIGATURES) == "first flow effect"
    vocab = {"clinician-directed": 2}
    assert _join_lines(["a structured clinician-", "directed programme"], vocab) == \
        "a structured clinician-directed programme"
    assert _join_lines(["the pa-", "tient"], {}) == "the patient"


def test_a_passage_never_starts_with_a_word_pointing_back(corpus, settings):
    first = ("Baclofen is the usual first oral drug for spasticity in multiple sclerosis. " * 10).strip()
    second = ("However, it often causes drowsiness and weakness at higher doses, so the dose is raised slowly "
              "over several weeks while the patient reports on walking and transfers.")
    third = ("Tizanidine is the alternative oral drug when baclofen is not tolerated by the patient. " * 8).strip()
    (corpus / "spasticity-notes.md").write_text(f"# Spasticity notes\n\n## Drugs\n\n{first}\n\n{second}\n\n{third}\n")
    doc = load_file(corpus / "spasticity-notes.md", corpus, settings)
    chunks = chunk_document(doc, settings)
    assert len(chunks) == 2  # split, but not between the sentence and the one it depends on
    assert chunks[0].text.endswith(second) and chunks[0].text.startswith("Baclofen is the usual")
    assert chunks[1].text.startswith("Tizanidine is the alternative")
    for c in chunks:
        assert doc.text[c.start:c.end] == c.text  # offsets still index the document


def test_a_recommendation_is_searched_with_the_start_of_its_rationale(corpus, settings):
    from ingest.chunk import embed_text

    body = ("# Guideline\n\n## Drugs\n\n#### Recommendation 4\n\n"
            "Recommendation 4. For adults with chronic back pain, we suggest duloxetine. (Weak for | Reviewed)\n\n"
            "Two trials of the serotonin and noradrenaline reuptake inhibitor showed a small benefit on pain.\n\n"
            "Nausea was the most common reason to stop.\n")
    (corpus / "g.md").write_text(body)
    doc = load_file(corpus / "g.md", corpus, settings)
    rec = next(c for c in chunk_document(doc, settings) if c.kind == "recommendation")
    assert rec.text == "For adults with chronic back pain, we suggest duloxetine (Weak for)."
    assert rec.context.startswith("Two trials of the serotonin and noradrenaline")
    assert "Nausea" not in rec.context
    assert embed_text(rec).endswith(rec.context) and rec.context not in rec.text
