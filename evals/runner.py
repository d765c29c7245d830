"""Run a test set through ``answer()`` and check every case."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Sequence

from core.errors import ConfigError, IndexMissingError, RetrievalError

from .checks import CheckResult, Observation, evaluate
from .metrics import CaseOutcome, compute
from .schema import EvalCase

# Problems of the environment, not of one case: running the rest would only repeat them.
FATAL = (IndexMissingError, ConfigError, RetrievalError)

Progress = Callable[[int, int, str], None]
"""progress(done, total, case_id), called after each case."""


@dataclass(frozen=True)
class CaseResult:
    case: EvalCase
    passed: bool
    checks: tuple[CheckResult, ...]
    observed: Observation
    response: dict | None
    """``Answer.to_json()``: exactly what ``guideline ask --json`` prints."""
    error: str | None = None

    def outcome(self) -> CaseOutcome:
        return CaseOutcome(self.case.id, self.case.category, self.case.expect, self.passed, self.observed)

    def failed_checks(self) -> list[CheckResult]:
        return [c for c in self.checks if c.scored and not c.passed]

    def to_json(self) -> dict:
        return {
            "id": self.case.id,
            "category": self.case.category,
            "passed": self.passed,
            "checks": [c.to_json() for c in self.checks],
            "response": self.response,
            "question": self.case.question,
            "conversation": [t.model_dump() for t in self.case.conversation],
            "audience": self.case.audience,
            "expect": self.case.expect.model_dump(mode="json", exclude_defaults=True),
            "observed": self.observed.to_json(),
            "error": self.error,
        }


@dataclass(frozen=True)
class EvalRun:
    results: tuple[CaseResult, ...]
    summary: dict
    """``metrics.compute()`` output plus a ``run`` section (when, how long, corpus version)."""

    @property
    def metrics(self) -> dict:
        return self.summary["metrics"]


def _default_answer_fn():
    # Imported here: loading the assistant pulls in the model and index stack.
    from assistant import answer

    return answer


def run_case(case: EvalCase, answer_fn, settings=None) -> CaseResult:
    t0 = time.perf_counter()
    try:
        ans = answer_fn(case.question, history=case.history(), audience=case.audience, settings=settings)
    except FATAL:
        raise
    except Exception as e:  # one broken case must not hide the results of the others
        msg = f"{type(e).__name__}: {e}"
        return CaseResult(case, False, (CheckResult("answered", False, msg),), Observation(answered=False), None, msg)
    wall_ms = (time.perf_counter() - t0) * 1000.0
    total = ans.timings_ms.get("total") if ans.timings_ms else None
    latency = float(total) if isinstance(total, (int, float)) else wall_ms
    checks, observed = evaluate(case, ans, latency)
    passed = all(c.passed for c in checks if c.scored)
    return CaseResult(case, passed, checks, observed, ans.to_json())


def run_eval(
    cases: Sequence[EvalCase],
    *,
    answer_fn=None,
    settings=None,
    progress: Progress | None = None,
) -> EvalRun:
    """Answer every case with ``answer_fn`` (default: ``assistant.answer``) and aggregate."""
    from assistant.audit import audit_source

    fn = answer_fn or _default_answer_fn()
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    results: list[CaseResult] = []
    # Evaluation answers are logged with source "eval": `audit tail` shows real use by default.
    with audit_source("eval"):
        for i, case in enumerate(cases, 1):
            results.append(run_case(case, fn, settings))
            if progress:
                progress(i, len(cases), case.id)
    duration = time.perf_counter() - t0

    check_counts: dict[str, dict] = {}
    for r in results:
        for c in r.checks:
            d = check_counts.setdefault(c.name, {"run": 0, "passed": 0, "scored": c.scored})
            d["run"] += 1
            d["passed"] += c.passed
    summary = compute([r.outcome() for r in results], check_counts)
    versions = Counter(r.response.get("corpus_version", "") for r in results if r.response)
    composers = Counter(r.response.get("composer", "") for r in results if r.response)
    summary["run"] = {
        "started_at": started.isoformat(timespec="seconds"),
        "duration_s": round(duration, 2),
        "corpus_version": versions.most_common(1)[0][0] if versions else None,
        "corpus_versions": sorted(v for v in versions if v),
        "composer": composers.most_common(1)[0][0] if composers else None,
    }
    return EvalRun(tuple(results), summary)
