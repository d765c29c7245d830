"""Admin page (AppTest): password lock with growing delays, document list, uploads,
re-ingest with its report, failed runs that leave the serving version alone, rollback."""

from __future__ import annotations

import time

import pytest
from uikit import NEW_GUIDELINE, PASSWORD, app_env, new_app, texts

from ingest import versions
from ui import jobs


def _admin(monkeypatch, settings, password=PASSWORD):
    app_env(monkeypatch, settings, password)
    at = new_app().run()
    assert not at.exception, at.exception
    at.switch_page("admin.py").run()
    assert not at.exception, at.exception
    return at


def _login(at, password=PASSWORD):
    at.text_input[0].set_value(password)
    at.button[0].click().run()  # the form's "Unlock"
    assert not at.exception, at.exception
    return at


def _button(at, prefix: str):
    return next(b for b in at.button if b.label.startswith(prefix))


def _reingest(at):
    """Click "Re-ingest now", see the progress, wait for the background run, redraw."""
    _button(at, "Re-ingest now").click().run()
    assert not at.exception, at.exception
    running = jobs.board().latest("ingest", jobs.settings_key(_env_settings()))
    assert running is not None
    if running.running:
        assert len(at.get("progress")) == 1 and _button(at, "Re-ingest now").disabled
    jobs.board().wait(timeout=300)
    at.run()
    assert not at.exception, at.exception
    return at


def _env_settings():
    """The settings the app under test reads from the (monkeypatched) environment."""
    from core.settings import load_settings

    return load_settings()


def test_admin_is_disabled_without_a_password(monkeypatch, empty_settings):
    at = _admin(monkeypatch, empty_settings, password=None)
    assert any("Admin is disabled" in i and "GUIDELINE_ADMIN_PASSWORD" in i for i in texts(at.info))
    assert len(at.text_input) == 0 and len(at.file_uploader) == 0


def test_wrong_passwords_wait_longer_each_time_then_the_right_one_unlocks(monkeypatch, empty_settings):
    at = _admin(monkeypatch, empty_settings)
    assert [t.label for t in at.text_input] == ["Admin password"]
    waits = []
    for _ in range(2):
        t0 = time.monotonic()
        _login(at, "not the password")
        waits.append(time.monotonic() - t0)
        assert "Wrong password." in texts(at.error)
        assert len(at.file_uploader) == 0
    assert waits[0] >= 1.0 and waits[1] >= 2.0 and waits[1] > waits[0]
    assert at.session_state["admin_failures"] == 2
    _login(at)
    assert at.session_state["admin_ok"] and at.session_state["admin_failures"] == 0
    assert [s.value for s in at.subheader] == ["Documents", "Upload guideline files", "Re-ingest", "Corpus versions"]
    # without an index the document list says how to build one
    assert any("guideline ingest" in i for i in texts(at.info))


def test_upload_validates_every_file_and_saves_only_good_ones(monkeypatch, empty_settings):
    s = empty_settings
    at = _login(_admin(monkeypatch, s))
    bad = NEW_GUIDELINE.replace("id: ms-fatigue-and-pain", "id: Not An Id").encode()
    updated = (s.corpus_dir / "ms-spasticity.md").read_text().replace("Baclofen", "Baclofen (oral)", 1)
    at.file_uploader[0].set_value([
        ("ms-fatigue-and-pain.md", NEW_GUIDELINE.encode(), "text/markdown"),
        ("broken.md", bad, "text/markdown"),
        ("ms-spasticity.md", updated.encode(), "text/markdown"),
    ]).run()
    assert not at.exception, at.exception
    plan = at.dataframe[-1].value
    actions = dict(zip(plan["File"], plan["Action"]))
    assert actions["ms-fatigue-and-pain.md"] == "new document"
    assert actions["ms-spasticity.md"].startswith("replaces the corpus file")
    assert actions["broken.md"].startswith("refused: ")
    assert any(e.startswith("broken.md: ") and "id" in e for e in texts(at.error))
    assert not (s.corpus_dir / "ms-fatigue-and-pain.md").exists()  # nothing written before Save

    _button(at, "Save to corpus (1 new, 1 replacing)").click().run()
    assert not at.exception, at.exception
    assert (s.corpus_dir / "ms-fatigue-and-pain.md").read_text() == NEW_GUIDELINE
    assert (s.corpus_dir / "ms-spasticity.md").read_text() == updated
    assert not (s.corpus_dir / "broken.md").exists()
    assert any("Re-ingest to serve them" in m for m in texts(at.success))


