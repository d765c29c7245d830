"""The safety layer's context engine on the public ConText/NegEx annotated sentences.

Run::

    .venv/bin/python bench/context.py --data ../shared/data/context/dev.tsv --out /tmp/pred.tsv \
        [--baseline negspacy] [--json FILE] [--errors CONTEXT --split tune]

Each row names a condition (the target) in a sentence from a clinical report, with its gold
context (Chapman et al. NegEx; Harkema et al. ConText, J Biomed Inform 2009;42(5):839-51). The
target is located in the sentence (runs of spaces collapsed; the occurrence in capitals
first, as the annotators marked it, else as written, else the first one ignoring case) and handed to
``assistant.safety.context.span_contexts``: the same spaCy pipeline, policy termsets and NegEx
passes that check every conversation. Predictions are written as
``line<TAB>negated<TAB>historical<TAB>hypothetical<TAB>other`` (0/1 each) and scored per context:

- negated: gold ``Negated``. A finding the engine reads as ``possible`` ("cannot be excluded")
  is not negated (the engine drops ``negated`` when ``possible`` applies).
- historical: gold temporality ``Historical``; predicted when the engine's ``historical``
  context applies and the finding is not described as new or changing (``current``), the same
  rule the red-flag layer applies (``redflags.ignoring_contexts``).
- hypothetical: gold temporality ``Not particular``; the engine's ``hypothetical`` context.
- other: gold experiencer not ``Patient`` (family member or other); the engine's ``family``.

Rows whose target is missing from the (truncated) sentence are skipped and counted. The file is
scored whole and in two fixed halves by line number (``line % 4 == 1``: the half the termsets were
tuned on; ``line % 4 == 3``: the half kept for checking), so that tuning can be checked on rows
it did not look at. ``--baseline negspacy`` also scores plain negspacy 1.1 (blank English,
sentencizer, en_clinical termset, the target as the only entity) on negation, the only context it
has.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = Path(os.environ.get("GUIDELINE_CONTEXT_DATA")
                    or ROOT.parent / "shared" / "data" / "context" / "dev.tsv")
"""The development half; ``GUIDELINE_CONTEXT_DATA`` points elsewhere (e.g. the held-out half)."""
CONTEXT_COLUMNS = ("negated", "historical", "hypothetical", "other")
SPLITS = ("all", "tune", "check")
TARGETS = {
    # context: (minimum precision, minimum recall, minimum F1), from the product's requirements
    "negated": (0.98, 0.97, 0.0),
    "historical": (0.85, 0.0, 0.65),
    "hypothetical": (0.90, 0.0, 0.80),
}
"""Quality floors on unseen rows (issue 17, item 5)."""


class DataError(ValueError):
    """The annotation file is missing, malformed or has no usable rows."""


@dataclass(frozen=True)
class Row:
    line: int
    target: str
    sentence: str
    """With runs of spaces collapsed."""
    start: int
    """Character offset of the target in ``sentence`` (-1: the target is missing)."""
    gold: tuple[bool, bool, bool, bool]
    """negated, historical, hypothetical, other."""

    @property
    def split(self) -> str:
        return "tune" if self.line % 4 == 1 else "check"


@dataclass(frozen=True)
class Score:
    context: str
    tp: int
    fp: int
    fn: int
    n: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "precision": round(self.precision, 4), "recall": round(self.recall, 4),
                "f1": round(self.f1, 4)}


_SPACES = re.compile(r" {2,}")


def load_rows(path: Path) -> list[Row]:
    """Read the tab-separated annotation file (one header line, six columns)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file (the ConText/NegEx development half; see its README)")
    rows: list[Row] = []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header is None or len(header) < 6:
            raise DataError(f"{path}: expected a header with 6 tab-separated columns, got {header!r}")
        for k, rec in enumerate(reader, start=2):
            if not rec or not "".join(rec).strip():
                continue
            if len(rec) < 6:
                raise DataError(f"{path}:{k}: expected 6 tab-separated columns, got {len(rec)}")
            try:
                line = int(rec[0])
            except ValueError:
                raise DataError(f"{path}:{k}: line number {rec[0]!r} is not a whole number") from None
            neg, temp, exp = (c.strip().lower() for c in rec[3:6])
            if neg not in ("negated", "affirmed", "possible"):
                raise DataError(f"{path}:{k}: negation status {rec[3]!r} is not Negated/Affirmed/Possible")
            if temp not in ("recent", "historical", "not particular", "hypothetical"):
                raise DataError(f"{path}:{k}: temporality {rec[4]!r} is not Recent/Historical/Not particular")
            if exp not in ("patient", "other", "family member"):
                raise DataError(f"{path}:{k}: experiencer {rec[5]!r} is not Patient/Other/Family member")
            sentence = _SPACES.sub(" ", rec[2].strip())
            target = _SPACES.sub(" ", rec[1].strip())
            # The annotators wrote the target in capitals inside the sentence: prefer that
            # occurrence, then the target as written, then the first one ignoring case.
            start = -1
            for form in (target.upper(), target) if target else ():
                start = sentence.find(form)
                if start >= 0:
                    break
            if start < 0 and target:
                start = sentence.lower().find(target.lower())
            rows.append(Row(line, target, sentence, start,
                            (neg == "negated", temp == "historical",
                             temp in ("not particular", "hypothetical"), exp != "patient")))
    if not any(r.start >= 0 for r in rows):
        raise DataError(f"{path}: no row whose target occurs in its sentence")
    return rows


