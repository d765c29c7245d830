"""The LLM support check (assistant/support.py) on supported/unsupported pairs from the corpus.

Pairs: every sentence of every passage of corpus/ cited against its own passage is supported
(verbatim, lightly reworded, two adjacent sentences merged); the same sentence with one number,
one drug or its negation changed, a general claim the passage does not make, and a true
sentence of another document cited against this passage are not. Documents are split in two
(sorted ids, even positions = dev, odd = test): the similarity threshold is fitted on dev
(maximum balanced accuracy of the whole check, averaged over +-0.02) and precision/recall are reported on test.

    PYTHONPATH=. .venv/bin/python bench/bench_support.py [--write-thresholds] [--json]

Writes bench/out/support.json (its ``markdown`` is the docs/benchmarks.md section).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, log, write_result  # noqa: E402

POSITIVE_KINDS = ("verbatim", "reworded", "merged")
NEGATIVE_KINDS = ("number", "drug", "negation", "generalisation", "wrong_passage", "number_in_passage")
HEADLINE_NEGATIVES = NEGATIVE_KINDS[:-1]
"""'number_in_passage' (a number swapped for another the same passage contains) is reported on
its own: it is caught only when the passage states that number in a dissimilar sentence."""


def build_pairs(chunks) -> list[dict]:
    from assistant.support import drug_mentions, split_sentences
    from evals import perturb

    rnd = random.Random(16)
    pairs: list[dict] = []
    by_doc: dict[str, list] = {}
    for c in chunks:
        by_doc.setdefault(c.doc_id, []).append(c)
    docs = sorted(by_doc)
    split = {d: ("dev" if i % 2 == 0 else "test") for i, d in enumerate(docs)}
    all_sents = [(c.doc_id, s) for c in chunks for s in split_sentences(c.text)]

    def add(kind, sentence, chunk):
        if sentence:
            pairs.append({"kind": kind, "supported": kind in POSITIVE_KINDS, "sentence": sentence,
                          "passage": chunk.text, "doc": chunk.doc_id, "split": split[chunk.doc_id]})

    for c in chunks:
        sents = [s for s in split_sentences(c.text) if len(s.split()) >= 4]
        for i, s in enumerate(sents):
            add("verbatim", s, c)
            add("reworded", perturb.reword(s), c)
            if i + 1 < len(sents) and i % 2 == 0:
                add("merged", s.rstrip(".") + "; " + sents[i + 1][:1].lower() + sents[i + 1][1:], c)
            add("number", perturb.corrupt_number(s, c.text, seed=i), c)
            add("number_in_passage", perturb.corrupt_number(s, c.text, seed=i, in_passage=True), c)
            add("drug", perturb.corrupt_drug(s, c.text, seed=i), c)
            add("negation", perturb.flip_negation(s, c.text, seed=i), c)
        drugs = [m for m, _ in drug_mentions(c.text)]
        subject = drugs[0] if drugs else "This treatment"
        for j in range(2):
            add("generalisation", perturb.generalise(subject, seed=rnd.randrange(100)), c)
        others = [s for d, s in all_sents if d != c.doc_id and len(s.split()) >= 6]
        for _ in range(2):
            add("wrong_passage", rnd.choice(others), c)
    return pairs


def score(pairs, checker) -> None:
    """Adds each pair's similarity and the verdict of the parts that do not use the threshold."""
    from dataclasses import replace

    # Judge with a threshold of -1 so that every other test is recorded on its own.
    lax = checker.__class__(checker.embedder, replace(checker.cfg, min_similarity=-1.0))
    lax._vecs = checker._vecs
    res = lax.check_many([(p["sentence"], [p["passage"]]) for p in pairs])
    for p, r in zip(pairs, res):
        p["similarity"] = r.similarity
        p["number_similarity"] = r.number_similarity
        p["other_reasons"] = list(r.reasons)


def predict_supported(p: dict, thr: float) -> bool:
    return p["similarity"] >= thr and p["number_similarity"] >= thr and not p["other_reasons"]


def metrics(pairs, thr: float, negatives=HEADLINE_NEGATIVES) -> dict:
    """'Positive' = the check rejects the sentence (catches an unsupported one)."""
    rows = [p for p in pairs if p["supported"] or p["kind"] in negatives]
    tp = sum(1 for p in rows if not p["supported"] and not predict_supported(p, thr))
    fn = sum(1 for p in rows if not p["supported"] and predict_supported(p, thr))
    fp = sum(1 for p in rows if p["supported"] and not predict_supported(p, thr))
    tn = sum(1 for p in rows if p["supported"] and predict_supported(p, thr))
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    spec = tn / (tn + fp) if tn + fp else 0.0
    return {"precision": prec, "recall": rec, "f1": 2 * prec * rec / (prec + rec) if prec + rec else 0.0,
            "supported_kept": spec, "balanced_accuracy": (rec + spec) / 2, "tp": tp, "fp": fp, "fn": fn, "tn": tn}


def per_kind(pairs, thr: float) -> dict:
    out = {}
    for kind in POSITIVE_KINDS + NEGATIVE_KINDS:
        ps = [p for p in pairs if p["kind"] == kind]
        if not ps:
            continue
        right = sum(1 for p in ps if predict_supported(p, thr) == p["supported"])
        out[kind] = {"n": len(ps), "correct": right, "rate": right / len(ps)}
    return out


SMOOTH = 2
"""The curve is averaged over +-2 steps (0.02) before its maximum is taken, so the threshold
sits inside a plateau of good values rather than on its edge."""


