"""bench/out/*.json -> docs/benchmarks.md (run by run_all.py; runnable alone to re-render)."""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import OUT, ROOT, read_result  # noqa: E402

DOC = ROOT / "docs" / "benchmarks.md"
PY = ".venv/bin/python"


def _r(x, d=1):
    if x is None:
        return "n/a"
    return f"{x:.{d}f}"


def mm(s: dict | None, d: int = 1, scale: float = 1.0, key: str = "median") -> str:
    """'median (min–max)' of a summary dict."""
    if not s:
        return "n/a"
    return f"{s[key] * scale:.{d}f} ({s['min'] * scale:.{d}f}–{s['max'] * scale:.{d}f})"


def status(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**met**" if ok else "**not met**")


def cmd(res: dict | None) -> str:
    if not res or not res.get("command"):
        return "n/a"
    when = f" (measured {res['written'].replace('T', ' ')})" if res.get("written") else ""
    return f"`{PY} {res['command']}`{when}"


def _pct(x) -> str:
    return "n/a" if x is None else f"{x:.0%}"


def _machine_block(run_all: dict | None, any_res: dict | None) -> list[str]:
    m = (run_all or {}).get("machine") or (any_res or {}).get("machine") or {}
    lines = [
        "| | |", "|---|---|",
        f"| CPU | {m.get('cpu', '?')} ({m.get('cpu_flags', '')}) |",
        f"| cores (`nproc`) | {m.get('nproc', '?')} |",
        f"| RAM | {m.get('ram_gib', '?')} GiB |",
        f"| OS | {m.get('os', '?')} |",
        f"| Python | {m.get('python', '?')} |",
        "| libraries | " + ", ".join(f"{k} {v}" for k, v in m.items()
                                     if k in ("torch", "sentence_transformers", "chromadb", "onnxruntime",
                                              "bm25s", "langchain_core") and v) + " |",
    ]
    return lines


# --------------------------------------------------------------------------- sections


def sec_scifact(targets: list) -> list[str]:
    t = read_result("scifact")
    o = read_result("scifact-onnx-int8")
    f32 = read_result("scifact-onnx")
    tune = read_result("scifact-tuning")
    out = ["## 4. Retrieval quality: BEIR SciFact (300 test claims, 5,183 abstracts)", ""]
    if not t:
        out += ["Not run.", ""]
        targets.append(("SciFact hybrid nDCG@10 ≥ 0.72", "n/a", status(None), "not run"))
        return out
    res = t["results"]
    hy = res["hybrid"]["ndcg@10"]
    fus = t.get("fusion", {})
    out += [
        "Each abstract is written as a guideline file (front matter, title as H1, abstract as body), "
        "ingested with `run_ingest` and searched with `HybridSearcher`; passage hits map to abstracts "
        "by their best passage. nDCG@10 is deterministic for a given index, so one run is reported. "
        "*Default* is the product's path: the packaged all-MiniLM-L6-v2, with passages and queries embedded by "
        "its verified ONNX copy (same vectors, `ingest/query_model.py`); *ONNX int8* is the quantised variant "
        "as an index's own embedder.",
        "",
        "| system | nDCG@10 | recall@100 |", "|---|---|---|",
        "| published BM25 (BEIR, Elasticsearch multifield) | 0.665 | |",
        "| published all-MiniLM-L6-v2 (MTEB paper) | 0.645 | |",
        "| published BM25 + cross-encoder rerank | 0.688 | |",
        "| off the shelf here: bm25s stemmed / MiniLM / plain RRF k=60 | 0.686 / 0.648 / 0.716 | |",
    ]
    for name, r in (("default", t), ("ONNX fp32 as its own embedder", f32), ("ONNX int8", o)):
        if not r:
            continue
        for m in ("dense", "bm25", "hybrid"):
            x = r["results"][m]
            out.append(f"| **ours, {name}: {m}** | **{x['ndcg@10']:.4f}** | {x['recall@100']:.4f} |")
    out += ["", f"Fusion constants in `assistant/retrieve.py`: "
            + ", ".join(f"`{k} = {v}`" for k, v in fus.items())
            + f"; passage size {t['chunk_size']} characters; index: {t['index'].get('documents')} abstracts "
            f"→ {t['index'].get('chunks')} passages.", ""]
    if tune:
        out += ["### What got it there", "", tune.get("summary", ""), ""]
        rows = tune.get("rows", [])
        if rows:
            out += ["| variant | train nDCG@10 (809 claims) | test nDCG@10 (300 claims) |", "|---|---|---|"]
            for row in rows:
                out.append(f"| {row['variant']} | {_r(row.get('train'), 4)} | {_r(row.get('test'), 4)} |")
            out.append("")
        if tune.get("command"):
            out += [f"Reproduce the table: `{PY} {tune['command'].strip()}`", ""]
    for label, x in (("ONNX fp32", f32), ("ONNX int8", o)):
        if not x:
            continue
        d_t, d_o = t["results"]["hybrid"]["ndcg@10"], x["results"]["hybrid"]["ndcg@10"]
        out += [f"{label} embedder (`ingest/embed_onnx.py`): hybrid {d_o:.4f} vs {d_t:.4f} by default "
                f"({d_o - d_t:+.4f}); dense {x['results']['dense']['ndcg@10']:.4f} vs "
                f"{t['results']['dense']['ndcg@10']:.4f}.", ""]
    out += [f"Reproduce: {cmd(t)} (`--data DIR` defaults to `../shared/data/beir/scifact`; "
            f"add `--json` for JSON, `--run-out FILE` for the TREC run)" + (f"; ONNX fp32: {cmd(f32)}" if f32 else "")
            + f"; ONNX int8: {cmd(o)}. The hybrid TREC run (top 100 per claim) is written to `bench/out/scifact-hybrid.trec`.", ""]
    targets.append(("SciFact hybrid nDCG@10 ≥ 0.72", f"{hy:.4f}", status(hy >= 0.72),
                    "our ingestion + retrieval, no cross-encoder" if hy >= 0.72 else
                    f"{0.72 - hy:.4f} short; see the tuning table"))
    return out


def sec_ingest(targets: list) -> list[str]:
    r = read_result("ingest")
    out = ["## 1. Ingestion against the raw encode rate", ""]
    name = "Ingest ≥ 85% of raw encode rate"
    if not r:
        targets.append((name, "n/a", status(None), "not run"))
        return out + ["Not run.", ""]
    runs = r["runs"]
    ratio = r["cli_vs_raw"]["median"]
    own = (r.get("cli_vs_onnx") or {}).get("median")
    inside = r["passages"] / statistics.median(x["cli_inside_run_ingest_s"] for x in runs)
    raw, onnx = r["raw_per_s"]["median"], (r.get("onnx_per_s") or {}).get("median")
    out += [
        f"First {r['documents']} SciFact abstracts as guideline files → {r['passages']} passages "
        "(section path + text, as embedded). Three measurements over exactly those texts, each in a fresh "
        "process, order rotated each run:",
        "",
        f"- **raw `SentenceTransformer.encode`** (the physical limit the target names): model loaded, one call, "
        f"batch size {r.get('batch_size', '?')} (the product's setting; section 8 compares batch sizes), nothing else;",
        "- **raw ONNX copy**: the engine the pipeline actually embeds with, the same model exported to ONNX with "
        "ONNX Runtime's transformer fusions and verified to give the same vectors (`ingest/query_model.py`); "
        "session loaded, one `embed_documents` call (tokenise, sort by length, run);",
        "- **pipeline**: a whole `guideline ingest --full` process (interpreter start, imports, reading, "
        "validation, chunking, embedding, Chroma, BM25, manifest, switch).",
        "",
        "| | passages/s, median (min–max) | vs raw `encode` | vs raw ONNX copy |", "|---|---|---|---|",
        f"| raw `SentenceTransformer.encode` | {mm(r['raw_per_s'])} | 100% | "
        + (f"{raw / onnx:.0%} |" if onnx else "n/a |"),
    ]
    if onnx:
        out.append(f"| raw ONNX copy (the pipeline's engine) | {mm(r['onnx_per_s'])} | {onnx / raw:.0%} | 100% |")
    out += [
        f"| **`guideline ingest --full` (whole process)** | **{mm(r['cli_per_s'])}** | **{ratio:.0%}** | "
        + (f"**{own:.0%}** |" if own else "n/a |"),
        f"| … of which inside `run_ingest` (the process minus interpreter start and imports) | {inside:.1f} | "
        f"{inside / raw:.0%} | " + (f"{inside / onnx:.0%} |" if onnx else "n/a |"),
        "",
        "By CPU time instead of wall time (less sensitive to other processes on the machine): whole process "
        f"{_pct((r.get('cli_vs_raw_cpu') or {}).get('median'))} of raw `encode`"
        + (f", {_pct(r['cli_vs_onnx_cpu']['median'])} of the raw ONNX copy" if r.get("cli_vs_onnx_cpu") else "")
        + ".", "",
    ]
    stage_runs = [x["cli_stage_s"] for x in runs if x.get("cli_stage_s")]
    if stage_runs:
        keys = [k for k in stage_runs[0] if all(k in x for x in stage_runs)]
        med_stage = {k: statistics.median(x[k] for x in stage_runs) for k in keys}
        out += ["Where the whole process spends its time, median s (`IngestReport.stage_seconds`; `embed` "
                "includes opening the ONNX session): " + ", ".join(f"{k} {v:.1f}" for k, v in med_stage.items())
                + f"; interpreter start and imports before `run_ingest` "
                f"{statistics.median(x['cli_s'] - x['cli_inside_run_ingest_s'] for x in runs):.1f}; the bare "
                f"engine call on the same texts {statistics.median(x.get('onnx_s', x['raw_s']) for x in runs):.1f}.",
                ""]
    if onnx and all("onnx_s" in x for x in runs):
        # time(N) = fixed + N / rate, so the ratio to the engine is N / (N + fixed * rate).
        fixed = statistics.median(x["cli_s"] - x["onnx_s"] for x in runs)
        if fixed > 0:
            n95 = int(0.95 * fixed * onnx / 0.05)
            out += [f"Fixed cost of a whole process over the bare engine call: {fixed:.1f} s (start-up, "
                    f"Chroma, BM25, manifest). It is paid once per run, so the whole process reaches 95% of its "
                    f"engine's rate from about {n95:,} passages (the SciFact corpus has 11,188).", ""]
    out += [f"{len(runs)} runs. Earlier, passages went through sentence-transformers itself, and the whole "
            "process reached ~83% of its raw rate (the gap: ~6.5 s of importing torch and loading the model); "
            "through the verified ONNX copy, which batches faster here and needs no torch import, the pipeline "
            "is faster than raw `encode` and close to its own engine's rate. The one-off export and check of that "
            f"copy, which the first ingest on a machine adds ({_r(r.get('query_model_export_s'), 1)} s), is done "
            "before the timed runs. Reproduce: " + cmd(r), ""]
    cpu = (r.get("cli_vs_raw_cpu") or {}).get("median")
    measured = (f"{ratio:.0%} of raw `encode` (wall; {_pct(cpu)} CPU time)"
                + (f"; {own:.0%} of the raw rate of its own engine, the ONNX copy" if own else ""))
    if own is not None and own > 1.05:
        # The whole pipeline cannot beat a bare call of the engine it uses: the machine's speed
        # changed under the measurement. No verdict from such a run.
        targets.append((name, measured, status(None),
                        f"not established: the bare ONNX call ({mm(r['onnx_per_s'])}/s) came out slower than "
                        f"the whole pipeline ({mm(r['cli_per_s'])}/s), so the machine's speed changed under the "
                        "measurement; rerun `bench/run_all.py --only ingest`"))
        return out
    note = (f"{r['passages']} passages, {len(runs)} runs; whole-process ratio to raw `encode` "
            f"{r['cli_vs_raw']['min']:.0%}–{r['cli_vs_raw']['max']:.0%}")
    if own is not None:
        note += (f", to its own engine {r['cli_vs_onnx']['min']:.0%}–{r['cli_vs_onnx']['max']:.0%}"
                 + ("" if own >= 0.85 else " (under 85%: the fixed start-up weighs on a corpus this small)"))
    targets.append((name, measured, status(ratio >= 0.85), note))
    return out


def sec_incremental(targets: list) -> list[str]:
    r = read_result("incremental")
    out = ["## 2. Incremental re-ingest", ""]
    if not r:
        targets.append(("No-change re-ingest < 5% of full rebuild", "n/a", status(None), "not run"))
        return out + ["Not run.", ""]
    c = r["checks"][0]
    out += [
        f"Shipped corpus ({r['passages']} passages), model loaded, in-process `run_ingest`; then whole "
        "`guideline ingest` processes.",
        "",
        "| run | seconds, median (min–max) | vs full rebuild |", "|---|---|---|",
        f"| full rebuild (`full=True`) | {mm(r['full_s'], 3)} | 100% |",
        f"| no change | {mm(r['no_change_s'], 3)} | {r['no_change_ratio']:.1%} |",
        f"| one document changed ({r['changed_document']}) | {mm(r['one_change_s'], 3)} | {r['one_change_ratio']:.1%} |",
        f"| `guideline ingest --full` process | {r['cli_full_s']:.2f} | 100% |",
        f"| `guideline ingest` process, no change | {mm(r['cli_no_change_s'], 2)} | {r['cli_no_change_ratio']:.1%} |",
        "",
        f"One changed document: {c['embedded']} passages re-embedded (expected {c['expected']} from chunk-id "
        f"diff; the document has {c['changed_doc_passages']} passages, the corpus {c['corpus_passages']}); "
        f"only-changed check over all runs: {'yes' if r['only_changed_reembedded'] else 'NO'}.",
        "", f"Reproduce: {cmd(r)}", "",
    ]
    ok = r["no_change_ratio"] < 0.05 and r["only_changed_reembedded"]
    targets.append(("No-change re-ingest < 5% of full rebuild; one change re-embeds only its passages",
                    f"{r['no_change_ratio']:.1%} in-process, {r['cli_no_change_ratio']:.1%} as processes; "
                    f"{c['embedded']}/{c['corpus_passages']} re-embedded",
                    status(ok), "" if ok else "see section 2"))
    return out


def _lat_rows(results: list[dict]) -> list[str]:
    rows = ["| passages | Chroma | retrieval p50 | retrieval p95 | full answer p50 | full answer p95 | "
            "query embed p50 | Chroma query p50 | BM25 p50 |", "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        L = r["latency_ms"]

        def c(k, q):
            if k not in L:
                return "n/a"
            return f"{L[k][q]:.1f} ({L[k][q + '_min']:.1f}–{L[k][q + '_max']:.1f})"
        rows.append(f"| {r['chunks']:,} | {r['chroma']} | {c('retrieve', 'p50')} | {c('retrieve', 'p95')} | "
                    f"{c('answer', 'p50')} | {c('answer', 'p95')} | {c('embed', 'p50')} | {c('dense', 'p50')} | "
                    f"{c('bm25', 'p50')} |")
    return rows


def sec_latency(targets: list) -> list[str]:
    r = read_result("latency")
    o = read_result("latency-torch")
    out = ["## 3. Query latency, warm (ms)", ""]
    if not r:
        targets.append(("Full answer p95 < 150 ms at 100k passages", "n/a", status(None), "not run"))
        return out + ["Not run.", ""]
    res = r["results"]
    q = res[0]
    out += [
        "Synthetic corpora (`bench/synth.py`): the shipped corpus plus generated guideline files whose "
        "sentences are recombined from it; passage vectors are synthesised from real sentence vectors "
        "(queries are embedded by the real model: through its verified ONNX copy, `ingest/query_model.py`, "
        f"as the product does once an ingest has prepared it; embedder `{q.get('embedder', '?')}`), and "
        "everything is written by `run_ingest` (Chroma "
        "collection, chunks.jsonl, BM25). Each cell: median over "
        f"{q['rounds']} rounds of the per-round percentile over {q['questions']} distinct questions, "
        "(min–max across rounds). Retrieval = `HybridSearcher.search` (query embedding + Chroma + BM25 + "
        "fusion); full answer = `Assistant.answer` (safety check, condense, retrieval, grounded composer, "
        "enforcement, audit row).",
        "",
    ] + _lat_rows(res) + [""]
    big = [x for x in res if x["chunks"] >= 90_000 and "answer" in x["latency_ms"]]
    if o:
        out += ["Same at 100k on the fallback query path, sentence-transformers on one thread "
                "(`GUIDELINE_QUERY_EMBEDDER=torch`, or before the query model is prepared):", ""] + _lat_rows(o["results"]) + [""]
    stages = [(x["chunks"], x["chroma"], x.get("answer_stage_median_ms", {})) for x in res]
    if any(s for *_, s in stages):
        keys = [k for k in ("safety_check", "condense", "retrieve", "compose", "safety_enforce", "total")]
        out += ["Full-answer stages, median ms (from `Answer.timings_ms`):", "",
                "| passages | Chroma | " + " | ".join(keys) + " |", "|---|---|" + "---|" * len(keys)]
        for n, mode, s in stages:
            out.append(f"| {n:,} | {mode} | " + " | ".join(_r(s.get(k), 1) for k in keys) + " |")
        out.append("")
    loads = ", ".join(f"{x['chunks']:,} {x['chroma']}: {x['index_load_ms'] / 1000:.1f} s" for x in res)
    out += [f"Index load at first query (not in the warm figures): {loads}.", "",
            f"Reproduce: {cmd(r)}" + (f"; torch query path: {cmd(o)}" if o else ""), ""]
    if big:
        worst = max(x["latency_ms"]["answer"]["p95"] for x in big)
        emb = [x for x in big if x["chroma"] == "embedded"]
        e95 = emb[0]["latency_ms"]["answer"]["p95"] if emb else worst
        targets.append(("Full answer p95 < 150 ms at 100k passages",
                        " / ".join(f"{x['chroma']} {x['latency_ms']['answer']['p95']:.0f} ms" for x in big),
                        status(worst < 150), "" if worst < 150 else
                        f"embedded {e95:.0f} ms; see the stage table for where the time goes"))
    else:
        targets.append(("Full answer p95 < 150 ms at 100k passages", "n/a", status(None),
                        "full answer not measured at 100k: " + str(res[-1].get("answer_error"))))
    return out


def sec_langchain(targets: list) -> list[str]:
    r = read_result("langchain")
    out = ["## 5. Against a naive LangChain pipeline (shipped corpus, eval set)", ""]
    if not r:
        targets.append(("≥ 10 points hit@5 over naive LangChain, not slower", "n/a", status(None), "not run"))
        return out + ["Not run.", ""]
    qa = r["quality"]
    out += [
        f"Naive: {r['naive_setup']['splitter']}, `Chroma.from_documents`, `similarity_search(k={r['naive_setup']['k']})`, "
        f"{r['naive_setup']['embeddings']}. Ours: `run_ingest` + `HybridSearcher` (query = `condense(question, "
        f"history)` as in `answer()`). {r['cases_with_sources']} cases of `{r['eval_set']}` name gold sources. "
        "Scored as `guideline eval` scores hit@5: a gold passage among the first five passages, where the eval "
        "set names a source as a document (`doc`: any of its passages) or a section (`doc#Section`: a passage "
        "of that section). A naive chunk has no section of its own, so it is credited with every heading its "
        "text spans, which favours the naive side.",
        "",
        "| pipeline | passages | hit@1 | hit@5 | MRR | ingest s, median (min–max) | query p50 ms | query p95 ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, label in (("ours", "ours"), ("ours_question_only", "ours, bare question"), ("naive", "naive LangChain")):
        x = qa[name]
        base = "ours" if name.startswith("ours") else "naive"
        ing = mm(r["ingest_s"][base], 2) if name != "ours_question_only" else ""
        qp50 = mm(r["query_ms"][base]["p50"], 1) if name != "ours_question_only" else ""
        qp95 = mm(r["query_ms"][base]["p95"], 1) if name != "ours_question_only" else ""
        out.append(f"| {label} | {r['passages'][base]} | {_r(x.get('hit@1'), 3)} | {x['hit@5']:.3f} | "
                   f"{x['mrr']:.3f} | {ing} | {qp50} | {qp95} |")
    qd = r.get("quality_document_level")
    if qd:
        out += ["", "Looser, document level (distinct documents in passage order, a gold document among the first "
                "five documents): " + "; ".join(
                    f"{label} hit@5 {qd[n]['hit@5']:.3f}, MRR {qd[n]['mrr']:.3f}"
                    for n, label in (("ours", "ours"), ("naive", "naive"))) +
                f" ({r.get('hit5_gain_points_document_level', 0):+.1f} points: with 16 documents a top five "
                "holds a third of the corpus, so this measure says little about finding the passage to cite)."]
    gain = r["hit5_gain_points"]
    ceiling = round(100 * (1 - qa["naive"]["hit@5"]), 1)
    # "Not slower": a median within 5% of the naive one is the same speed on this machine,
    # whose run-to-run spread is larger than that (see the min-max columns).
    q_ok = r["query_ms"]["ours"]["p50"]["median"] <= 1.05 * r["query_ms"]["naive"]["p50"]["median"]
    i_ok = r["ingest_s"]["ours"]["median"] <= 1.05 * r["ingest_s"]["naive"]["median"]
    out += ["", f"hit@5 gain: {gain:+.1f} points (the naive pipeline leaves {ceiling:.1f} points of headroom on "
            "this set); MRR gain: "
            f"{100 * (qa['ours']['mrr'] - qa['naive']['mrr']):+.1f} points. \"Not slower\" counts a median within "
            "5% of the naive one as the same speed: this machine's run-to-run spread is larger than that.", "",
            f"Reproduce: {cmd(r)}", ""]
    ok = gain >= 10 and q_ok and i_ok
    reason = []
    if gain < 10:
        reason.append(f"hit@5 {gain:+.1f} points (naive {qa['naive']['hit@5']:.3f}, at most +{ceiling:.1f} "
                      f"possible); hit@1 {100 * (qa['ours'].get('hit@1', 0) - qa['naive'].get('hit@1', 0)):+.1f} "
                      f"points, MRR {100 * (qa['ours']['mrr'] - qa['naive']['mrr']):+.1f}")
    if not q_ok:
        reason.append(f"query p50 {r['query_ms']['ours']['p50']['median']:.1f} vs naive "
                      f"{r['query_ms']['naive']['p50']['median']:.1f} ms: ours embeds a query on one thread "
                      "(two threads on two busy cores were measured at ~1 s a query) and adds BM25 and fusion")
    if not i_ok:
        reason.append(f"ingest {r['ingest_s']['ours']['median']:.2f} s vs naive {r['ingest_s']['naive']['median']:.2f} s "
                      "(ours also validates, builds BM25 and versions)")
    targets.append(("≥ 10 points hit@5 over naive LangChain, not slower",
                    f"hit@5 {qa['ours']['hit@5']:.3f} vs {qa['naive']['hit@5']:.3f}; query p50 "
                    f"{r['query_ms']['ours']['p50']['median']:.1f} vs {r['query_ms']['naive']['p50']['median']:.1f} ms; "
                    f"ingest {r['ingest_s']['ours']['median']:.2f} vs {r['ingest_s']['naive']['median']:.2f} s",
                    status(ok), "; ".join(reason)))
    return out


def sec_published() -> list[str]:
    """Published guidance at scale, and the blind question rounds on the VA/DoD guideline."""
    r = read_result("published")
    out = ["## 10. Published guidance at scale", ""]
    if r:
        ing, raw, ans = r["ingest"], r.get("raw", {}), r.get("answer", {})
        f = r.get("formats", {})
        out += [f"{r['documents']} documents as published ({f.get('markdown', 0)} Markdown chapters with their own "
                f"front matter, reference anchors and drug tables; {f.get('html', 0)} NICE-style HTML pages; "
                f"{f.get('pdf', 0)} PDF, the 141-page VA/DoD guideline), {r.get('corpus_mb')} MB, in one "
                f"`guideline ingest --full` process. Command: `{r.get('command', '')}`.", "",
                "| | passages | wall | CPU | passages/s | peak RSS |", "|---|---|---|---|---|---|"]
        if r.get("small"):
            sm = r["small"]
            out.append(f"| first {sm['documents']} documents | {sm['passages']:,} | {sm['wall_s']} s | {sm['cpu_s']} s | "
                       f"{sm['per_s']} | {sm['peak_rss_mb']} MB |")
        out.append(f"| all {r['documents']} documents | {ing['passages']:,} | {ing['wall_s']} s | {ing['cpu_s']} s | "
                   f"{ing['per_s']} | {ing['peak_rss_mb']} MB |")
        out += ["", f"Raw encoder rates on an even sample of {raw.get('sample')} of the same passage texts: "
                f"ONNX copy (the engine ingest uses) {raw.get('onnx_per_s')}/s, `SentenceTransformer.encode` "
                f"{raw.get('st_per_s')}/s; the whole ingest runs at {_pct(r.get('ingest_vs_onnx'))} of its "
                f"engine's raw rate and {_pct(r.get('ingest_vs_st'))} of raw `encode`. Stages (s): "
                + ", ".join(f"{k} {v}" for k, v in ing.get("stage_s", {}).items()) + ".",
                "Wall rates on this shared machine follow its load (other work runs beside the benchmark), so the "
                f"ratios are a floor; the CPU figure is steadier: {ing['passages'] / ing['cpu_s']:.1f} passages per "
                "CPU-second for the whole ingest."
                + (f" Peak RSS: {r['small']['peak_rss_mb']} MB for {r['small']['passages']:,} passages, "
                   f"{ing['peak_rss_mb']} MB for {ing['passages']:,} ({ing['passages'] / r['small']['passages']:.0f}x the "
                   f"passages), about {(ing['peak_rss_mb'] - r['small']['peak_rss_mb']) * 1024 / max(1, ing['passages'] - r['small']['passages']):.0f} KB "
                   "more per passage: passage records, vectors, BM25 and Chroma's index are held until the version is "
                   "written; PDFs are parsed one page at a time (each page's objects are released after it)."
                   if r.get("small") else ""),
                f"Passage kinds: {raw.get('kinds')}; passages with a leftover reference marker or page footer: "
                f"{raw.get('dirty_passages')}.",
                f"Answers over this index (warm, grounded composer, {ans.get('n')} questions): "
                f"p50 {ans.get('p50_ms')} ms, p95 {ans.get('p95_ms')} ms.", ""]
    rounds = ROOT / "bench" / "published_rounds.json"
    if rounds.exists():
        rows = json.loads(rounds.read_text(encoding="utf-8"))
        out += ["### Questions written blind for the VA/DoD guideline", "",
                "Asked with `guideline eval` over the shipped corpus plus the VA/DoD PDF as published; the "
                "first round ran before any parsing or chunking fix prompted by them, the composer untouched.", "",
                "| round | date | cases | pass | fact coverage | note |", "|---|---|---|---|---|---|"]
        for x in rows:
            out.append(f"| {x['round']} | {x['date']} | {x['cases']} | {x['passed']}/{x['cases']} "
                       f"({x['passed'] / x['cases']:.0%}) | {x.get('fact_coverage', '')} | {x.get('note', '')} |")
        out.append("")
    return out if len(out) > 2 else []


def sec_embedders() -> list[str]:
    r = read_result("embedders")
    out = ["## 8. Embedding paths: sentence-transformers, ONNX fp32 (the verified copy), ONNX int8", ""]
    if not r:
        return out + ["Not run.", ""]
    out += [f"{r['passages']} SciFact passages (section path + up to 900 characters) and {r['queries']} "
            f"distinct questions, {r['runs']} runs each, in one process. `torch` is sentence-transformers "
            "(the fallback, `GUIDELINE_QUERY_EMBEDDER=torch` / `GUIDELINE_PASSAGE_EMBEDDER=torch`); `onnx` is "
            "the fused fp32 export that the product verifies and then uses for queries and passages; "
            "`onnx-int8` a dynamic quantisation (not used by the product: it changes the vectors).", "",
            "| path | passages/s, median (min–max) | single query p50 / p95 ms | cosine to torch, min / mean | "
            "first call s | eval set hit@5 / MRR |", "|---|---|---|---|---|---|"]
    for k, x in r["results"].items():
        ev = x.get("eval_set")
        out.append(f"| {k} | {mm(x['passages_per_s'])} | {x['query_ms']['p50']:.1f} / {x['query_ms']['p95']:.1f} | "
                   f"{x['cosine_to_torch']['min']:.4f} / {x['cosine_to_torch']['mean']:.4f} | {x['first_call_s']:.2f} | "
                   + (f"{ev['hit@5']:.3f} / {ev['mrr']:.3f} |" if ev else "n/a |"))
    sweeps = [(k, x["rate_by_batch_size"]) for k, x in r["results"].items() if x.get("rate_by_batch_size")]
    if sweeps:
        sizes = list(sweeps[0][1])
        out += ["", f"Batch size (passages per model call; one run over the first {r.get('sweep', '?')} of those "
                f"passages each, passages/s; the product uses {r['results'][sweeps[0][0]].get('batch_size')}):", "",
                "| path | " + " | ".join(sizes) + " |", "|---|" + "---|" * len(sizes)]
        out += [f"| {k} | " + " | ".join(f"{x[b]:.1f}" for b in sizes) + " |" for k, x in sweeps]
    out += ["", f"Reproduce: {cmd(r)}", ""]
    return out


def sec_coldstart() -> list[str]:
    r = read_result("coldstart")
    out = ["## 6. Cold start and memory", ""]
    if not r:
        return out + ["Not run.", ""]
    out += [
        "| | median (min–max) |", "|---|---|",
        f"| `guideline ask` process start → answer printed | {mm(r['ask_wall_s'], 2)} s |",
        f"| of which inside `answer()` (`timings_ms.total`; the model, spaCy pipeline and index load lazily on this first call) | {mm(r['ask_answer_ms_inside'], 0)} ms |",
        f"| `guideline ask` peak RSS | {mm(r['ask_peak_rss_mib'], 0)} MiB |",
        f"| bare `import assistant.pipeline, ui.cli` | {r['bare_import_s']:.2f} s |",
        f"| `guideline ui` spawn → `/_stcore/health` answers | {mm(r['ui_health_s'], 2)} s |",
    ] + ([f"| `guideline ui` spawn → first answer with sources on screen (Chromium) | "
          f"{mm(r['ui_first_answer_s'], 2)} s |"] if r.get("ui_first_answer_s") else
         ["| `guideline ui` spawn → first answer | not measured (Chromium not installed) |"]) + [
        f"| Streamlit server peak RSS (after the first answer when measured) | {mm(r['ui_peak_rss_mib'], 0)} MiB |",
        "",
        "The UI serves its page at once and loads the model, the safety pipeline and the index on the first "
        "question. OS file cache warm (a machine that has run the product before).", "",
        f"Reproduce: {cmd(r)}", "",
    ]
    return out


def sec_safety() -> list[str]:
    r = read_result("safety")
    out = ["## 7. Safety layer", ""]
    if not r:
        st = (read_result("run_all") or {}).get("steps", {}).get("safety", {})
        return out + [f"Not measured: {st.get('reason', 'bench/bench_safety.py did not run')}.", ""]
    ci, en = r.get("check_input", {}), r.get("enforce", {})
    out += [
        f"`check_input` over a {r.get('conversation_chars')}-character conversation "
        f"({r.get('user_turns')} user turns), {r.get('runs')} runs: median {ci.get('median_ms')} ms, "
        f"p95 {ci.get('p95_ms')} ms, max {ci.get('max_ms')} ms. `enforce`: median {en.get('median_ms')} ms, "
        f"p95 {en.get('p95_ms')} ms. First call in a process (builds the spaCy pipeline): "
        f"{r.get('first_call_ms_including_pipeline_build')} ms.",
        "",
    ]
    ln = r.get("long_note")
    if ln:
        p95 = max(ln["per_2000_chars"]["p95_ms"], (r.get("check_input_per_2000_chars") or {}).get("p95_ms", 0))
        ok = p95 < r.get("target_ms_per_2000_chars_p95", 30)
        out += [f"A {ln['chars']:,}-character pasted note with a red flag buried in it (escalated: "
                f"{ln['escalated']}): median {ln['check_input']['median_ms']} ms, p95 {ln['check_input']['p95_ms']} ms, "
                f"i.e. p95 {ln['per_2000_chars']['p95_ms']} ms per 2,000 characters of wall time "
                f"({(ln.get('per_2000_chars_cpu') or {}).get('p95_ms', 'n/a')} ms of CPU; the load average was "
                f"{r.get('load_average_1min')}). Target: p95 under "
                f"{r.get('target_ms_per_2000_chars_p95', 30)} ms per 2,000 characters: {status(ok)}.", ""]
    out += [f"Reproduce: {cmd(r)}", ""]
    return out


CONTEXT_UNTOUCHED = {
    # The check half (line % 4 == 3) as first measured, before any of its rows were looked at:
    # policy termsets at commit 910d47c, tuned on the tune half (line % 4 == 1) only.
    "negated": (0.953, 0.984, 0.968), "historical": (0.889, 0.582, 0.703),
    "hypothetical": (1.0, 0.889, 0.941), "other": (1.0, 1.0, 1.0),
}


CONTEXT_BEFORE = {
    # The engine before this benchmark existed (policy 2026.12.1), on the whole development half.
    "negated": (0.951, 0.947, 0.949), "historical": (0.642, 0.301, 0.410),
    "hypothetical": (0.706, 0.414, 0.522), "other": (1.0, 0.5, 0.667),
}


def sec_context(targets: list) -> list[str]:
    r = read_result("context")
    out = ["## 9. Context engine (ConText/NegEx dev half)", ""]
    if not r:
        return out + ["Not measured: run `.venv/bin/python bench/context.py --baseline negspacy --name context "
                      "--out bench/out/context-pred.tsv`.", ""]
    eng, base = r.get("engine", {}), r.get("baseline", {})
    out += [
        f"The safety layer's context engine (`assistant.safety.context.span_contexts`: the same spaCy pipeline, "
        f"policy termsets and NegEx passes that check every conversation; policy {r.get('policy_version')}) on "
        f"the development half of the public ConText/NegEx annotated sentences ({r.get('rows')} rows, "
        f"{r.get('skipped_target_missing')} skipped because the sentence is cut before the target), "
        "against plain negspacy 1.1 (blank English, sentencizer, en_clinical termset; negation only). "
        "`historical` counts a finding the engine reads as historical and not as new or changing, the rule "
        "the red-flag layer applies; `possible` (\"cannot be excluded\") counts as not negated; `other` is "
        "the engine's family context against an experiencer other than the patient.", "",
        "| rows | context | engine P | R | F1 | negspacy P | R | F1 |", "|---|---|---|---|---|---|---|---|",
    ]
    for split, label in (("all", "all"), ("tune", "tune half (line % 4 = 1)"),
                         ("check", "check half (line % 4 = 3)")):
        for c, s in eng.get(split, {}).items():
            b = base.get(split, {}).get(c)
            bb = f"{b['precision']:.3f} | {b['recall']:.3f} | {b['f1']:.3f}" if b else "– | – | –"
            out.append(f"| {label} | {c} ({s['tp'] + s['fn']} gold) | {s['precision']:.3f} | {s['recall']:.3f} | "
                       f"{s['f1']:.3f} | {bb} |")
    out += ["", "Before this work (policy 2026.12.1), on all rows: " + ", ".join(
        f"{c} P {p:.3f} R {rr:.3f} F1 {f:.3f}" for c, (p, rr, f) in CONTEXT_BEFORE.items()) + ".", "",
        "How it was tuned: the termsets were changed while looking only at the tune half's errors; the "
            "check half was then measured once, untouched: " + ", ".join(
                f"{c} P {p:.3f} R {rr:.3f} F1 {f:.3f}" for c, (p, rr, f) in CONTEXT_UNTOUCHED.items())
            + ". Its errors were read afterwards (a second pass fixed general patterns: \"without contrast\" and "
            "missing-data phrases are not negations, \", the patient\" ends a negation, \"X history\" is "
            "historical), so the figures above for the check half are no longer unseen; the held-out half "
            "of the corpus is the unseen measure. A fixed negation window (5-20 words) was also tried and "
            "rejected on the tune half's figures (it lost recall there without gaining precision).", ""]
    all_ = eng.get("all", {})
    for c, t in (r.get("targets") or {}).items():
        s = all_.get(c)
        if not s:
            continue
        ok = s["precision"] >= t["precision"] and s["recall"] >= t["recall"] and s["f1"] >= t["f1"]
        want = f"P ≥ {t['precision']}" + (f", R ≥ {t['recall']}" if t["recall"] else "") + (
            f", F1 ≥ {t['f1']}" if t["f1"] else "")
        targets.append((f"context engine, {c}: {want} (ConText/NegEx dev half)",
                        f"P {s['precision']:.3f}, R {s['recall']:.3f}, F1 {s['f1']:.3f}", status(ok),
                        "targets are for unseen rows; section 9"))
    out += [f"Reproduce: {cmd(r)}", ""]
    return out


def sec_support() -> list[str]:
    """The LLM support check (bench/bench_support.py renders its own section)."""
    r = read_result("support")
    if not r:
        return []
    return list(r.get("markdown") or [])


def sec_findings() -> list[str]:
    """What the numbers say, computed from the results so that it stays true after a re-run."""
    out = ["## What the numbers say", ""]
    lat = read_result("latency")
    emb = read_result("embedders")
    ing = read_result("ingest")
    inc = read_result("incremental")
    t, f32, i8 = read_result("scifact"), read_result("scifact-onnx"), read_result("scifact-onnx-int8")
    items = []
    if lat:
        res = [x for x in lat["results"] if "answer" in x["latency_ms"]]
        emb_rows = [x for x in res if x["chroma"] == "embedded"]
        if len(emb_rows) >= 2:
            a, b = emb_rows[0], emb_rows[-1]
            items.append(
                f"Growth {a['chunks']:,} → {b['chunks']:,} passages (embedded Chroma): retrieval p50 "
                f"{a['latency_ms']['retrieve']['p50']:.1f} → {b['latency_ms']['retrieve']['p50']:.1f} ms (Chroma query "
                f"{a['latency_ms']['dense']['p50']:.1f} → {b['latency_ms']['dense']['p50']:.1f}, BM25 "
                f"{a['latency_ms']['bm25']['p50']:.1f} → {b['latency_ms']['bm25']['p50']:.1f}, query embedding "
                f"{a['latency_ms']['embed']['p50']:.1f} → {b['latency_ms']['embed']['p50']:.1f}); full answer p50 "
                f"{a['latency_ms']['answer']['p50']:.1f} → {b['latency_ms']['answer']['p50']:.1f} ms. No step of an answer walks the whole corpus: "
                "passages grouped by document and the covered-topics list are built once per corpus version "
                "(`ServingIndex.by_doc`, `ServingIndex.titles`), so what grows is the search itself.")
    if emb:
        r = emb["results"]
        if "torch" in r and "onnx" in r:
            items.append(
                f"Embedding dominates both ingestion and retrieval, so it is where the speed came from. The fused "
                f"ONNX fp32 copy gives the same vectors as sentence-transformers (cosine min "
                f"{r['onnx']['cosine_to_torch']['min']:.4f}) at {r['onnx']['passages_per_s']['median']:.1f} passages/s "
                f"against {r['torch']['passages_per_s']['median']:.1f}/s "
                f"({r['onnx']['passages_per_s']['median'] / r['torch']['passages_per_s']['median']:.1f}×"
                + (f"; {ing['onnx_per_s']['median'] / ing['raw_per_s']['median']:.1f}× on the ingest benchmark's "
                   "646 passages in fresh processes; the batch-rate ratio varies between runs on this shared machine"
                   if ing and ing.get("onnx_per_s") and ing.get("raw_per_s") else "")
                + "), a single "
                f"query in {r['onnx']['query_ms']['p50']:.1f} ms against {r['torch']['query_ms']['p50']:.1f} ms, and a "
                f"first call in {r['onnx']['first_call_s']:.1f} s against {r['torch']['first_call_s']:.1f} s (no torch "
                "import). So once an ingest has exported and checked it (`ingest/query_model.py`), it embeds queries "
                "and passages; sentence-transformers is the fallback. ONNX int8 batches faster still ("
                f"{r.get('onnx-int8', {}).get('passages_per_s', {}).get('median', float('nan')):.1f}/s) but changes "
                "the vectors, so it is measured, not used.")
    if t and i8:
        evs = [(k, x["eval_set"]) for k, x in (emb or {}).get("results", {}).items() if x.get("eval_set")]
        ev_txt = ("; eval set hit@5 / MRR: " + ", ".join(f"{k} {e['hit@5']:.3f} / {e['mrr']:.3f}" for k, e in evs)
                  if evs else "")
        items.append(f"Quality per embedding path on SciFact: default hybrid {t['results']['hybrid']['ndcg@10']:.4f}, "
                     f"ONNX int8 hybrid {i8['results']['hybrid']['ndcg@10']:.4f}" + ev_txt
                     + (". int8 would take SciFact hybrid below the 0.72 target, one more reason to keep fp32."
                        if i8["results"]["hybrid"]["ndcg@10"] < 0.72 else "."))
    if ing:
        own = (ing.get("cli_vs_onnx") or {}).get("median")
        runs = ing["runs"]
        startup = statistics.median(r["cli_s"] - r["cli_inside_run_ingest_s"] for r in runs)
        if own is not None and own > 1.05:
            items.append("Ingestion: the last measurement is not conclusive (the bare engine call came out slower "
                         "than the whole pipeline that uses it: the machine's speed changed under it); see section 1.")
        else:
            items.append(
                f"Ingestion: the whole `guideline ingest --full` process runs at {ing['cli_vs_raw']['median']:.0%} "
                f"of the bare `SentenceTransformer.encode` rate on {ing['passages']} passages"
                + (f" and at {own:.0%} of the bare rate of the engine it uses" if own is not None else "")
                + f". What it adds is fixed: {startup:.1f} s of interpreter start and imports, then Chroma, BM25 "
                "and the manifest, about a second together; so the ratio rises with corpus size.")
    if inc:
        imp = inc.get("process_import_s", {})
        items.append(
            f"Incremental: a no-change `run_ingest` costs {inc['no_change_s']['median'] * 1000:.0f} ms "
            f"({inc['no_change_ratio']:.1%} of a full rebuild); as a process it is "
            f"{inc['cli_no_change_s']['median']:.2f} s against {inc['cli_full_s']:.2f} s for a `--full` process "
            f"({inc['cli_no_change_ratio']:.0%}: on a corpus this small a full rebuild is short, and the fixed "
            "process cost is most of both)"
            + (f", of which a bare `import chromadb` process is {imp['chromadb']:.2f} s (and `import ingest.index` "
               f"{imp['ingest.index']:.2f} s): the no-change path still opens a Chroma client, on purpose, to "
               "check that the serving collection is whole and to collect leftovers of a crashed run." if imp else "."))
    cold = read_result("coldstart")
    if emb and cold and "torch" in emb["results"] and "onnx" in emb["results"]:
        items.append(
            f"Cold start: `guideline ask` takes {cold['ask_wall_s']['median']:.1f} s to a first answer, "
            f"{(cold.get('ask_answer_ms_inside') or {}).get('median', 0) / 1000:.1f} s of it inside the first "
            f"`answer()` (lazy loads). The embedder's first call costs {emb['results']['torch']['first_call_s']:.1f} s "
            f"with torch and {emb['results']['onnx']['first_call_s']:.1f} s with ONNX; queries take the ONNX path, "
            "so a cold `ask` no longer loads the torch model. Most of what remains is building the safety "
            "layer's spaCy pipeline (its entity ruler tokenises every policy phrase) and importing spaCy, which "
            "no longer pulls torch in (`assistant/safety/_spacy.py` hides it from thinc for that import: "
            "about 1.5 s and 250 MB less).")
    if not items:
        return []
    return out + [f"{i}. {x}" for i, x in enumerate(items, 1)] + [""]


def sec_rounds() -> list[str]:
    """Blind rounds recorded in bench/rounds.yaml (first try before tuning, then after)."""
    import yaml

    f = ROOT / "bench" / "rounds.yaml"
    if not f.exists():
        return []
    data = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
    out = ["## Blind rounds (answers and published guidance)", "",
           "Cases written by someone who had not read the code, vocabularies or eval sets, run before any "
           "tuning (`bench/rounds.yaml` holds the record; reproduce a row with "
           f"`{PY} -m evals SET --out DIR` on the commit named). The first try is the measure.", "",
           "| kind | round | date | commit | cases | first-try pass | fact coverage | out-of-scope acc. | "
           "after tuning | by category / note |", "|---|---|---|---|---|---|---|---|---|---|"]
    for kind, rows in data.items():
        for r in rows or []:
            ft = r.get("first_try", {})
            after = r.get("after", {})
            out.append(f"| {kind} | {r.get('round')} | {r.get('date')} | {r.get('commit', '')} | {r.get('cases')} | "
                       f"{_pct(ft.get('pass_rate'))} | {_pct(ft.get('fact_coverage'))} | "
                       f"{_pct(ft.get('out_of_scope_accuracy'))} | {_pct(after.get('pass_rate')) if after else '-'} | "
                       f"{r.get('by_category', '')} {r.get('note', '')} |")
    return out + [""]


def sec_static() -> list[str]:
    """Hand-written sections kept in bench/sections/*.md (results of scripts run outside make bench)."""
    out: list[str] = []
    for f in sorted((ROOT / "bench" / "sections").glob("*.md")):
        out += f.read_text(encoding="utf-8").rstrip().splitlines() + [""]
    return out


def write_report(path: Path = DOC) -> Path:
    run_all = read_result("run_all") or (json.loads((OUT / "run_all.json").read_text())
                                         if (OUT / "run_all.json").exists() else None)
    targets: list[tuple] = []
    body = []
    body += sec_ingest(targets)
    body += sec_incremental(targets)
    body += sec_latency(targets)
    body += sec_scifact(targets)
    body += sec_langchain(targets)
    body += sec_coldstart()
    body += sec_safety()
    body += sec_embedders()
    body += sec_context(targets)
    body += sec_published()
    body += sec_support()
    any_res = None
    for p in sorted(OUT.glob("*.json")):
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except ValueError:
            continue
        if isinstance(data, dict) and data.get("machine"):
            any_res = data
            break
    steps = (run_all or {}).get("steps", {})
    head = [
        "# Benchmarks", "",
        f"Generated by `make bench` (`{PY} bench/run_all.py`) on {time.strftime('%Y-%m-%d')}; "
        "re-render from `bench/out/*.json` with `" + PY + " bench/report.py`. Every command below runs from "
        "the repository root. Timings are medians of several runs with min–max; the machine is shared "
        "(other test suites may run at the same time), so single figures can be noisy — the load average "
        "around each step is listed at the end.",
        "",
        "## Machine", "",
    ] + _machine_block(run_all, any_res) + ["", "## Targets", "",
                                              "| target | measured | status | note |", "|---|---|---|---|"]
    if run_all and not run_all.get("only"):
        mins = run_all.get("total_seconds", 0) / 60
        c = run_all.get("caches_at_start", {})
        warm = [k for k, v in c.items() if v]
        cold = [k for k, v in c.items() if not v]
        skipped = [k for k, v in steps.items() if v.get("status") == "skipped"]
        note = ("cold: every index built in this run" if not warm else
                f"indexes already cached: {', '.join(warm)}" + (f"; built: {', '.join(cold)}" if cold else ""))
        if skipped:
            note += f"; skipped for the budget (earlier results shown): {', '.join(skipped)}"
        reduced = [f"{k} {v['reduced']}" for k, v in steps.items() if v.get("reduced")]
        if reduced:
            note += "; reduced: " + "; ".join(reduced)
        hist = run_all.get("history", [])
        colds = [h for h in hist if h.get("cold")]
        warms = [h for h in hist if not h.get("cold")]
        measured = f"{mins:.1f} min (this run)"
        if colds and colds[-1]["finished"] != run_all.get("finished"):
            measured += f"; last cold run {colds[-1]['total_seconds'] / 60:.1f} min"
        if warms and warms[-1]["finished"] != run_all.get("finished"):
            measured += f"; last warm run {warms[-1]['total_seconds'] / 60:.1f} min"
        ok = mins < 20 and all(h["total_seconds"] < 1200 for h in colds[-1:])
        targets.append(("`make bench` end to end < 20 min", measured, status(ok), note))
    for name, val, st, why in targets:
        head.append(f"| {name} | {val} | {st} | {why} |")
    head.append("")
    head += sec_findings()
    body = body + sec_rounds() + sec_static()
    tail = ["## Run log", "", "| step | status | seconds | load avg before → after (1 min) |", "|---|---|---|---|"]
    for name, s in steps.items():
        lb, la = s.get("load_before", [None])[0], s.get("load_after", [None])[0]
        tail.append(f"| {name} | {s.get('status')}{(': ' + s['reason']) if s.get('reason') else ''}"
                    f"{(' (' + s['reduced'] + ')') if s.get('reduced') else ''} | "
                    f"{s.get('seconds', '')} | {lb} → {la} |")
    if run_all:
        tail += ["", f"Total: {run_all.get('total_seconds', 0) / 60:.1f} min"
                 + (f" (subset: {', '.join(run_all['only'])})" if run_all.get("only") else "") + "."]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(head + body + tail) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    print(write_report())
