"""Every benchmark, one after the other, then ``docs/benchmarks.md``: what ``make bench`` runs.

    bench/run_all.py [--only NAME[,NAME]] [--skip NAME[,NAME]] [--no-report]

Steps run sequentially as separate processes (the machine has 2 cores; two
benchmarks at once would measure each other). Each step's log goes to
``bench/out/logs/<step>.log``; its result JSON to ``bench/out/<name>.json``.
A failing step is recorded and the others still run. Built indexes are cached in
``bench/out/cache/`` so a second ``make bench`` skips the embedding work.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import OUT, ROOT, log, machine  # noqa: E402

PY = sys.executable
B = ROOT / "bench"

STEPS: list[tuple[str, list[str]]] = [
    ("scifact", [PY, str(B / "scifact.py"), "--run-out", "bench/out/scifact-hybrid.trec", "--name", "scifact"]),
    ("ingest", [PY, str(B / "bench_ingest.py"), "--docs", "300", "--runs", "2"]),
    ("incremental", [PY, str(B / "bench_incremental.py"), "--runs", "2"]),
    # Queries embedded as the product embeds them once an ingest has prepared the ONNX query model.
    ("latency", [PY, str(B / "bench_latency.py"), "--sizes", "1000,10000,100000", "--rounds", "3", "--n", "25",
                 "--embedder", "onnx"]),
    ("langchain", [PY, str(B / "bench_langchain.py"), "--runs", "2"]),
    ("coldstart", [PY, str(B / "bench_coldstart.py"), "--runs", "2"]),
    ("safety", [PY, str(B / "bench_safety.py"), "--runs", "200"]),
    ("context", [PY, str(B / "context.py"), "--out", "bench/out/context-pred.tsv", "--baseline", "negspacy",
                 "--name", "context"]),
    ("embedders", [PY, str(B / "bench_embedders.py"), "--passages", "300", "--queries", "40", "--runs", "2"]),
    # ~200 published-style documents (~20,000 passages) and the VA/DoD PDF in one ingest.
    ("published", [PY, str(B / "bench_published.py"), "--docs", "200", "--rows", "32", "--small", "10"]),
    # The fallback path (GUIDELINE_QUERY_EMBEDDER=torch, or no prepared query model).
    ("latency-torch", [PY, str(B / "bench_latency.py"), "--sizes", "100000", "--modes", "embedded",
                       "--rounds", "3", "--n", "25", "--embedder", "torch", "--name", "latency-torch"]),
    ("scifact-onnx-int8", [PY, str(B / "scifact.py"), "--embedder", "onnx-int8", "--name", "scifact-onnx-int8"]),
    ("tune", [PY, str(B / "tune_scifact.py")]),
    # Measures the LLM support check; does not rewrite its threshold (run it with --write-thresholds for that).
    ("support", [PY, str(B / "bench_support.py")]),
]
OPTIONAL = {
    "support": (3.0, 3.0),
    # step -> (minutes when its index is cached, minutes when it must embed SciFact first)
    "embedders": (2.0, 2.0),
    "published": (12.0, 12.0),
    "latency-torch": (1.5, 1.5),
    "scifact-onnx-int8": (1.0, 6.0),
    "tune": (1.0, 5.0),
}
"""Run only while the time budget allows (their SciFact indexes may not be cached yet);
a skipped step keeps its previous result, which the report shows with its date."""
COLD_RUN_ARGS: dict[str, tuple[str, str]] = {}
"""step -> (flag, value) used instead when the SciFact index must be built in this run
(none now: passages are embedded by the ONNX copy, and a cold run fits with every step's
full settings)."""
STDOUT_RESULTS = {"safety"}
"""Steps that print their JSON instead of writing bench/out/<name>.json."""


def _caches() -> dict:
    """Which expensive indexes existed before this run (a cold run builds them all)."""
    from common import CACHE

    out = {}
    try:
        from scifact import is_cached

        for kind in ("torch", "onnx", "onnx-int8"):
            out[f"scifact-{kind}"] = is_cached(kind)
    except Exception:  # noqa: BLE001
        pass
    for n in (1000, 10000, 100000):
        out[f"synth-{n}"] = any((d / "synth.json").exists() for d in CACHE.glob(f"synth-{n}-*"))
    return out


def _estimate(name: str) -> float:
    warm, cold = OPTIONAL[name]
    try:
        from scifact import is_cached

        if name == "tune":
            from common import CACHE, SCIFACT_DEFAULT
            from scifact import index_root, make_embedder
            from core.settings import Settings

            _, key = index_root(SCIFACT_DEFAULT, make_embedder("torch").fingerprint, Settings().chunk_size)
            return warm if any(CACHE.glob(f"tune-rankings-{key}-*")) else cold
        kind = {"scifact-onnx-int8": "onnx-int8"}.get(name)
        if kind is None or is_cached(kind):
            return warm
    except Exception:  # noqa: BLE001 - unknown means assume the slow case
        pass
    return cold


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="")
    ap.add_argument("--skip", default="")
    ap.add_argument("--no-report", action="store_true")
    ap.add_argument("--budget-min", type=float, default=19.0,
                    help="optional steps run only if they should finish within this many minutes")
    args = ap.parse_args(argv)
    only = {x for x in args.only.split(",") if x}
    skip = {x for x in args.skip.split(",") if x}

    (OUT / "logs").mkdir(parents=True, exist_ok=True)
    status_path = OUT / "run_all.json"
    prev = json.loads(status_path.read_text()) if status_path.exists() else {}
    names = {n for n, _ in STEPS}
    steps = {k: v for k, v in prev.get("steps", {}).items() if k in names}  # renamed steps drop out
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "ANONYMIZED_TELEMETRY": "False", "TOKENIZERS_PARALLELISM": "false"}
    caches = _caches()
    t_all = time.perf_counter()
    for name, cmd in STEPS:
        if (only and name not in only) or name in skip:
            continue
        script = Path(cmd[1])
        if not script.exists():
            steps[name] = {"status": "missing", "reason": f"{script.relative_to(ROOT)} does not exist"}
            log(f"{name}: skipped, {script.name} does not exist")
            continue
        if name in OPTIONAL and not only:
            est = _estimate(name)
            spent = (time.perf_counter() - t_all) / 60
            if spent + est > args.budget_min:
                steps[name] = {**steps.get(name, {}), "status": "skipped",
                               "reason": f"time budget: {spent:.1f} min spent, ~{est:.0f} min needed; run "
                                         f"`bench/run_all.py --only {name}`"}
                log(f"{name}: skipped (budget)")
                continue
        reduced = None
        if name in COLD_RUN_ARGS and not caches.get("scifact-torch") and not only:
            flag, value = COLD_RUN_ARGS[name]
            cmd = list(cmd)
            cmd[cmd.index(flag) + 1] = value
            reduced = f"{flag} {value}: cold run (the SciFact index was built in this run)"
        log(f"{name}: {' '.join(Path(c).name if c == PY else c for c in cmd)}")
        load0 = os.getloadavg()
        t0 = time.perf_counter()
        with open(OUT / "logs" / f"{name}.log", "w", encoding="utf-8") as lf:
            p = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=lf, text=True)
        stderr_tail = (OUT / "logs" / f"{name}.log").read_text(encoding="utf-8", errors="replace")[-600:]
        with open(OUT / "logs" / f"{name}.log", "a", encoding="utf-8") as lf:
            lf.write("\n--- stdout ---\n" + p.stdout)
        secs = time.perf_counter() - t0
        if p.returncode == 0 and name in STDOUT_RESULTS:
            try:
                data = json.loads(p.stdout)
                data.update({"benchmark": name, "command": " ".join(
                    ["bench/" + script.name, *cmd[2:]]), "machine": machine()})
                (OUT / f"{name}.json").write_text(json.dumps(data, indent=1))
            except ValueError:
                p.returncode = 1
        steps[name] = {"status": "ok" if p.returncode == 0 else "failed", "seconds": round(secs, 1),
                       "exit_code": p.returncode, "load_before": [round(x, 2) for x in load0],
                       "load_after": [round(x, 2) for x in os.getloadavg()],
                       "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}
        if reduced:
            steps[name]["reduced"] = reduced
        if p.returncode != 0:
            lines = stderr_tail.strip().splitlines()
            steps[name]["reason"] = lines[-1][:300] if lines else f"exit code {p.returncode}, no output"
        log(f"{name}: {steps[name]['status']} in {secs:.0f} s")
    total = time.perf_counter() - t_all
    status = {"steps": steps, "total_seconds": round(total, 1), "only": sorted(only), "skip": sorted(skip),
              "caches_at_start": caches, "budget_min": args.budget_min,
              "finished": time.strftime("%Y-%m-%dT%H:%M:%S"), "machine": machine()}
    if only and prev.get("total_seconds") is not None and not prev.get("only"):
        # A partial re-run updates its steps; the end-to-end figures stay those of the last full run.
        status.update({k: prev[k] for k in ("total_seconds", "only", "skip", "caches_at_start", "budget_min",
                                            "finished") if k in prev})
        status["partial_reruns"] = prev.get("partial_reruns", []) + [
            {"only": sorted(only), "finished": time.strftime("%Y-%m-%dT%H:%M:%S"), "seconds": round(total, 1)}]
    history = list(prev.get("history", []))
    if not only:
        history.append({"finished": status["finished"], "total_seconds": status["total_seconds"],
                        "cold": not any(v for k, v in caches.items() if k == "scifact-torch" or k.startswith("synth")),
                        "caches_at_start": caches,
                        "skipped": sorted(k for k, v in steps.items() if v.get("status") == "skipped"),
                        "failed": sorted(k for k, v in steps.items() if v.get("status") == "failed")})
    status["history"] = history[-10:]
    status_path.write_text(json.dumps(status, indent=1))
    log(f"all steps done in {total / 60:.1f} min")
    if not args.no_report:
        from report import write_report

        path = write_report()
        log(f"wrote {path.relative_to(ROOT)}")
    return 0 if all(s.get("status") in ("ok", "missing", "skipped") for s in steps.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
