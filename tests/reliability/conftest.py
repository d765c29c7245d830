"""Helpers for the reliability tests: a bigger corpus, corpus edits, the ingest runner,
and checks that a data directory serves exactly one complete corpus version."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

WORDS = (
    "assessment review dose titration stretching physiotherapy walking fatigue spasm "
    "stiffness sleep mood bladder bowel posture seating transfer balance strength "
    "endurance goal plan referral follow-up monitoring caregiver education exercise "
    "pacing heat cold massage orthosis splint cushion mattress wheelchair cane walker "
    "review outcome scale diary trigger infection constipation pressure skin nerve "
    "muscle joint spine hip knee ankle shoulder neck trunk pelvis gait endurance"
).split()


def synthetic_doc(doc_id: str, n_sections: int, seed: int, extra: str = "") -> str:
    """A valid guideline file with ``n_sections`` sections of plausible filler text."""
    rng = random.Random(seed)
    lines = [
        "---",
        f"id: {doc_id}",
        f'title: "Synthetic care topic {doc_id}"',
        'version: "1.0"',
        "status: approved",
        "last_reviewed: 2026-06-01",
        "sources:",
        '  - "Test Body, Synthetic guidance for storage tests, 2026"',
        "---",
        "",
        f"# Synthetic care topic {doc_id}",
        "",
        "## Key recommendations",
        "",
        f"This synthetic document {doc_id} exists only to make the index large enough for crash tests.",
        "",
    ]
    for s in range(n_sections):
        lines.append(f"## Section {s} of {doc_id}")
        lines.append("")
        for _ in range(4):
            lines.append(" ".join(rng.choice(WORDS) for _ in range(18)).capitalize() + ".")
        lines.append("")
    if extra:
        lines += ["## Notes", "", extra, ""]
    return "\n".join(lines)


def add_synthetic_docs(corpus: Path, n_docs: int, n_sections: int, seed: int = 0) -> list[str]:
    ids = []
    for i in range(n_docs):
        did = f"synthetic-{i:03d}"
        (corpus / f"{did}.md").write_text(synthetic_doc(did, n_sections, seed * 1000 + i), encoding="utf-8")
        ids.append(did)
    return ids


def corpus_hashes(corpus: Path) -> dict[str, str]:
    """{relative path: sha256} of the guideline files, as manifests record them."""
    import hashlib

    from ingest.load import iter_corpus_files

    return {p.relative_to(corpus).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in iter_corpus_files(corpus)}


def manifest_hashes(manifest: dict) -> dict[str, str]:
    return {info["path"]: info["content_hash"] for info in manifest["documents"].values()}


@dataclass
class Served:
    version: str
    manifest: dict
    n_chunks: int


def assert_serving_one_complete_version(settings, client, emb, searcher=None) -> Served:
    """CURRENT -> a complete manifest; chunks.jsonl, the Chroma collection and the
    manifest agree exactly (no missing, extra or duplicate passages); a search
    answers from that version only."""
    from assistant.retrieve import HybridSearcher
    from ingest import versions
    from ingest.store import open_collection

    cur = versions.current_version(settings)
    assert cur, "no CURRENT after the crash"
    assert versions.is_complete(settings, cur), f"CURRENT points to incomplete version {cur}"
    m = versions.read_manifest(settings, cur)
    vdir = versions.version_dir(settings, cur)
    lines = (vdir / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == m["n_chunks"]
    file_ids = [json.loads(line)["chunk_id"] for line in lines]
    manifest_ids = [cid for info in m["documents"].values() for cid in info["chunk_ids"]]
    assert len(set(file_ids)) == len(file_ids) == len(manifest_ids)
    assert set(file_ids) == set(manifest_ids)
    col = open_collection(client, m["collection"], emb)
    assert col.count() == m["n_chunks"], f"collection holds {col.count()}, manifest {m['n_chunks']}"
    stored = col.get(include=[])["ids"]
    assert len(stored) == len(set(stored)) and set(stored) == set(manifest_ids)
    # The vector index itself (not only the count) holds the passages: the last ones
    # added are the likeliest to be missing if a writer's buffered vectors were lost.
    probe = file_ids[:2] + file_ids[-4:]
    got = col.get(ids=probe, include=["embeddings"])
    for cid, vec in zip(got["ids"], got["embeddings"]):
        top = col.query(query_embeddings=[vec], n_results=1, include=[])["ids"][0]
        assert top and top[0] == cid, f"passage {cid} is stored but not searchable"
    hs = searcher or HybridSearcher(settings, embedder=emb, client=client)
    res = hs.search("stretching physiotherapy spasticity", 10)
    assert res.corpus_version == cur
    assert res.hits and all(h.chunk.chunk_id in set(manifest_ids) for h in res.hits)
    return Served(cur, m, m["n_chunks"])


def assert_recovered(settings, client) -> None:
    """No half-built or half-deleted directories, no orphan collections, N versions at most."""
    from ingest import versions

    leftovers = [d.name for d in settings.versions_dir.iterdir() if d.name.startswith(".")]
    assert not leftovers, f"leftover directories: {leftovers}"
    kept = versions.kept_versions(settings)
    on_disk = sorted(d.name for d in settings.versions_dir.iterdir())
    assert sorted(kept) == on_disk, (kept, on_disk)
    assert len(on_disk) <= settings.keep_versions
    names = sorted(versions.owned_collections(settings, client))
    assert names == sorted(versions.collection_name(v) for v in kept), (names, kept)


class IngestRunner:
    """Drives tests/reliability/ingest_runner.py: one forked child per ingest run."""

    def __init__(self, settings):
        self.settings = settings
        args = [sys.executable, str(HERE / "ingest_runner.py"), str(settings.data_dir),
                str(settings.corpus_dir), str(settings.keep_versions)]
        if settings.chroma_url:
            args.append(settings.chroma_url)
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1, cwd=str(ROOT),
                                     env={**os.environ, "PYTHONPATH": str(ROOT)})
        first = self._read()
        assert "ready" in first, first

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"ingest runner exited ({self.proc.poll()})")
        return json.loads(line)

    def start(self, *, full: bool = False, pause_at: str | None = None) -> int:
        self.proc.stdin.write(json.dumps({"full": full, "pause_at": pause_at}) + "\n")
        self.proc.stdin.flush()
        msg = self._read()
        assert "child" in msg, msg
        return msg["child"]

    def events(self):
        """Messages of the running child, up to and including its exit."""
        while True:
            msg = self._read()
            yield msg
            if "exit" in msg:
                return

    def run(self, *, full: bool = False) -> dict:
        """A run that is not killed; returns its report (or raises on error)."""
        self.start(full=full)
        result = error = None
        for msg in self.events():
            result = msg.get("result", result)
            error = msg.get("error", error)
        if error:
            raise AssertionError(f"ingest failed: {error}")
        return result

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def big_corpus(corpus_copy) -> Path:
    """The shipped corpus plus synthetic documents (~1,300 passages)."""
    add_synthetic_docs(corpus_copy, 40, 28)
    return corpus_copy
