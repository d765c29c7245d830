"""20 concurrent askers (threads in one process, then separate processes) while a
re-ingest runs, with the real model and a real embedded Chroma: every answer
completes, reports the corpus version it used (one that existed), and cites only
passages of that version."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from assistant.pipeline import Assistant
from core.settings import Settings
from ingest import versions
from ingest.index import run_ingest

from tests.conftest import CORPUS, make_settings

from .asker import QUESTIONS
from .conftest import HERE, ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DEADLINE_S = 240


@pytest.fixture(scope="module")
def load_index(tmp_path_factory, real_embedder) -> Settings:
    tmp = tmp_path_factory.mktemp("load")
    corpus = tmp / "corpus"
    shutil.copytree(CORPUS, corpus)
    s = make_settings(tmp, corpus)
    run_ingest(s, embedder=real_embedder)
    return s


def _chunk_ids(s: Settings, version: str) -> set[str]:
    m = versions.read_manifest(s, version)
    return {cid for info in m["documents"].values() for cid in info["chunk_ids"]}


EDITED = ("back-pain-red-flags", "opioid-prescribing", "ms-back-pain")
"""Documents every answer may draw on (escalation, opioid rule, the main topic)."""


def _edit_docs(corpus: Path, tag: str) -> None:
    """Append a word to every body line of the EDITED documents: each of their passages
    gets a new id, so an answer mixing two versions would cite an id its version lacks,
    while the re-ingest stays incremental (only these documents are re-embedded)."""
    for did in EDITED:
        p = corpus / f"{did}.md"
        head, fm, body = p.read_text(encoding="utf-8").split("---\n", 2)
        lines = [line + f" ({tag})" if line.strip() and not line.startswith("#") else line
                 for line in body.split("\n")]
        p.write_text(head + "---\n" + fm + "---\n" + "\n".join(lines), encoding="utf-8")


def _audit_rows(s: Settings) -> int:
    if not s.audit_db.exists():
        return 0
    from assistant.audit import AuditLog

    AuditLog(s)._connect().close()  # creates the schema if no answer was logged yet
    con = sqlite3.connect(s.audit_db)
    try:
        return con.execute("SELECT count(*) FROM answers").fetchone()[0]
    finally:
        con.close()


def test_20_threads_answer_while_reingest_runs(load_index, real_embedder):
    s = load_index
    v_old = versions.current_version(s)
    rows_before = _audit_rows(s)
    a = Assistant(s, embedder=real_embedder)
    a.warm()
    stop = threading.Event()
    lock = threading.Lock()
    answers: list[dict] = []
    errors: list[str] = []
    deadline = time.time() + DEADLINE_S

    def ask(i: int, k: int) -> None:
        q, hist = QUESTIONS[(i + k) % len(QUESTIONS)]
        t0 = time.time()
        try:
            ans = a.answer(q, hist)
        except Exception as e:  # noqa: BLE001 - recorded, fails the test below
            with lock:
                errors.append(f"{type(e).__name__}: {e}")
            return
        with lock:
            answers.append({"v": ans.corpus_version, "ids": [h.chunk.chunk_id for h in ans.hits],
                            "cited": [c.chunk_id for c in ans.citations], "t0": t0, "t1": time.time(),
                            "ok": bool(ans.markdown.strip()) and ans.audit_id is not None})

    def worker(i: int) -> None:
        k = 0
        while not stop.is_set() and time.time() < deadline:
            ask(i, k)
            k += 1
        ask(i, k)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(20)]
    for t in threads:
        t.start()
    while len(answers) + len(errors) < 20 and time.time() < deadline:
        time.sleep(0.05)
    t_ingest = time.time()
    _edit_docs(s.corpus_dir, "reviewed")
    report = run_ingest(s, embedder=real_embedder)
    t_switched = time.time()
    stop.set()
    for t in threads:
        t.join(DEADLINE_S)
    assert not errors, errors[:3]
    assert report.switched and sorted(report.doc_changes) == sorted(EDITED)
    v_new = report.corpus_version
    assert {x["v"] for x in answers} == {v_old, v_new}
    ids = {v_old: _chunk_ids(s, v_old), v_new: _chunk_ids(s, v_new)}
    assert len(ids[v_old] - ids[v_new]) > 30 and report.embedded < 80  # told apart by their ids
    for x in answers:
        assert x["ok"]
        assert set(x["ids"]) <= ids[x["v"]], "an answer mixed passages of two corpus versions"
        assert set(x["cited"]) <= ids[x["v"]]
    during = [x for x in answers if x["t1"] > t_ingest and x["t0"] < t_switched]
    assert len(during) >= 20, "the askers were not answering while the re-ingest ran"
    assert _audit_rows(s) - rows_before == len(answers)  # one audit row per answer, none lost


def test_separate_processes_answer_while_reingest_runs(load_index, real_embedder, tmp_path):
    """2 processes x 5 threads, each process with its own Chroma client on the same
    embedded store and its own view of CURRENT, while this process re-ingests."""
    s = load_index
    v_old = versions.current_version(s)
    rows_before = _audit_rows(s)
    stop, out = tmp_path / "stop", tmp_path / "out"
    out.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GUIDELINE_DATA_DIR": str(s.data_dir),
           "GUIDELINE_CORPUS_DIR": str(s.corpus_dir), "ASKER_DEADLINE_S": str(DEADLINE_S),
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    t_start = time.time()
    proc = subprocess.Popen([sys.executable, str(HERE / "asker.py"), "2", "5", str(stop), str(out)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=str(ROOT))
    try:
        pids = set()
        while len(pids) < 2:  # each process has answered once
            line = proc.stdout.readline()
            assert line, proc.stderr.read()[-3000:]
            pids.add(json.loads(line)["ready"])
        t_ingest = time.time()
        _edit_docs(s.corpus_dir, "checked")
        report = run_ingest(s, embedder=real_embedder)
        t_switched = time.time()
        stop.touch()
        _, err = proc.communicate(timeout=DEADLINE_S)
        assert proc.returncode == 0, err[-3000:]
    finally:
        stop.touch()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    print(f"askers ready after {t_ingest - t_start:.1f} s; re-ingest took {t_switched - t_ingest:.1f} s")
    results = [json.loads((out / f"{pid}.json").read_text()) for pid in pids]
    errors = [e for r in results for e in r["errors"]]
    assert not errors, errors[:3]
    answers = [x for r in results for x in r["answers"]]
    v_new = report.corpus_version
    assert report.switched and {x["v"] for x in answers} == {v_old, v_new}
    assert all(x["ok"] and x["cited"] > 0 for x in answers)
    for r in results:  # every process saw the switch made by another process
        assert {x["v"] for x in r["answers"]} == {v_old, v_new}
    ids = {v_old: _chunk_ids(s, v_old), v_new: _chunk_ids(s, v_new)}
    assert all(set(x["ids"]) <= ids[x["v"]] for x in answers), "an answer mixed two corpus versions"
    during = [x for x in answers if x["t1"] > t_ingest and x["t0"] < t_switched]
    assert len(during) >= 4
    assert _audit_rows(s) - rows_before == len(answers)
