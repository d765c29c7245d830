"""Write a test set in the formats evaluation frameworks read.

- Ragas: ``SingleTurnSample`` rows (``user_input`` str, ``reference``, ``reference_context_ids``)
  and ``MultiTurnSample`` rows (``user_input`` as a list of ``{"content", "type": "human"|"ai"}``
  messages), one file each, because a Ragas ``EvaluationDataset`` holds only one kind.
  Load with ``EvaluationDataset.from_jsonl(path)``.
- DeepEval: ``Golden`` objects (``input``, ``expected_output``, ``additional_metadata``...) and,
  for conversations, ``ConversationalGolden`` objects (``scenario``, ``expected_outcome``,
  ``turns`` of ``{"role", "content"}``). Load with ``EvaluationDataset.add_goldens_from_json_file``.

With a previous run directory, the answers and the passages they cited are filled in
(``response``/``retrieved_contexts`` for Ragas, ``actual_output``/``retrieval_context`` for
DeepEval), ready for those frameworks' LLM-judged metrics.
"""

from __future__ import annotations

import json
from pathlib import Path

from core.errors import ConfigError

from .schema import EvalCase

FORMATS = ("ragas", "deepeval")


def _reference(case: EvalCase) -> str:
    return " ".join(case.expect.describe())


def _meta(case: EvalCase) -> dict:
    return {
        "id": case.id,
        "category": case.category,
        "audience": case.audience,
        "expect": case.expect.model_dump(mode="json", exclude_defaults=True),
        **({"notes": case.notes} if case.notes else {}),
    }


def _run_answer(run: dict | None, case: EvalCase) -> tuple[str | None, list[str] | None]:
    r = (run or {}).get(case.id)
    if not r or not r.get("response"):
        return None, None
    resp = r["response"]
    return resp.get("answer"), [c.get("text", "") for c in resp.get("citations", [])]


def ragas_samples(cases, run: dict | None = None) -> tuple[list[dict], list[dict]]:
    """(single-turn samples, multi-turn samples)."""
    single, multi = [], []
    for c in cases:
        response, contexts = _run_answer(run, c)
        if not c.conversation:
            s = {"user_input": c.question, "reference": _reference(c)}
            if c.expect.sources:
                s["reference_context_ids"] = list(c.expect.sources)
            if response is not None:
                s["response"] = response
                s["retrieved_contexts"] = contexts
            single.append(s)
        else:
            msgs = [{"content": t.content, "type": "human" if t.role == "user" else "ai"} for t in c.conversation]
            msgs.append({"content": c.question, "type": "human"})
            if response is not None:
                msgs.append({"content": response, "type": "ai"})
            multi.append({"user_input": msgs, "reference": _reference(c)})
    return single, multi


def deepeval_goldens(cases, run: dict | None = None) -> tuple[list[dict], list[dict]]:
    """(goldens, conversational goldens)."""
    goldens, conversational = [], []
    for c in cases:
        response, contexts = _run_answer(run, c)
        if not c.conversation:
            g = {"input": c.question, "expected_output": _reference(c), "additional_metadata": _meta(c)}
            if c.notes:
                g["comments"] = c.notes
            if response is not None:
                g["actual_output"] = response
                g["retrieval_context"] = contexts
            goldens.append(g)
        else:
            turns = [{"role": t.role, "content": t.content} for t in c.conversation]
            turns.append({"role": "user", "content": c.question})
            if response is not None:
                turns.append({"role": "assistant", "content": response,
                              "retrieval_context": contexts})
            who = "a patient" if c.audience == "patient" else "a clinician"
            conversational.append({
                "scenario": f"{who.capitalize()} asks a guideline question after {len(c.conversation)} earlier "
                            f"turn(s), ending with: {c.question}",
                "expected_outcome": _reference(c),
                "user_description": who,
                "turns": turns,
                "additional_metadata": _meta(c),
                **({"comments": c.notes} if c.notes else {}),
            })
    return goldens, conversational


def _write(path: Path, rows: list[dict], file_format: str) -> Path:
    with path.open("w", encoding="utf-8") as f:
        if file_format == "jsonl":
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        else:
            json.dump(rows, f, indent=2, ensure_ascii=False)
            f.write("\n")
    return path


def export_set(cases, fmt: str, out_dir: str | Path, *, stem: str = "set", file_format: str | None = None,
               run: dict | None = None) -> list[tuple[Path, int]]:
    """Write the export files into ``out_dir``; returns (path, rows) for each file written.

    ``file_format``: 'jsonl' or 'json' (default: jsonl for Ragas, json for DeepEval, which is
    what each framework's loader reads). ``run``: results of a previous run keyed by case id.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    ff = file_format or ("jsonl" if fmt == "ragas" else "json")
    if ff not in ("json", "jsonl"):
        raise ConfigError(f"unknown file format {ff!r}; use json or jsonl")
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    if fmt == "ragas":
        parts = zip(("ragas_single_turn", "ragas_multi_turn"), ragas_samples(cases, run))
    else:
        parts = zip(("deepeval_goldens", "deepeval_conversational_goldens"), deepeval_goldens(cases, run))
    written = []
    for name, rows in parts:
        if rows:
            written.append((_write(d / f"{stem}.{name}.{ff}", rows, ff), len(rows)))
    return written
