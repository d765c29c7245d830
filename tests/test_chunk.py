from ingest.chunk import chunk_document, embed_text
from ingest.records import SourceDoc


def _doc(text, **kw):
    base = dict(doc_id="d1", title="Doc One", version="1", status="approved", last_reviewed="2026-01-01",
                sources=("Body, Title, 2020",), path="d1.md", fmt="markdown", text=text, content_hash="h")
    base.update(kw)
    return SourceDoc(**base)


BODY = """# Doc One

## Key recommendations
Baclofen is first-line for spasticity. Tizanidine is an alternative.

## Drugs
### Tizanidine
Tizanidine reaches peak effect 1 to 2 hours after a dose.

### Baclofen
Baclofen should not be stopped abruptly.
"""


def test_sections_keep_heading_path_and_offsets(settings):
    doc = _doc(BODY)
    chunks = chunk_document(doc, settings)
    sections = [c.section for c in chunks]
    assert sections == ["Doc One > Key recommendations", "Doc One > Drugs > Tizanidine", "Doc One > Drugs > Baclofen"]
    for c in chunks:
        assert doc.text[c.start:c.end] == c.text
        assert c.doc_id == "d1" and c.version == "1" and c.status == "approved"
    assert chunks[1].heading == "Tizanidine"
    assert embed_text(chunks[1]).startswith("Doc One > Drugs > Tizanidine\n")


def test_ids_are_stable_and_change_only_with_text(settings):
    a = chunk_document(_doc(BODY), settings)
    b = chunk_document(_doc(BODY), settings)
    assert [c.chunk_id for c in a] == [c.chunk_id for c in b]
    edited = BODY.replace("should not be stopped abruptly", "must be tapered")
    c = chunk_document(_doc(edited), settings)
    assert [x.chunk_id for x in c][:2] == [x.chunk_id for x in a][:2]
    assert c[2].chunk_id != a[2].chunk_id


def test_long_sections_split_at_boundaries_within_size(settings):
    items = "\n".join(f"- Item number {i} is a complete sentence about exercise therapy." for i in range(60))
    doc = _doc(f"# Doc One\n\n## Long\n{items}\n")
    chunks = chunk_document(doc, settings)
    assert len(chunks) > 2
    for c in chunks:
        assert len(c.text) <= settings.chunk_size
        assert c.text.startswith("- Item number")  # never cut mid-item
        assert doc.text[c.start:c.end] == c.text


def test_document_without_headings_hangs_under_title(settings):
    doc = _doc("Plain text guidance about acetaminophen dosing limits in adults.", fmt="text")
    (c,) = chunk_document(doc, settings)
    assert c.section == "Doc One"
