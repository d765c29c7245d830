"""Upload validation/saving and saved evaluation runs (no model: fake embedder where an index is needed)."""

from __future__ import annotations

import json

import pytest
from uikit import NEW_GUIDELINE

from evals.report import load_run
from evals.schema import parse_lines
from ui import actions


def _docs(settings):
    from ingest.load import load_corpus

    docs, _ = load_corpus(settings.corpus_dir, settings)
    return [{"doc_id": d.doc_id, "path": d.path, "version": d.version} for d in docs]


def test_new_file_is_planned_as_new_and_saved(empty_settings):
    s = empty_settings
    plan = actions.plan_upload("ms-fatigue-and-pain.md", NEW_GUIDELINE.encode(), s, _docs(s))
    assert plan.action == "new" and plan.doc_id == "ms-fatigue-and-pain" and plan.version == "1.0"
    path = actions.save_upload(plan, s)
    assert path == s.corpus_dir / "ms-fatigue-and-pain.md"
    assert path.read_text() == NEW_GUIDELINE
    assert not [p for p in s.corpus_dir.iterdir() if p.name.startswith(".")]  # no temp file left


def test_changed_existing_file_is_an_update_naming_both_versions(empty_settings):
    s = empty_settings
    path = s.corpus_dir / "ms-spasticity.md"
    old = path.read_text()
    old_version = next(d["version"] for d in _docs(s) if d["doc_id"] == "ms-spasticity")
    new = old.replace(f'version: "{old_version}"', 'version: "99.0"')
    assert new != old
    plan = actions.plan_upload("ms-spasticity.md", new.encode(), s, _docs(s))
    assert (plan.action, plan.previous_version, plan.version) == ("updated", old_version, "99.0")
    assert path.read_text() == old  # planning never writes
    actions.save_upload(plan, s)
    assert path.read_text() == new


def test_identical_file_is_not_saved_again(empty_settings):
    s = empty_settings
    data = (s.corpus_dir / "ms-spasticity.md").read_bytes()
    plan = actions.plan_upload("ms-spasticity.md", data, s, _docs(s))
    assert plan.action == "unchanged" and not plan.savable


def test_bad_file_is_refused_with_the_loaders_reason(empty_settings):
    s = empty_settings
    bad = NEW_GUIDELINE.replace("status: approved", "status: finished")
    plan = actions.plan_upload("ms-fatigue-and-pain.md", bad.encode(), s, _docs(s))
    assert plan.action == "refused" and "status" in plan.reason and "finished" in plan.reason
    assert not (s.corpus_dir / "ms-fatigue-and-pain.md").exists()


def test_unsupported_type_hidden_and_traversal_names_are_refused(empty_settings):
    s = empty_settings
    assert actions.plan_upload("notes.docx", b"x", s).action == "refused"
    assert actions.plan_upload(".hidden.md", NEW_GUIDELINE.encode(), s).action == "refused"
    assert actions.plan_upload("README.md", NEW_GUIDELINE.encode(), s).action == "refused"
    # a path in the name is reduced to its last part, which must then match the document id
    plan = actions.plan_upload("../../ms-fatigue-and-pain.md", NEW_GUIDELINE.encode(), s)
    assert plan.action == "new" and plan.name == "ms-fatigue-and-pain.md"


def test_reusing_another_files_document_id_is_refused(empty_settings):
    s = empty_settings
    html = ('<html><head><meta name="guideline:id" content="ms-spasticity">'
            '<meta name="guideline:title" content="Spasticity copy">'
            '<meta name="guideline:version" content="1"><meta name="guideline:status" content="approved">'
            '<meta name="guideline:last_reviewed" content="2026-01-01">'
            '<meta name="guideline:sources" content="NICE, MS in adults (NG220), 2022"></head>'
            '<body><h1>Spasticity</h1><p>Baclofen is a first-line oral drug for spasticity.</p></body></html>')
    plan = actions.plan_upload("spasticity-copy.html", html.encode(), s, _docs(s))
    assert plan.action == "refused", plan
    assert "ms-spasticity.md" in plan.reason


def test_runs_are_saved_and_compared_with_the_previous_run_of_the_same_set(fake_index, tmp_path):
    from assistant.pipeline import Assistant

    src, emb = fake_index
    s = src.model_copy(update={"data_dir": tmp_path / "data"})
    # reuse the built index read-only; runs go to this test's own data dir
    import shutil

    shutil.copytree(src.data_dir, s.data_dir, ignore=shutil.ignore_patterns("audit.sqlite*", "eval_runs"))
    a = Assistant(s, embedder=emb, audit=False)

    def answer_fn(q, history=(), audience="clinician", settings=None):
        return a.answer(q, history, audience)

    lines = [
        json.dumps({"id": "seed", "category": "core", "question": "treating back pain in multiple sclerosis",
                    "expect": {"must_cite": True}}),
        json.dumps({"id": "oos", "category": "out_of_scope", "question": "What is the capital of France?",
                    "expect": {"out_of_scope": True}}),
    ]
    cases = parse_lines(lines, path="mini.jsonl")
    seen = []
    first = actions.run_and_save(cases, set_name="mini.jsonl", set_bytes="\n".join(lines).encode(),
                                 settings=s, answer_fn=answer_fn, progress=lambda d, t, c: seen.append((d, t, c)))
    assert seen == [(1, 2, "seed"), (2, 2, "oos")]
    summary, results = load_run(first)
    assert summary["set"]["name"] == "mini.jsonl" and summary["metrics"]["cases"] == 2
    assert {r["id"] for r in results} == {"seed", "oos"}
    assert "comparison" not in summary and "gates" in summary

    second = actions.run_and_save(cases, set_name="mini.jsonl", set_bytes=b"", settings=s, answer_fn=answer_fn)
    assert second != first and actions.list_runs(s)[0] == second
    summary2, _ = load_run(second)
    assert summary2["comparison"]["previous"]["dir"] == first.name
    assert actions.previous_run_of(s, "other.jsonl") is None


def test_gold_sources_are_checked_against_the_served_corpus(fake_index):
    from evals.schema import EvalSetError, parse_lines_numbered
    from ui.actions import check_gold_sources

    s, _ = fake_index
    good = '{"id": "a", "category": "core", "question": "q?", "expect": {"sources": ["ms-spasticity#Tizanidine"]}}'
    bad = good.replace('"a"', '"b"').replace("ms-spasticity#", "ms-spasticty#")
    check_gold_sources(parse_lines_numbered([good]), "ok.jsonl", s)
    with pytest.raises(EvalSetError) as ei:
        check_gold_sources(parse_lines_numbered([good, bad]), "bad.jsonl", s)
    assert ei.value.line == 2 and ei.value.field == "expect.sources[0]" and "did you mean 'ms-spasticity'" in str(ei.value)
