"""Synthetic corpora of 1k / 10k / 100k passages, written through the real storage code.

    bench/synth.py build --chunks 100000 [--json]

The shipped corpus is copied as it is; synthetic guideline files (front matter,
H1, a 'Key recommendations' section and nine more sections, one passage each)
are added until the passage count reaches the target. Their sentences are
recombined from the shipped corpus, so BM25 sees a realistic vocabulary.

Vectors are synthesised instead of embedding 100k texts: every sentence of the
shipped corpus is embedded once with the real model (cached), and a passage's
vector is the normalised mean of its sentences' vectors plus a small
deterministic perturbation. ``run_ingest`` then stores the passages exactly as
for a real corpus (Chroma collection + chunks.jsonl + BM25 per version), and
queries are embedded with the real model, so latency covers the real path.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE, ROOT, log, sha_files, sha_text  # noqa: E402

GENERATOR_VERSION = "1"
SECTIONS_PER_DOC = 10
MAX_PARA = 860
"""Below the default chunk_size (900), so each synthetic section is one passage."""
NOISE = 0.25
"""Norm of the perturbation added to a passage's mean sentence vector."""
_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(])")
_HEADING = re.compile(r"^#{1,6}\s")


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENT.split(text) if s.strip()]


def _real_docs():
    from ingest.load import load_corpus
    from core.settings import Settings

    settings = Settings(corpus_dir=ROOT / "corpus")
    docs, errors = load_corpus(settings.corpus_dir, settings)
    if errors:
        raise SystemExit(f"the shipped corpus does not load: {errors[0]}")
    return docs, settings


def pools() -> tuple[list[str], list[str], list[str]]:
    """(sentences, headings, titles) of the shipped corpus."""
    docs, _ = _real_docs()
    sentences: list[str] = []
    headings: list[str] = []
    for d in docs:
        for para in re.split(r"\n\s*\n", d.text):
            para = para.strip()
            if not para:
                continue
            if _HEADING.match(para):
                h = _HEADING.sub("", para.splitlines()[0]).strip()
                if h.lower() != "key recommendations":
                    headings.append(h)
                rest = "\n".join(para.splitlines()[1:]).strip()
                if not rest:
                    continue
                para = rest
            para = " ".join(para.split())
            para = re.sub(r"^[-*]\s+", "", para)
            sentences.extend(s for s in split_sentences(para) if len(s) > 25)
    seen: set[str] = set()
    uniq = [s for s in sentences if not (s in seen or seen.add(s))]
    return uniq, sorted(set(headings)), [d.title for d in docs]


class SyntheticEmbedder:
    """Passage vector = normalised mean of known sentence vectors + deterministic noise.

    Only for writing synthetic corpora; queries are always embedded by the real model.
    """

    dim = 384

    def __init__(self, sentence_vectors: dict[str, np.ndarray], fingerprint: str):
        self._vecs = sentence_vectors
        self.fingerprint = f"synthetic:{fingerprint}"
        self.calls = 0

    def _vec(self, text: str) -> np.ndarray:
        body = text.split("\n", 1)[-1]
        found = [self._vecs[s] for s in split_sentences(" ".join(body.split())) if s in self._vecs]
        seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
        rng = np.random.default_rng(seed)
        noise = rng.standard_normal(self.dim).astype(np.float32)
        noise *= NOISE / np.linalg.norm(noise)
        v = (np.mean(found, axis=0) if found else np.zeros(self.dim, np.float32))
        v = v / (np.linalg.norm(v) or 1.0) + noise
        return (v / np.linalg.norm(v)).astype(np.float32)

    def embed_documents(self, texts):
        self.calls += len(texts)
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def embed_query(self, text):
        raise RuntimeError("queries are embedded with the real model")


def sentence_vectors(sentences: list[str]) -> tuple[dict[str, np.ndarray], str]:
    """Real-model vectors of every sentence of the shipped corpus (cached on disk)."""
    from ingest.embed import get_embedder

    emb = get_embedder()
    key = sha_text(emb.fingerprint, *sentences)
    path = CACHE / f"synth-sentences-{key}.npy"
    if path.exists():
        vecs = np.load(path)
    else:
        log(f"embedding {len(sentences)} corpus sentences once for synthetic vectors")
        vecs = emb.embed_documents(sentences)
        CACHE.mkdir(parents=True, exist_ok=True)
        np.save(path, vecs)
    return dict(zip(sentences, vecs)), key


