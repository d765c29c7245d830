"""Run output: results.jsonl, summary.json, report.md, and comparison with an earlier run.

Everything the report shows is read back from the two data files, so the UI's
evaluation page can render any saved run with ``render_markdown(*load_run(dir))``.
"""

from __future__ import annotations

import json
from pathlib import Path

from assistant.records import RED_FLAG_CATEGORIES

from .metrics import HEADLINE, HIGHER_IS_BETTER, LOWER_IS_BETTER, fmt, kind_of, label_of
from .schema import Expect

RESULTS = "results.jsonl"
SUMMARY = "summary.json"
REPORT = "report.md"

COMPARED_METRICS = tuple(k for k, _, _ in HEADLINE) + ("fact_cases_complete", "hit_at_3", "opioid_answers_with_violations")

CHECK_HELP = {
    "answered": "The pipeline returned an answer without raising an error.",
    "escalate": "The answer opens with the red-flag escalation block when it should, and only then.",
    "red_flags": "The escalation names the expected red-flag categories.",
    "facts": "Each required fact appears in the answer (any listed wording, case-insensitive).",
    "forbid": "None of the forbidden phrases appears in the answer.",
    "opioid_rule": "Every sentence that mentions an opioid frames it as reserved for severe, disabling pain "
                   "and never as first-line or default (checked on every answer that mentions one).",
    "out_of_scope": "Declined with 'not covered' and no citations when out of scope; answered otherwise.",
    "must_cite": "At least one valid numbered citation.",
    "citations_valid": "Every [n] in the answer opens a passage that was retrieved for this answer (always checked).",
    "sources": "A gold passage is among the top 5 retrieved (informational: feeds hit@k and MRR, does not fail a case).",
}


# ---------------------------------------------------------------------------
# Files


def write_run(out_dir: str | Path, summary: dict, results: list[dict]) -> Path:
    """Write results.jsonl, summary.json and report.md into ``out_dir`` (created)."""
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    with (d / RESULTS).open("w", encoding="utf-8") as f:
        for r in results:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    (d / SUMMARY).write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (d / REPORT).write_text(render_markdown(summary, results), encoding="utf-8")
    return d


