"""BEIR SciFact through our own ingestion and retrieval code.

    bench/scifact.py --data DIR [--run-out FILE] [--json]

Each of the 5,183 abstracts becomes a guideline file (front matter, the title as
H1, the abstract as body) in a corpus directory; ``run_ingest`` builds the index
and ``HybridSearcher`` answers the 300 test claims in dense, BM25 and hybrid mode.
Passage hits map back to abstracts by the best passage of each abstract, and
nDCG@10 is computed against ``qrels/test.tsv``. ``--run-out`` writes the hybrid
ranking as a TREC run (``qid Q0 docid rank score tag``, top 100 per query).

The built index is cached under ``bench/out/cache/`` keyed by a fingerprint of the
corpus, the chunker, the embedder and the code that shapes them, so a second run
only searches.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    CACHE, ROOT, SCIFACT_DEFAULT, WRITER_VERSION, load_scifact, log, machine, prepare_query_model, sha_files, sha_text,
    scifact_corpus_file, write_result, write_scifact_corpus,
)

MODES = ("dense", "bm25", "hybrid")
RUN_DEPTH = 100
"""Documents per query in the TREC run file."""
CHUNK_DEPTH = 300
"""Passages requested per query; several passages can come from one abstract."""


# --------------------------------------------------------------------------- metrics


def ndcg_at_k(ranked: list[str], rels: dict[str, int], k: int = 10) -> float:
    dcg = sum(rels.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(rels.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at_k(ranked: list[str], rels: dict[str, int], k: int) -> float:
    rel = {d for d, g in rels.items() if g > 0}
    return len(rel & set(ranked[:k])) / len(rel) if rel else 0.0


def doc_ranking(hits) -> list[tuple[str, float]]:
    """Passage hits -> abstracts ranked by their best passage's fused score."""
    best: dict[str, float] = {}
    for h in hits:
        d = h.chunk.doc_id
        if d not in best or h.score > best[d]:
            best[d] = h.score
    return sorted(best.items(), key=lambda x: (-x[1], x[0]))


# --------------------------------------------------------------------------- embedders


def make_embedder(kind: str, batch_size: int | None = None):
    if batch_size is None:
        from core.settings import Settings

        batch_size = Settings().embed_batch_size  # the product's setting
    if kind == "torch":
        from ingest.embed import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(batch_size=batch_size)
    if kind in ("onnx", "onnx-int8"):
        from ingest.embed_onnx import OnnxEmbedder

        return OnnxEmbedder(quantized=kind == "onnx-int8", batch_size=batch_size)
    raise SystemExit(f"unknown embedder {kind!r}; use torch, onnx or onnx-int8")


# --------------------------------------------------------------------------- index (cached)


def _bm25_code_hash() -> str:
    return sha_files(ROOT / "ingest" / "bm25.py")


def index_root(data: Path, embedder_fingerprint: str, chunk_size: int, chunk_overlap: int = 0,
               limit: int | None = None) -> tuple[Path, str]:
    from ingest.chunk import chunker_fingerprint
    from core.settings import Settings

    probe = Settings(chunk_size=chunk_size, chunk_overlap=chunk_overlap)
    key = sha_text(sha_files(scifact_corpus_file(data)), WRITER_VERSION, str(limit),
                   chunker_fingerprint(probe), embedder_fingerprint,
                   sha_files(ROOT / "ingest" / "chunk.py"))
    return CACHE / f"scifact-{key}", key


def is_cached(kind: str, data: Path = SCIFACT_DEFAULT, chunk_size: int | None = None) -> bool:
    """Whether ``build_index`` would reuse a complete index (no embedding needed)."""
    from core.settings import Settings

    emb = make_embedder(kind)  # cheap: models load lazily
    root, _ = index_root(data, emb.fingerprint, chunk_size or Settings().chunk_size)
    return (root / "bench-stamp.json").exists()


def build_index(data: Path, embedder, chunk_size: int, chunk_overlap: int = 0,
                rebuild: bool = False, limit: int | None = None):
    """Settings of a complete SciFact index, built once per fingerprint and then reused."""
    from ingest import bm25, versions
    from ingest.chunk import embed_text
    from ingest.index import run_ingest
    from ingest.serving import load_version
    from core.settings import Settings

    root, key = index_root(data, embedder.fingerprint, chunk_size, chunk_overlap, limit)
    settings = Settings(data_dir=root / "data", corpus_dir=root / "corpus", chunk_size=chunk_size,
                        chunk_overlap=chunk_overlap, embed_batch_size=getattr(embedder, "batch_size", Settings().embed_batch_size))
    stamp = root / "bench-stamp.json"
    info: dict = {}
    if not rebuild and stamp.exists():
        info = json.loads(stamp.read_text())
        cur = versions.current_version(settings)
        if not (cur and versions.is_complete(settings, cur)):
            info = {}
    if not info:
        shutil.rmtree(root, ignore_errors=True)
        corpus, _, _ = load_scifact(data)
        if limit:
            corpus = corpus[:limit]
        log(f"writing {len(corpus)} abstracts as guideline files and ingesting (chunk_size={chunk_size}, "
            f"embedder={embedder.fingerprint}); cached afterwards in {root}")
        write_scifact_corpus(corpus, settings.corpus_dir)
        if embedder.fingerprint.startswith("st:"):
            prepare_query_model(embedder)  # one-off export, outside the timed ingest
        t0 = time.perf_counter()
        report = run_ingest(settings, full=True, embedder=embedder)
        info = {"ingest_seconds": round(time.perf_counter() - t0, 2), "chunks": report.chunks.added,
                "documents": report.documents.added, "bm25": _bm25_code_hash(), "key": key}
        stamp.write_text(json.dumps(info))
        log(f"ingested {info['documents']} abstracts -> {info['chunks']} passages in {info['ingest_seconds']} s")
    elif info.get("bm25") != _bm25_code_hash():
        # Only the lexical side changed: rebuild the version's BM25 with the current code.
        vid = versions.current_version(settings)
        ix = load_version(settings, vid)
        bm25.build([embed_text(c) for c in ix.chunks], versions.version_dir(settings, vid) / "bm25")
        info["bm25"] = _bm25_code_hash()
        stamp.write_text(json.dumps(info))
        log("ingest/bm25.py changed: rebuilt the cached BM25 index")
    return settings, info


