"""Ingestion throughput against the physical limit: raw ``encode`` vs ``guideline ingest --full``.

    bench/bench_ingest.py [--docs 600] [--runs 2]

The first N SciFact abstracts are written as guideline files. The physical limit
is ``SentenceTransformer.encode`` of exactly the passage texts the pipeline embeds
(section path + passage), model already loaded, nothing else. The pipeline embeds
passages with the verified ONNX copy of the same model (``ingest/query_model.py``),
so the raw rate of that engine (tokenise, sort by length, run; session loaded) is
measured too: the pipeline's own ceiling. The pipeline figure is a whole
``guideline ingest --full`` process (start-up, reading, checking, chunking,
embedding, Chroma, BM25, manifest) over the same files; with ``--warm`` an
in-process ``run_ingest`` with the model already loaded is timed as well. The
order rotates each run so that background load hits every side alike; CPU times
are recorded beside wall times because they are less sensitive to that load.
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
from common import (  # noqa: E402
    CACHE, SCIFACT_DEFAULT, VENV_BIN, load_scifact, log, machine, prepare_query_model, reset_dir, write_result,
    write_scifact_corpus,
)


def passage_texts(corpus_dir: Path, settings) -> list[str]:
    from ingest.chunk import chunk_document, embed_text
    from ingest.load import load_corpus

    docs, errors = load_corpus(corpus_dir, settings)
    if errors:
        raise SystemExit(f"corpus does not load: {errors[0]}")
    return [embed_text(c) for d in docs for c in chunk_document(d, settings)]


def _raw_in_this_process(engine: str, corpus_dir: Path) -> dict:
    """(internal) Load one engine, then time one batch call over every passage text."""
    from ingest.embed import get_embedder
    from ingest.query_model import verified_query_embedder
    from core.settings import Settings

    settings = Settings(corpus_dir=corpus_dir)
    texts = passage_texts(corpus_dir, settings)
    st = get_embedder(settings.embed_batch_size)
    if engine == "st":
        import torch

        model = st.model
        # The same thread count embed_documents() uses (embed_query() drops to one thread).
        torch.set_num_threads(os.cpu_count() or 1)

        def call(xs):
            model.encode(xs, batch_size=settings.embed_batch_size, normalize_embeddings=True,
                         convert_to_numpy=True, show_progress_bar=False)
    else:
        copy = verified_query_embedder(settings, st.fingerprint)
        if copy is None:
            raise SystemExit("no verified ONNX copy: prepare_query_model() did not run")
        call = copy.embed_documents
    call(texts[:4])  # load and warm up outside the timed call
    t0, c0 = time.perf_counter(), time.process_time()
    call(texts)
    return {"n": len(texts), "wall": time.perf_counter() - t0, "cpu": time.process_time() - c0}


def raw_rate(engine: str, corpus_dir: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of the bare batch call, measured in a fresh process of its own so
    that neither engine runs next to the other's threads or memory."""
    p = subprocess.run([sys.executable, __file__, "raw", "--engine", engine, "--corpus", str(corpus_dir)],
                       capture_output=True, text=True, env=os.environ.copy())
    if p.returncode != 0:
        raise RuntimeError(f"raw {engine} failed: {p.stderr[-1500:]}")
    r = json.loads(p.stdout.strip().splitlines()[-1])
    return r["wall"], r["cpu"]