def load_run(run_dir: str | Path) -> tuple[dict, list[dict]]:
    """(summary, results) of a saved run; raises EvalSetError naming what is missing."""
    from .schema import EvalSetError

    d = Path(run_dir)
    s_path, r_path = d / SUMMARY, d / RESULTS
    if not s_path.is_file() or not r_path.is_file():
        raise EvalSetError(str(d), None, None, f"not an evaluation run directory (needs {SUMMARY} and {RESULTS})")
    try:
        summary = json.loads(s_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise EvalSetError(str(s_path), e.lineno, None, f"not valid JSON: {e.msg}") from None
    results = []
    for n, line in enumerate(r_path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                results.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise EvalSetError(str(r_path), n, None, f"not valid JSON: {e.msg}") from None
    return summary, results


def list_runs(base_dir: str | Path) -> list[Path]:
    """Saved run directories under ``base_dir`` (e.g. data/eval_runs), newest first."""
    d = Path(base_dir)
    if not d.is_dir():
        return []
    runs = [p for p in d.iterdir() if (p / SUMMARY).is_file() and (p / RESULTS).is_file()]
    return sorted(runs, key=lambda p: (p / SUMMARY).stat().st_mtime, reverse=True)


# ---------------------------------------------------------------------------
# Comparison


def _metrics_of(results: list[dict]) -> dict:
    """Headline metrics re-aggregated from saved per-case results (a subset of a run)."""
    import json as _json

    from .checks import Observation
    from .metrics import CaseOutcome, compute

    outcomes = [CaseOutcome(r["id"], r.get("category", ""),
                            Expect.model_validate_json(_json.dumps(r.get("expect") or {})),
                            bool(r.get("passed")), Observation.from_json(r.get("observed") or {}))
                for r in results]
    return compute(outcomes)["metrics"]


def compare(summary: dict, results: list[dict], prev_summary: dict, prev_results: list[dict],
            *, previous_dir: str = "") -> dict:
    """Per-metric deltas and the cases whose pass/fail status changed.

    Runs of different sets (other cases, or the same ids with another file hash) are
    compared on their shared cases only: metrics are re-aggregated over those, and
    ``warning`` says so. ``regressions`` lists the cases that passed before and fail now."""
    now_m, before_m = summary.get("metrics", {}), prev_summary.get("metrics", {})
    now_ids = [r["id"] for r in results]
    before_ids = {r["id"] for r in prev_results}
    sha_now, sha_before = summary.get("set", {}).get("sha256"), prev_summary.get("set", {}).get("sha256")
    same_set = set(now_ids) == before_ids and (sha_now == sha_before or not sha_now or not sha_before)
    warning = None
    shared = set(now_ids) & before_ids
    if not same_set:
        warning = (f"The runs used different test sets ({len(set(now_ids))} cases now, {len(before_ids)} "
                   f"before, {len(shared)} shared"
                   + ("; same ids but a different file" if set(now_ids) == before_ids else "")
                   + f"): metrics and case changes compare the {len(shared)} shared cases only.")
        try:
            now_m = _metrics_of([r for r in results if r["id"] in shared])
            before_m = _metrics_of([r for r in prev_results if r["id"] in shared])
        except Exception:  # noqa: BLE001 - an old run without per-case data: no metric verdicts
            now_m, before_m = {}, {}
    added = sorted(set(now_ids) - before_ids)
    removed = sorted(before_ids - set(now_ids))
    if not same_set:
        results = [r for r in results if r["id"] in shared]
        prev_results = [r for r in prev_results if r["id"] in shared]
    metrics = []
    for key in COMPARED_METRICS:
        a, b = before_m.get(key), now_m.get(key)
        delta = None if a is None or b is None else b - a
        if delta is None or abs(delta) < 1e-12:
            verdict = "same" if delta is not None else "n/a"
        elif key in HIGHER_IS_BETTER:
            verdict = "better" if delta > 0 else "worse"
        elif key in LOWER_IS_BETTER:
            verdict = "better" if delta < 0 else "worse"
        else:
            verdict = "changed"
        metrics.append({"metric": key, "before": a, "after": b, "delta": delta, "verdict": verdict})

    def status(r: dict) -> str:
        return "passed" if r.get("passed") else "failed"

    before = {r["id"]: r for r in prev_results}
    now = {r["id"]: r for r in results}
    changed = []
    for cid, r in now.items():
        p = before.get(cid)
        was = status(p) if p else "absent"
        if was != status(r):
            changed.append({"id": cid, "category": r.get("category", ""), "before": was, "after": status(r),
                            "question": r.get("question", ""),
                            "reasons": [c["reason"] for c in r.get("checks", []) if c.get("scored", True) and not c["passed"]]})
    for cid, p in before.items():
        if cid not in now:
            changed.append({"id": cid, "category": p.get("category", ""), "before": status(p), "after": "absent",
                            "question": p.get("question", ""), "reasons": []})
    changed.sort(key=lambda c: (c["after"] != "failed", c["id"]))
    prev_run = prev_summary.get("run", {})
    return {
        "previous": {"dir": previous_dir, "started_at": prev_run.get("started_at"),
                     "corpus_version": prev_run.get("corpus_version"), "set": prev_summary.get("set", {})},
        "metrics": metrics,
        "changed": changed,
        "newly_failing": sum(c["after"] == "failed" for c in changed),
        "newly_passing": sum(c["after"] == "passed" and c["before"] == "failed" for c in changed),
        "regressions": [c["id"] for c in changed if c["before"] == "passed" and c["after"] == "failed"],
        "added": added,
        "removed": removed,
        "same_set": same_set,
        "shared_cases": len(shared),
        "warning": warning,
    }


# ---------------------------------------------------------------------------
# Markdown


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _excerpt(markdown: str, limit: int = 1200) -> str:
    out, size = [], 0
    for line in markdown.strip().splitlines():
        if line.startswith("#"):
            line = "**" + line.lstrip("#").strip() + "**"
        if line.startswith(">"):
            line = line.lstrip("> ").strip() or ""
        if size + len(line) > limit and out:
            out.append("…")
            break
        out.append(line)
        size += len(line)
    return "\n".join("> " + l if l else ">" for l in out)


def _detail(key: str, summary: dict) -> str:
    m = summary.get("metrics", {})
    rf = summary.get("red_flags", {})
    cit = summary.get("citations", {})
    oos = summary.get("out_of_scope", {})
    return {
        "pass_rate": f"{m.get('passed', 0)} of {m.get('cases', 0)} cases",
        "fact_coverage": f"all facts stated in {fmt(m.get('fact_cases_complete'))} of cases with facts",
        "citation_validity": f"{cit.get('valid', 0)} of {cit.get('markers', 0)} citation numbers; "
                             f"{m.get('answers_with_invalid_citations', 0)} answer(s) with a bad one",
        "hit_at_1": f"over {m.get('retrieval_cases', 0)} cases with gold sources",
        "hit_at_5": f"over {m.get('retrieval_cases', 0)} cases with gold sources",
        "mrr": "1.0 = gold passage always ranked first",
        "red_flag_recall": f"{rf.get('tp', 0)} of {rf.get('tp', 0) + rf.get('fn', 0)} red-flag cases escalated",
        "red_flag_precision": f"{rf.get('tp', 0)} of {rf.get('tp', 0) + rf.get('fp', 0)} escalations warranted",
        "red_flag_false_alarm_rate": f"{rf.get('fp', 0)} of {rf.get('fp', 0) + rf.get('tn', 0)} cases without a red flag",
        "opioid_violations": f"{m.get('opioid_answers_with_violations', 0)} answer(s); "
                             f"{m.get('opioid_sentences', 0)} opioid sentence(s) checked",
        "out_of_scope_accuracy": f"{oos.get('correct', 0)} of {oos.get('cases', 0)} cases; "
                                 f"{len(oos.get('false_refusals', []))} wrongly declined, "
                                 f"{len(oos.get('missed_refusals', []))} wrongly answered",
        "latency_p50_ms": f"first answer (model loading): {fmt(m.get('latency_first_ms'), 'ms')}",
        "latency_p95_ms": "warm answers",
        "errors": ", ".join(summary.get("errors", [])[:5]),
    }.get(key, "")


def _label(key: str) -> str:
    return label_of(key)


def _expected_lines(r: dict) -> list[str]:
    try:
        return Expect.model_validate_json(json.dumps(r.get("expect", {}))).describe()
    except Exception:  # an old run's format; show it raw rather than fail the report
        return [json.dumps(r.get("expect", {}))]


def render_markdown(summary: dict, results: list[dict]) -> str:
    m = summary.get("metrics", {})
    run = summary.get("run", {})
    set_info = summary.get("set", {})
    gates = summary.get("gates", {})
    out: list[str] = ["# Answer-quality evaluation", ""]

    facts = [
        f"**Test set:** `{set_info.get('path', '?')}` ({m.get('cases', 0)} cases)",
        f"**Run:** {run.get('started_at', '?')}, {run.get('duration_s', '?')} s",
        f"**Corpus version:** {run.get('corpus_version') or 'n/a'}",
        f"**Answer composer:** {run.get('composer') or 'n/a'}",
    ]
    out += [" · ".join(facts), ""]
    if gates:
        failed = [g for g in gates.get("results", []) if g["status"] == "not met"]
        verdict = "**All gates met.**" if not failed else f"**{len(failed)} gate(s) not met:** " + ", ".join(
            f"{_label(g['metric'])}" for g in failed)
        out += [verdict, ""]
    out += [
        "Each test case is a question (sometimes after earlier turns of a conversation) sent to the same "
        "`answer()` the app uses. Its answer is checked against what the case expects: facts it must state, "
        "whether it must escalate red flags, whether it must decline as out of scope, the opioid rule, and "
        "whether every numbered citation opens a passage that was really retrieved. A case passes when all "
        "its checks pass.",
        "",
        "## Headline metrics",
        "",
    ]
    rows = [[label, fmt(m.get(key), kind), _detail(key, summary)] for key, label, kind in HEADLINE]
    out += [_table(["Metric", "Value", "Detail"], rows), ""]

    if gates:
        out += ["## Gates", "", f"Thresholds from `{gates.get('file', 'evals/gates.yaml')}`. "
                "A gate that is not met makes `guideline eval` exit with status 1.", ""]
        rows = []
        for g in gates.get("results", []):
            mark = {"met": "✅ met", "not met": "❌ not met", "no data": "⚪ no data"}[g["status"]]
            op = "≥" if g["op"] == "min" else "≤"
            rows.append([_label(g["metric"]), f"{op} {fmt(g['threshold'], kind_of(g['metric']))}",
                         fmt(g["value"], kind_of(g["metric"])), mark, g.get("why", "")])
        out += [_table(["Gate", "Threshold", "Value", "Status", "Why it matters"], rows), ""]

    comp = summary.get("comparison")
    if comp:
        prev = comp.get("previous", {})
        out += ["## Changes since the previous run", "",
                f"Compared with `{prev.get('dir', '?')}` (run {prev.get('started_at') or '?'}, "
                f"corpus version {prev.get('corpus_version') or 'n/a'}): "
                f"{comp.get('newly_failing', 0)} case(s) newly failing, {comp.get('newly_passing', 0)} newly passing.", ""]
        if comp.get("warning"):
            out += [f"**Warning:** {comp['warning']}", ""]
        if comp.get("regression_gate"):
            rg = comp["regression_gate"]
            out += [("**Regression gate failed:** " if not rg["passed"] else "Regression gate met: ")
                    + (f"{len(rg['regressions'])} case(s) passed before and fail now: "
                       + ", ".join(f"`{c}`" for c in rg["regressions"][:20])
                       if rg["regressions"] else "no case that passed before fails now."), ""]
        rows = []
        for d in comp.get("metrics", []):
            kind = kind_of(d["metric"])
            delta = d["delta"]
            if delta is None:
                dtxt = "n/a"
            elif abs(delta) < 1e-12:
                dtxt = "no change"
            elif kind == "rate":
                dtxt = f"{delta * 100:+.1f} pts"
            elif kind == "ms":
                dtxt = f"{delta:+.0f} ms"
            else:
                dtxt = f"{delta:+.3g}"
            arrow = {"better": "better", "worse": "**worse**", "same": "same"}.get(d["verdict"], d["verdict"])
            rows.append([_label(d["metric"]), fmt(d["before"], kind), fmt(d["after"], kind), dtxt, arrow])
        out += [_table(["Metric", "Before", "Now", "Change", "Direction"], rows), ""]
        if comp.get("changed"):
            out += ["Cases whose status changed:", ""]
            rows = [[f"`{c['id']}`", c["category"], c["before"], c["after"], c["question"][:100],
                     "; ".join(c.get("reasons", []))[:160]] for c in comp["changed"]]
            out += [_table(["Case", "Category", "Before", "Now", "Question", "Why it fails now"], rows), ""]
        else:
            out += ["No case changed status.", ""]

    out += ["## Results by category", ""]
    rows = [[cat, c["cases"], c["passed"], fmt(c["pass_rate"])] for cat, c in summary.get("categories", {}).items()]
    out += [_table(["Category", "Cases", "Passed", "Pass rate"], rows), ""]

    rfc = summary.get("red_flags_by_category", {})
    if rfc:
        out += ["## Red flags by category", "",
                "Counted over cases that say whether the answer should escalate. Recall: share of cases with "
                "this red flag whose answer named it. False alarms: cases without it whose answer named it.", ""]
        rows = []
        for cat in RED_FLAG_CATEGORIES:
            c = rfc.get(cat)
            if not c:
                continue
            rows.append([cat.replace("_", " "), c["expected"], f"{c['tp']} ({fmt(c['recall'])})",
                         fmt(c["precision"]), f"{c['fp']} ({fmt(c['false_alarm_rate'])})"])
        out += [_table(["Category", "Cases with it", "Named (recall)", "Precision", "False alarms (rate)"], rows), ""]
        rf = summary.get("red_flags", {})
        if rf.get("missed"):
            out += ["Red-flag cases that were **not** escalated: " + ", ".join(f"`{x}`" for x in rf["missed"]), ""]
        if rf.get("false_alarms"):
            out += ["Cases escalated without a red flag: " + ", ".join(f"`{x}`" for x in rf["false_alarms"]), ""]

    checks = summary.get("checks", {})
    if checks:
        out += ["## Checks", ""]
        rows = [[name, c["run"], c["passed"], CHECK_HELP.get(name, "")] for name, c in checks.items()]
        out += [_table(["Check", "Cases checked", "Passed", "What it verifies"], rows), ""]

    failing = [r for r in results if not r.get("passed")]
    out += [f"## Failing cases ({len(failing)})", ""]
    if failing:
        out += [f"Each answer is shortened here; the full answer, its citations and its safety trace are in "
                f"`{RESULTS}` under the case id.", ""]
    else:
        out += ["Every case passed.", ""]
    for r in failing:
        out += [f"### `{r['id']}` ({r.get('category', '')}, audience {r.get('audience', 'clinician')})", ""]
        conv = r.get("conversation") or []
        if conv:
            out.append(f"**Earlier turns ({len(conv)}):**")
            out.append("")
            for t in conv:
                text = t["content"] if len(t["content"]) <= 200 else t["content"][:200] + "…"
                out.append(f"- *{t['role']}:* {_cell(text)}")
            out.append("")
        out += [f"**Question:** {_cell(r.get('question', ''))}", "", "**Expected:**", ""]
        out += [f"- {line}" for line in _expected_lines(r)] + [""]
        out += ["**What went wrong:**", ""]
        for c in r.get("checks", []):
            if c.get("scored", True) and not c["passed"]:
                out.append(f"- `{c['name']}`: {c['reason']}")
        out.append("")
        resp = r.get("response")
        if resp:
            flags = []
            if resp.get("safety", {}).get("escalated"):
                flags.append("escalated")
            if resp.get("out_of_scope"):
                flags.append("declined as out of scope")
            head = "**Answer excerpt**" + (f" ({', '.join(flags)})" if flags else "") + ":"
            out += [head, "", _excerpt(resp.get("answer", "")), ""]
        elif r.get("error"):
            out += [f"**Error:** {_cell(r['error'])}", ""]

    warn = [r for r in results if r.get("passed") and any(not c["passed"] for c in r.get("checks", []))]
    if warn:
        out += ["## Retrieval misses in passing cases", "",
                "These cases passed, but no gold passage was among the top 5 retrieved.", ""]
        rows = [[f"`{r['id']}`", r.get("category", ""), next(c["reason"] for c in r["checks"] if not c["passed"])[:200]]
                for r in warn]
        out += [_table(["Case", "Category", "Retrieval"], rows), ""]
    return "\n".join(out).rstrip() + "\n"
