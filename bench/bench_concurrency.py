"""Concurrent askers while a re-ingest runs: latency, throughput, errors, versions.

    bench/bench_concurrency.py [--askers 20] [--processes 0] [--idle-s 20] [--full] [--json]

Builds the shipped corpus with the real model in a temporary data directory, then:

1. idle: ``--askers`` threads share one Assistant and ask for ``--idle-s`` seconds;
2. re-ingest: the same askers keep asking while ``run_ingest`` runs in this process
   (three documents edited, so it is incremental unless ``--full``), and once more
   each after it has switched.

With ``--processes P`` the askers are P separate processes (``--askers / P`` threads
each, spawned afresh, each loading its own model) instead of threads of this one.

Every answer records the corpus version it reports and the passages it retrieved; an
answer counts as *mixed* if it retrieved a passage id its version does not contain
(it would have combined two versions). Prints one JSON object and writes
``bench/out/concurrency.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, log, machine, summary, write_result  # noqa: E402

QUESTIONS = [
    ("first-line treatment for spasticity-related back pain in MS", []),
    ("What is the maximum daily dose of tizanidine?", []),
    ("Can I give oxycodone for chronic low back pain?", []),
    ("Back pain with new saddle numbness and urinary retention, what now?", []),
    ("and if NSAIDs are contraindicated?", [
        {"role": "user", "content": "How is musculoskeletal back pain in MS treated?"},
        {"role": "assistant", "content": "NSAIDs at the lowest dose, staying active and physiotherapy [1]."},
    ]),
    ("When is imaging needed for low back pain?", []),
]
EDITED = ("back-pain-red-flags", "opioid-prescribing", "ms-back-pain")
DEADLINE_S = 900.0


def edit_docs(corpus: Path, tag: str) -> None:
    """Append a word to every body line of three documents: their passages get new ids."""
    for did in EDITED:
        p = corpus / f"{did}.md"
        head, fm, body = p.read_text(encoding="utf-8").split("---\n", 2)
        lines = [line + f" ({tag})" if line.strip() and not line.startswith("#") else line
                 for line in body.split("\n")]
        p.write_text(head + "---\n" + fm + "---\n" + "\n".join(lines), encoding="utf-8")


def ask_loop(assistant, n_threads: int, phase: dict, out: list, errors: list) -> list[threading.Thread]:
    """Threads that ask until ``phase['stop']`` is set, then once more each."""
    lock = threading.Lock()

    def ask(i: int, k: int) -> None:
        q, hist = QUESTIONS[(i + k) % len(QUESTIONS)]
        q = f"{q} (case {phase['tag']}{i}-{k})"  # every question new: no query-vector cache hits
        t0 = time.time()
        try:
            ans = assistant.answer(q, hist)
        except Exception as e:  # noqa: BLE001 - counted and reported
            with lock:
                errors.append(f"{type(e).__name__}: {str(e)[:200]}")
            return
        with lock:
            out.append({"v": ans.corpus_version, "t0": t0, "t1": time.time(),
                        "ids": [h.chunk.chunk_id for h in ans.hits]})

    def worker(i: int) -> None:
        k = 0
        while not phase["stop"].is_set() and time.time() < phase["deadline"]:
            ask(i, k)
            k += 1
        ask(i, k)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(n_threads)]
    for t in threads:
        t.start()
    return threads


def worker_main(n_threads: int, stop: Path, out_file: Path) -> None:
    """--worker: one asker process (spawned by --processes)."""
    from assistant.pipeline import Assistant
    from core.settings import load_settings

    a = Assistant(load_settings())
    a.warm()
    a.answer(QUESTIONS[0][0])
    print("ready", flush=True)
    answers: list[dict] = []
    errors: list[str] = []
    phase = {"stop": threading.Event(), "deadline": time.time() + DEADLINE_S, "tag": f"p{os.getpid()}-"}
    threads = ask_loop(a, n_threads, phase, answers, errors)
    while not stop.exists() and time.time() < phase["deadline"]:
        time.sleep(0.05)
    phase["stop"].set()
    for t in threads:
        t.join()
    out_file.write_text(json.dumps({"answers": answers, "errors": errors}))


def latency(answers: list[dict]) -> dict:
    return summary([(x["t1"] - x["t0"]) * 1000 for x in answers], 1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--askers", type=int, default=20)
    ap.add_argument("--processes", type=int, default=0, help="askers in P separate processes")
    ap.add_argument("--idle-s", type=float, default=20.0, help="seconds of asking without an ingest")
    ap.add_argument("--full", action="store_true", help="the re-ingest rebuilds every passage")
    ap.add_argument("--json", action="store_true", help="(output is always JSON; kept for symmetry)")
    ap.add_argument("--worker", nargs=3, metavar=("THREADS", "STOP", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker_main(int(args.worker[0]), Path(args.worker[1]), Path(args.worker[2]))
        return 0

    from assistant.pipeline import Assistant
    from ingest import versions
    from ingest.embed import get_embedder
    from ingest.index import run_ingest
    from core.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="bench-concurrency-"))
    try:
        corpus = tmp / "corpus"
        shutil.copytree(ROOT / "corpus", corpus)
        s = Settings(data_dir=tmp / "data", corpus_dir=corpus)
        emb = get_embedder()
        t = time.perf_counter()
        first = run_ingest(s, embedder=emb)
        log(f"initial ingest: {first.chunks.added} passages in {time.perf_counter() - t:.1f} s")
        v_old = first.corpus_version
        answers: list[dict] = []
        errors: list[str] = []
        idle: list[dict] = []

        if args.processes:
            per = max(1, args.askers // args.processes)
            stop = tmp / "stop"
            env = {**os.environ, "PYTHONPATH": str(ROOT), "GUIDELINE_DATA_DIR": str(s.data_dir),
                   "GUIDELINE_CORPUS_DIR": str(corpus), "OMP_NUM_THREADS": "1"}
            procs = []
            for i in range(args.processes):
                procs.append((subprocess.Popen(
                    [sys.executable, __file__, "--worker", str(per), str(stop), str(tmp / f"w{i}.json")],
                    env=env, stdout=subprocess.PIPE, text=True), tmp / f"w{i}.json"))
            t = time.perf_counter()
            for p, _ in procs:
                assert p.stdout.readline().strip() == "ready"
            log(f"{args.processes} asker processes ready in {time.perf_counter() - t:.1f} s")
            time.sleep(args.idle_s)
            t_ingest = time.time()
            edit_docs(corpus, "edited")
            report = run_ingest(s, embedder=emb, full=args.full)
            t_switched = time.time()
            stop.touch()
            for p, f in procs:
                p.wait(DEADLINE_S)
                got = json.loads(f.read_text())
                answers += got["answers"]
                errors += got["errors"]
            idle = [x for x in answers if x["t1"] < t_ingest]
            n_askers = per * args.processes
        else:
            a = Assistant(s, embedder=emb)
            a.warm()
            phase = {"stop": threading.Event(), "deadline": time.time() + args.idle_s, "tag": "idle"}
            threads = ask_loop(a, args.askers, phase, idle, errors)
            time.sleep(args.idle_s)
            phase["stop"].set()
            for t_ in threads:
                t_.join()
            phase = {"stop": threading.Event(), "deadline": time.time() + DEADLINE_S, "tag": "load"}
            threads = ask_loop(a, args.askers, phase, answers, errors)
            while len(answers) < args.askers and not errors:
                time.sleep(0.05)
            t_ingest = time.time()
            edit_docs(corpus, "edited")
            report = run_ingest(s, embedder=emb, full=args.full)
            t_switched = time.time()
            phase["stop"].set()
            for t_ in threads:
                t_.join()
            answers = idle + answers
            n_askers = args.askers

        v_new = report.corpus_version
        ids = {v: {c for info in versions.read_manifest(s, v)["documents"].values() for c in info["chunk_ids"]}
               for v in (v_old, v_new)}
        known = [x for x in answers if x["v"] in ids]
        mixed = sum(1 for x in known if not set(x["ids"]) <= ids[x["v"]])
        during = [x for x in answers if x["t1"] > t_ingest and x["t0"] < t_switched]
        ingest_s = t_switched - t_ingest
        result = {
            "askers": n_askers,
            "mode": f"{args.processes} processes" if args.processes else "threads in one process",
            "reingest": {"seconds": round(ingest_s, 2), "embedded": report.embedded,
                         "full": args.full, "documents_changed": len(report.doc_changes)},
            "answers": len(answers),
            "errors": len(errors),
            "error_samples": errors[:3],
            "unknown_version": len(answers) - len(known),
            "mixed_versions": mixed,
            "versions_seen": {v: sum(1 for x in answers if x["v"] == v) for v in sorted({x["v"] for x in answers})},
            "latency_ms_idle": latency(idle),
            "latency_ms_during_reingest": latency(during),
            "throughput_per_s_idle": round(len(idle) / args.idle_s, 2) if idle else 0.0,
            "throughput_per_s_during_reingest": round(len(during) / ingest_s, 2) if ingest_s else 0.0,
            "machine": machine(),
        }
        write_result("concurrency", result)
        print(json.dumps(result, indent=1))
        return 0 if not errors and not result["unknown_version"] else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
