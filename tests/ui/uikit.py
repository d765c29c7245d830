"""Helpers and constants shared by the UI tests (imported by name: tests/ui is on sys.path)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "corpus"
APP = str(ROOT / "ui" / "app.py")
PASSWORD = "correct horse battery staple"
APP_TIMEOUT = 120

SEED_QUESTION = "What is the best approach for treating back pain in a patient with Multiple Sclerosis (MS)?"
CAUDA_EQUINA = "58M with MS, new saddle anaesthesia and urinary retention since yesterday, low back pain"

NEW_GUIDELINE = """---
id: ms-fatigue-and-pain
title: "Fatigue and pain in multiple sclerosis"
version: "1.0"
status: approved
last_reviewed: 2026-05-01
sources:
  - "NICE, Multiple sclerosis in adults: management (NG220), 2022"
---

# Fatigue and pain in multiple sclerosis

## Key recommendations

Fatigue and pain in multiple sclerosis often occur together and each should be assessed at every review.
Poor sleep caused by night-time pain or spasms makes fatigue worse, so treating the pain can improve fatigue.
"""


def make_settings(tmp: Path, corpus: Path, **kw):
    from core.settings import Settings

    return Settings(data_dir=tmp / "data", corpus_dir=corpus, **kw)


def app_env(monkeypatch, settings, password: str | None = PASSWORD) -> None:
    """Point the app at ``settings``' directories (and nothing else from the outer env)."""
    for k in list(os.environ):
        if k.startswith("GUIDELINE_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("GUIDELINE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("GUIDELINE_CORPUS_DIR", str(settings.corpus_dir))
    if password is not None:
        monkeypatch.setenv("GUIDELINE_ADMIN_PASSWORD", password)


def copy_index(src_settings, dst: Path):
    """A private copy of a built index and its corpus (a test may write to it freely)."""
    shutil.copytree(src_settings.data_dir, dst / "data",
                    ignore=shutil.ignore_patterns("audit.sqlite*", "ingest.lock", "eval_runs"))
    shutil.copytree(src_settings.corpus_dir, dst / "corpus")
    return make_settings(dst, dst / "corpus")


def new_app():
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(APP, default_timeout=APP_TIMEOUT)


def texts(elements) -> list[str]:
    return [e.value for e in elements]
