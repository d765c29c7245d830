"""Benchmark the safety layer: check_input on a ~2,000-character conversation, and enforce.

Run: ``.venv/bin/python bench/bench_safety.py [--runs N]``. Prints one JSON object (ms).
The first call builds the spaCy pipeline (once per process) and is reported separately.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.records import Answer, Citation, Hit, SafetyVerdict, Section, Sentence, Turn  # noqa: E402
from ingest.records import Chunk  # noqa: E402

NOTE = (
    "PC: low back pain for five days after lifting a heavy box at work.\n"
    "HPC: 38-year-old warehouse worker, pain across the lower back radiating into the right buttock "
    "and posterior thigh, worse with bending and sitting, eased by walking. Paracetamol and ibuprofen "
    "give partial relief. Sleeping poorly because of discomfort on turning.\n"
    "PMH: asthma, well controlled. Appendicectomy aged 12. DH: salbutamol as needed, no allergies.\n"
    "SH: non-smoker, lives with partner and two children. Mother had breast cancer.\n"
    "ROS: no fever, no night sweats, no weight loss, denies saddle anaesthesia, bladder and bowel "
    "function normal.\n"
)
FOLLOW_UPS = [
    "He is on ocrelizumab for relapsing MS, last infusion two months ago, no temperature.",
    "What analgesia would you suggest, and is tramadol reasonable if ibuprofen is not enough?",
    "Also, since this morning he reports altered saddle sensation and difficulty passing urine.",
]


def conversation(target_chars: int = 2000) -> list[Turn]:
    turns = [Turn("user", NOTE)]
    i = 0
    while sum(len(t.content) for t in turns) < target_chars:
        turns.append(Turn("assistant", "First-line options are advice to stay active and an NSAID."))
        turns.append(Turn("user", FOLLOW_UPS[i % len(FOLLOW_UPS)]))
        i += 1
    return turns


def long_note(target_chars: int = 20_000) -> list[Turn]:
    """One pasted clinic note of ``target_chars`` with a red flag buried two thirds of the way in."""
    body = NOTE * (target_chars // len(NOTE) + 1)
    cut = int(len(body) * 2 / 3)
    flag = " On review today she reports she cannot feel the paper when she wipes and has not passed urine since last night. "
    text = (body[:cut] + flag + body[cut:])[:target_chars]
    return [Turn("user", text)]


def answer(verdict: SafetyVerdict) -> Answer:
    def chunk(cid, doc, section, text):
        return Chunk(cid, doc, doc, section, "1", "approved", "2026-01-01", 0, len(text), text)

    rf = chunk("rf", "back-pain-red-flags", "Red flags > Cauda equina syndrome",
               "Suspected cauda equina syndrome needs emergency same-day hospital assessment and an emergency MRI scan.")
    op = chunk("op", "opioid-prescribing", "Opioids > Key recommendations",
               "Opioids are reserved for severe, disabling pain that is not controlled by other measures, "
               "because of their substantial risk of misuse, addiction and overdose.")
    ns = chunk("ns", "analgesics", "NSAIDs", "NSAIDs are the first drug choice for acute low back pain.")
    hits = tuple(Hit(c, 1.0, i + 1) for i, c in enumerate((ns, rf, op)))
    secs = (
        Section("Bottom line", (Sentence("NSAIDs are the first drug choice for acute low back pain.", (1,)),), kind="bottom_line"),
        Section("Options", (Sentence("Tramadol is a routine next step.", (1,)),
                            Sentence("Stay active and avoid bed rest.", (1,)))),
    )
    return Answer("q", "", secs, (Citation.from_chunk(1, ns),), verdict, hits=hits)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=200)
    args = ap.parse_args(argv)

    from assistant.safety import check_input, enforce, load_policy

    policy = load_policy()
    turns = conversation()
    chars = sum(len(t.content) for t in turns)

    t0 = time.perf_counter()
    verdict = check_input(turns, policy)
    first_ms = (time.perf_counter() - t0) * 1000

    checks, check_cpu, enforces = [], [], []
    for _ in range(args.runs):
        t, c = time.perf_counter(), time.process_time()
        verdict = check_input(turns, policy)
        checks.append((time.perf_counter() - t) * 1000)
        check_cpu.append((time.process_time() - c) * 1000)
        a = answer(verdict)
        t = time.perf_counter()
        enforce(a, verdict, policy)
        enforces.append((time.perf_counter() - t) * 1000)

    def summary(xs: list[float]) -> dict:
        xs = sorted(xs)
        return {"median_ms": round(statistics.median(xs), 3),
                "p95_ms": round(xs[max(0, int(round(0.95 * len(xs))) - 1)], 3),
                "max_ms": round(xs[-1], 3)}

    # A 20,000-character pasted note (the longest turn accepted and fully checked).
    note = long_note()
    note_chars = len(note[0].content)
    note_ms, note_cpu, note_verdict = [], [], None
    for _ in range(max(10, args.runs // 10)):
        t, c = time.perf_counter(), time.process_time()
        note_verdict = check_input(note, policy)
        note_ms.append((time.perf_counter() - t) * 1000)
        note_cpu.append((time.process_time() - c) * 1000)
    note_summary = summary(note_ms)
    per_2000 = {k: round(v * 2000 / note_chars, 3) for k, v in note_summary.items()}
    check_per_2000 = {k: round(v * 2000 / chars, 3) for k, v in summary(checks).items()}

    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    print(json.dumps({
        "load_average_1min": load1,
        "policy_version": policy.version,
        "conversation_chars": chars,
        "user_turns": sum(t.role == "user" for t in turns),
        "runs": args.runs,
        "first_call_ms_including_pipeline_build": round(first_ms, 1),
        "escalated": verdict.escalated,
        "check_input": summary(checks),
        # CPU time of this process: wall time above includes waiting for a busy machine.
        "check_input_cpu": summary(check_cpu),
        "enforce": summary(enforces),
        "target_ms": 20,
        "check_input_per_2000_chars": check_per_2000,
        "long_note": {"chars": note_chars, "escalated": bool(note_verdict and note_verdict.escalated),
                      "check_input": note_summary, "per_2000_chars": per_2000,
                      "check_input_cpu": summary(note_cpu),
                      "per_2000_chars_cpu": {k: round(v * 2000 / note_chars, 3) for k, v in summary(note_cpu).items()}},
        "target_ms_per_2000_chars_p95": 30,
    }, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
