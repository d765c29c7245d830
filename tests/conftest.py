"""Shared fixtures: settings in tmp dirs, a deterministic fake embedder, the real model,
a real index of the shipped corpus, and a real `chroma run` server."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# One exported query model for the whole session instead of one per test data dir.
if "GUIDELINE_MODEL_DIR" not in os.environ:
    import atexit
    import tempfile

    os.environ["GUIDELINE_MODEL_DIR"] = tempfile.mkdtemp(prefix="guideline-test-models-")
    atexit.register(shutil.rmtree, os.environ["GUIDELINE_MODEL_DIR"], True)

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"


class FakeEmbedder:
    """Deterministic hashed bag-of-words vectors: fast, and similar texts stay similar."""

    dim = 384
    fingerprint = "fake:hash-bow"

    def __init__(self):
        self.calls = 0
        self.batches: list[int] = []

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for w in re.findall(r"[a-z0-9]+", text.lower()):
            h = int.from_bytes(hashlib.blake2b(w.encode(), digest_size=4).digest(), "little")
            v[h % self.dim] += 1.0
        n = np.linalg.norm(v)
        if n == 0:
            v[0] = 1.0
            n = 1.0
        return v / n

    def embed_documents(self, texts):
        self.calls += len(texts)
        self.batches.append(len(texts))
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def embed_query(self, text):
        return self._vec(text)


def make_settings(tmp: Path, corpus: Path | None = None, **kw):
    """Settings in a tmp dir. With GUIDELINE_TEST_CHROMA_URL set (``make test`` does this for a
    second pass), the index lives on that `chroma run` server instead of embedded Chroma."""
    from core.settings import Settings

    url = os.environ.get("GUIDELINE_TEST_CHROMA_URL")
    if url and "chroma_url" not in kw:
        kw["chroma_url"] = url
    return Settings(data_dir=tmp / "data", corpus_dir=corpus or (tmp / "corpus"), **kw)


@pytest.fixture
def fake_embedder():
    return FakeEmbedder()


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    """A writable copy of the shipped corpus."""
    dst = tmp_path / "corpus"
    shutil.copytree(CORPUS, dst)
    return dst


@pytest.fixture
def settings(tmp_path, corpus_copy):
    return make_settings(tmp_path, corpus_copy)


@pytest.fixture(scope="session")
def real_embedder():
    """The packaged all-MiniLM-L6-v2, loaded once for the whole test session."""
    from ingest.embed import get_embedder

    e = get_embedder()
    e.embed_query("load")
    return e


@pytest.fixture(scope="session")
def real_index(tmp_path_factory, real_embedder):
    """The shipped corpus ingested with the real model into an embedded Chroma (once)."""
    from ingest.index import run_ingest

    tmp = tmp_path_factory.mktemp("real_index")
    corpus = tmp / "corpus"
    shutil.copytree(CORPUS, corpus)
    s = make_settings(tmp, corpus)
    report = run_ingest(s, embedder=real_embedder)
    return s, report


@pytest.fixture(scope="session")
def real_assistant(real_index, real_embedder):
    from assistant.pipeline import Assistant

    s, _ = real_index
    a = Assistant(s, embedder=real_embedder)
    return a


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 30.0) -> None:
    import urllib.request

    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except Exception as e:  # not up yet
            last = e
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up in {timeout:.0f} s: {last}")


class ChromaServer:
    def __init__(self, path: Path):
        self.path = path
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        chroma = Path(sys.executable).parent / "chroma"
        self.proc = subprocess.Popen(
            [str(chroma), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        )
        wait_http(self.url + "/api/v2/heartbeat")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """A real `chroma run` on 127.0.0.1 for the test session."""
    srv = ChromaServer(tmp_path_factory.mktemp("chroma_server"))
    srv.start()
    yield srv
    srv.stop()
