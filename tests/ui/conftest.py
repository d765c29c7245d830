"""Fixtures for the UI tests: private copies of indexes the app can be pointed at."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from uikit import CORPUS, copy_index, make_settings

TOP_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"


def _top_conftest(config):
    # tests/conftest.py and this file are both module "conftest": fetch the top one from pytest.
    for plugin in config.pluginmanager.get_plugins():
        if getattr(plugin, "__file__", None) and Path(plugin.__file__).resolve() == TOP_CONFTEST:
            return plugin
    raise RuntimeError("tests/conftest.py is not loaded")


@pytest.fixture(scope="session")
def top_conftest(pytestconfig):
    """tests/conftest.py as a module (its helpers: free_port, wait_http, FakeEmbedder)."""
    return _top_conftest(pytestconfig)


@pytest.fixture
def empty_settings(tmp_path):
    """A corpus copy and an empty data directory (no index built)."""
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    return make_settings(tmp_path, corpus)


@pytest.fixture(scope="session")
def fake_index(tmp_path_factory, pytestconfig):
    """The shipped corpus ingested with the fake embedder: (settings, embedder). Fast, no model."""
    from ingest.index import run_ingest

    tmp = tmp_path_factory.mktemp("ui_fake_index")
    shutil.copytree(CORPUS, tmp / "corpus")
    s = make_settings(tmp, tmp / "corpus")
    emb = _top_conftest(pytestconfig).FakeEmbedder()
    run_ingest(s, embedder=emb)
    return s, emb


@pytest.fixture
def ui_index(tmp_path, real_index):
    """A private copy of the real index (real model vectors) for one test."""
    s, _ = real_index
    return copy_index(s, tmp_path)
