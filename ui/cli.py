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
    from core.settings import load_settings

    return load_settings()


def _print_json(obj) -> None:
    print(json.dumps(obj, indent=2, ensure_ascii=False))


def error_json(e: BaseException) -> dict:
    """``{"error": {type, message, file, line, field}}`` for any error of ours (``--json`` mode)."""
    file = getattr(e, "path", None)
    line = getattr(e, "line", None)
    field = getattr(e, "field", None)
    details = [{"file": fe.path, "reason": fe.reason} for fe in getattr(e, "errors", []) or []]
    if file is None and details:
        file = details[0]["file"]
    out = {"type": type(e).__name__, "message": str(e), "file": file, "line": line, "field": field}
    if details:
        out["files"] = details
    if getattr(e, "deleted", None) is not None:
        out["deleted"] = list(e.deleted)
    if getattr(e, "safety", None) is not None:  # a refused input that still escalated
        out["safety"] = e.safety.to_json()
    return {"error": out}


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


def _pinned_message(settings, pin) -> str:
    from ingest.pin import corpus_drift, describe_drift

    drift = corpus_drift(settings, pin.version)
    msg = (f"Corpus version {pin.version} is pinned by a rollback at {pin.at}; "
           "--if-stale leaves it serving.")
    if drift:
        msg += (f" The corpus directory differs from it in {len(drift)} file(s): {describe_drift(drift)}."
                " Run `guideline ingest` to serve the corpus files again.")
    else:
        msg += " The corpus directory matches it."
    return msg


def _store_sentence_vectors(settings) -> None:
    """The serving version's sentence vectors, stored beside it (the composer loads them)."""
    from assistant.sentence_store import prepare

    try:
        prepare(settings)
    except Exception as e:  # noqa: BLE001 - the version is served either way; vectors are made when first served
        print(f"Note: sentence vectors were not stored ({type(e).__name__}: {e}); "
              "they are computed when the version is first served.", file=sys.stderr)


def cmd_ingest(args) -> int:
    from ingest.index import run_ingest

    settings = _settings()
    if args.if_stale:
        from ingest.index import index_is_stale
        from ingest.pin import read_pin

        pin = read_pin(settings)
        if pin is not None:
            if args.json:
                _print_json({"skipped": True, "reason": "pinned", "pin": pin.to_json(),
                             "corpus_version": pin.version})
            else:
                print(_pinned_message(settings, pin))
            return 0
        if not index_is_stale(settings):
            if args.json:
                import contextlib

                from ingest.versions import current_version

                with contextlib.redirect_stdout(sys.stderr):  # stdout holds only the JSON
                    _ensure_query_model(settings)
                _print_json({"skipped": True, "reason": "up to date",
                             "corpus_version": current_version(settings)})
                return 0
            print("The index is up to date with the corpus.")
            _ensure_query_model(settings)
            return 0
    if args.json:
        import contextlib

        report = run_ingest(settings, full=args.full, allow_deletions=args.allow_deletions)
        with contextlib.redirect_stdout(sys.stderr):  # stdout holds only the JSON
            _store_sentence_vectors(settings)
        _print_json(report.to_json())
        return 0
    from ui.progress import ingest_progress

    with ingest_progress() as progress:
        report = run_ingest(settings, full=args.full, progress=progress,
                            allow_deletions=args.allow_deletions)
    _store_sentence_vectors(settings)
    d, c = report.documents, report.chunks
    con = _console()
    if report.restored:
        con.print(f"[bold green]Corpus version {report.corpus_version}[/] is serving again: the corpus "
                  "equals this kept version, so no new version was built"
                  + (f" (was {report.previous_version})." if report.previous_version else "."))
    elif report.switched:
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
    if report.unpinned:
        con.print("The rollback pin is removed: `ingest --if-stale` follows the corpus again.")
    for w in report.warnings:
        con.print(f"[yellow]warning:[/] {w}")
    _print_conflicts(report.conflicts, con)
    return 0


def _print_conflicts(conflicts: list[dict], con=None) -> None:
    """The conflict report: one block per disagreement, each statement with its document."""
    if not conflicts:
        return
    out = con.print if con is not None else print
    out(f"Conflicting guidance across approved documents ({len(conflicts)}); review these:")
    for c in conflicts:
        what = (f"{c['aspect']} of {c['subject']}" if c["kind"] == "quantity"
                else f"place of {c['subject']} in treatment")
        out(f"  conflict: {what}")
        for st in c["statements"]:
            val = st["value"].replace("_", "-")
            out(f"    - {val}: {st['doc_id']} v{st['version']} (reviewed {st['last_reviewed']}), "
                f"{st['section'] or 'top'}: \"{st['sentence'][:160]}\"")


