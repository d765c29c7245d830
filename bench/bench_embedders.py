"""The three embedding paths side by side: torch (default), ONNX fp32, ONNX int8.

    bench/bench_embedders.py [--passages 400] [--queries 50] [--runs 2]

Same passages (SciFact abstracts chunked by our chunker, section path + text) and
the same distinct questions for each path: passages/s for a batch, single-query
latency, and cosine similarity of each path's vectors to the torch vectors.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE, SCIFACT_DEFAULT, load_scifact, log, machine, percentile, write_result, write_scifact_corpus  # noqa: E402,E501


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=SCIFACT_DEFAULT)
    ap.add_argument("--passages", type=int, default=400)
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--sweep", type=int, default=120, help="passages per batch-size trial")
    args = ap.parse_args(argv)

    from bench_ingest import passage_texts
    from core.settings import Settings
    from questions import QUESTIONS
    from scifact import make_embedder

    corpus, queries, _ = load_scifact(args.data)
    root = CACHE / "embedders"
    write_scifact_corpus(corpus[:args.passages], root / "corpus")
    settings = Settings(data_dir=root / "data", corpus_dir=root / "corpus")
    texts = passage_texts(root / "corpus", settings)[:args.passages]
    qs = list(QUESTIONS[:args.queries])
    out: dict = {}
    ref = None
    for kind in ("torch", "onnx", "onnx-int8"):
        emb = make_embedder(kind)
        t0 = time.perf_counter()
        emb.embed_query("load")
        load_s = time.perf_counter() - t0
        rates, q_ms = [], []
        vecs = None
        for _ in range(args.runs):
            t0 = time.perf_counter()
            vecs = emb.embed_documents(texts)
            rates.append(len(texts) / (time.perf_counter() - t0))
            for q in qs:
                t0 = time.perf_counter()
                emb.embed_query(q)
                q_ms.append((time.perf_counter() - t0) * 1000)
        if ref is None:
            ref = vecs
        cos = (vecs * ref).sum(1)
        out[kind] = {
            "fingerprint": emb.fingerprint, "first_call_s": round(load_s, 2),
            "passages_per_s": {"median": round(statistics.median(rates), 1), "min": round(min(rates), 1),
                               "max": round(max(rates), 1)},
            "query_ms": {"p50": round(percentile(q_ms, 50), 2), "p95": round(percentile(q_ms, 95), 2)},
            "cosine_to_torch": {"min": round(float(cos.min()), 4), "mean": round(float(cos.mean()), 4)},
        }
        # The batch size: the product's setting against the larger ones, on part of the same texts.
        part = texts[:args.sweep]
        emb.embed_documents(part[:4])
        sweep = {}
        for bs in (16, 32, 64):
            keep, emb.batch_size = emb.batch_size, bs
            t0 = time.perf_counter()
            emb.embed_documents(part)
            sweep[str(bs)] = round(len(part) / (time.perf_counter() - t0), 1)
            emb.batch_size = keep
        out[kind]["batch_size"] = emb.batch_size
        out[kind]["rate_by_batch_size"] = sweep
        # Retrieval quality on the eval set's gold sources with this path (same scoring as bench_langchain).
        from tune_scifact import eval_set_check
        import assistant.retrieve as R

        out[kind]["eval_set"] = eval_set_check(emb, [(R.RRF_K, R.DENSE_WEIGHT, R.BM25_WEIGHT)])[0]
        log(f"{kind}: {out[kind]['passages_per_s']['median']} passages/s, query p50 "
            f"{out[kind]['query_ms']['p50']} ms, cosine to torch min {out[kind]['cosine_to_torch']['min']}")
        del emb
    write_result("embedders", {
        "passages": len(texts), "queries": len(qs), "runs": args.runs, "sweep": min(args.sweep, len(texts)), "results": out,
        "mean_tokens_note": "passages are SciFact chunks (section path + up to 900 characters)",
        "command": "bench/bench_embedders.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine(),
    })
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
