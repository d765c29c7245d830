"""Command-line entry points: ``guideline eval`` and ``guideline eval export``.

``run_command`` and ``export_command`` return an exit status; ``cli_main`` parses
argv for ``python -m evals``. Exit status: 0 all gates met, 1 a gate not met,
2 the set, the gates file or the environment is unusable.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

EXIT_OK, EXIT_GATE_FAILED, EXIT_ERROR = 0, 1, 2


def _err(msg: str) -> None:
    print(f"error: {msg}", file=sys.stderr)


def _default_out_dir(settings) -> Path:
    if settings is None:
        from ingest.settings import load_settings

        settings = load_settings()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return Path(settings.data_dir) / "eval_runs" / stamp  # the UI lists and compares these too


def _progress_bar():
    """A rich progress bar on stderr (stdout stays clean for --json)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("[bold]evaluating"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=Console(stderr=True),
        transient=True,
    )
    return progress


def run_command(set_path, out_dir=None, compare_dir=None, as_json: bool = False, settings=None, *,
                gates_path=None, answer_fn=None, show_progress: bool = True) -> int:
    """Run a test set, write results.jsonl / summary.json / report.md, check the gates."""
    from ingest.errors import AssistantError

    from .gates import DEFAULT_GATES, evaluate_gates, gates_passed, load_gates
    from .metrics import HEADLINE, fmt
    from .report import compare, load_run, write_run
    from .runner import run_eval
    from .schema import load_set

    try:
        cases = load_set(set_path)
        # Fail on a bad gates file or compare dir before spending minutes on the run.
        gates = load_gates(gates_path)
        previous = load_run(compare_dir) if compare_dir else None
        out = Path(out_dir) if out_dir else _default_out_dir(settings)

        if show_progress:
            bar = _progress_bar()
            with bar:
                task = bar.add_task("", total=len(cases))

                def tick(done: int, total: int, case_id: str) -> None:
                    bar.update(task, completed=done, description=case_id)

                run = run_eval(cases, answer_fn=answer_fn, settings=settings, progress=tick)
        else:
            run = run_eval(cases, answer_fn=answer_fn, settings=settings)
    except AssistantError as e:
        _err(str(e))
        return EXIT_ERROR

    summary = dict(run.summary)
    raw = Path(set_path).read_bytes()
    summary["set"] = {"path": str(set_path), "cases": len(cases), "sha256": hashlib.sha256(raw).hexdigest()}
    gate_results = evaluate_gates(gates, run.metrics)
    ok = gates_passed(gate_results)
    summary["gates"] = {"file": str(gates_path or DEFAULT_GATES.relative_to(DEFAULT_GATES.parents[1])),
                        "passed": ok, "results": [g.to_json() for g in gate_results]}
    results = [r.to_json() for r in run.results]
    if previous is not None:
        summary["comparison"] = compare(summary, results, *previous, previous_dir=str(compare_dir))
    write_run(out, summary, results)

    if as_json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        _print_summary(summary, out, HEADLINE, fmt)
    return EXIT_OK if ok else EXIT_GATE_FAILED


def _print_summary(summary: dict, out: Path, headline, fmt) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    m = summary["metrics"]
    t = Table(title=f"{summary['set']['path']}: {m['passed']}/{m['cases']} cases passed")
    t.add_column("Metric")
    t.add_column("Value", justify="right")
    for key, label, kind in headline:
        t.add_row(label, fmt(m.get(key), kind))
    console.print(t)
    g = Table(title="Gates")
    for col in ("Metric", "Threshold", "Value", "Status"):
        g.add_column(col)
    for r in summary["gates"]["results"]:
        style = {"met": "green", "not met": "bold red", "no data": "yellow"}[r["status"]]
        op = "≥" if r["op"] == "min" else "≤"
        g.add_row(r["metric"], f"{op} {r['threshold']:g}", "n/a" if r["value"] is None else f"{r['value']:.4g}",
                  f"[{style}]{r['status']}[/{style}]")
    console.print(g)
    comp = summary.get("comparison")
    if comp:
        console.print(f"Compared with {comp['previous']['dir']}: {comp['newly_failing']} newly failing, "
                      f"{comp['newly_passing']} newly passing.")
    console.print(f"Report: {out / 'report.md'}")


def export_command(set_path, fmt: str, out=None, *, file_format: str | None = None, run_dir=None) -> int:
    """Write the set as Ragas samples or DeepEval goldens into directory ``out`` (default '.')."""
    from ingest.errors import AssistantError

    from .export import export_set
    from .report import load_run
    from .schema import load_set

    try:
        cases = load_set(set_path)
        run = None
        if run_dir:
            _, results = load_run(run_dir)
            run = {r["id"]: r for r in results}
        written = export_set(cases, fmt, out or ".", stem=Path(set_path).stem, file_format=file_format, run=run)
    except AssistantError as e:
        _err(str(e))
        return EXIT_ERROR
    except OSError as e:
        _err(f"cannot write export: {e}")
        return EXIT_ERROR
    for path, n in written:
        print(f"wrote {n} rows to {path}")
    return EXIT_OK


def build_parser(prog: str = "guideline eval") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description="Run an answer-quality test set and check the regression gates.")
    p.add_argument("set", help="test set (JSONL, one case a line)")
    p.add_argument("--out", help="directory for results.jsonl, summary.json, report.md (default: data/eval_runs/<time>, shared with the UI)")
    p.add_argument("--compare", help="a previous run directory to compare with")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--gates", help="gates file (default: evals/gates.yaml)")
    return p


def build_export_parser(prog: str = "guideline eval export") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description="Write a test set as Ragas samples or DeepEval goldens.")
    p.add_argument("set", help="test set (JSONL)")
    p.add_argument("--format", required=True, choices=("ragas", "deepeval"))
    p.add_argument("--out", default=".", help="output directory (default: current directory)")
    p.add_argument("--file-format", choices=("json", "jsonl"), help="default: jsonl for ragas, json for deepeval")
    p.add_argument("--from-run", help="fill in answers and cited passages from a previous run directory")
    return p


def cli_main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "export":
        a = build_export_parser().parse_args(argv[1:])
        return export_command(a.set, a.format, a.out, file_format=a.file_format, run_dir=a.from_run)
    a = build_parser().parse_args(argv)
    return run_command(a.set, a.out, a.compare, a.json, gates_path=a.gates)