def cmd_check(args) -> int:
    from ingest.check import check_corpus
    from ingest.conflicts import find_conflicts

    settings = _settings()
    report = check_corpus(Path(args.dir) if args.dir else settings.corpus_dir, settings)
    conflicts = [c.to_json() for c in find_conflicts(report.docs, settings.include_statuses)]
    if args.json:
        _print_json({"ok": report.ok, "errors": [str(e) for e in report.errors],
                     "warnings": [str(w) for w in report.warnings],
                     "error_details": [{"file": e.path, "reason": e.reason, "message": str(e)}
                                       for e in report.errors],
                     "warning_details": [{"file": w.path, "reason": w.reason, "message": str(w)}
                                         for w in report.warnings],
                     "conflicts": conflicts,
                     # the shape every --json failure has (the first problem; all are listed above)
                     **({"error": {"type": "CheckError", "message": f"{len(report.errors)} error(s): "
                                   + str(report.errors[0]), "file": report.errors[0].path, "line": None,
                                   "field": None}} if report.errors else {})})
    else:
        for line in report.lines():
            print(line)
        _print_conflicts(conflicts)
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
    from core.errors import InputError

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
    ans = a.answer(args.question, _load_history(args.history), args.audience, source="cli")
    if args.json:
        _print_json(ans.to_json())
    else:
        print_answer(ans)
    return 0


def cmd_chat(args) -> int:
    from assistant.pipeline import get_assistant
    from core.errors import AssistantError

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
            ans = a.answer(q, history, audience, source="cli")
        except AssistantError as e:
            con.print(f"[red]{e}[/]")
            continue
        print_answer(ans, con)
        history += [{"role": "user", "content": q}, {"role": "assistant", "content": ans.markdown}]


# ---------------------------------------------------------------- versions / audit / eval / ui
def cmd_versions(args) -> int:
    from ingest.versions import describe_versions

    vs = describe_versions(_settings())
    if args.json:
        _print_json(vs)
        return 0
    if not vs:
        print("No corpus versions yet. Run `guideline ingest`.")
    for v in vs:
        tags = (" [serving]" if v["serving"] else "") + (
            f" [pinned by rollback at {v['pin']['at']}]" if v["pinned"] else "")
        print(f"{'*' if v['current'] else ' '} {v['version']}  {v['created']}  {v['documents']} documents, "
              f"{v['chunks']} passages{tags}")
        ch = v["changes"]
        since = f"since {v['compared_with']}" if v["compared_with"] else "first version"
        if ch is None:
            print("    changes unknown (the version it was built on is no longer kept)")
        elif ch:
            from ingest.versions import change_parts

            parts = change_parts(ch)
            print(f"    changes {since}: " + ", ".join(parts) if v["compared_with"]
                  else f"    {since}: {len(ch)} documents")
        else:
            print(f"    no document changes {since}")
        if args.documents:
            for d in v["document_list"]:
                print(f"      {d['doc_id']:38} v{d['version']:6} {d['status']:10} reviewed {d['last_reviewed']}")
    return 0


def cmd_rollback(args) -> int:
    from ingest.pin import corpus_drift, describe_drift
    from ingest.versions import rollback

    settings = _settings()
    version = rollback(settings, args.version)
    drift = corpus_drift(settings, version)
    if args.json:
        _print_json({"corpus_version": version, "pinned": True,
                     "corpus_differs": [d.to_json() for d in drift]})
        return 0
    print(f"Corpus version {version} is now serving, pinned: `make run` and "
          "`guideline ingest --if-stale` keep serving it until you run `guideline ingest`.")
    if drift:
        print(f"The corpus directory still holds files that differ from it ({len(drift)}): "
              f"{describe_drift(drift)}. Running `guideline ingest` serves those again; restore or "
              "remove them first if the rollback should last.")
    else:
        print("The corpus directory matches this version.")
    return 0


