"""Evaluation page (AppTest): set choice and validation, a saved run's metrics, chart,
failing cases and comparison, and a run started from the page."""

from __future__ import annotations

import json
import shutil

import pytest
from uikit import app_env, new_app, texts

from core.settings import PROJECT_ROOT
from evals.report import load_run
from evals.schema import load_set, parse_lines
from ui import actions, jobs

SETS = PROJECT_ROOT / "evals" / "sets"

MINI = [
    {"id": "seed", "category": "core", "question": "treating back pain in multiple sclerosis",
     "expect": {"must_cite": True}},
    {"id": "oos", "category": "out_of_scope", "question": "What is the capital of France?",
     "expect": {"out_of_scope": True}},
    # expects a fact the corpus never states: fails, so the page has a failing case to show
    {"id": "impossible", "category": "core", "question": "tizanidine maximum dose",
     "expect": {"facts": [["unobtainium"]]}},
]
MINI_TEXT = "\n".join(json.dumps(c) for c in MINI) + "\n"


def _eval_page(monkeypatch, settings):
    app_env(monkeypatch, settings)
    at = new_app().run()
    assert not at.exception, at.exception
    at.switch_page("evaluation.py").run()
    assert not at.exception, at.exception
    return at


def _two_saved_runs(fake_index, tmp_path):
    """Two real runs (real pipeline, fake embedder) of the mini set saved in a fresh data dir."""
    from assistant.pipeline import Assistant

    src, emb = fake_index
    s = src.model_copy(update={"data_dir": tmp_path / "data"})
    shutil.copytree(src.data_dir, s.data_dir, ignore=shutil.ignore_patterns("audit.sqlite*", "eval_runs"))
    a = Assistant(s, embedder=emb, audit=False)

    def answer_fn(q, history=(), audience="clinician", settings=None):
        return a.answer(q, history, audience)

    cases = parse_lines(MINI_TEXT.splitlines(), path="mini.jsonl")
    runs = [actions.run_and_save(cases, set_name="mini.jsonl", set_bytes=MINI_TEXT.encode(), settings=s,
                                 answer_fn=answer_fn) for _ in range(2)]
    return s, runs


def test_shipped_sets_are_offered_with_their_case_count(monkeypatch, empty_settings):
    at = _eval_page(monkeypatch, empty_settings)
    shipped = sorted(p.name for p in SETS.glob("*.jsonl"))
    assert shipped and list(at.selectbox[0].options) == shipped
    n = len(load_set(SETS / shipped[0]))
    assert any(c.startswith(f"{n} cases") for c in texts(at.caption))
    assert [b.label for b in at.button] == ["Run evaluation"]
    assert any("No evaluation has been run yet" in c for c in texts(at.caption))


def test_a_malformed_uploaded_set_is_refused_naming_line_and_field(monkeypatch, empty_settings):
    at = _eval_page(monkeypatch, empty_settings)
    at.radio[0].set_value("Upload a set").run()
    bad = MINI_TEXT + json.dumps({"id": "x", "category": "core", "question": "q", "expect": {"escalate": "yes"}})
    at.file_uploader[0].set_value(("bad.jsonl", bad.encode(), "application/jsonl")).run()
    assert not at.exception, at.exception
    assert any("bad.jsonl, line 4" in e and "escalate" in e for e in texts(at.error)), texts(at.error)
    assert not [b for b in at.button if b.label == "Run evaluation"]


def test_saved_run_shows_metrics_chart_failing_cases_and_comparison(monkeypatch, fake_index, tmp_path):
    s, runs = _two_saved_runs(fake_index, tmp_path)
    summary, results = load_run(runs[-1])
    at = _eval_page(monkeypatch, s)

    m = summary["metrics"]
    assert at.selectbox[1].value == runs[-1].name  # newest run shown by default
    assert f"{m['passed']} of {m['cases']} cases passed" in texts(at.subheader)
    pass_card = next(x for x in at.metric if x.label == "Cases passed")
    assert pass_card.value == f"{m['pass_rate'] * 100:.1f}%"
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")

    table = next(d.value for d in at.dataframe if "Category" in d.value.columns and "Pass rate" in d.value.columns)
    assert dict(zip(table["Category"], table["Cases"])) == {"core": 2, "out_of_scope": 1}

    failing = [r["id"] for r in results if not r["passed"]]
    assert "impossible" in failing
    labels = [e.label for e in at.expander if "·" in e.label]
    assert labels == [f"{r['id']} · {r['category']}" for r in results if not r["passed"]]
    box = next(e for e in at.expander if e.label.startswith("impossible"))
    body = "\n".join(texts(box.markdown))
    assert "unobtainium" in body and "**Answer**" in body

    assert any(f"Previous run `{runs[0].name}`" in c for c in texts(at.caption))
    assert [b.label for b in at.download_button] == ["Download report (Markdown)"]


@pytest.mark.integration
def test_running_an_uploaded_set_from_the_page_saves_and_shows_the_run(monkeypatch, ui_index):
    at = _eval_page(monkeypatch, ui_index)
    at.radio[0].set_value("Upload a set").run()
    at.file_uploader[0].set_value(("mini.jsonl", MINI_TEXT.encode(), "application/jsonl")).run()
    assert any(c.startswith("3 cases") for c in texts(at.caption))
    next(b for b in at.button if b.label == "Run evaluation").click().run()
    assert not at.exception, at.exception
    jobs.board().wait(timeout=600)
    at.run()
    assert not at.exception, at.exception
    runs = actions.list_runs(ui_index)
    assert len(runs) == 1
    summary, _ = load_run(runs[0])
    assert summary["set"]["name"] == "mini.jsonl" and summary["metrics"]["cases"] == 3
    assert f"{summary['metrics']['passed']} of 3 cases passed" in texts(at.subheader)
    assert any("first saved run" in c for c in texts(at.caption))