@pytest.mark.integration
def test_reingest_shows_the_report_and_rollback_restores_the_previous_version(monkeypatch, ui_index):
    s = ui_index
    before = versions.current_version(s)
    at = _login(_admin(monkeypatch, s))
    docs = at.dataframe[0].value
    assert len(docs) >= 14 and "ms-back-pain" in set(docs["ID"])
    assert list(docs.columns) == ["ID", "Title", "Version", "Status", "Last reviewed", "Passages", "File"]

    (s.corpus_dir / "ms-fatigue-and-pain.md").write_text(NEW_GUIDELINE)
    _reingest(at)
    after = versions.current_version(s)
    assert after != before
    assert any(after in m and "now serving" in m for m in texts(at.success))
    counts = next(d.value for d in at.dataframe if "Added" in d.value.columns)
    doc_row = counts[counts[""] == "Documents"].iloc[0]
    assert (doc_row["Added"], doc_row["Deleted"]) == (1, 0) and doc_row["Unchanged"] == len(docs)
    assert "ms-fatigue-and-pain" in set(at.dataframe[0].value["ID"])  # the list shows the new version

    at.selectbox[0].set_value(before).run()
    _button(at, "Roll back").click().run()
    assert not at.exception, at.exception
    assert versions.current_version(s) == before
    assert any(before in m for m in texts(at.success))


@pytest.mark.integration
def test_failed_reingest_lists_file_errors_and_keeps_serving(monkeypatch, ui_index):
    s = ui_index
    before = versions.current_version(s)
    (s.corpus_dir / "ms-fatigue-and-pain.md").write_text(NEW_GUIDELINE.replace("status: approved", "status: final"))
    at = _reingest(_login(_admin(monkeypatch, s)))
    assert versions.current_version(s) == before
    assert any("failed validation" in e for e in texts(at.error))
    errors = next(d.value for d in at.dataframe if "Problem" in d.value.columns)
    assert list(errors["File"]) == ["ms-fatigue-and-pain.md"] and "final" in errors["Problem"].iloc[0]
    assert any(before in i and "keeps serving" in i for i in texts(at.info))


@pytest.mark.integration
def test_rollback_pin_conflicts_and_version_changes_are_shown(monkeypatch, fake_index, tmp_path):
    from uikit import copy_index

    from ingest.index import run_ingest

    src, emb = fake_index
    s = copy_index(src, tmp_path)
    v1 = versions.current_version(s)
    p = s.corpus_dir / "ms-spasticity.md"
    p.write_text(p.read_text().replace("is 36 mg per day", "is 24 mg per day"))
    v2 = run_ingest(s, embedder=emb).corpus_version
    at = _login(_admin(monkeypatch, s))

    table = next(d.value for d in at.dataframe if "Pinned" in d.value.columns)
    row = table[table["Version"] == v2].iloc[0]
    assert "~ms-spasticity" in row["Changes"] and row["Serving"] == "yes" and row["Pinned"] == ""
    conflicts = next(d.value for d in at.dataframe if "Disagreement" in d.value.columns)
    assert "maximum of tizanidine" in set(conflicts["Disagreement"])
    assert {"24 mg per day", "36 mg per day"} <= set(conflicts["States"])

    at.selectbox[0].set_value(v1).run()
    _button(at, "Roll back").click().run()
    assert not at.exception, at.exception
    assert versions.current_version(s) == v1
    assert any("pinned by a rollback" in w and "ms-spasticity.md (changed)" in w for w in texts(at.warning))
    table = next(d.value for d in at.dataframe if "Pinned" in d.value.columns)
    assert table[table["Version"] == v1].iloc[0]["Pinned"] == "yes"


@pytest.mark.integration
def test_a_reingest_that_would_delete_most_documents_asks_first(monkeypatch, fake_index, tmp_path):
    from uikit import copy_index

    src, emb = fake_index
    s = copy_index(src, tmp_path)
    before = versions.current_version(s)
    files = sorted(s.corpus_dir.glob("*.md"))
    gone = [f for f in files if f.name not in ("README.md", "ms-spasticity.md", "ms-back-pain.md")]
    for f in gone:
        f.unlink()
    at = _reingest(_login(_admin(monkeypatch, s)))
    assert versions.current_version(s) == before
    assert any("would delete" in e and "Nothing was changed" in e for e in texts(at.error))
    confirm = _button(at, "Delete these")
    assert f"Delete these {len(gone)} documents" in confirm.label
    confirm.click().run()
    assert not at.exception, at.exception
    jobs.board().wait(timeout=600)
    at.run()
    assert versions.current_version(s) != before
    served = versions.read_manifest(s, versions.current_version(s))["documents"]
    assert set(served) == {"ms-spasticity", "ms-back-pain"}
