"""kill -9 of a running ingest (at least 20 real kills), at random points and at each
stage of the storage protocol: the serving version is always one complete version, and the next run
cleans up whatever the dead run left (no .tmp dirs, no orphan collections, no
duplicates). The fake embedder keeps each run at ~2 s; the point is the storage
protocol, which is the same whatever the vectors are."""

from __future__ import annotations

import os
import random
import signal
import string
import time

import pytest

from assistant.retrieve import HybridSearcher
from ingest import versions
from ingest.serving import load_version
from ingest.store import make_client

from tests.conftest import FakeEmbedder, make_settings

from .conftest import (IngestRunner, add_synthetic_docs, assert_recovered,
                       assert_serving_one_complete_version, corpus_hashes, manifest_hashes,
                       synthetic_doc)

MIN_KILLS = 20
MAX_TRIALS = 36
"""Trials go on until MIN_KILLS runs were really killed (a random kill can come too late)."""
PAUSES = ["load:last", "embed:first", "store:first", "store:last", "finalize:first",
          "finalize:last", "switch:first"]
"""Stages where a run is frozen and then killed (every third trial); the others die at a random time."""

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # real embedded Chroma


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # it finished first; the trial then counts as not killed


def _marker(rng: random.Random) -> str:
    return "crashmark" + "".join(rng.choice(string.ascii_lowercase) for _ in range(8))


def _edit(corpus, rng: random.Random, trial: int, marker: str) -> None:
    """Change the corpus so that each trial's version differs from the last."""
    synth = sorted(p for p in corpus.glob("synthetic-*.md"))
    target = rng.choice(synth)
    text = target.read_text(encoding="utf-8")
    target.write_text(text + f"\nTrial {trial} note: {marker} review the seating plan.\n", encoding="utf-8")
    if trial % 5 == 4 and len(synth) > 6:
        victim = rng.choice([p for p in synth if p != target])
        victim.unlink()
    if trial % 5 == 2:
        did = f"synthetic-new-{trial:03d}"
        (corpus / f"{did}.md").write_text(synthetic_doc(did, 6, trial), encoding="utf-8")
    if trial % 6 == 3:
        p = corpus / "ms-spasticity.md"
        p.write_text(p.read_text(encoding="utf-8") + f"\nTrial {trial}: stretching is reviewed.\n",
                     encoding="utf-8")


def test_kill_9_during_ingest_never_serves_a_partial_version(tmp_path, corpus_copy):
    add_synthetic_docs(corpus_copy, 12, 20)
    s = make_settings(tmp_path, corpus_copy, keep_versions=2)
    rng = random.Random(int(os.environ.get("CRASH_SEED", "20261128")))
    emb = FakeEmbedder()
    runner = IngestRunner(s)
    try:
        t0 = time.perf_counter()
        first = runner.run()
        run_s = time.perf_counter() - t0
        client = make_client(s)
        reader = HybridSearcher(s, embedder=emb, client=client)  # one long-lived reader, like the UI
        served = assert_serving_one_complete_version(s, client, emb, reader)
        assert served.version == first["corpus_version"]
        served_hashes = manifest_hashes(served.manifest)
        assert served_hashes == corpus_hashes(corpus_copy)

        killed = 0
        kill_stages: set[str] = set()
        stages: list[str] = []
        trial = -1
        while killed < MIN_KILLS and trial + 1 < MAX_TRIALS:
            trial += 1
            marker = _marker(rng)
            _edit(corpus_copy, rng, trial, marker)
            want = corpus_hashes(corpus_copy)
            pause = PAUSES[(trial // 3) % len(PAUSES)] if trial % 3 == 0 else None
            child = runner.start(full=(trial % 7 == 6), pause_at=pause)
            last_stage = "start"
            exit_msg = None
            if pause:
                for msg in runner.events():
                    if "stage" in msg:
                        last_stage = f"{msg['stage']} {msg['done']}/{msg['total']}"
                    if msg.get("paused") == pause:
                        _kill(child)
                    if "exit" in msg:
                        exit_msg = msg
            else:
                time.sleep(rng.uniform(0.05, 0.85 * run_s))
                _kill(child)
                for msg in runner.events():
                    if "stage" in msg:
                        last_stage = f"{msg['stage']} {msg['done']}/{msg['total']}"
                    exit_msg = msg if "exit" in msg else exit_msg
            if exit_msg["signal"] == signal.SIGKILL:
                killed += 1
                kill_stages.add(last_stage.split()[0])
            stages.append(f"{trial}:{pause or 'random'}@{last_stage}")

            # Whatever the moment of death: one complete version serves.
            got = assert_serving_one_complete_version(s, client, emb, reader)
            got_hashes = manifest_hashes(got.manifest)
            assert got_hashes in (served_hashes, want), f"trial {trial} ({stages[-1]}): mixed corpus"
            ix = load_version(s, got.version)
            has_marker = any(marker in c.text for c in ix.chunks)
            assert has_marker == (got_hashes == want)
            res = reader.search(marker, 3, mode="bm25")
            assert res.corpus_version == got.version
            if has_marker:
                assert marker in res.hits[0].chunk.text
            else:
                assert not res.hits or all(marker not in h.chunk.text for h in res.hits)
            served_hashes = got_hashes

            # Every other trial, the next run completes: it recovers and serves the edit.
            if trial % 2 == 1:
                t0 = time.perf_counter()
                report = runner.run()
                if report["switched"]:  # the next random kill aims inside a run this long
                    run_s = 0.5 * run_s + 0.5 * (time.perf_counter() - t0)
                assert_recovered(s, client)
                got = assert_serving_one_complete_version(s, client, emb, reader)
                assert manifest_hashes(got.manifest) == want
                assert report["corpus_version"] == got.version
                assert marker in reader.search(marker, 1, mode="bm25").hits[0].chunk.text
                served_hashes = want

        assert killed >= MIN_KILLS, f"only {killed} runs were killed: {stages}"
        assert {"load", "embed", "store", "finalize", "switch"} <= kill_stages, stages
        report = runner.run(full=True)
        assert_recovered(s, client)
        assert_serving_one_complete_version(s, client, emb, reader)
        assert len(versions.list_versions(s)) <= s.keep_versions
        assert report["switched"]
        print(f"{killed} kills; stages: " + "; ".join(stages))
    finally:
        runner.close()