# --------------------------------------------------------------------------- evaluation


def evaluate(settings, embedder, queries: dict[str, str], qrels: dict[str, dict[str, int]],
             modes=MODES, depth: int = CHUNK_DEPTH) -> dict:
    from assistant.retrieve import HybridSearcher

    searcher = HybridSearcher(settings, embedder=embedder)
    out: dict = {}
    qids = sorted(queries, key=lambda q: int(q) if q.isdigit() else q)
    for mode in modes:
        t0 = time.perf_counter()
        ndcgs, recalls, runs = [], [], {}
        for qid in qids:
            res = searcher.search(queries[qid], depth, mode=mode)
            ranked = doc_ranking(res.hits)[:RUN_DEPTH]
            runs[qid] = ranked
            docs = [d for d, _ in ranked]
            ndcgs.append(ndcg_at_k(docs, qrels[qid], 10))
            recalls.append(recall_at_k(docs, qrels[qid], 100))
        out[mode] = {"ndcg@10": round(sum(ndcgs) / len(ndcgs), 4),
                     "recall@100": round(sum(recalls) / len(recalls), 4),
                     "queries": len(qids), "seconds": round(time.perf_counter() - t0, 2), "run": runs}
    return out


def write_trec(runs: dict[str, list[tuple[str, float]]], path: Path, tag: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for qid, ranked in runs.items():
            for rank, (doc, score) in enumerate(ranked[:RUN_DEPTH], 1):
                f.write(f"{qid} Q0 {doc} {rank} {score:.6f} {tag}\n")


def fusion_constants() -> dict:
    import assistant.retrieve as r

    return {k: getattr(r, k) for k in ("RRF_K", "DENSE_WEIGHT", "BM25_WEIGHT", "OVERFETCH", "MIN_CANDIDATES")
            if hasattr(r, k)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=SCIFACT_DEFAULT, help="BEIR SciFact directory")
    ap.add_argument("--run-out", type=Path, help="write the hybrid ranking as a TREC run file")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("--embedder", default="torch", choices=("torch", "onnx", "onnx-int8"))
    ap.add_argument("--chunk-size", type=int, default=None,
                    help="passage size in characters (default: the product setting)")
    ap.add_argument("--split", default="test", choices=("test", "train"),
                    help="query split to score (tune on train, report test)")
    ap.add_argument("--rebuild", action="store_true", help="ignore the cached index")
    ap.add_argument("--name", default=None, help="result file name under bench/out/")
    args = ap.parse_args(argv)

    from core.settings import Settings

    chunk_size = args.chunk_size or Settings().chunk_size
    embedder = make_embedder(args.embedder)
    settings, info = build_index(args.data, embedder, chunk_size, rebuild=args.rebuild)
    corpus, queries, qrels = load_scifact(args.data)
    if args.split == "train":
        queries, qrels = load_train(args.data)
    res = evaluate(settings, embedder, queries, qrels)
    if args.run_out:
        write_trec(res["hybrid"]["run"], args.run_out, f"guideline-hybrid-{args.embedder}")
    summary = {
        "split": args.split, "embedder": args.embedder, "embedder_fingerprint": embedder.fingerprint,
        "chunk_size": chunk_size, "index": info, "fusion": fusion_constants(),
        "results": {m: {k: v for k, v in r.items() if k != "run"} for m, r in res.items()},
        "command": "bench/scifact.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine(),
    }
    write_result(args.name or f"scifact-{args.split}-{args.embedder}-{chunk_size}", summary)
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        for m in MODES:
            r = summary["results"][m]
            print(f"{m:7s} nDCG@10 {r['ndcg@10']:.4f}  recall@100 {r['recall@100']:.4f}  "
                  f"({r['queries']} queries, {r['seconds']:.1f} s)")
    return 0


def load_train(data: Path) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    from common import read_jsonl

    qrels: dict[str, dict[str, int]] = {}
    with open(data / "qrels" / "train.tsv", encoding="utf-8") as f:
        next(f)
        for line in f:
            qid, did, score = line.rstrip("\n").split("\t")
            qrels.setdefault(qid, {})[did] = int(score)
    queries = {q["_id"]: q["text"] for q in read_jsonl(data / "queries.jsonl") if q["_id"] in qrels}
    return queries, qrels


if __name__ == "__main__":
    sys.exit(main())
