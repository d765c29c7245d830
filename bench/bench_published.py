"""Guidance as published, at scale: ~200 documents / ~20,000 passages in one ingest.

    bench/bench_published.py [--docs 200] [--rows 40] [--pdf PATH] [--questions 20] [--sample 1500]

Builds a corpus of published-style documents: Markdown chapters with their own front matter
(foreign fields), reference anchors (``[[12]](#refitem-...)``), superscripts, drug tables with
footnotes, reference lists and acknowledgements; NICE-style HTML pages (navigation, numbered
recommendations, a ``<table>`` with caption and notes, ``<sup>`` citations); and, when the PDF
is there, the VA/DoD low back pain guideline as published (a 141-page PDF). The text comes from
the shipped corpus (our own words), varied per document so that no two passages are the same.

Then, in this order:

* a whole ``guideline ingest --full --json`` process over it: passages/s, wall time per stage
  and the process's peak RSS (``ru_maxrss``), so "bounded memory" is a measured number;
* with ``--small N``, the same for the first N documents, to show how peak RSS grows with size;
* the raw rate of the engine the pipeline embeds with (the verified ONNX copy) and of
  ``SentenceTransformer.encode`` on an even sample of the same passage texts (section + text);
* answer latency p50/p95 over the built index (``Assistant.answer``, warm, grounded composer).

Run the full size once (2 shared cores: about 10 minutes); ``--docs 20 --rows 10`` is a smoke test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE, ROOT, log, machine, percentile, prepare_query_model, reset_dir, write_result  # noqa: E402

CORPUS = ROOT / "corpus"
PDF_DEFAULT = ROOT.parent / "shared" / "data" / "guidelines" / "vadod-low-back-pain-2022.pdf"
QUESTIONS = [
    "What is the first-line drug for spasticity in multiple sclerosis?",
    "maximum daily dose of tizanidine",
    "Which red flags suggest cauda equina syndrome?",
    "Should I order imaging for acute low back pain without red flags?",
    "Is duloxetine recommended for chronic low back pain?",
    "What are the side effects of baclofen?",
    "Can amitriptyline be combined with duloxetine?",
    "What non-drug treatments help chronic low back pain?",
    "When are opioids appropriate for back pain?",
    "How is neuropathic pain in MS treated?",
    "What is the starting dose of pregabalin?",
    "Does acetaminophen help low back pain?",
    "What exercise programme is suggested for low back pain?",
    "How long does acute sciatica usually last?",
    "Are benzodiazepines recommended for back pain?",
    "What should a patient with MS and back pain be told about staying active?",
    "Is spinal manipulation recommended for chronic low back pain?",
    "Which muscle relaxants can be used for acute low back pain?",
    "What are the risks of NSAIDs in older adults?",
    "Are cannabinoids recommended for MS spasticity?",
]
DRUGS = ["Baclofen", "Tizanidine", "Gabapentin", "Pregabalin", "Duloxetine", "Amitriptyline", "Naproxen",
         "Ibuprofen", "Diclofenac", "Celecoxib", "Nortriptyline", "Dantrolene", "Diazepam", "Clonazepam",
         "Cyclobenzaprine", "Methocarbamol", "Carbamazepine", "Lamotrigine", "Venlafaxine", "Capsaicin cream"]


def _sections(path: Path) -> list[tuple[str, list[str]]]:
    """(heading, paragraphs) of a shipped document, front matter and H1 removed."""
    text = path.read_text(encoding="utf-8").split("\n---\n", 1)[-1]
    out: list[tuple[str, list[str]]] = []
    for block in re.split(r"(?m)^##\s+", text)[1:]:
        head, _, body = block.partition("\n")
        paras = [p.strip() for p in re.split(r"\n\s*\n", body) if p.strip() and not p.startswith("#")]
        if paras:
            out.append((head.strip(), paras))
    return out


def _cite(sentence_par: str, rng: random.Random, n: int) -> str:
    """Published-style markers after some sentences: anchors, superscripts, zero-width spaces."""
    parts = re.split(r"(?<=[.!?])\s+", sentence_par)
    out = []
    for s in parts:
        r = rng.random()
        if r < 0.3:
            k = rng.randint(1, 90)
            s += f"\u200b[[{k}]](#refitem-{n}-{rng.getrandbits(32):08X})"
        elif r < 0.4:
            s += "\u00b9\u00b2" if rng.random() < 0.5 else "\u00b3"
        out.append(s)
    return " ".join(out)


def _table_rows(i: int, rows: int, rng: random.Random) -> list[list[str]]:
    out = []
    for r in range(rows):
        drug = DRUGS[(i + r) % len(DRUGS)]
        start = rng.choice([2, 5, 10, 25, 50, 75, 100, 200, 300])
        out.append([f"{drug} (regimen {r + 1})", f"{start} mg {rng.choice(['at night', 'twice a day', 'three times a day'])}",
                    f"{start * rng.choice([3, 4, 6, 8])} mg a day",
                    rng.choice(["Drowsiness and dizziness", "Nausea; check liver function", "Dry mouth, constipation",
                                "Weakness at higher doses", "Gastrointestinal bleeding risk"])
                    + f" (monitoring plan {i}.{r})"])
    return out


def markdown_chapter(i: int, sources: list, rows: int, rng: random.Random) -> str:
    topic = sources[i % len(sources)]
    lines = ["---", f"title: \"Chapter {i}: {topic[0]}\"", f"chapter: {i}", "publisher: Example Clinical Handbook",
             f"date: 2024-{1 + i % 12:02d}-{1 + i % 27:02d}", "tags: [pain, neurology]", "---", "",
             f"# Chapter {i}: {topic[0]}", ""]
    for j in range(6):
        head, paras = sources[(i * 7 + j * 3) % len(sources)][1][j % len(sources[(i * 7 + j * 3) % len(sources)][1])]
        lines += [f"## {head} ({i}.{j + 1})", ""]
        for p in paras:
            lines += [_cite(p, rng, i) + f" This applies to care setting {i}-{j}.", ""]
        if j % 2 == 0:
            lines += [f"See Table {j + 1} for doses.", "", f"**Table {j + 1}. Oral options, chapter {i} part {j + 1}**", "",
                      "| Drug | Starting dose | Maximum dose | Cautions |", "|---|---|---|---|"]
            lines += ["| " + " | ".join(r) + " |" for r in _table_rows(i * 10 + j, rows, rng)]
            lines += ["", f"\\* Do not combine two sedating drugs from table {j + 1} without review.", ""]
    lines += ["## Acknowledgements", "", "The authors thank the reviewers of this chapter.", "", "## References", ""]
    lines += [f"{k}. Writer {k}. A study of pain care {k}. Example Journal. 20{10 + k % 14};{k}:1-9." for k in range(1, 41)]
    return "\n".join(lines) + "\n"


def html_page(i: int, sources: list, rows: int, rng: random.Random) -> str:
    topic = sources[i % len(sources)]
    body = [f"<h1>{topic[0]} (guidance {i})</h1>",
            f"<p>Published: 3 May 2021. Last updated: {1 + i % 27} June 2024.</p>"]
    rec = 1
    for j in range(5):
        head, paras = sources[(i * 5 + j) % len(sources)][1][j % len(sources[(i * 5 + j) % len(sources)][1])]
        body.append(f"<h2>1.{j + 1} {head}</h2>")
        for p in paras:
            for s in re.split(r"(?<=[.!?])\s+", p)[:3]:
                sup = f"<sup><a href='#r1'>{rec}</a></sup>" if rec % 3 == 0 else ""
                body.append(f"<p>1.{j + 1}.{rec} {s} (page {i}){sup}</p>")
                rec += 1
        if j % 2 == 1:
            trs = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in _table_rows(i * 10 + j, rows, rng))
            body.append(f"<table><caption>Table {j}. Medicines, guidance {i}</caption><thead><tr><th>Medicine</th>"
                        f"<th>Starting dose</th><th>Usual maximum</th><th>Cautions</th></tr></thead><tbody>{trs}</tbody>"
                        f"<tfoot><tr><td colspan=4>Note: review every medicine at 4 weeks (guidance {i}).</td></tr></tfoot></table>")
    body.append("<h2>References</h2><ol>" + "".join(f"<li>Ref {k}</li>" for k in range(30)) + "</ol>")
    return ("<!DOCTYPE html><html><head><title>Guidance</title><meta name='author' content='Example Institute'></head>"
            "<body><nav><a href='/'>Home</a></nav><main>" + "".join(body) + "</main><footer>(c) Example</footer></body></html>")


def build_corpus(dest: Path, n_docs: int, rows: int, pdf: Path | None, seed: int = 7) -> dict:
    rng = random.Random(seed)
    sources = [(p.stem.replace("-", " ").capitalize(), _sections(p)) for p in sorted(CORPUS.glob("*.md"))
               if p.name != "README.md"]
    sources = [s for s in sources if s[1]]
    dest.mkdir(parents=True, exist_ok=True)
    counts = {"markdown": 0, "html": 0, "pdf": 0}
    for i in range(n_docs - (1 if pdf else 0)):
        if i % 3 == 2:
            (dest / f"guidance-page-{i:03d}.html").write_text(html_page(i, sources, rows, rng), encoding="utf-8")
            counts["html"] += 1
        else:
            (dest / f"handbook_chapter_{i:03d}.md").write_text(markdown_chapter(i, sources, rows, rng), encoding="utf-8")
            counts["markdown"] += 1
    if pdf:
        (dest / pdf.name).write_bytes(pdf.read_bytes())
        counts["pdf"] = 1
    return counts


def cli_ingest(data_dir: Path, corpus_dir: Path) -> dict:
    """A whole `guideline ingest --full --json` process: wall, CPU, peak RSS, its report."""
    env = {**os.environ, "GUIDELINE_DATA_DIR": str(data_dir), "GUIDELINE_CORPUS_DIR": str(corpus_dir),
           "GUIDELINE_MODEL_DIR": str(CACHE / "models")}
    out, err = data_dir.parent / f"{data_dir.name}.json", data_dir.parent / f"{data_dir.name}.err"
    with open(out, "wb") as f, open(err, "wb") as e:
        t0 = time.perf_counter()
        p = subprocess.Popen([sys.executable, "-m", "ui.cli", "ingest", "--full", "--json"], env=env, stdout=f,
                             stderr=e, cwd=ROOT)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"guideline ingest failed: {err.read_text(errors='replace')[-2000:]}")
    rep = json.loads(out.read_text(encoding="utf-8"))
    n = rep["chunks"]["added"]
    return {"passages": n, "wall_s": round(wall, 1), "cpu_s": round(ru.ru_utime + ru.ru_stime, 1),
            "per_s": round(n / wall, 1), "peak_rss_mb": round(ru.ru_maxrss / 1024), "stage_s": rep["stage_seconds"],
            "embedded_with": rep.get("embedded_with"), "warnings": len(rep.get("warnings", []))}


def raw_rates(data_dir: Path, sample: int) -> dict:
    """Bare batch rates of the ONNX copy and sentence-transformers on an even sample of the
    passage texts the ingest embedded (section path + text)."""
    from ingest import versions
    from ingest.chunk import embed_text
    from ingest.embed import get_embedder
    from ingest.query_model import verified_query_embedder
    from ingest.records import Chunk
    from core.settings import Settings

    s = Settings(data_dir=data_dir, model_dir=CACHE / "models")
    vid = versions.current_version(s)
    chunks = [Chunk(**json.loads(line)) for line in (versions.version_dir(s, vid) / "chunks.jsonl").open()]
    step = max(1, len(chunks) // sample)
    texts = [embed_text(c) for c in chunks[::step]][:sample]
    st = get_embedder(s.embed_batch_size)
    out = {"sample": len(texts)}
    copy = verified_query_embedder(s, st.fingerprint)
    for name, call in (("onnx", copy.embed_documents if copy else None),
                       ("st", lambda xs: st.model.encode(xs, batch_size=s.embed_batch_size, normalize_embeddings=True,
                                                         convert_to_numpy=True, show_progress_bar=False))):
        if call is None:
            continue
        call(texts[:4])
        t0 = time.perf_counter()
        call(sorted(texts, key=len, reverse=True))
        out[f"{name}_per_s"] = round(len(texts) / (time.perf_counter() - t0), 1)
    kinds: dict[str, int] = {}
    for c in chunks:
        kinds[c.kind] = kinds.get(c.kind, 0) + 1
    out["kinds"] = kinds
    out["dirty_passages"] = sum(1 for c in chunks if re.search(r"\[\[\d+\]\]|\u200b|[\u00b9\u00b2\u00b3]|Page \d+ of \d+", c.text))
    return out


def answer_latency(data_dir: Path, corpus_dir: Path, n: int) -> dict:
    from assistant.pipeline import Assistant
    from core.settings import Settings

    s = Settings(data_dir=data_dir, corpus_dir=corpus_dir, model_dir=CACHE / "models")
    a = Assistant(s)
    for q in QUESTIONS[:2]:
        a.answer(q)  # warm-up: model, index, safety pipeline
    times = []
    for q in (QUESTIONS * ((n // len(QUESTIONS)) + 1))[:n]:
        t0 = time.perf_counter()
        a.answer(q)
        times.append((time.perf_counter() - t0) * 1000)
    return {"n": len(times), "p50_ms": round(percentile(times, 50), 1), "p95_ms": round(percentile(times, 95), 1),
            "mean_ms": round(statistics.mean(times), 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=200)
    ap.add_argument("--rows", type=int, default=40, help="rows per generated table")
    ap.add_argument("--small", type=int, default=0, help="also ingest the first N documents (RSS growth)")
    ap.add_argument("--pdf", type=Path, default=PDF_DEFAULT, help="published PDF to include ('' for none)")
    ap.add_argument("--questions", type=int, default=20)
    ap.add_argument("--sample", type=int, default=1500, help="passages timed for the raw encoder rates")
    ap.add_argument("--name", default="published")
    args = ap.parse_args(argv)
    pdf = args.pdf if args.pdf and str(args.pdf) and Path(args.pdf).is_file() else None

    root = reset_dir(CACHE / f"published-{args.docs}-{args.rows}")
    corpus = root / "corpus"
    counts = build_corpus(corpus, args.docs, args.rows, pdf)
    size_mb = sum(p.stat().st_size for p in corpus.iterdir()) / 1e6
    log(f"corpus: {counts} ({size_mb:.1f} MB)")
    prepare_query_model()  # once per machine, not timed (as a first ingest would)

    result: dict = {"documents": args.docs, "formats": counts, "corpus_mb": round(size_mb, 1), "rows": args.rows}
    if args.small:
        small = root / "corpus-small"
        small.mkdir()
        for p in sorted(corpus.iterdir())[: args.small]:
            (small / p.name).write_bytes(p.read_bytes())
        result["small"] = {"documents": args.small, **cli_ingest(root / "data-small", small)}
        log(f"small ingest: {result['small']}")
    result["ingest"] = cli_ingest(root / "data", corpus)
    log(f"ingest: {result['ingest']}")
    result["raw"] = raw_rates(root / "data", args.sample)
    log(f"raw: {result['raw']}")
    ing, raw = result["ingest"], result["raw"]
    if raw.get("onnx_per_s"):
        result["ingest_vs_onnx"] = round(ing["per_s"] / raw["onnx_per_s"], 3)
    if raw.get("st_per_s"):
        result["ingest_vs_st"] = round(ing["per_s"] / raw["st_per_s"], 3)
    result["answer"] = answer_latency(root / "data", corpus, args.questions)
    log(f"answer: {result['answer']}")
    shown = [os.path.relpath(a, ROOT) if a.startswith("/") else a for a in (argv if argv is not None else sys.argv[1:])]
    result["command"] = "bench/bench_published.py " + " ".join(shown)
    result["load_avg_after"] = list(os.getloadavg())
    result["machine"] = machine()
    write_result(args.name, result)
    print(json.dumps({k: result[k] for k in ("documents", "ingest", "raw", "answer")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
