"""The few things the admin and evaluation pages do besides calling ingest/evals.

* uploads: validate a guideline file with the real loader on a temporary copy,
  decide whether it is new or replaces a corpus file, and write it atomically;
* evaluation runs: run a set, add gates and the comparison with the previous run
  of the same set, and save it with the evals report writer under
  ``data_dir/eval_runs/<timestamp>/``.

No Streamlit here: the pages call these and lay out what they return.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Mapping, Sequence

from core.errors import FileError
from core.settings import Settings
from ingest.load import SUPPORTED_EXTENSIONS, load_file

EVAL_RUNS = "eval_runs"


# ---------------------------------------------------------------------------
# Uploads


@dataclass(frozen=True)
class UploadPlan:
    """What saving one uploaded file would do."""

    name: str
    """File name inside the corpus directory."""
    action: str
    """'new', 'updated', 'unchanged' or 'refused'."""
    data: bytes = b""
    doc_id: str = ""
    title: str = ""
    version: str = ""
    previous_version: str = ""
    reason: str = ""
    """Why it is refused (the loader's message), when it is."""

    @property
    def savable(self) -> bool:
        return self.action in ("new", "updated")


def _safe_name(raw_name: str) -> str | None:
    # Browsers send a bare name, but never trust it: no directories, no hidden files.
    name = Path(str(raw_name).replace("\\", "/")).name.strip()
    if not name or name.startswith(".") or name in ("..",):
        return None
    return name


def plan_upload(raw_name: str, data: bytes, settings: Settings,
                documents: Sequence[Mapping] = ()) -> UploadPlan:
    """Validate one uploaded file and say whether it is new, an update or refused.

    ``documents`` is the serving index's document list (doc_id -> path), used to refuse a
    file that reuses another file's document id (ingest would reject the whole corpus).
    """
    name = _safe_name(raw_name)
    if name is None:
        return UploadPlan(str(raw_name), "refused", reason="not a usable file name")
    if name.lower() == "readme.md":
        return UploadPlan(name, "refused", reason="README.md at the corpus root is documentation and is never ingested")
    if Path(name).suffix.lower() not in SUPPORTED_EXTENSIONS:
        return UploadPlan(name, "refused", reason=f"unsupported file type; use one of {', '.join(SUPPORTED_EXTENSIONS)}")
    with tempfile.TemporaryDirectory(prefix="upload-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            doc = load_file(path, Path(tmp), settings)
        except FileError as e:
            return UploadPlan(name, "refused", reason=e.reason)
    target = settings.corpus_dir / name
    for d in documents:
        if d["doc_id"] == doc.doc_id and d.get("path") and d["path"] != name:
            return UploadPlan(name, "refused", doc_id=doc.doc_id, reason=(
                f"document id '{doc.doc_id}' is already used by {d['path']}; "
                f"upload it as {d['path']} to update that document"))
    previous = next((d.get("version", "") for d in documents if d.get("path") == name), "")
    if target.is_file():
        if target.read_bytes() == data:
            return UploadPlan(name, "unchanged", data, doc.doc_id, doc.title, doc.version, previous)
        return UploadPlan(name, "updated", data, doc.doc_id, doc.title, doc.version, previous)
    return UploadPlan(name, "new", data, doc.doc_id, doc.title, doc.version)


def save_upload(plan: UploadPlan, settings: Settings) -> Path:
    """Write a validated upload into the corpus (temp file + rename: never half-written)."""
    if not plan.savable:
        raise FileError(plan.name, f"not saved: {plan.reason or plan.action}")
    settings.corpus_dir.mkdir(parents=True, exist_ok=True)
    target = settings.corpus_dir / plan.name
    tmp = target.with_name(f".{plan.name}.{os.getpid()}.upload")
    tmp.write_bytes(plan.data)
    os.replace(tmp, target)
    return target


# ---------------------------------------------------------------------------
# Evaluation runs


def runs_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / EVAL_RUNS


def list_runs(settings: Settings) -> list[Path]:
    """Saved runs, newest first (directory names are UTC timestamps)."""
    d = runs_dir(settings)
    if not d.is_dir():
        return []
    runs = [p for p in d.iterdir() if p.is_dir() and (p / "summary.json").is_file()]
    return sorted(runs, key=lambda p: p.name, reverse=True)


def previous_run_of(settings: Settings, set_name: str) -> Path | None:
    """The newest saved run of the set with this name (what a new run is compared with)."""
    import json

    for run in list_runs(settings):
        try:
            summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if summary.get("set", {}).get("name") == set_name:
            return run
    return None


def _new_run_dir(settings: Settings) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    base = runs_dir(settings)
    out, n = base / stamp, 1
    while out.exists():
        n += 1
        out = base / f"{stamp}-{n}"
    return out


def check_gold_sources(numbered, set_name: str, settings: Settings) -> None:
    """Refuse (EvalSetError with the line) gold sources naming nothing in the served corpus;
    nothing to check against before the first ingest."""
    from evals.schema import check_sources
    from ingest.serving import load_version
    from ingest.versions import current_version

    version = current_version(settings)
    if version:
        check_sources(numbered, load_version(settings, version).chunks, path=set_name,
                      corpus_version=version)


def run_and_save(cases, *, set_name: str, set_bytes: bytes, settings: Settings, answer_fn,
                 progress: Callable[[int, int, str], None] | None = None) -> Path:
    """Run the cases, check the gates, compare with the previous run of the set, save it all."""
    from evals.gates import evaluate_gates, gates_passed, load_config
    from evals.report import compare, load_run, write_run
    from evals.runner import run_eval

    config = load_config()
    gates = config.gates
    prev_dir = previous_run_of(settings, set_name)
    previous = load_run(prev_dir) if prev_dir else None
    run = run_eval(cases, answer_fn=answer_fn, settings=settings, progress=progress)
    summary = dict(run.summary)
    summary["set"] = {"path": set_name, "name": set_name, "cases": len(cases),
                      "sha256": hashlib.sha256(set_bytes).hexdigest()}
    gate_results = evaluate_gates(gates, run.metrics)
    summary["gates"] = {"file": "evals/gates.yaml", "passed": gates_passed(gate_results),
                        "results": [g.to_json() for g in gate_results]}
    results = [r.to_json() for r in run.results]
    if previous is not None:
        comp = compare(summary, results, *previous, previous_dir=prev_dir.name)
        if config.fail_on_regression:
            comp["regression_gate"] = {"passed": not comp["regressions"], "regressions": comp["regressions"]}
            summary["gates"]["passed"] = summary["gates"]["passed"] and not comp["regressions"]
        summary["comparison"] = comp
    out = _new_run_dir(settings)
    write_run(out, summary, results)
    return out
