"""A separate asker process for the load test (run as a script, never collected).

``python asker.py THREADS STOP_FILE`` with GUIDELINE_* settings in the environment:
loads the real model once, answers one question per thread, prints {"ready": pid},
then every thread keeps asking until STOP_FILE exists and asks once more after it
(so each thread has answers from before and after a re-ingest that ends meanwhile).
Prints one JSON object with every answer's corpus version and every error.
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


def main() -> None:
    n_threads, stop = int(sys.argv[1]), Path(sys.argv[2])
    from assistant.pipeline import Assistant
    from ingest.settings import load_settings

    a = Assistant(load_settings())
    a.warm()
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
    print(json.dumps({"ready": os.getpid()}), flush=True)

    def worker(i: int) -> None:
        k = 0
        while not stop.exists() and time.time() < t_end:
            ask(i, k)
            k += 1
        ask(i, k)  # one more, after the re-ingest finished

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({"pid": os.getpid(), "answers": answers, "errors": errors}), flush=True)


if __name__ == "__main__":
    main()
