"""Small pure helpers the pages use to lay out answers, sources and reports.

Nothing here imports Streamlit, so every function is unit-tested directly.
Text that comes from a user or from the corpus is escaped before Streamlit
renders it as Markdown: no HTML, links, images or LaTeX can ride along.
"""

from __future__ import annotations

import re
from typing import Iterable, Iterator, Mapping, Sequence

from assistant.records import Answer, Citation

# Every ASCII punctuation character that Markdown (or Streamlit's LaTeX and colour
# extensions) can give a meaning to; CommonMark allows a backslash before any of them.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$=&]|:(?=\S))")

RED_FLAG_LABELS = {
    "cauda_equina": "Possible cauda equina syndrome",
    "progressive_neuro_deficit": "Progressive neurological deficit",
    "infection": "Possible spinal infection",
    "malignancy": "Possible malignancy",
    "fracture": "Possible vertebral fracture",
}

STATUS_LABELS = {"approved": "Approved", "under_review": "Under review", "draft": "Draft"}

INGEST_STAGES = {
    "load": "Reading guideline files",
    "reuse": "Reusing stored vectors",
    "embed": "Embedding new passages",
    "store": "Writing the new version",
}


def escape_markdown(text: str) -> str:
    """Text shown exactly as written when Streamlit renders it as Markdown."""
    return _MD_SPECIAL.sub(r"\\\1", text or "")


def plain_block(text: str) -> str:
    """Escaped text that keeps its line breaks (Markdown joins single newlines)."""
    lines = [escape_markdown(line) for line in (text or "").splitlines()]
    return "  \n".join(lines)


def quote_block(text: str) -> str:
    """Escaped text as a Markdown block quote, one quoted line per source line."""
    lines = (text or "").strip().splitlines() or [""]
    out = "\n".join(f"> {escape_markdown(line)}  " if line.strip() else ">" for line in lines)
    return out.rstrip()


def safe_answer_markdown(markdown: str) -> str:
    """The answer's own Markdown, minus what a quoted passage could smuggle in.

    A '$' would start LaTeX in Streamlit and '![..](..)' would load a remote image.
    """
    md = re.sub(r"(?<!\\)\$", r"\\$", markdown or "")
    return md.replace("![", "!\\[")


def red_flag_label(category: str) -> str:
    return RED_FLAG_LABELS.get(category, category.replace("_", " ").capitalize())


def banner_findings(answer: Answer) -> list[tuple[str, list[str]]]:
    """(label, triggers) per red-flag category, in the order found, without repeats."""
    out: dict[str, list[str]] = {}
    for rf in answer.safety.red_flags:
        triggers = out.setdefault(red_flag_label(rf.category), [])
        t = rf.trigger.strip()
        if t and t not in triggers:
            triggers.append(t)
    return list(out.items())


def escalation_banner(answer: Answer) -> str | None:
    """Markdown for the red banner above an escalated answer, or None."""
    if not answer.safety.escalated:
        return None
    findings = banner_findings(answer)
    if findings:
        named = "; ".join(
            escape_markdown(label) + (": " + ", ".join(f"“{escape_markdown(t)}”" for t in triggers)
                                      if triggers else "")
            for label, triggers in findings)
    else:
        named = "a red-flag finding in this conversation"
    return (f"**Red flag — {named}.**  \n"
            "Urgent assessment comes before any routine advice: follow the escalation "
            "steps at the top of the answer.")


def opioid_notice(answer: Answer) -> str | None:
    if not answer.safety.opioid_rule_applied:
        return None
    return ("**Opioid rule applied.** Opioids are reserved for severe, disabling pain that other "
            "measures have not controlled, and are never first-line; the answer was adjusted "
            "to follow this rule.")


def section_name(citation: Citation) -> str:
    """The last heading of the passage's section path ('Doc > Treatment > NSAIDs' -> 'NSAIDs')."""
    parts = [p.strip() for p in (citation.section or "").split(">") if p.strip()]
    return parts[-1] if parts else ""


def source_label(citation: Citation) -> str:
    """Expander title '[n] Title — Section' (title and section escaped)."""
    sec = section_name(citation)
    title = escape_markdown(citation.title)
    if sec and sec != citation.title:
        return f"[{citation.n}] {title} — {escape_markdown(sec)}"
    return f"[{citation.n}] {title}"


def source_meta(citation: Citation) -> str:
    status = STATUS_LABELS.get(citation.status, citation.status)
    return (f"Version {escape_markdown(citation.version)} · {escape_markdown(status)} · "
            f"last reviewed {escape_markdown(citation.last_reviewed)} · "
            f"document `{citation.doc_id}`")


def stream_pieces(markdown: str) -> Iterator[str]:
    """The answer's Markdown block by block, for ``st.write_stream``."""
    for part in markdown.split("\n\n"):
        if part.strip():
            yield part + "\n\n"


def history_for(messages: Sequence[Mapping]) -> list[dict]:
    """Turns the assistant sees: answered exchanges only (failed questions are left out)."""
    turns: list[dict] = []
    for m in messages:
        if m.get("failed"):
            continue
        if m["role"] == "user":
            turns.append({"role": "user", "content": m["content"]})
        elif m.get("answer") is not None:
            turns.append({"role": "assistant", "content": m["answer"].markdown})
    return turns


def ingest_counts_rows(report) -> list[dict]:
    """Documents and passages counts of an IngestReport as table rows."""
    rows = []
    for what, c in (("Documents", report.documents), ("Passages", report.chunks)):
        rows.append({"": what, "Added": c.added, "Updated": c.updated,
                     "Unchanged": c.unchanged, "Deleted": c.deleted})
    return rows


def percent(value) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def category_rows(summary: Mapping) -> list[dict]:
    return [{"Category": cat, "Cases": c["cases"], "Passed": c["passed"],
             "Failed": c.get("failed", c["cases"] - c["passed"]), "Pass rate": percent(c["pass_rate"])}
            for cat, c in summary.get("categories", {}).items()]


def pass_rate_by_category(summary: Mapping) -> dict[str, float]:
    """Category -> pass rate in percent (for the bar chart)."""
    return {cat: round((c["pass_rate"] or 0.0) * 100, 1)
            for cat, c in summary.get("categories", {}).items()}


def failed_reasons(result: Mapping) -> list[str]:
    return [f"{c['name']}: {c['reason']}" for c in result.get("checks", [])
            if c.get("scored", True) and not c.get("passed")]


def count_by(items: Iterable, key) -> dict:
    out: dict = {}
    for x in items:
        k = key(x)
        out[k] = out.get(k, 0) + 1
    return dict(sorted(out.items()))


MAX_LOGIN_DELAY_S = 8.0


def login_delay(failures: int) -> float:
    """Seconds to wait after the n-th failed admin login of a session: 1, 2, 4, 8, 8, ..."""
    if failures <= 0:
        return 0.0
    return min(2.0 ** (failures - 1), MAX_LOGIN_DELAY_S)


def upload_action_text(plan) -> str:
    if plan.action == "new":
        return "new document"
    if plan.action == "updated":
        was = f" (version {plan.previous_version} → {plan.version})" if plan.previous_version else ""
        return "replaces the corpus file of the same name" + was
    if plan.action == "unchanged":
        return "identical to the corpus file; skipped"
    return "refused: " + plan.reason