def engine_predict(rows: Sequence[Row]) -> dict[int, tuple[bool, bool, bool, bool]]:
    """The product's context engine on every usable row."""
    from assistant.safety.context import span_contexts
    from assistant.safety.policy import load_policy

    policy = load_policy()
    out = {}
    for r in rows:
        if r.start < 0:
            continue
        (m,) = span_contexts(r.sentence, [(r.start, r.start + len(r.target))], policy)
        c = m.contexts
        out[r.line] = ("negated" in c, "historical" in c and not m.current, "hypothetical" in c, "family" in c)
    return out


def negspacy_predict(rows: Sequence[Row]) -> dict[int, tuple[bool, bool, bool, bool]]:
    """Plain negspacy (en_clinical termset) on the same targets: negation only."""
    from assistant.safety._spacy import spacy
    from negspacy.negation import Negex  # noqa: F401 - registers the factory
    from negspacy.termsets import termset

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("negex", config={"neg_termset": termset("en_clinical").get_patterns()})
    out = {}
    for r in rows:
        if r.start < 0:
            continue
        doc = nlp.make_doc(r.sentence)
        span = doc.char_span(r.start, r.start + len(r.target), label="TARGET", alignment_mode="expand")
        doc.ents = [span]
        for name, proc in nlp.pipeline:
            doc = proc(doc)
        out[r.line] = (bool(doc.ents[0]._.negex), False, False, False)
    return out


def score(rows: Iterable[Row], pred: dict[int, tuple[bool, ...]], contexts=CONTEXT_COLUMNS) -> dict[str, Score]:
    counts = {c: [0, 0, 0, 0] for c in contexts}
    for r in rows:
        if r.line not in pred:
            continue
        for i, c in enumerate(CONTEXT_COLUMNS):
            if c not in counts:
                continue
            g, p = r.gold[i], pred[r.line][i]
            counts[c][0] += g and p
            counts[c][1] += p and not g
            counts[c][2] += g and not p
            counts[c][3] += 1
    return {c: Score(c, *v) for c, v in counts.items()}


def in_split(rows: Sequence[Row], split: str) -> list[Row]:
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; one of {', '.join(SPLITS)}")
    return [r for r in rows if split == "all" or r.split == split]


def write_predictions(path: Path, rows: Sequence[Row], pred: dict[int, tuple[bool, ...]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        fh.write("line\t" + "\t".join(CONTEXT_COLUMNS) + "\n")
        for r in rows:
            if r.line in pred:
                fh.write(f"{r.line}\t" + "\t".join(str(int(v)) for v in pred[r.line]) + "\n")


def table(title: str, scores: dict[str, Score]) -> str:
    lines = [title, f"  {'context':<13}{'P':>7}{'R':>7}{'F1':>7}{'TP':>6}{'FP':>5}{'FN':>5}{'rows':>6}"]
    for c, s in scores.items():
        lines.append(f"  {c:<13}{s.precision:7.3f}{s.recall:7.3f}{s.f1:7.3f}{s.tp:6d}{s.fp:5d}{s.fn:5d}{s.n:6d}")
    return "\n".join(lines)


def show_errors(rows: Sequence[Row], pred, context: str, limit: int) -> None:
    i = CONTEXT_COLUMNS.index(context)
    for kind, want in (("false positive", (False, True)), ("false negative", (True, False))):
        errs = [r for r in rows if r.line in pred and (r.gold[i], pred[r.line][i]) == want]
        print(f"\n{context} {kind}s ({len(errs)}):")
        for r in errs[:limit]:
            print(f"  {r.line}: [{r.target}] {r.sentence}")


def main(argv: list[str] | None = None, predict: Callable = engine_predict) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA,
                    help=f"ConText/NegEx rows (.tsv); default {DEFAULT_DATA}")
    ap.add_argument("--out", type=Path, required=True, help="predictions file to write (.tsv)")
    ap.add_argument("--baseline", choices=["negspacy"], help="also score plain negspacy on negation")
    ap.add_argument("--json", type=Path, help="write the scores as JSON here")
    ap.add_argument("--name", help="also write bench/out/NAME.json for the report (docs/benchmarks.md)")
    ap.add_argument("--errors", choices=CONTEXT_COLUMNS, help="list this context's errors")
    ap.add_argument("--split", choices=SPLITS, default="tune", help="rows whose errors --errors lists")
    ap.add_argument("--limit", type=int, default=60)
    a = ap.parse_args(argv)
    try:
        rows = load_rows(a.data)
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    usable = [r for r in rows if r.start >= 0]
    pred = predict(usable)
    write_predictions(a.out, rows, pred)
    report: dict = {"data": str(a.data), "rows": len(rows), "skipped_target_missing": len(rows) - len(usable),
                    "engine": {}, "baseline": {}}
    print(f"{len(rows)} rows, {len(rows) - len(usable)} skipped (target not in the sentence); "
          f"predictions: {a.out}")
    base = negspacy_predict(usable) if a.baseline else None
    for split in SPLITS:
        sub = in_split(usable, split)
        s = score(sub, pred)
        report["engine"][split] = {c: v.as_dict() for c, v in s.items()}
        print(table(f"\ncontext engine, {split} ({len(sub)} rows)", s))
        if base is not None:
            b = score(sub, base, contexts=("negated",))
            report["baseline"][split] = {c: v.as_dict() for c, v in b.items()}
            print(table(f"negspacy en_clinical, {split}", b))
    from assistant.safety.policy import load_policy

    report["policy_version"] = load_policy().version
    report["targets"] = {c: dict(zip(("precision", "recall", "f1"), t)) for c, t in TARGETS.items()}
    if a.json:
        a.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    if a.name:
        sys.path.insert(0, str(ROOT / "bench"))
        from common import machine, write_result

        args = [x for x in (argv if argv is not None else sys.argv[1:])]
        write_result(a.name, {**report, "command": " ".join(["bench/context.py", *args]), "machine": machine()})
    if a.errors:
        show_errors(in_split(usable, a.split), pred, a.errors, a.limit)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