def cli_ingest(data_dir: Path, corpus_dir: Path) -> tuple[float, float, dict]:
    """(wall, CPU) seconds of a whole ``guideline ingest --full --json`` process, and its report."""
    env = {**os.environ, "GUIDELINE_DATA_DIR": str(data_dir), "GUIDELINE_CORPUS_DIR": str(corpus_dir)}
    out, err = data_dir.parent / "cli-ingest.json", data_dir.parent / "cli-ingest.err"
    with open(out, "wb") as f, open(err, "wb") as e:
        t0 = time.perf_counter()
        p = subprocess.Popen([str(VENV_BIN / "guideline"), "ingest", "--full", "--json"], env=env,
                             stdout=f, stderr=e)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError(f"guideline ingest failed: {err.read_text(errors='replace')[-1500:]}")
    return wall, ru.ru_utime + ru.ru_stime, json.loads(out.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=SCIFACT_DEFAULT)
    ap.add_argument("--docs", type=int, default=600, help="SciFact abstracts to ingest")
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--warm", action="store_true",
                    help="also time run_ingest in this process with the model already loaded")
    sub = ap.add_subparsers(dest="cmd")
    raw = sub.add_parser("raw", help="(internal) time one engine's bare batch call in this process")
    raw.add_argument("--engine", choices=("st", "onnx"), required=True)
    raw.add_argument("--corpus", type=Path, required=True)
    args = ap.parse_args(argv)
    if args.cmd == "raw":
        print(json.dumps(_raw_in_this_process(args.engine, args.corpus)))
        return 0

    from ingest.index import run_ingest
    from core.settings import Settings
    from ingest.embed import get_embedder

    corpus, _, _ = load_scifact(args.data)
    root = reset_dir(CACHE / f"ingest-{args.docs}")
    corpus_dir = root / "corpus"
    write_scifact_corpus(corpus[:args.docs], corpus_dir)
    settings = Settings(data_dir=root / "data", corpus_dir=corpus_dir)
    texts = passage_texts(corpus_dir, settings)
    log(f"{args.docs} abstracts -> {len(texts)} passages")
    emb = get_embedder(settings.embed_batch_size)  # loads its model only if used (--warm, first export)
    qm = prepare_query_model(emb)  # a one-off per machine: not part of the timed runs

    def fresh(tag: str) -> Path:
        # A new path each time: chromadb keeps one client per path for the life of the
        # process, and a client whose files were deleted under it turns read-only.
        d = root / f"data-{tag}-{time.perf_counter_ns()}"
        return reset_dir(d)

    def warm_ingest():
        data = fresh("warm")
        t0, c0 = time.perf_counter(), time.process_time()
        rep = run_ingest(settings.model_copy(update={"data_dir": data}), full=True, embedder=emb)
        return time.perf_counter() - t0, time.process_time() - c0, rep

    runs = []
    for i in range(args.runs):
        # Rotate the order so that a burst of background load does not always hit the same side.
        got: dict = {}
        sides = ("raw", "onnx", "cli", "warm") if args.warm else ("raw", "onnx", "cli")
        order = sides[i % len(sides):] + sides[:i % len(sides)]
        for what in order:
            if what == "raw":
                got["raw"] = raw_rate("st", corpus_dir)
            elif what == "onnx":
                got["onnx"] = raw_rate("onnx", corpus_dir)
            elif what == "cli":
                got["cli"] = cli_ingest(fresh("cli"), corpus_dir)
            else:
                got["warm"] = warm_ingest()
        (raw_s, raw_cpu), (cli_s, cli_cpu, report) = got["raw"], got["cli"]
        onnx_s, onnx_cpu = got["onnx"]
        n = report["chunks"]["added"]
        assert n == len(texts), (n, len(texts), report["chunks"])
        r = {"passages": n, "order": list(order), "raw_s": round(raw_s, 2), "raw_per_s": round(n / raw_s, 2),
             "cli_s": round(cli_s, 2), "cli_per_s": round(n / cli_s, 2),
             "cli_inside_run_ingest_s": report["seconds"],
             "cli_stage_s": report.get("stage_seconds", {}),
             "raw_cpu_s": round(raw_cpu, 2), "cli_cpu_s": round(cli_cpu, 2),
             "onnx_s": round(onnx_s, 2), "onnx_per_s": round(n / onnx_s, 2), "onnx_cpu_s": round(onnx_cpu, 2),
             "embedded_with": report.get("embedded_with")}
        r["cli_vs_raw"] = round(r["cli_per_s"] / r["raw_per_s"], 3)
        r["cli_vs_raw_cpu"] = round(raw_cpu / cli_cpu, 3)
        r["cli_vs_onnx"] = round(r["cli_per_s"] / r["onnx_per_s"], 3)
        r["cli_vs_onnx_cpu"] = round(onnx_cpu / cli_cpu, 3)
        if "warm" in got:
            warm_s, warm_cpu, warm = got["warm"]
            assert warm.chunks.added == n
            r.update({"warm_s": round(warm_s, 2), "warm_per_s": round(n / warm_s, 2),
                      "warm_cpu_s": round(warm_cpu, 2)})
            r["warm_vs_raw"] = round(r["warm_per_s"] / r["raw_per_s"], 3)
            r["warm_vs_raw_cpu"] = round(raw_cpu / warm_cpu, 3)
        runs.append(r)
        log(f"run {i + 1}: raw {r['raw_per_s']}/s, raw ONNX copy {r['onnx_per_s']}/s, guideline ingest --full "
            f"{r['cli_per_s']}/s ({r['cli_vs_raw']:.0%} of raw, {r['cli_vs_onnx']:.0%} of raw ONNX)" + (f", in-process {r['warm_per_s']}/s ({r['warm_vs_raw']:.0%})"
                                          if "warm_s" in r else ""))

    def med(key):
        xs = [r[key] for r in runs if key in r]
        if not xs:
            return None
        return {"median": round(statistics.median(xs), 3), "min": min(xs), "max": max(xs)}

    out = {
        "documents": args.docs, "passages": len(texts), "runs": runs,
        "raw_per_s": med("raw_per_s"), "cli_per_s": med("cli_per_s"), "warm_per_s": med("warm_per_s"),
        "onnx_per_s": med("onnx_per_s"), "cli_vs_onnx": med("cli_vs_onnx"), "cli_vs_onnx_cpu": med("cli_vs_onnx_cpu"),
        "batch_size": settings.embed_batch_size,
        "cli_vs_raw": med("cli_vs_raw"), "warm_vs_raw": med("warm_vs_raw"),
        "cli_vs_raw_cpu": med("cli_vs_raw_cpu"), "warm_vs_raw_cpu": med("warm_vs_raw_cpu"),
        "torch_threads": os.cpu_count(),
        "query_model_export_s": qm.get("seconds"),
        "target": 0.85,
        "command": "bench/bench_ingest.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine(),
    }
    write_result("ingest", out)
    print(json.dumps({k: out[k] for k in ("passages", "raw_per_s", "onnx_per_s", "cli_per_s", "cli_vs_raw",
                                          "cli_vs_onnx", "cli_vs_raw_cpu")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
