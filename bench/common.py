"""Helpers shared by the benchmark scripts: paths, machine facts, statistics, servers.

Every script writes its results as JSON under ``bench/out/`` (git-ignored);
``bench/run_all.py`` collects them into ``docs/benchmarks.md``.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

OUT = ROOT / "bench" / "out"
CACHE = OUT / "cache"
# One exported query model (ingest/query_model.py) for every benchmark index: the export
# is a one-off per machine, done by prepare_query_model() before anything is timed.
os.environ.setdefault("GUIDELINE_MODEL_DIR", str(CACHE / "models"))
VENV_BIN = Path(sys.executable).parent
SCIFACT_DEFAULT = (ROOT.parent / "shared" / "data" / "beir" / "scifact").resolve()


# --------------------------------------------------------------------------- query model


def prepare_query_model(emb=None) -> dict:
    """Export and verify the ONNX query model once (not timed); its record as a dict."""
    from ingest import query_model
    from ingest.embed import get_embedder
    from core.settings import Settings

    s = Settings()
    emb = emb or get_embedder(s.embed_batch_size)
    path = s.query_model_dir / query_model.VERIFIED
    if query_model.needed(s, emb):
        t0 = time.perf_counter()
        rep = query_model.prepare(s, emb)
        log(f"query model exported and verified in {time.perf_counter() - t0:.1f} s "
            f"(min cosine {rep.min_cosine:.7f})")
    return json.loads(path.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- machine


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    flags = ""
    try:
        txt = Path("/proc/cpuinfo").read_text()
        flags = " ".join(f for f in ("avx2", "avx512f", "avx512_vnni") if f" {f}" in txt)
    except OSError:
        pass
    info = {"nproc": os.cpu_count(), "cpu": cpu, "cpu_flags": flags, "ram_gib": mem_gib,
            "python": platform.python_version(), "os": platform.platform()}
    for mod in ("torch", "sentence_transformers", "chromadb", "onnxruntime", "bm25s", "langchain_core"):
        try:
            m = __import__(mod)
            info[mod] = getattr(m, "__version__", "?")
        except Exception:  # noqa: BLE001 - a missing optional library is just not listed
            info[mod] = None
    return info


# --------------------------------------------------------------------------- statistics


def percentile(values: list[float], p: float) -> float:
    """Linear-interpolated percentile (numpy's default), p in 0..100."""
    xs = sorted(values)
    if not xs:
        return float("nan")
    pos = (len(xs) - 1) * p / 100
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summary(values: list[float], digits: int = 3) -> dict:
    """median, min, max, n (and p50/p95 for latency samples)."""
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "p50": round(percentile(values, 50), digits),
        "p95": round(percentile(values, 95), digits),
    }


def median_of_runs(runs: list[dict], key: str) -> dict:
    """Median and min-max of one numeric field across several runs."""
    xs = [r[key] for r in runs if r.get(key) is not None]
    return summary(xs)


# --------------------------------------------------------------------------- files


def write_result(name: str, data: dict) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    p = OUT / f"{name}.json"
    data = {"benchmark": name, "written": time.strftime("%Y-%m-%dT%H:%M:%S"), **data}
    p.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    return p


def read_result(name: str) -> dict | None:
    p = OUT / f"{name}.json"
    if not p.exists():
        return None
    return json.loads(p.read_text(encoding="utf-8"))


def sha_files(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(str(Path(p).name).encode())
        h.update(Path(p).read_bytes())
    return h.hexdigest()[:16]


def sha_text(*parts: str) -> str:
    h = hashlib.sha256()
    for s in parts:
        h.update(s.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:16]


def reset_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


# --------------------------------------------------------------------------- SciFact as guideline files


def read_jsonl(path: Path) -> list[dict]:
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def scifact_corpus_file(data: Path) -> Path:
    for name in ("corpus.jsonl.gz", "corpus.jsonl"):
        if (data / name).exists():
            return data / name
    raise SystemExit(f"No corpus.jsonl(.gz) in {data}")


def load_scifact(data: Path) -> tuple[list[dict], dict[str, str], dict[str, dict[str, int]]]:
    """(corpus docs, test queries id -> text, qrels qid -> {docid: rel})."""
    corpus = read_jsonl(scifact_corpus_file(data))
    qrels: dict[str, dict[str, int]] = {}
    with open(data / "qrels" / "test.tsv", encoding="utf-8") as f:
        next(f)
        for line in f:
            qid, did, score = line.rstrip("\n").split("\t")
            qrels.setdefault(qid, {})[did] = int(score)
    queries = {q["_id"]: q["text"] for q in read_jsonl(data / "queries.jsonl") if q["_id"] in qrels}
    return corpus, queries, qrels


WRITER_VERSION = "txt-h1-v1"
"""Bumped when the guideline-file form of an abstract changes (invalidates caches)."""


def doc_id_for(beir_id: str) -> str:
    """BEIR ids (digits) are valid guideline ids as they are, so run files need no mapping."""
    return beir_id


def guideline_file(doc: dict) -> tuple[str, str]:
    """One abstract as a guideline file: front matter, the title as H1, the abstract as body.

    Plain-text format: the Markdown content rules (a 'Key recommendations' section)
    are for our clinical corpus, and the chunker reads '# ' headings in both.
    """
    did = doc_id_for(doc["_id"])
    title = " ".join(doc["title"].split()) or did
    text = " ".join(doc["text"].split())
    front = (
        "---\n"
        f"id: {did}\n"
        f"title: {json.dumps(title, ensure_ascii=False)}\n"
        'version: "1"\n'
        "status: approved\n"
        f"last_reviewed: {time.strftime('%Y')}-01-01\n"
        "sources:\n"
        '  - "Wadden et al., SciFact (BEIR), 2020"\n'
        "---\n"
    )
    return f"{did}.txt", f"{front}\n# {title}\n\n{text}\n"


def write_scifact_corpus(docs: list[dict], corpus_dir: Path) -> None:
    reset_dir(corpus_dir)
    for d in docs:
        name, body = guideline_file(d)
        (corpus_dir / name).write_text(body, encoding="utf-8")


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> float:
    """Poll ``url`` until it answers 200; returns seconds waited."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return time.perf_counter() - t0
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


def stop(proc: subprocess.Popen, timeout: float = 15.0) -> None:
    """SIGTERM the process we started, then SIGKILL if it does not go."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@contextlib.contextmanager
def chroma_server(path: Path, log: Path | None = None):
    """A ``chroma run`` server on 127.0.0.1 over ``path``; yields its URL, stops it afterwards."""
    port = free_port()
    exe = VENV_BIN / "chroma"
    out = open(log, "wb") if log else subprocess.DEVNULL
    proc = subprocess.Popen([str(exe), "run", "--path", str(path), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=out, stderr=subprocess.STDOUT,
                            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    try:
        wait_http(f"http://127.0.0.1:{port}/api/v2/heartbeat", 60, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)
        if log:
            out.close()


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)
