"""Incremental re-ingest: no change and one changed document, against a full rebuild.

    bench/bench_incremental.py [--runs 3]

On a copy of the shipped corpus, with the model already loaded (in-process
``run_ingest``), and as whole ``guideline ingest`` processes. For the changed
document, the passages that must be re-embedded are computed independently
(chunk the old and the new file, compare ids) and checked against what the run
actually embedded.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE, ROOT, VENV_BIN, log, machine, prepare_query_model, reset_dir, write_result  # noqa: E402

CHANGED_DOC = "ms-spasticity.md"


def _cli(data_dir: Path, corpus_dir: Path, *extra: str) -> tuple[float, dict]:
    env = {**os.environ, "GUIDELINE_DATA_DIR": str(data_dir), "GUIDELINE_CORPUS_DIR": str(corpus_dir)}
    t0 = time.perf_counter()
    p = subprocess.run([str(VENV_BIN / "guideline"), "ingest", "--json", *extra], env=env,
                       capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"guideline ingest failed: {p.stderr[-1500:]}")
    return wall, json.loads(p.stdout)


def _edit(path: Path, n: int) -> None:
    """Change one paragraph of one section (a new sentence at the end of its first paragraph)."""
    text = path.read_text(encoding="utf-8")
    marker = "\n## "
    i = text.index(marker, text.index(marker) + 1)  # second H2 section
    j = text.index("\n\n", text.index("\n", i + 1) + 1)  # end of its first paragraph
    para_end = text.index("\n\n", j + 2) if "\n\n" in text[j + 2:] else len(text)
    text = text[:para_end] + f" Benchmark edit number {n} of this paragraph." + text[para_end:]
    path.write_text(text, encoding="utf-8")


def _expected_reembed(old: Path, new: Path, corpus_dir: Path, settings) -> int:
    from ingest.chunk import chunk_document
    from ingest.load import load_file

    a = {c.chunk_id for c in chunk_document(load_file(old, old.parent, settings), settings)}
    b = {c.chunk_id for c in chunk_document(load_file(new, corpus_dir, settings), settings)}
    return len(b - a)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)

    from ingest.embed import get_embedder
    from ingest.index import run_ingest
    from core.settings import Settings

    root = CACHE / "incremental"
    corpus_dir = root / "corpus"
    reset_dir(root)
    shutil.copytree(ROOT / "corpus", corpus_dir)
    settings = Settings(data_dir=root / "data", corpus_dir=corpus_dir)
    emb = get_embedder(settings.embed_batch_size)
    emb.embed_query("load the model before timing")
    prepare_query_model(emb)
    from ingest.query_model import verified_query_embedder

    copy = verified_query_embedder(settings, emb.fingerprint)  # what embeds passages when verified

    def model_calls() -> int:
        """Texts embedded so far by either engine."""
        return emb.calls + (copy.calls if copy is not None else 0)

    full, nochange, onechange, checks = [], [], [], []
    for i in range(args.runs):
        t0 = time.perf_counter()
        rep = run_ingest(settings, full=True, embedder=emb)
        full.append(time.perf_counter() - t0)
        n_chunks = rep.chunks.added
        t0 = time.perf_counter()
        rep = run_ingest(settings, embedder=emb)
        nochange.append(time.perf_counter() - t0)
        assert not rep.switched and rep.embedded == 0, rep
        target = corpus_dir / CHANGED_DOC
        before = root / f"before-{CHANGED_DOC}"
        shutil.copy2(target, before)
        _edit(target, i)
        expected = _expected_reembed(before, target, corpus_dir, settings)
        calls0 = model_calls()
        t0 = time.perf_counter()
        rep = run_ingest(settings, embedder=emb)
        onechange.append(time.perf_counter() - t0)
        doc_id = target.stem
        with open(settings.versions_dir / rep.corpus_version / "chunks.jsonl", encoding="utf-8") as f:
            doc_chunks = sum(1 for line in f if json.loads(line)["doc_id"] == doc_id)
        checks.append({"embedded": rep.embedded, "expected": expected, "model_calls": model_calls() - calls0,
                       "embedded_with": rep.embedded_with,
                       "changed_doc_passages": doc_chunks, "corpus_passages": n_chunks,
                       "doc_changes": rep.doc_changes})
        log(f"run {i + 1}: full {full[-1]:.2f} s, no change {nochange[-1] * 1000:.0f} ms, one doc "
            f"{onechange[-1]:.2f} s ({rep.embedded} of {n_chunks} passages re-embedded, expected {expected})")

    # Whole processes, as an operator runs them.
    cli_full, rep = _cli(root / "data", corpus_dir, "--full")
    cli_nochange = [(_cli(root / "data", corpus_dir)[0]) for _ in range(args.runs)]

    # What a no-change process pays before it can decide nothing changed.
    imports = {}
    for mod in ("ingest.index", "chromadb"):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {mod}"], check=True)
        imports[mod] = round(time.perf_counter() - t0, 2)

    def s(xs, scale=1.0):
        return {"median": round(statistics.median(xs) * scale, 3), "min": round(min(xs) * scale, 3),
                "max": round(max(xs) * scale, 3), "n": len(xs)}

    out = {
        "corpus": "shipped corpus copy", "passages": checks[0]["corpus_passages"],
        "changed_document": CHANGED_DOC,
        "full_s": s(full), "no_change_s": s(nochange), "one_change_s": s(onechange),
        "no_change_ratio": round(statistics.median(nochange) / statistics.median(full), 4),
        "one_change_ratio": round(statistics.median(onechange) / statistics.median(full), 4),
        "checks": checks,
        "only_changed_reembedded": all(c["embedded"] == c["expected"] == c["model_calls"] for c in checks),
        "cli_full_s": round(cli_full, 2), "cli_no_change_s": s(cli_nochange),
        "cli_no_change_ratio": round(statistics.median(cli_nochange) / cli_full, 4),
        "process_import_s": imports,
        "target_ratio": 0.05,
        "command": "bench/bench_incremental.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine(),
    }
    write_result("incremental", out)
    print(json.dumps({k: out[k] for k in ("full_s", "no_change_s", "one_change_s", "no_change_ratio",
                                          "only_changed_reembedded")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
