"""Document metadata: what the file says, what a sidecar overrides, what is derived.

Missing metadata is never a refusal: it is derived (id from the file name, title from
the document's metadata or first heading, ``last_reviewed`` from a date the document
states or the file's date, version from the document or ``1``, status from
``GUIDELINE_DEFAULT_STATUS``) and reported as a warning. A ``NAME.meta.yaml`` sidecar
beside the file overrides all of it. Unknown fields are kept as extra metadata and
named in a warning. A field that is present but wrong (a status that does not exist,
a date that is not a date) is still an error: the author wrote it and meant something.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

FIELDS = ("id", "title", "version", "status", "last_reviewed", "sources")
SIDECAR_SUFFIX = ".meta.yaml"

_MONTHS = {m: i for i, m in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"), 1)}
_MONTHS.update({k[:3]: v for k, v in list(_MONTHS.items())})
_MONTHS["sept"] = 9
_MON = r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_DATE_FORMS = (
    re.compile(r"(?P<y>(?:19|20)\d\d)-(?P<m>\d\d)-(?P<d>\d\d)"),
    re.compile(r"(?P<d>\d{1,2})(?:st|nd|rd|th)?\s+" + _MON + r",?\s+(?P<y>(?:19|20)\d\d)", re.I),
    re.compile(_MON + r"\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>(?:19|20)\d\d)", re.I),
    re.compile(_MON + r",?\s+(?P<y>(?:19|20)\d\d)", re.I),
)
DATE_LABELS = re.compile(
    r"(?:date\s+of\s+(?:revision|publication|issue)|last\s+(?:updated|reviewed|revised|modified)|"
    r"published(?:\s+on)?|updated(?:\s+on)?|revised(?:\s+on)?|reviewed(?:\s+on)?|issued(?:\s+on)?)"
    r"\s*[:\-\u2013]?\s*", re.I)
"""Phrases after which a document states its own date ("Date of Revision: 12 March 2024")."""
DATE_FIELDS = ("last_reviewed", "last_updated", "updated", "modified", "date_modified", "reviewed",
               "date", "published", "date_published", "revised", "revision_date")
"""Extra front-matter fields that carry the document's date, most specific first."""
_VERSION_RE = re.compile(r"\bversion\s*[:\-]?\s*(?P<v>\d+(?:\.\d+){0,3})\b", re.I)


@dataclass(frozen=True)
class DocMeta:
    """The six fields as they will be served, where each came from, and what else was said."""

    values: dict[str, Any]
    origin: dict[str, str] = field(default_factory=dict)
    """field -> 'front matter' | 'sidecar' | 'derived: <how>'"""
    extra: dict[str, Any] = field(default_factory=dict)
    """Fields the file or sidecar carries beyond the six, kept as they were written."""
    warnings: tuple[str, ...] = ()


def sidecar_for(path: Path) -> Path | None:
    """``NAME.meta.yaml`` (or ``NAME.ext.meta.yaml``) beside ``path``, if there is one."""
    path = Path(path)
    for cand in (path.with_name(path.stem + SIDECAR_SUFFIX), path.with_name(path.name + SIDECAR_SUFFIX)):
        if cand.is_file():
            return cand
    return None


def is_sidecar(path: Path) -> bool:
    return Path(path).name.lower().endswith(SIDECAR_SUFFIX)


def slug_id(stem: str) -> str:
    """A file name -> a valid document id: lowercase, [a-z0-9_-], at most 80 characters."""
    s = re.sub(r"[^a-z0-9_-]+", "-", stem.lower()).strip("-_")
    s = re.sub(r"-{2,}", "-", s)[:80].strip("-_")
    return s or "document"


def parse_date(text: str, *, today: date | None = None) -> date | None:
    """The first date written in ``text`` in a common form ('12 March 2024', 'March 2024', ISO)."""
    today = today or date.today()
    best = None
    for form in _DATE_FORMS:
        m = form.search(text)
        if not m or (best is not None and m.start() >= best[0]):
            continue
        g = m.groupdict()
        try:
            if g.get("m"):
                month = int(g["m"])
            else:
                key = g["mon"].lower().rstrip(".")
                month = _MONTHS.get(key) or _MONTHS[key[:3]]
            d = date(int(g["y"]), month, int(g.get("d") or 1))
        except (KeyError, ValueError):
            continue
        if d <= today:
            best = (m.start(), d)
    return best[1] if best else None


def stated_date(text: str, *, window: int = 20000) -> date | None:
    """The latest date the document states after a label ('Published', 'Last updated', 'Date of Revision')."""
    head = text[:window]
    found = []
    for m in DATE_LABELS.finditer(head):
        after = head[m.end():m.end() + 40]
        d = parse_date(after)
        if d is not None and any(f.match(after) for f in _DATE_FORMS):  # the date follows the label
            found.append(d)
    return max(found) if found else None  # 'Published ... Last updated ...': the latest


def stated_version(text: str, *, window: int = 20000) -> str | None:
    m = _VERSION_RE.search(text[:window])
    return m.group("v") if m else None


def first_heading(text: str) -> str | None:
    for line in text.split("\n"):
        m = re.match(r"^\s{0,3}(#{1,3})\s+(.+?)\s*#*\s*$", line)
        if m:
            return " ".join(m.group(2).split())
    return None