def fit(dev) -> float:
    grid = [i / 100 for i in range(30, 100)]
    ba = [metrics(dev, t)["balanced_accuracy"] for t in grid]
    best, best_thr = -1.0, 0.5
    for i, t in enumerate(grid):
        win = ba[max(0, i - SMOOTH):i + SMOOTH + 1]
        avg = sum(win) / len(win)
        if avg > best + 1e-9:
            best, best_thr = avg, t
    return best_thr


def write_thresholds(thr: float, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^(\s*min_similarity:\s*)[-0-9.]+", rf"\g<1>{thr:g}", text)
    text = re.sub(r'(?m)^(\s*date:\s*)"[^"]*"', rf'\g<1>"{time.strftime("%Y-%m-%d")}"', text)
    path.write_text(text, encoding="utf-8")


def markdown(res: dict) -> list[str]:
    t, d = res["test"], res["dev"]
    lines = [
        "## 11. Support check for LLM sentences", "",
        "Every sentence the optional LLM writes must be supported by the passage(s) it cites "
        "(`assistant/support.py`): its numbers with units, drugs (drug-named-entity-recognition + "
        "`assistant/support_drugs.yaml`), procedures and populations must appear there, its similarity "
        "to the closest cited sentence must reach the threshold, and its negation must agree with "
        "that sentence. Pairs are built from `corpus/` "
        f"({res['n_pairs']} pairs; {res['n_docs']} documents split by document into dev and test); "
        "`bench/bench_support.py` builds them, fits the threshold on dev and writes it to "
        "`assistant/support.yaml`.", "",
        f"Threshold fitted on dev: **{res['threshold']:g}** (maximum of the balanced accuracy averaged over ±0.02). "
        "'Positive' is a rejected sentence: precision = rejected sentences that were unsupported, "
        "recall = unsupported sentences rejected.", "",
        "| split | pairs | precision | recall | supported kept |", "|---|---|---|---|---|",
        f"| dev | {d['tp'] + d['fp'] + d['fn'] + d['tn']} | {d['precision']:.3f} | {d['recall']:.3f} | {d['supported_kept']:.3f} |",
        f"| **test (held out)** | {t['tp'] + t['fp'] + t['fn'] + t['tn']} | **{t['precision']:.3f}** | **{t['recall']:.3f}** | {t['supported_kept']:.3f} |",
        "", "Held-out test split by kind (share judged correctly):", "",
        "| kind | label | pairs | correct |", "|---|---|---|---|",
    ]
    for kind, k in res["test_by_kind"].items():
        label = "supported" if kind in POSITIVE_KINDS else "unsupported"
        lines.append(f"| {kind} | {label} | {k['n']} | {k['rate']:.1%} |")
    lines += [
        "",
        "`number_in_passage` (a number replaced by another number the same passage contains) is not in "
        "the headline figures: it is caught only when the sentence stating that number is unlike this one; "
        "a number swapped within one sentence (\"1 to 2 weeks\" -> \"2 to 2 weeks\") or between two similar "
        "sentences passes. Supported pairs are the corpus's own sentences, "
        "lightly reworded or merged: a real model paraphrases more freely, so expect more supported "
        "sentences to be dropped with one (the answer then falls back to the grounded composer when "
        "too little is left). Run `bench/bench_llm_eval.py` against a real endpoint to measure that.",
        "",
        f"Command: `{res['command']}` ({res['seconds']:.0f} s).", "",
    ]
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--write-thresholds", action="store_true", help="write the fitted threshold to support.yaml")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    from assistant.support import SUPPORT_PATH, SupportChecker
    from ingest.chunk import chunk_document
    from ingest.embed import get_embedder
    from ingest.load import load_corpus
    from core.settings import Settings

    s = Settings(corpus_dir=ROOT / "corpus")
    docs, errors = load_corpus(s.corpus_dir, s)
    chunks = [c for d in docs for c in chunk_document(d, s)]
    pairs = build_pairs(chunks)
    log(f"{len(pairs)} pairs from {len(chunks)} passages of {len(docs)} documents")
    checker = SupportChecker(get_embedder(s.embed_batch_size))
    score(pairs, checker)
    dev = [p for p in pairs if p["split"] == "dev"]
    test = [p for p in pairs if p["split"] == "test"]
    thr = fit(dev)
    res = {
        "threshold": thr, "n_pairs": len(pairs), "n_docs": len(docs),
        "dev": metrics(dev, thr), "test": metrics(test, thr),
        "test_by_kind": per_kind(test, thr), "dev_by_kind": per_kind(dev, thr),
        "test_with_number_in_passage": metrics(test, thr, NEGATIVE_KINDS),
        "threshold_in_use": checker.cfg.min_similarity,
        "dev_curve": {f"{i / 100:.2f}": round(metrics(dev, i / 100)["balanced_accuracy"], 4) for i in range(30, 100)},
        "dev_negatives_passing_at": {f"{t:.2f}": [{k: p[k] for k in ("kind", "sentence", "similarity")}
                                                  for p in dev if not p["supported"] and predict_supported(p, t)][:8]
                                     for t in (0.6, 0.7, 0.75, 0.8)},
        "command": "PYTHONPATH=. .venv/bin/python bench/bench_support.py --write-thresholds",
        "seconds": time.perf_counter() - t0,
        "misjudged_test_examples": [
            {k: p[k] for k in ("kind", "sentence", "similarity", "other_reasons")}
            for p in test if predict_supported(p, thr) != p["supported"]][:40],
    }
    res["markdown"] = markdown(res)
    if args.write_thresholds:
        write_thresholds(thr, SUPPORT_PATH)
        log(f"min_similarity = {thr:g} written to {SUPPORT_PATH}")
    write_result("support", res)
    if args.json:
        print(json.dumps({k: v for k, v in res.items() if k != "markdown"}, indent=1))
    else:
        print("\n".join(res["markdown"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