def cmd_audit(args) -> int:
    from assistant.audit import AuditLog

    rows = AuditLog(_settings()).tail(args.n, source=args.source)
    if args.json:
        _print_json(rows)
        return 0
    if not rows:
        print("The audit log is empty.")
    for r in reversed(rows):
        q = r["question"] if r["question"] is not None else f"sha256:{r['question_sha256'][:12]}"
        rules = ",".join(sorted({x["rule_id"] for x in r["rules_fired"]})) or "-"
        fb = " ".join(f["rating"] for f in r["feedback"]) or "-"
        print(f"#{r['id']} {r['ts']} [{r.get('source') or '?'}/{r['audience']}] v{r['corpus_version']} "
              f"escalated={r['escalated']} rules={rules} feedback={fb}\n    {q[:150]}")
        if args.answers:
            text = r.get("answer") or (f"sha256:{r['answer_sha256'][:12]}" if r.get("answer_sha256") else "-")
            print("    answer: " + text.replace("\n", " ")[:400])
            for c in r.get("cited") or []:
                print(f"      [{c.get('n')}] {c.get('chunk_id')} ({c.get('doc_id')} v{c.get('version')})")
    return 0


def cmd_audit_show(args) -> int:
    """One audited answer as the user saw it, with the exact text of every cited passage."""
    from assistant.audit import AuditLog

    r = AuditLog(_settings()).reconstruct(args.id)
    if args.json:
        _print_json(r)
        return 0
    q = r["question"] if r["question"] is not None else f"sha256:{r['question_sha256']}"
    print(f"#{r['id']} {r['ts']} source={r.get('source') or 'unknown'} audience={r['audience']} "
          f"app={r.get('app_version') or 'unknown'} corpus={r['corpus_version']} composer={r.get('composer')}")
    print(f"Question: {q}")
    if r.get("answer") is not None:
        print("Answer:\n" + r["answer"])
    elif r.get("answer_sha256"):
        print(f"Answer: sha256:{r['answer_sha256']} (hashing mode)")
    else:
        print("Answer: not recorded (row written before answers were logged)")
    trace = r.get("safety_trace") or {}
    rules = ", ".join(sorted({x["rule_id"] for x in r["rules_fired"]})) or "none"
    print(f"Safety: escalated={r['escalated']} opioid_rule={r['opioid_rule_applied']} rules={rules} "
          f"policy={trace.get('policy_version') or r.get('policy_version')}")
    for c in r.get("cited") or []:
        print(f"[{c['n']}] {c['doc_id']} v{c['version']} ({c['chunk_id']}, corpus {c.get('corpus_version')})")
        if c.get("text"):
            print("    " + c["text"].replace("\n", "\n    "))
    return 0


