"""Command-line entry points: ``guideline eval`` and ``guideline eval export``.

``run_command`` and ``export_command`` return an exit status; ``cli_main`` parses
argv for ``python -m evals``. Exit status: 0 all gates met, 1 a gate not met (or, with
``--fail-on-regression`` / ``fail_on_regression: true``, a case that passed in the compared
run fails now), 2 the set, the gates file or the environment is unusable. With ``--json``
a failure prints ``{"error": {"type", "message", "file", "line", "field"}}`` on stdout.
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


def _fail(e: BaseException, as_json: bool) -> int:
    """Report an unusable input: a sentence on stderr, and with --json an object on stdout."""
    _err(str(e))
    if as_json:
        print(json.dumps({"error": {"type": type(e).__name__, "message": str(e),
                                    "file": getattr(e, "path", None), "line": getattr(e, "line", None),
                                    "field": getattr(e, "field", None)}}, indent=2, ensure_ascii=False))
    return EXIT_ERROR


def _check_gold_sources(numbered, set_path, settings) -> None:
    """Refuse gold sources that name nothing in the served corpus (when one is served)."""
    from ingest.serving import load_version
    from ingest.versions import current_version

    from .schema import check_sources

    if settings is None:
        from core.settings import load_settings

        settings = load_settings()
    version = current_version(settings)
    if not version:
        return  # no index: the run itself reports that
    ix = load_version(settings, version)
    check_sources(numbered, ix.chunks, path=str(set_path), corpus_version=version)


def _default_out_dir(settings) -> Path:
    if settings is None:
        from core.settings import load_settings

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
                gates_path=None, answer_fn=None, show_progress: bool = True,
                fail_on_regression: bool = False, check_sources: bool = True) -> int:
    """Run a test set, write results.jsonl / summary.json / report.md, check the gates.

    ``check_sources``: refuse gold sources naming nothing in the served corpus (exit 2)."""
    from core.errors import AssistantError

    from .gates import DEFAULT_GATES, evaluate_gates, gates_passed, load_config
    from .metrics import HEADLINE, fmt
    from .report import compare, load_run, write_run
    from .runner import run_eval
    from .schema import load_set_numbered

    try:
        numbered = load_set_numbered(set_path)
        cases = [c for _, c in numbered]
        # Fail on a bad gates file or compare dir before spending minutes on the run.
        config = load_config(gates_path)
        gates = config.gates
        fail_on_regression = fail_on_regression or config.fail_on_regression
        previous = load_run(compare_dir) if compare_dir else None
        # Against the corpus that answers: the default pipeline's, or the one ``settings`` names.
        if check_sources and (answer_fn is None or settings is not None):
            _check_gold_sources(numbered, set_path, settings)
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
        return _fail(e, as_json)

    summary = dict(run.summary)
    raw = Path(set_path).read_bytes()
    summary["set"] = {"path": str(set_path), "cases": len(cases), "sha256": hashlib.sha256(raw).hexdigest()}
    gate_results = evaluate_gates(gates, run.metrics)
    ok = gates_passed(gate_results)
    summary["gates"] = {"file": str(gates_path or DEFAULT_GATES.relative_to(DEFAULT_GATES.parents[1])),
                        "passed": ok, "results": [g.to_json() for g in gate_results]}
    results = [r.to_json() for r in run.results]
    if previous is not None:
        comp = compare(summary, results, *previous, previous_dir=str(compare_dir))
        if comp.get("warning"):
            print(f"warning: {comp['warning']}", file=sys.stderr)
        if fail_on_regression:
            comp["regression_gate"] = {"passed": not comp["regressions"], "regressions": comp["regressions"]}
            ok = ok and not comp["regressions"]
        summary["comparison"] = comp
    summary["passed"] = ok
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
        if comp.get("warning"):
            console.print(f"[yellow]warning:[/] {comp['warning']}")
        rg = comp.get("regression_gate")
        if rg and not rg["passed"]:
            console.print(f"[bold red]Regression gate failed:[/] {len(rg['regressions'])} case(s) passed "
                          f"before and fail now: {', '.join(rg['regressions'][:20])}")
        elif comp.get("regressions"):
            console.print(f"{len(comp['regressions'])} case(s) passed before and fail now "
                          "(add --fail-on-regression to fail the run on this).")
    console.print(f"Report: {out / 'report.md'}")


def export_command(set_path, fmt: str, out=None, *, file_format: str | None = None, run_dir=None) -> int:
    """Write the set as Ragas samples or DeepEval goldens into directory ``out`` (default '.')."""
    from core.errors import AssistantError

    from .export import export_set
    from .report import load_run
    from .schema import EvalSetError, load_set

    try:
        cases = load_set(set_path)
        run = None
        if out and Path(out).suffix in (".json", ".jsonl"):
            raise EvalSetError(str(out), None, "--out", "--out is a directory (the export writes one or "
                               "two files into it, named after the set), not a file name")
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
    p.add_argument("--compare", help="a previous run directory to compare with (runs of different sets "
                                     "are compared on their shared cases, with a warning)")
    p.add_argument("--fail-on-regression", action="store_true",
                   help="with --compare: exit 1 when a case that passed in the compared run fails now "
                        "(also `fail_on_regression: true` in the gates file)")
    p.add_argument("--json", action="store_true", help="print the summary (or the error) as JSON on stdout")
    p.add_argument("--gates", help="gates file (default: evals/gates.yaml); unknown metric names are refused")
    p.add_argument("--no-source-check", action="store_true",
                   help="do not refuse gold sources that name no document or section of the served corpus")
    return p


def build_export_parser(prog: str = "guideline eval export") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description="Write a test set as Ragas samples or DeepEval goldens.")
    p.add_argument("set", help="test set (JSONL)")
    p.add_argument("--format", required=True, choices=("ragas", "deepeval"))
    p.add_argument("--out", default=".", help="output directory, created if missing; the files are named "
                                             "after the set (default: current directory)")
    p.add_argument("--file-format", choices=("json", "jsonl"), help="default: jsonl for ragas, json for deepeval")
    p.add_argument("--from-run", help="fill in answers and cited passages from a previous run directory")
    return p


def cli_main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "export":
        a = build_export_parser().parse_args(argv[1:])
        return export_command(a.set, a.format, a.out, file_format=a.file_format, run_dir=a.from_run)
    try:
        a = build_parser().parse_args(argv)
    except SystemExit as e:
        if "--json" in argv and e.code not in (0, None):  # usage printed on stderr; an object on stdout
            print(json.dumps({"error": {"type": "UsageError", "message": "invalid command line (see the "
                                        "usage message on stderr)", "file": None, "line": None,
                                        "field": None}}, indent=2))
        raise
    return run_command(a.set, a.out, a.compare, a.json, gates_path=a.gates,
                       fail_on_regression=a.fail_on_regression, check_sources=not a.no_source_check)
