"""Separate asker processes for the load test (run as a script, never collected).

``python asker.py PROCESSES THREADS STOP_FILE OUT_DIR`` with GUIDELINE_* settings in
the environment. The parent imports the libraries and loads the model weights and the
safety pipeline once (torch single-threaded, nothing encoded yet, no Chroma client),
then forks PROCESSES children: each is a real separate process with its own
Assistant, its own Chroma client on the shared store and its own view of CURRENT,
which is what the test is about, without paying ~15 s of CPU per model load on a
2-core machine. Each child answers once, prints {"ready": pid}, then every thread
keeps asking until STOP_FILE exists and asks once more after it (so each has answers
from before and after a re-ingest that ends meanwhile), and writes every answer's
corpus version and passage ids, and every error, to OUT_DIR/<pid>.json.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

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
DEADLINE_S = float(os.environ.get("ASKER_DEADLINE_S", "300"))


def run_child(n_threads: int, stop: Path, out_dir: Path) -> int:
    from assistant.pipeline import Assistant
    from core.settings import load_settings

    a = Assistant(load_settings())  # its own searcher, Chroma client and serving cache
    answers: list[dict] = []
    errors: list[str] = []
    lock = threading.Lock()
    t_end = time.time() + DEADLINE_S

    def ask(i: int, k: int) -> None:
        q, hist = QUESTIONS[(i + k) % len(QUESTIONS)]
        t0 = time.time()
        try:
            ans = a.answer(q, hist)
            rec = {"v": ans.corpus_version, "ms": (time.time() - t0) * 1000, "t0": t0,
                   "t1": time.time(), "ok": bool(ans.markdown.strip()) and ans.audit_id is not None,
                   "cited": len(ans.citations), "ids": [h.chunk.chunk_id for h in ans.hits]}
            with lock:
                answers.append(rec)
        except Exception as e:  # every failure is recorded and fails the test
            with lock:
                errors.append(f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=3)}")

    ask(0, 0)
    os.write(1, (json.dumps({"ready": os.getpid()}) + "\n").encode())

    def worker(i: int) -> None:
        k = 1
        while not stop.exists() and time.time() < t_end:
            ask(i, k)
            k += 1
        ask(i, k)  # one more, after the re-ingest finished

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tmp = out_dir / f".{os.getpid()}.json"
    tmp.write_text(json.dumps({"pid": os.getpid(), "answers": answers, "errors": errors}))
    tmp.rename(out_dir / f"{os.getpid()}.json")
    return 0


def main() -> None:
    n_procs, n_threads = int(sys.argv[1]), int(sys.argv[2])
    stop, out_dir = Path(sys.argv[3]), Path(sys.argv[4])
    import torch

    torch.set_num_threads(1)  # no OpenMP pool before fork; 5 threads per process anyway
    import chromadb  # noqa: F401 - imported, no client yet
    from assistant.records import Turn
    from assistant.safety import check_input
    from ingest.embed import get_embedder

    get_embedder().model  # weights loaded, nothing encoded
    check_input((Turn("user", "warm up"),))
    sys.stdout.flush()
    pids = []
    for _ in range(n_procs):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = run_child(n_threads, stop, out_dir)
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        pids.append(pid)
    failed = 0
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        failed += status != 0
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
