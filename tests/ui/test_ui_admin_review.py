"""Admin upload review (AppTest + the functions behind it): a document as published shows its
derived metadata in a form and its parse; confirming writes a NAME.meta.yaml sidecar."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from uikit import PASSWORD, app_env, new_app, texts

from core.errors import FileError
from ingest.load import load_file
from ui import review

CHAPTER = (Path(__file__).parent.parent / "fixtures" / "published" / "ms-spasticity-chapter.md").read_bytes()


def test_preview_shows_derived_metadata_and_the_parse(empty_settings):
    pv = review.preview("ms-spasticity-chapter.md", CHAPTER, empty_settings)
    assert pv.meta["id"] == "ms-spasticity-chapter" and pv.meta["last_reviewed"] == "2023-09-18"
    assert pv.origin["id"].startswith("derived") and pv.origin["title"] == "front matter"
    assert pv.kinds == {"text": 2, "table_row": 3}
    assert ("Table 6. Oral drugs for spasticity in multiple sclerosis", 3) in pv.tables
    assert any(s.endswith("> Treatment") for s, _ in pv.sections)
    assert any("unknown field 'publisher'" in w for w in pv.warnings)


def test_sidecar_is_checked_written_and_used(empty_settings):
    s = empty_settings
    (s.corpus_dir / "ms-spasticity-chapter.md").write_bytes(CHAPTER)
    with pytest.raises(FileError, match="sidecar: field 'status' is 'final'"):
        review.save_sidecar("ms-spasticity-chapter.md", {"status": "final"}, s)
    path = review.save_sidecar("ms-spasticity-chapter.md",
                               {"id": "ms-spasticity-handbook", "version": "2023.2", "status": "under_review",
                                "sources": ["Example Neurology Handbook, chapter 14, 2023"]}, s)
    assert path.name == "ms-spasticity-chapter.meta.yaml"
    assert yaml.safe_load(path.read_text())["version"] == "2023.2"
    doc = load_file(s.corpus_dir / "ms-spasticity-chapter.md", s.corpus_dir, s)
    assert (doc.doc_id, doc.version, doc.status) == ("ms-spasticity-handbook", "2023.2", "under_review")
    assert doc.origin["id"] == "sidecar"


def test_admin_upload_form_confirms_metadata_into_a_sidecar(monkeypatch, empty_settings):
    s = empty_settings
    app_env(monkeypatch, s, PASSWORD)
    at = new_app().run()
    at.switch_page("admin.py").run()
    at.text_input[0].set_value(PASSWORD)
    at.button[0].click().run()
    assert not at.exception, at.exception
    at.file_uploader[0].set_value([("ms-spasticity-chapter.md", CHAPTER, "text/markdown")]).run()
    assert not at.exception, at.exception
    assert any("Derived (please confirm)" in c and "**id** from the file name" in c for c in texts(at.caption))
    assert any(m.startswith("**Parse:** 5 passages (3 table row, 2 text)") for m in texts(at.markdown))
    fields = {t.label: t for t in at.text_input}
    assert fields["ID"].value == "ms-spasticity-chapter"
    fields["Version"].set_value("14.1")
    next(b for b in at.button if b.label == "Save to corpus with this metadata").click().run()
    assert not at.exception, at.exception
    assert (s.corpus_dir / "ms-spasticity-chapter.md").read_bytes() == CHAPTER
    side = yaml.safe_load((s.corpus_dir / "ms-spasticity-chapter.meta.yaml").read_text())
    assert side["version"] == "14.1" and side["id"] == "ms-spasticity-chapter"
    assert any("Re-ingest to serve it" in m for m in texts(at.success))