def cmd_ui(args) -> int:
    """Replace this process with Streamlit (exec): a SIGTERM or SIGINT sent to `guideline ui`
    (a process manager, `docker stop`, Ctrl-C) reaches the server itself, so stopping the
    command stops the server and frees the port; nothing is left orphaned."""
    app = Path(__file__).resolve().parent / "app.py"
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.headless", "true",
           "--server.address", args.host, "--server.port", str(args.port),
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    print(f"Guideline assistant UI on http://{args.host}:{args.port}", flush=True)
    sys.stderr.flush()
    os.execv(sys.executable, cmd)
    return 0  # not reached


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="guideline", description="Clinical guideline assistant.")
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser(
        "ingest", help="build or update the index from the corpus",
        description="Build a new corpus version from the corpus directory and serve it (all or "
                    "nothing). An explicit ingest also removes a rollback pin. A corpus equal to a "
                    "kept version serves that version again instead of building a duplicate.")
    s.add_argument("--full", action="store_true", help="rebuild everything (re-embed all passages)")
    s.add_argument("--json", action="store_true", help="print the run report (or the error) as JSON")
    s.add_argument("--if-stale", action="store_true",
                   help="only run when the corpus differs from the serving version, and never while "
                        "a rollback pin is set (what `make run` does on every start)")
    s.add_argument("--allow-deletions", action="store_true",
                   help="allow deleting more than GUIDELINE_MAX_DELETION_SHARE (default 25%%) of the "
                        "served documents in one run")
    s.set_defaults(fn=cmd_ingest)

    s = sub.add_parser("check", help="validate the corpus files and report conflicting guidance",
                       description="Validate every corpus file (names the file and the problem) and "
                                   "list statements that disagree across approved documents.")
    s.add_argument("dir", nargs="?", help="corpus directory (default: GUIDELINE_CORPUS_DIR)")
    s.add_argument("--json", action="store_true", help="print the report (or the error) as JSON")
    s.set_defaults(fn=cmd_check)

    s = sub.add_parser("search", help="hybrid search of the serving corpus")
    s.add_argument("query")
    s.add_argument("--k", type=int, default=8, help="passages to return (default 8)")
    s.add_argument("--mode", choices=("hybrid", "dense", "bm25"), default="hybrid")
    s.add_argument("--status", action="append", help="document statuses to include (repeatable)")
    s.add_argument("--json", action="store_true", help="print the hits (or the error) as JSON")
    s.set_defaults(fn=cmd_search)

    s = sub.add_parser("ask", help="answer one question")
    s.add_argument("question")
    s.add_argument("--history", help="JSON file: list of {role, content} turns")
    s.add_argument("--audience", choices=("clinician", "patient"), default="clinician")
    s.add_argument("--json", action="store_true",
                   help="print the answer in the stable JSON schema (or the error as JSON)")
    s.set_defaults(fn=cmd_ask)

    s = sub.add_parser("chat", help="terminal chat that keeps the conversation")
    s.add_argument("--audience", choices=("clinician", "patient"), default="clinician")
    s.set_defaults(fn=cmd_chat)

    s = sub.add_parser("versions", help="list kept corpus versions and what changed in each",
                       description="Kept corpus versions, newest first: the serving one (*), a rollback "
                                   "pin, and the documents added, updated (with their versions) or "
                                   "deleted since the version each was built on.")
    s.add_argument("--json", action="store_true", help="full detail as JSON (serving, pin, changes, documents)")
    s.add_argument("--documents", action="store_true", help="also list every document of each version")
    s.set_defaults(fn=cmd_versions)

    s = sub.add_parser("rollback", help="serve an earlier corpus version and pin it",
                       description="Serve an earlier kept version (full id or a unique prefix) and pin it: "
                                   "`ingest --if-stale` and `make run` keep serving it until an explicit "
                                   "`guideline ingest`. Says which corpus files differ from it.")
    s.add_argument("version", help="version id or a unique prefix of one")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_rollback)

    s = sub.add_parser("audit", help="read the audit log")
    asub = s.add_subparsers(dest="audit_cmd", required=True)
    t = asub.add_parser("tail", help="latest answers (real use by default, not evaluation runs)")
    t.add_argument("--n", type=int, default=20)
    t.add_argument("--source", choices=("real", "all", "ui", "cli", "api", "eval"), default="real",
                   help="real (default: ui, cli, api and rows from before sources were recorded), "
                        "all, or one source")
    t.add_argument("--answers", action="store_true", help="also print each answer and its cited passages")
    t.add_argument("--json", action="store_true")
    t.set_defaults(fn=cmd_audit)
    t = asub.add_parser("show", help="one audited answer as shown, with its cited passages' exact text")
    t.add_argument("id", type=int, help="audit id (`audit_id` in `ask --json`, `#N` in `audit tail`)")
    t.add_argument("--json", action="store_true", help="print the row (or the error) as JSON")
    t.set_defaults(fn=cmd_audit_show)

    sub.add_parser("eval", help="run an answer-quality test set: eval SET.jsonl [--out DIR] "
                   "[--compare DIR] [--fail-on-regression] [--gates FILE] [--json]; "
                   "eval export --format ragas|deepeval SET.jsonl [--out DIR] (see `guideline eval --help`)")

    s = sub.add_parser("ui", help="start the Streamlit UI (replaces this process: SIGTERM stops the server)")
    s.add_argument("--port", type=int, default=8501)
    s.add_argument("--host", default="127.0.0.1")
    s.set_defaults(fn=cmd_ui)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from core.errors import AssistantError

    as_json = "--json" in argv
    try:
        if argv[:1] == ["eval"]:
            from evals import cli_main as eval_main

            return eval_main(argv[1:])
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as e:
            # argparse has printed its usage message on stderr; --json also gets an object.
            if as_json and e.code not in (0, None):
                _print_json({"error": {"type": "UsageError", "message": "invalid command line "
                                       "(see the usage message on stderr)", "file": None,
                                       "line": None, "field": None}})
            raise
        return args.fn(args)
    except AssistantError as e:
        print(f"error: {e}", file=sys.stderr)
        if as_json:
            _print_json(error_json(e))
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
