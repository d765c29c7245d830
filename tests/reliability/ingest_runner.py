"""Ingest runner for the crash tests (run as a script, never collected by pytest).

``python ingest_runner.py DATA_DIR CORPUS_DIR KEEP [CHROMA_URL]`` starts a parent
that has done the slow imports once and then forks one child per command line
read on stdin; the child is a real process running ``run_ingest`` with the fake
embedder, so a test can ``kill -9`` it at any point of the storage protocol
without paying the import cost (~5 s) on every trial. The parent never opens
Chroma itself, so nothing is shared with a child but imported code.

stdin, one JSON object per line: {"full": bool, "pause_at": "stage:first|last" | null}
stdout, one JSON object per line (each written whole with one os.write):
  {"child": pid}                                  a child started (its first line)
  {"pid": pid, "stage": s, "done": d, "total": t} progress of the child
  {"pid": pid, "paused": "stage:first"}           the child sleeps here until killed
  {"pid": pid, "result": report}                  the child finished
  {"pid": pid, "error": "..."}                    the child raised one of our errors
  {"exit": pid, "signal": n | null, "code": n | null}
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent.parent)]  # tests/ (conftest), project root

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# The slow imports, done once in the parent.
import chromadb  # noqa: E402,F401
import bm25s  # noqa: E402,F401
import langchain_text_splitters  # noqa: E402,F401

from tests.conftest import FakeEmbedder  # noqa: E402
from core.errors import AssistantError  # noqa: E402
from core.settings import Settings  # noqa: E402
from ingest.index import run_ingest  # noqa: E402


def emit(obj: dict) -> None:
    os.write(1, (json.dumps(obj) + "\n").encode())


def child(settings: Settings, cmd: dict) -> int:
    pid = os.getpid()
    pause_at = cmd.get("pause_at")
    seen: set[str] = set()

    def progress(stage: str, done: int, total: int) -> None:
        emit({"pid": pid, "stage": stage, "done": done, "total": total})
        marks = []
        if stage not in seen:
            seen.add(stage)
            marks.append(f"{stage}:first")
        if done >= total:
            marks.append(f"{stage}:last")
        if pause_at in marks:
            emit({"pid": pid, "paused": pause_at})
            time.sleep(120)  # the test kills us here

    try:
        report = run_ingest(settings, full=bool(cmd.get("full")), embedder=FakeEmbedder(),
                            progress=progress)
    except AssistantError as e:
        emit({"pid": pid, "error": str(e), "type": type(e).__name__})
        return 1
    emit({"pid": pid, "result": report.to_json()})
    return 0


def main() -> None:
    data, corpus, keep = sys.argv[1], sys.argv[2], int(sys.argv[3])
    url = sys.argv[4] if len(sys.argv) > 4 else None
    settings = Settings(data_dir=Path(data), corpus_dir=Path(corpus), keep_versions=keep,
                        chroma_url=url)
    emit({"ready": os.getpid()})
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            code = 1
            try:
                emit({"child": os.getpid()})  # first line of every run, before any progress
                code = child(settings, cmd)
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        emit({"exit": pid, "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
              "code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None})


if __name__ == "__main__":
    main()
