"""Warm query latency at 1k / 10k / 100k passages: retrieval alone and the full answer.

    bench/bench_latency.py [--sizes 1000,10000,100000] [--rounds 3] [--modes embedded,server]

For each size a synthetic corpus is built once (``bench/synth.py``, cached), then a
fresh process loads the model and the index, answers warm-up questions and times
distinct questions (the query-vector cache is cleared between phases, so every
timed query is embedded): ``HybridSearcher.search`` alone, its parts (query
embedding, Chroma query, BM25), and ``Assistant.answer`` (safety check, condense,
retrieval, grounded composer, enforcement, audit row). Embedded Chroma first, then
the same index served by ``chroma run`` on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import OUT, chroma_server, log, machine, percentile, summary, write_result  # noqa: E402

HERE = Path(__file__).resolve().parent


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


def _round_stats(xs: list[float]) -> dict:
    return {"p50": round(percentile(xs, 50), 2), "p95": round(percentile(xs, 95), 2),
            "mean": round(statistics.fmean(xs), 2)}


def _across(rounds: list[dict]) -> dict:
    """Median of the per-round p50/p95, with the min-max across rounds."""
    out = {}
    for key in ("p50", "p95"):
        xs = [r[key] for r in rounds]
        out[key] = round(statistics.median(xs), 2)
        out[f"{key}_min"] = round(min(xs), 2)
        out[f"{key}_max"] = round(max(xs), 2)
    return out


def measure(data_dir: Path, corpus_dir: Path, chroma_url: str | None, rounds: int, n: int,
            embedder_kind: str) -> dict:
    """Runs inside a fresh process: load, warm up, time."""
    from assistant.pipeline import Assistant
    from assistant import retrieve
    from core.settings import Settings
    from questions import QUESTIONS
    from scifact import make_embedder

    settings = Settings(data_dir=data_dir, corpus_dir=corpus_dir, chroma_url=chroma_url)
    emb = make_embedder(embedder_kind)
    t0 = time.perf_counter()
    a = Assistant(settings, embedder=emb)
    s = a.searcher
    ix = s.index()
    index_load_ms = _ms(t0)
    t0 = time.perf_counter()
    emb.embed_query("warm up the model")
    model_load_ms = _ms(t0)
    qs = list(QUESTIONS[:n])
    answer_error = None
    a.warm()  # what a served process does before its first question (model, index, dictionaries)
    for q in ("warm up one", "warm up two", "warm up three"):
        s.search(q, settings.top_k)
        try:
            a.answer(q)
        except Exception as e:  # noqa: BLE001 - reported, retrieval numbers still stand
            answer_error = f"{type(e).__name__}: {str(e)[:300]}"
    cand = max(settings.top_k * retrieve.OVERFETCH, retrieve.MIN_CANDIDATES)
    per_round: dict[str, list[dict]] = {k: [] for k in ("retrieve", "embed", "dense", "bm25", "answer")}
    stages: dict[str, list[float]] = {}
    for _ in range(rounds):
        samples: dict[str, list[float]] = {k: [] for k in per_round}
        s._qcache.clear()  # every timed query pays for its own embedding
        for q in qs:
            t = time.perf_counter()
            s.search(q, settings.top_k)
            samples["retrieve"].append(_ms(t))
        for q in qs:  # the parts, for the growth table
            t = time.perf_counter()
            v = emb.embed_query(q)
            samples["embed"].append(_ms(t))
            t = time.perf_counter()
            s._dense(ix, v, cand)
            samples["dense"].append(_ms(t))
            t = time.perf_counter()
            ix.bm25.search(q, cand)
            samples["bm25"].append(_ms(t))
        s._qcache.clear()
        if answer_error is None:
            for q in qs:
                t = time.perf_counter()
                ans = a.answer(q)
                samples["answer"].append(_ms(t))
                for k, v in ans.timings_ms.items():
                    stages.setdefault(k, []).append(v)
        for k, xs in samples.items():
            if xs:
                per_round[k].append(_round_stats(xs))
    return {
        "chunks": len(ix.chunks), "chroma": "server" if chroma_url else "embedded",
        "embedder": emb.fingerprint, "questions": len(qs), "rounds": rounds,
        "index_load_ms": round(index_load_ms, 1), "model_first_query_ms": round(model_load_ms, 1),
        "candidates_per_retriever": cand,
        "latency_ms": {k: {**_across(v), "per_round": v} for k, v in per_round.items() if v},
        "answer_stage_median_ms": {k: round(statistics.median(v), 2) for k, v in stages.items()},
        "answer_error": answer_error,
    }


def run_measure(info: dict, url: str | None, args) -> dict:
    cmd = [sys.executable, str(HERE / "bench_latency.py"), "measure", "--data-dir", info["data_dir"],
           "--corpus-dir", info["corpus_dir"], "--rounds", str(args.rounds), "--n", str(args.n),
           "--embedder", args.embedder]
    if url:
        cmd += ["--chroma-url", url]
    p = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    if p.returncode != 0:
        raise RuntimeError(f"measure failed ({p.returncode}): {p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd")
    m = sub.add_parser("measure", help="(internal) time one index in this process")
    m.add_argument("--data-dir", type=Path, required=True)
    m.add_argument("--corpus-dir", type=Path, required=True)
    m.add_argument("--chroma-url")
    m.add_argument("--rounds", type=int, default=3)
    m.add_argument("--n", type=int, default=50)
    m.add_argument("--embedder", default="torch")
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--n", type=int, default=50, help="distinct questions per round")
    ap.add_argument("--modes", default="embedded,server")
    ap.add_argument("--embedder", default="torch", choices=("torch", "onnx", "onnx-int8"))
    ap.add_argument("--name", default="latency")
    args = ap.parse_args(argv)

    if args.cmd == "measure":
        res = measure(args.data_dir, args.corpus_dir, args.chroma_url, args.rounds, args.n, args.embedder)
        print(json.dumps(res))
        return 0

    results = []
    for size in [int(x) for x in args.sizes.split(",") if x]:
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, str(HERE / "synth.py"), "build", "--chunks", str(size), "--json"],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"synth build failed: {p.stderr[-2000:]}")
        info = json.loads(p.stdout.strip().splitlines()[-1])
        log(f"{size}: index ready ({info['chunks']} passages, {time.perf_counter() - t0:.0f} s)")
        for mode in args.modes.split(","):
            if mode == "embedded":
                r = run_measure(info, None, args)
            elif mode == "server":
                with chroma_server(Path(info["data_dir"]) / "chroma", OUT / "logs" / f"chroma-{size}.log") as url:
                    r = run_measure(info, url, args)
            else:
                raise SystemExit(f"unknown mode {mode!r}")
            r["synthetic_build"] = info
            results.append(r)
            lat = r["latency_ms"]
            log(f"{size} {mode}: retrieve p50 {lat['retrieve']['p50']} p95 {lat['retrieve']['p95']} ms; "
                + (f"answer p50 {lat['answer']['p50']} p95 {lat['answer']['p95']} ms"
                   if "answer" in lat else f"answer unavailable: {r['answer_error']}"))
    cmd = "bench/bench_latency.py " + " ".join(argv if argv is not None else sys.argv[1:])
    write_result(args.name, {"results": results, "command": cmd.strip(), "machine": machine()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
