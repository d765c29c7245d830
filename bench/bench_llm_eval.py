"""The eval set through the optional LLM path, against any OpenAI-compatible endpoint.

    GUIDELINE_LLM=openai:<model> OPENAI_BASE_URL=http://127.0.0.1:8080/v1 [OPENAI_API_KEY=...] \\
    PYTHONPATH=. .venv/bin/python bench/bench_llm_eval.py [--set evals/sets/core.jsonl] [--limit N] [--json]

(``GUIDELINE_LLM=ollama:<model>`` works too.) The index of ``GUIDELINE_DATA_DIR`` is used
(run ``guideline ingest`` first). Reports, over the cases: the eval pass rate; how many answers
the model actually wrote (composer ``llm:...``) and how many fell back to the grounded composer,
by reason (timeout, error, unsupported, not addressed after enforcement); sentences written,
and rejected by the support check with the reasons; follow-up rewrites used or rejected; and
latency (p50/p95 of the whole answer). Writes bench/out/llm_eval.json.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, log, percentile, write_result  # noqa: E402


def _reason_kind(reason: str) -> str:
    for key in ("number", "not named", "similarity", "negation", "a number is stated"):
        if key in reason:
            return {"not named": "entity", "a number is stated": "number_context"}.get(key, key)
    return "other"


def summarise(results) -> dict:
    n = len(results)
    passed = sum(r.passed for r in results)
    composers = Counter()
    fallbacks = Counter()
    written = rejected = 0
    reject_kinds = Counter()
    condense = Counter()
    lat = []
    examples = []
    for r in results:
        resp = r.response or {}
        composers["llm" if str(resp.get("composer", "")).startswith("llm:") else resp.get("composer") or "error"] += 1
        tr = resp.get("llm") or {}
        fb = tr.get("fallback")
        if fb:
            fallbacks[fb.get("reason", "error")] += 1
        sup = tr.get("support") or {}
        written += sup.get("checked", 0)
        for d in sup.get("dropped", ()):
            rejected += 1
            for reason in d.get("reasons", ()):
                reject_kinds[_reason_kind(reason)] += 1
            if len(examples) < 15:
                examples.append({"case": r.case.id, "sentence": d["sentence"], "reasons": d["reasons"]})
        c = tr.get("condense")
        if c:
            condense["used_llm" if c.get("used") == "llm" else "rejected" if c.get("rejected") else "error"] += 1
        total = (resp.get("timings_ms") or {}).get("total")
        if isinstance(total, (int, float)):
            lat.append(float(total))
    return {
        "cases": n, "passed": passed, "pass_rate": passed / n if n else 0.0,
        "composers": dict(composers), "fallbacks": dict(fallbacks),
        "sentences_written": written, "sentences_rejected": rejected,
        "rejection_rate": rejected / written if written else 0.0,
        "rejection_reasons": dict(reject_kinds), "condense": dict(condense),
        "latency_ms": {"p50": percentile(lat, 50), "p95": percentile(lat, 95), "max": max(lat)} if lat else {},
        "rejected_examples": examples,
        "failed_cases": [{"id": r.case.id, "failed": [c.name for c in r.failed_checks()]}
                         for r in results if not r.passed][:40],
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", default=str(ROOT / "evals" / "sets" / "core.jsonl"))
    ap.add_argument("--limit", type=int, default=0, help="only the first N cases")
    ap.add_argument("--match", default="", help="only cases whose id matches this regular expression")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    from assistant.pipeline import Assistant
    from evals.runner import run_eval
    from evals.schema import load_set
    from core.settings import load_settings

    settings = load_settings()
    if not settings.llm:
        print("Set GUIDELINE_LLM=openai:<model> (with OPENAI_BASE_URL, and OPENAI_API_KEY if the server "
              "needs one) or GUIDELINE_LLM=ollama:<model>.", file=sys.stderr)
        return 2
    cases = load_set(args.set)
    if args.match:
        cases = [c for c in cases if re.search(args.match, c.id)]
    if args.limit:
        cases = cases[:args.limit]
    a = Assistant(settings, audit=False)
    a.warm()

    def answer_fn(question, history=(), audience="clinician", settings=None):
        return a.answer(question, history, audience)

    t0 = time.perf_counter()
    run = run_eval(cases, answer_fn=answer_fn,
                   progress=lambda i, n, cid: log(f"{i}/{n} {cid}") if i % 10 == 0 or i == n else None)
    res = summarise(run.results)
    res.update({"model": settings.llm, "base_url_set": bool(__import__("os").environ.get("OPENAI_BASE_URL")),
                "deadline_s": settings.llm_deadline_s, "set": str(args.set), "seconds": time.perf_counter() - t0})
    write_result("llm_eval", res)
    if args.json:
        print(json.dumps(res, indent=1))
    else:
        lat = res["latency_ms"]
        print(f"{res['model']}: {res['passed']}/{res['cases']} cases passed ({res['pass_rate']:.1%}); "
              f"composer {res['composers']}; fallbacks {res['fallbacks']}")
        print(f"support check: {res['sentences_rejected']}/{res['sentences_written']} sentences rejected "
              f"({res['rejection_rate']:.1%}) {res['rejection_reasons']}; follow-up rewrites {res['condense']}")
        if lat:
            print(f"latency per answer: p50 {lat['p50']:.0f} ms, p95 {lat['p95']:.0f} ms, max {lat['max']:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
