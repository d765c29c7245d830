"""Whole-corpus validation: loading problems plus the corpus's content rules.

``guideline check`` prints the report; ingest runs it and refuses to switch
versions when it has errors. Warnings (derived metadata, house-style advice, a stale
review date) never block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath

from core.errors import FileError, IngestError
from core.settings import Settings

from .load import load_corpus
from .records import SourceDoc

MIN_BODY_CHARS = 200
MAX_REVIEW_AGE_YEARS = 3
KEY_RECOMMENDATIONS = "## Key recommendations"

_FENCE_RE = re.compile(r"^\s{0,3}(```|~~~)")
_H1_RE = re.compile(r"^\s{0,3}#(?:[ \t]+|$)")


@dataclass(frozen=True)
class CheckWarning:
    """A problem worth fixing that does not stop ingestion."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True)
class CheckReport:
    errors: list[FileError] = field(default_factory=list)
    warnings: list[CheckWarning] = field(default_factory=list)
    docs: list[SourceDoc] = field(default_factory=list)
    """Documents that loaded (some may still have content errors)."""

    @property
    def ok(self) -> bool:
        return not self.errors

    def lines(self) -> list[str]:
        """Human-readable report, errors first."""
        out = [f"error: {e}" for e in self.errors]
        out += [f"warning: {w}" for w in self.warnings]
        return out

    def raise_if_errors(self) -> None:
        if self.errors:
            n = len(self.errors)
            head = "; ".join(str(e) for e in self.errors[:3])
            more = f" (and {n - 3} more)" if n > 3 else ""
            raise IngestError(f"corpus check failed with {n} error(s): {head}{more}", errors=self.errors)


def check_corpus(corpus_dir: Path, settings: Settings) -> CheckReport:
    docs, errors = load_corpus(Path(corpus_dir), settings)
    errors = list(errors)
    warnings: list[CheckWarning] = []
    if not docs and not errors:
        errors.append(FileError(str(corpus_dir), "no guideline files in the corpus directory"))
    for doc in docs:
        errors.extend(FileError(doc.path, reason) for reason in content_problems(doc))
        warnings.extend(CheckWarning(doc.path, reason) for reason in content_warnings(doc))
    return CheckReport(errors=errors, warnings=warnings, docs=docs)


def content_problems(doc: SourceDoc) -> list[str]:
    """The corpus's content rules for one loaded document."""
    problems = []
    if doc.fmt in ("markdown", "text"):
        stem = PurePosixPath(doc.path).stem
        if doc.doc_id != stem:
            problems.append(
                f"front matter: field 'id' is '{doc.doc_id}' but the file is named "
                f"'{PurePosixPath(doc.path).name}'; the id must equal the file name without extension"
            )
    body_len = len(doc.text.strip())
    if body_len < MIN_BODY_CHARS:
        problems.append(f"body is {body_len} characters; at least {MIN_BODY_CHARS} expected")
    return problems


def house_style_advice(doc: SourceDoc) -> list[str]:
    """The house style (one H1, a Key recommendations section): advice for documents we write,
    never a reason to refuse a document as its publisher wrote it."""
    if doc.fmt != "markdown":
        return []
    advice = []
    h1_lines, has_key_recs = _scan_markdown(doc.text)
    if not h1_lines:
        advice.append("no H1 heading ('# Title'); house style is exactly one")
    elif len(h1_lines) > 1:
        where = ", ".join(str(n) for n in h1_lines)
        advice.append(f"{len(h1_lines)} H1 headings (body lines {where}); house style is exactly one")
    if not has_key_recs:
        advice.append(f"no '{KEY_RECOMMENDATIONS}' section (house style)")
    return advice


def content_warnings(doc: SourceDoc, today: date | None = None) -> list[str]:
    """Everything worth fixing that does not stop ingestion: what loading derived, house-style
    advice, a stale review date."""
    today = today or date.today()
    out = list(doc.warnings) + house_style_advice(doc)
    reviewed = date.fromisoformat(doc.last_reviewed)
    if reviewed < _years_before(today, MAX_REVIEW_AGE_YEARS):
        out.append(f"last_reviewed is {doc.last_reviewed}, more than {MAX_REVIEW_AGE_YEARS} years ago")
    return out


def _years_before(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year - years)
    except ValueError:  # 29 February
        return d.replace(year=d.year - years, day=28)


def _scan_markdown(text: str) -> tuple[list[int], bool]:
    """ATX H1 line numbers and whether the key-recommendations heading exists, outside code fences."""
    h1_lines: list[int] = []
    has_key_recs = False
    fence: str | None = None
    for n, line in enumerate(text.split("\n"), 1):
        m = _FENCE_RE.match(line)
        if m:
            if fence is None:
                fence = m.group(1)
            elif m.group(1) == fence:
                fence = None
            continue
        if fence is not None:
            continue
        if _H1_RE.match(line):
            h1_lines.append(n)
        elif " ".join(line.split()).rstrip("#").rstrip().lower() == KEY_RECOMMENDATIONS.lower():
            has_key_recs = True
    return h1_lines, has_key_recs