def synth_doc(i: int, rng: random.Random, sentences: list[str], headings: list[str],
              titles: list[str]) -> tuple[str, str]:
    did = f"syn-{i:06d}"
    title = f"{rng.choice(titles)} (synthetic variant {i})"
    status = rng.choices(("approved", "under_review", "draft"), weights=(90, 5, 5))[0]
    parts = [
        "---", f"id: {did}", f"title: {json.dumps(title)}", f'version: "{rng.randint(1, 4)}.0"',
        f"status: {status}", "last_reviewed: 2026-06-01", "sources:",
        '  - "Synthetic benchmark text recombined from the shipped corpus"', "---", "",
        f"# {title}", "",
    ]
    names = ["Key recommendations"] + rng.sample(headings, min(SECTIONS_PER_DOC - 1, len(headings)))
    for name in names:
        para = ""
        for s in rng.sample(sentences, 8):
            if len(para) + len(s) + 1 > MAX_PARA:
                break
            para = f"{para} {s}".strip()
        parts += [f"## {name}", "", para, ""]
    return f"{did}.md", "\n".join(parts)


def build(target_chunks: int, seed: int = 0, rebuild: bool = False) -> dict:
    """A complete data dir with about ``target_chunks`` passages; cached by fingerprint."""
    from ingest.chunk import chunk_document
    from ingest.index import run_ingest
    from core.settings import Settings
    from ingest import versions

    docs, base_settings = _real_docs()
    sentences, headings, titles = pools()
    real_chunks = sum(len(chunk_document(d, base_settings)) for d in docs)
    n_synth = max(0, -(-(target_chunks - real_chunks) // SECTIONS_PER_DOC))
    vecs, pool_key = sentence_vectors(sentences)
    # What shapes the stored passages and their on-disk format (not every edit of the pipeline).
    code = sha_files(*(ROOT / "ingest" / n for n in ("chunk.py", "bm25.py", "store.py", "versions.py")))
    key = sha_text(GENERATOR_VERSION, str(target_chunks), str(seed), pool_key, code,
                   sha_files(*sorted((ROOT / "corpus").glob("*.md"))))
    root = CACHE / f"synth-{target_chunks}-{key}"
    settings = Settings(data_dir=root / "data", corpus_dir=root / "corpus")
    stamp = root / "synth.json"
    if not rebuild and stamp.exists():
        cur = versions.current_version(settings)
        if cur and versions.is_complete(settings, cur):
            return json.loads(stamp.read_text())
    shutil.rmtree(root, ignore_errors=True)
    # Older builds of the same size are stale: drop them so the cache does not grow.
    for old in CACHE.glob(f"synth-{target_chunks}-*"):
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
    settings.corpus_dir.mkdir(parents=True)
    for p in sorted((ROOT / "corpus").iterdir()):
        if p.is_file() and p.name.lower() != "readme.md":
            shutil.copy2(p, settings.corpus_dir / p.name)
    rng = random.Random(seed)
    for i in range(n_synth):
        name, text = synth_doc(i, rng, sentences, headings, titles)
        (settings.corpus_dir / name).write_text(text, encoding="utf-8")
    log(f"synthetic corpus: {len(docs)} shipped + {n_synth} synthetic documents; ingesting")
    t0 = time.perf_counter()
    report = run_ingest(settings, full=True, embedder=SyntheticEmbedder(vecs, pool_key))
    info = {
        "target_chunks": target_chunks, "chunks": report.chunks.added,
        "documents": report.documents.added, "synthetic_documents": n_synth,
        "ingest_seconds": round(time.perf_counter() - t0, 2),
        "ingest_stage_seconds": {k: round(v, 2) for k, v in report.stage_seconds.items()},
        "data_dir": str(settings.data_dir), "corpus_dir": str(settings.corpus_dir), "key": key,
    }
    stamp.write_text(json.dumps(info))
    log(f"built {info['chunks']} passages in {info['ingest_seconds']} s ({info['ingest_stage_seconds']}) -> {root}")
    return info


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Build a synthetic corpus of N passages (cached).")
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("--chunks", type=int, required=True)
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--rebuild", action="store_true")
    b.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    info = build(args.chunks, args.seed, args.rebuild)
    print(json.dumps(info) if args.json else
          f"{info['chunks']} passages, {info['documents']} documents in {info['data_dir']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
