"""Score the safety layer on a file of red-flag vignettes (a blind round or the shipped suite).

    python -m evals.safety_round FILE.yaml [FILE.yaml ...] [--json] [--show-misses]

Each file is a YAML list of vignettes: ``id``, ``group``, ``turns`` (a string is a user turn,
``{assistant: "..."}`` an assistant turn) and ``escalate`` (the categories expected; ``[]`` means
it must not escalate). Prints red-flag recall (a positive counts when it escalates), category
agreement (the categories named are exactly the expected ones) and the false-alarm rate, per
file and per group. Exit status 0, or 2 when a file is unusable (named with the entry).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from assistant.records import RED_FLAG_CATEGORIES, Turn


@dataclass(frozen=True)
class CaseResult:
    id: str
    group: str
    expected: tuple[str, ...]
    got: tuple[str, ...]
    triggers: tuple[str, ...]

    @property
    def positive(self) -> bool:
        return bool(self.expected)

    @property
    def escalated(self) -> bool:
        return bool(self.got)

    @property
    def correct(self) -> bool:
        return self.escalated == self.positive


class RoundFileError(ValueError):
    pass


def load_round(path: Path) -> list[dict]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RoundFileError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(data, list):
        raise RoundFileError(f"{path}: expected a list of vignettes, got {type(data).__name__}")
    for i, v in enumerate(data):
        where = f"{path}: entry {i + 1} ({v.get('id', '?') if isinstance(v, dict) else '?'})"
        if not isinstance(v, dict):
            raise RoundFileError(f"{where}: not a mapping")
        for key in ("id", "turns", "escalate"):
            if key not in v:
                raise RoundFileError(f"{where}: missing '{key}'")
        bad = set(v["escalate"]) - set(RED_FLAG_CATEGORIES)
        if bad:
            raise RoundFileError(f"{where}: unknown category {sorted(bad)}")
    return data


def turns_of(v: dict) -> list[Turn]:
    out = []
    for t in v["turns"]:
        if isinstance(t, str):
            out.append(Turn("user", t))
        else:
            (role, text), = t.items()
            out.append(Turn(role, text))
    return out


def score(vignettes: list[dict], policy=None) -> list[CaseResult]:
    from assistant.safety import check_input, load_policy

    policy = policy or load_policy()
    out = []
    for v in vignettes:
        verdict = check_input(turns_of(v), policy)
        got = tuple(sorted({r.category for r in verdict.red_flags}))
        out.append(CaseResult(str(v["id"]), str(v.get("group", "")), tuple(sorted(v["escalate"])), got,
                              tuple(r.trigger for r in verdict.red_flags)))
    return out


def summarise(results: list[CaseResult]) -> dict:
    pos = [r for r in results if r.positive]
    neg = [r for r in results if not r.positive]
    tp = sum(r.escalated for r in pos)
    fp = sum(r.escalated for r in neg)
    exact = sum(r.got == r.expected for r in pos)
    return {
        "cases": len(results), "positives": len(pos), "negatives": len(neg),
        "recall": tp / len(pos) if pos else None,
        "category_exact": exact / len(pos) if pos else None,
        "false_alarm_rate": fp / len(neg) if neg else None,
        "misses": [r.id for r in pos if not r.escalated],
        "false_alarms": [r.id for r in neg if r.escalated],
        "wrong_category": [r.id for r in pos if r.escalated and r.got != r.expected],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.safety_round", description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout")
    ap.add_argument("--show-misses", action="store_true", help="print every wrong case with what fired")
    args = ap.parse_args(argv)
    report: dict = {}
    try:
        for f in args.files:
            vignettes = load_round(f)
            results = score(vignettes)
            summary = summarise(results)
            groups = sorted({r.group for r in results})
            summary["groups"] = {g: {"cases": sum(r.group == g for r in results),
                                     "correct": sum(r.correct for r in results if r.group == g)} for g in groups}
            summary["results"] = [asdict(r) for r in results]
            report[str(f)] = summary
    except RoundFileError as exc:
        if args.json:
            print(json.dumps({"error": {"type": "RoundFileError", "message": str(exc)}}))
        else:
            print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    for f, s in report.items():
        fmt = lambda x: "n/a" if x is None else f"{x:.1%}"  # noqa: E731
        print(f"{f}: {s['cases']} cases ({s['positives']} positive, {s['negatives']} negative): "
              f"recall {fmt(s['recall'])}, categories exact {fmt(s['category_exact'])}, "
              f"false alarms {fmt(s['false_alarm_rate'])}")
        for g, c in s["groups"].items():
            print(f"  {g:16s} {c['correct']}/{c['cases']}")
        if args.show_misses:
            for r in s["results"]:
                if bool(r["got"]) != bool(r["expected"]) or (r["expected"] and r["got"] != r["expected"]):
                    print(f"  WRONG {r['id']}: expected {r['expected']} got {r['got']} {r['triggers']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
