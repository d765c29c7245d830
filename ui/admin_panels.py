"""What the admin page shows about versions, the rollback pin, conflicts and deletions.

No Streamlit here: plain functions that return sentences and table rows, so the page
stays a layout and these are tested directly.
"""

from __future__ import annotations

import threading

from core.settings import Settings

DELETION_REASON = "would be deleted by this re-ingest"
"""The ``details`` reason of a re-ingest stopped by the mass-deletion guard."""


def pin_message(settings: Settings) -> str | None:
    """A sentence about the rollback pin and the corpus files it holds back, or None."""
    from ingest.pin import corpus_drift, describe_drift, read_pin

    pin = read_pin(settings)
    if pin is None:
        return None
    drift = corpus_drift(settings, pin.version)
    msg = (f"Corpus version `{pin.version}` is pinned by a rollback at {pin.at}: restarts "
           "(`make run`, `guideline ingest --if-stale`) keep serving it until you re-ingest here "
           "or run `guideline ingest`.")
    if drift:
        msg += (f" The corpus directory differs from it in {len(drift)} file(s): {describe_drift(drift)}; "
                "a re-ingest serves those files again.")
    else:
        msg += " The corpus directory matches it."
    return msg


def _change_text(changes: dict | None) -> str:
    if changes is None:
        return "unknown (base version no longer kept)"
    if not changes:
        return "no document changes"
    from ingest.versions import change_parts

    return ", ".join(change_parts(changes, arrow="→", minus="−", added_version=False))


def version_rows(settings: Settings) -> list[dict]:
    """One row per kept version: the old columns plus what changed and the pin."""
    from ingest.versions import describe_versions

    rows = []
    for v in describe_versions(settings):
        first = v["compared_with"] is None
        rows.append({"Version": v["version"], "Created": v["created"], "Documents": v["documents"],
                     "Passages": v["chunks"], "Serving": "yes" if v["current"] else "",
                     "Pinned": "yes" if v["pinned"] else "",
                     "Changes": f"first version ({v['documents']} documents)" if first
                     else _change_text(v["changes"])})
    return rows


def version_documents(settings: Settings, version: str) -> list[dict]:
    """The documents of one kept version with their version and status."""
    from ingest.versions import describe_versions

    for v in describe_versions(settings):
        if v["version"] == version:
            return [{"ID": d["doc_id"], "Version": d["version"], "Status": d["status"],
                     "Last reviewed": d["last_reviewed"], "Passages": d["passages"], "File": d["path"]}
                    for d in v["document_list"]]
    return []


def conflict_rows(conflicts: list[dict]) -> list[dict]:
    """Conflict report (``Conflict.to_json()`` list) as table rows, one per statement."""
    rows = []
    for i, c in enumerate(conflicts, 1):
        what = (f"{c['aspect']} of {c['subject']}" if c["kind"] == "quantity"
                else f"place of {c['subject']} in treatment")
        for st in c["statements"]:
            rows.append({"#": i, "Disagreement": what, "States": st["value"].replace("_", "-"),
                         "Document": f"{st['doc_id']} v{st['version']}", "Reviewed": st["last_reviewed"],
                         "Section": st["section"], "Sentence": st["sentence"]})
    return rows


_cache: dict[tuple, list[dict]] = {}
_cache_lock = threading.Lock()


def corpus_conflicts(settings: Settings) -> list[dict]:
    """Conflicts among the approved documents in the corpus directory (cached per file state)."""
    from ingest.check import check_corpus
    from ingest.conflicts import find_conflicts
    from ingest.load import iter_corpus_files

    d = settings.corpus_dir
    if not d.is_dir():
        return []
    stamp = (str(d), tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in iter_corpus_files(d))))
    with _cache_lock:
        if stamp in _cache:
            return _cache[stamp]
    report = check_corpus(d, settings)
    found = [c.to_json() for c in find_conflicts(report.docs, settings.include_statuses)]
    with _cache_lock:
        _cache.clear()
        _cache[stamp] = found
    return found


def deletion_details(e) -> list[tuple[str, str]]:
    """``details`` rows for a re-ingest stopped by the mass-deletion guard."""
    return [(did, DELETION_REASON) for did in getattr(e, "deleted", [])]


def is_deletion_stop(details: list) -> bool:
    return bool(details) and all(why == DELETION_REASON for _, why in details)


def audit_rows(rows: list[dict]) -> list[dict]:
    return [{
        "ID": r["id"], "Time (UTC)": r["ts"][:19].replace("T", " "), "Source": r.get("source") or "",
        "Audience": r["audience"], "Question": (r["question"] or "(hashed)")[:120],
        "Answer": (r.get("answer") or ("(hashed)" if r.get("answer_sha256") else ""))[:160],
        "Cited": ", ".join(f"[{c['n']}] {c['doc_id']} v{c['version']}" for c in (r.get("cited") or [])),
        "Corpus version": r.get("corpus_version") or "",
        "Escalated": "yes" if r["escalated"] else "",
        "Opioid rule": "yes" if r["opioid_rule_applied"] else "",
        "Feedback": " ".join(f["rating"] + (f": {f['comment']}" if f.get("comment") else "")
                             for f in r["feedback"]),
    } for r in rows]
