"""The `guideline` command: ingest, check, search, ask, chat, eval, versions, rollback, audit, ui.

Errors of ours are printed as one plain sentence on stderr with exit code 1 (2 for
usage errors); tracebacks are reserved for real bugs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _settings():
    from ingest.settings import load_settings

    return load_settings()


def _print_json(obj) -> None:
    print(json.dumps(obj, indent=2, ensure_ascii=False))


def _console():
    from rich.console import Console

    return Console()


# ---------------------------------------------------------------- ingest / check
def _ensure_query_model(settings) -> None:
    """An index built before the fast query model existed gets it now (once)."""
    from ingest.query_model import ensure

    try:
        rep = ensure(settings)
    except Exception as e:  # noqa: BLE001 - optional: queries fall back to sentence-transformers
        print(f"Fast query model not prepared ({type(e).__name__}: {str(e)[:200]}); "
              "queries use sentence-transformers.", file=sys.stderr)
        return
    if rep is not None:
        print(f"Prepared the fast query model ({rep.seconds:.0f} s)." if rep.verified
              else f"Fast query model not used: {rep.reason}")


def cmd_ingest(args) -> int:
    from ingest.index import run_ingest

    settings = _settings()
    if args.if_stale:
        from ingest.index import index_is_stale

        if not index_is_stale(settings):
            print("The index is up to date with the corpus.")
            _ensure_query_model(settings)
            return 0
    if args.json:
        report = run_ingest(settings, full=args.full)
        _print_json(report.to_json())
        return 0
    from ui.progress import ingest_progress

    with ingest_progress() as progress:
        report = run_ingest(settings, full=args.full, progress=progress)
    d, c = report.documents, report.chunks
    con = _console()
    if report.switched:
        con.print(f"[bold green]Corpus version {report.corpus_version}[/] is now serving"
                  + (f" (was {report.previous_version})." if report.previous_version else "."))
    else:
        con.print(f"[bold]No changes.[/] Corpus version {report.corpus_version} keeps serving.")
    con.print(f"Documents: {d.added} added, {d.updated} updated, {d.unchanged} unchanged, {d.deleted} deleted")
    con.print(f"Passages:  {c.added} added, {c.updated} updated, {c.unchanged} unchanged, {c.deleted} deleted")
    embed_s = report.stage_seconds.get("embed", 0.0)
    rate = f" ({report.embedded / embed_s:.0f} passages/s embedding)" if report.embedded and embed_s > 0 else ""
    con.print(f"Embedded {report.embedded} passages in {report.seconds:.1f} s{rate}.")
    for did, what in sorted(report.doc_changes.items()):
        con.print(f"  {what:8} {did}")
    for w in report.warnings:
        con.print(f"[yellow]warning:[/] {w}")
    return 0


def cmd_check(args) -> int:
    from ingest.check import check_corpus

    settings = _settings()
    report = check_corpus(Path(args.dir) if args.dir else settings.corpus_dir, settings)
    if args.json:
        _print_json({"ok": report.ok, "errors": [str(e) for e in report.errors],
                     "warnings": [str(w) for w in report.warnings]})
    else:
        for line in report.lines():
            print(line)
        print("Corpus OK." if report.ok else f"{len(report.errors)} error(s).")
    return 0 if report.ok else 1


# ---------------------------------------------------------------- search / ask / chat
def cmd_search(args) -> int:
    from assistant.pipeline import get_assistant

    a = get_assistant(_settings())
    statuses = tuple(args.status) if args.status else None
    res = a.searcher.search(args.query, args.k, statuses=statuses, mode=args.mode)
    if args.json:
        _print_json({
            "query": res.query,
            "hits": [{"rank": h.rank, "chunk_id": h.chunk.chunk_id, "doc_id": h.chunk.doc_id,
                      "title": h.chunk.title, "section": h.chunk.section, "version": h.chunk.version,
                      "score": round(h.score, 6), "text": h.chunk.text} for h in res.hits],
            "corpus_version": res.corpus_version,
        })
        return 0
    con = _console()
    for h in res.hits:
        con.print(f"[bold]{h.rank}. {h.chunk.title}[/] — {h.chunk.heading}  [dim]({h.chunk.doc_id} v{h.chunk.version}, score {h.score:.4f})[/]")
        con.print("   " + h.chunk.text[:300].replace("\n", " ") + ("…" if len(h.chunk.text) > 300 else ""))
    con.print(f"[dim]corpus version {res.corpus_version}[/]")
    return 0


def _load_history(path: str | None) -> list[dict]:
    from ingest.errors import InputError

    if not path:
        return []
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"History file {path} does not exist.") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise InputError(f"History file {path} is not valid JSON: {e}.") from None
    if not isinstance(data, list):
        raise InputError(f"History file {path} must hold a JSON list of {{role, content}} turns.")
    return data


def print_answer(ans, con=None) -> None:
    from rich.markdown import Markdown
    from rich.panel import Panel

    con = con or _console()
    if ans.safety.escalated:
        flags = "; ".join(f"{r.category}: “{r.trigger}”" for r in ans.safety.red_flags)
        con.print(Panel(f"Red flag: {flags}", style="bold red", title="URGENT"))
    con.print(Markdown(ans.markdown))
    if ans.citations:
        con.print("[bold]Sources[/]")
        for c in ans.citations:
            con.print(f" [{c.n}] {c.title} — {c.section.split(' > ')[-1]} "
                      f"[dim](v{c.version}, {c.status}, reviewed {c.last_reviewed})[/]")
    con.print(f"[dim]corpus {ans.corpus_version} · {ans.timings_ms.get('total', 0):.0f} ms"
              + (f" · query: {ans.condensed_query}" if ans.condensed_query else "") + "[/]")


def cmd_ask(args) -> int:
    from assistant.pipeline import get_assistant

    a = get_assistant(_settings())
    ans = a.answer(args.question, _load_history(args.history), args.audience)
    if args.json:
        _print_json(ans.to_json())
    else:
        print_answer(ans)
    return 0


def cmd_chat(args) -> int:
    from assistant.pipeline import get_assistant
    from ingest.errors import AssistantError

    con = _console()
    a = get_assistant(_settings())
    history: list[dict] = []
    audience = args.audience
    con.print("[bold]Guideline assistant[/] — ask a question; /new starts over, "
              "/patient or /clinician switches audience, /quit leaves.")
    while True:
        try:
            q = con.input("[bold cyan]you>[/] ")
        except (EOFError, KeyboardInterrupt):
            con.print()
            return 0
        cmd = q.strip().lower()
        if cmd in ("/quit", "/exit"):
            return 0
        if cmd == "/new":
            history = []
            con.print("[dim]New conversation.[/]")
            continue
        if cmd in ("/patient", "/clinician"):
            audience = cmd[1:]
            con.print(f"[dim]Audience: {audience}.[/]")
            continue
        try:
            ans = a.answer(q, history, audience)
        except AssistantError as e:
            con.print(f"[red]{e}[/]")
            continue
        print_answer(ans, con)
        history += [{"role": "user", "content": q}, {"role": "assistant", "content": ans.markdown}]


# ---------------------------------------------------------------- versions / audit / eval / ui
def cmd_versions(args) -> int:
    from ingest.versions import list_versions

    vs = list_versions(_settings())
    if args.json:
        _print_json([v.__dict__ for v in vs])
        return 0
    if not vs:
        print("No corpus versions yet. Run `guideline ingest`.")
    for v in vs:
        print(f"{'*' if v.current else ' '} {v.version}  {v.created}  {v.documents} documents, {v.chunks} passages")
    return 0


def cmd_rollback(args) -> int:
    from ingest.versions import rollback

    rollback(_settings(), args.version)
    print(f"Corpus version {args.version} is now serving.")
    return 0


def cmd_audit(args) -> int:
    from assistant.audit import AuditLog

    rows = AuditLog(_settings()).tail(args.n)
    if args.json:
        _print_json(rows)
        return 0
    if not rows:
        print("The audit log is empty.")
    for r in reversed(rows):
        q = r["question"] if r["question"] is not None else f"sha256:{r['question_sha256'][:12]}"
        rules = ",".join(sorted({x["rule_id"] for x in r["rules_fired"]})) or "-"
        fb = " ".join(f["rating"] for f in r["feedback"]) or "-"
        print(f"#{r['id']} {r['ts']} [{r['audience']}] v{r['corpus_version']} "
              f"escalated={r['escalated']} rules={rules} feedback={fb}\n    {q[:150]}")
    return 0


def cmd_ui(args) -> int:
    import subprocess

    app = Path(__file__).resolve().parent / "app.py"
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.headless", "true",
           "--server.address", args.host, "--server.port", str(args.port),
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    print(f"Guideline assistant UI on http://{args.host}:{args.port}", flush=True)
    return subprocess.call(cmd)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="guideline", description="Clinical guideline assistant.")
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("ingest", help="build or update the index from the corpus")
    s.add_argument("--full", action="store_true", help="rebuild everything (re-embed all passages)")
    s.add_argument("--json", action="store_true", help="print the run report as JSON")
    s.add_argument("--if-stale", action="store_true", help="only run when the corpus changed")
    s.set_defaults(fn=cmd_ingest)

    s = sub.add_parser("check", help="validate the corpus files")
    s.add_argument("dir", nargs="?")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_check)

    s = sub.add_parser("search", help="hybrid search of the serving corpus")
    s.add_argument("query")
    s.add_argument("--k", type=int, default=8)
    s.add_argument("--mode", choices=("hybrid", "dense", "bm25"), default="hybrid")
    s.add_argument("--status", action="append", help="document statuses to include (repeatable)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_search)

    s = sub.add_parser("ask", help="answer one question")
    s.add_argument("question")
    s.add_argument("--history", help="JSON file: list of {role, content} turns")
    s.add_argument("--audience", choices=("clinician", "patient"), default="clinician")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_ask)

    s = sub.add_parser("chat", help="terminal chat that keeps the conversation")
    s.add_argument("--audience", choices=("clinician", "patient"), default="clinician")
    s.set_defaults(fn=cmd_chat)

    s = sub.add_parser("versions", help="list corpus versions")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_versions)

    s = sub.add_parser("rollback", help="serve an earlier corpus version")
    s.add_argument("version")
    s.set_defaults(fn=cmd_rollback)

    s = sub.add_parser("audit", help="read the audit log")
    asub = s.add_subparsers(dest="audit_cmd", required=True)
    t = asub.add_parser("tail", help="latest answers")
    t.add_argument("--n", type=int, default=20)
    t.add_argument("--json", action="store_true")
    t.set_defaults(fn=cmd_audit)

    sub.add_parser("eval", help="run an answer-quality test set: eval SET.jsonl [--out DIR] "
                   "[--compare DIR] [--json]; eval export --format ragas|deepeval SET.jsonl")

    s = sub.add_parser("ui", help="start the Streamlit UI")
    s.add_argument("--port", type=int, default=8501)
    s.add_argument("--host", default="127.0.0.1")
    s.set_defaults(fn=cmd_ui)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from ingest.errors import AssistantError

    try:
        if argv[:1] == ["eval"]:
            from evals import cli_main as eval_main

            return eval_main(argv[1:])
        args = build_parser().parse_args(argv)
        return args.fn(args)
    except AssistantError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
