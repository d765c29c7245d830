"""Typed records that flow through ingestion: SourceDoc -> Chunk."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

STATUSES = ("approved", "under_review", "draft")


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SourceDoc:
    """One guideline file, loaded and validated."""

    doc_id: str
    """Stable id from front matter (``[a-z0-9][a-z0-9_-]*``)."""
    title: str
    version: str
    status: str
    """One of STATUSES."""
    last_reviewed: str
    """ISO date ``YYYY-MM-DD``."""
    sources: tuple[str, ...]
    """Public guidelines the facts come from: 'Body, Title, Year'."""
    path: str
    """Path relative to the corpus directory."""
    fmt: str
    """markdown | text | html | pdf"""
    text: str
    """Body text (Markdown headings kept), front matter removed."""
    content_hash: str = ""
    """Hash of the whole file (front matter included) and of its sidecar, if any: any edit changes it."""
    warnings: tuple[str, ...] = ()
    """What loading had to derive or could not use (never a refusal): shown by check and the admin page."""
    extra: dict = field(default_factory=dict)
    """Metadata fields beyond the six (unknown front matter, sidecar extras), kept as written."""
    origin: dict = field(default_factory=dict)
    """field -> where its value came from: 'front matter', 'sidecar' or 'derived: ...'."""

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r} is not one of {', '.join(STATUSES)}")
        if not self.text.strip():
            raise ValueError(f"document {self.doc_id!r} has no text")


@dataclass(frozen=True)
class Chunk:
    """A heading-aware passage of one document, the unit of retrieval and citation."""

    chunk_id: str
    """Stable: derived from doc id, section path and the text's hash."""
    doc_id: str
    title: str
    section: str
    """Heading path, 'H1 > H2 > H3'."""
    version: str
    status: str
    last_reviewed: str
    start: int
    """Character offsets of ``text`` inside the document body."""
    end: int
    text: str
    content_hash: str = field(default="")
    kind: str = "text"
    """What the passage is: 'text' (prose), 'table_row' (one table row, cells prefixed by their
    column header), 'recommendation' (one numbered recommendation)."""
    refs: tuple[str, ...] = ()
    """Reference markers removed from ``text`` ('23', 'Table 6'): kept, never shown as answer text."""
    strength: str = ""
    """Strength or grade of a recommendation as the document states it ('Strong for')."""
    label: str = ""
    """The recommendation's or table's own label ('Recommendation 18', '1.2.3', 'Table 4')."""
    context: str = ""
    """Text searched with the passage but never shown as it: for a recommendation, the first
    paragraph of its rationale (a one-sentence recommendation alone is hard to find)."""

    def __post_init__(self):
        if not self.text.strip():
            raise ValueError(f"chunk {self.chunk_id!r} is empty")
        if not isinstance(self.refs, tuple):  # read back from JSON as a list
            object.__setattr__(self, "refs", tuple(self.refs))
        if self.end < self.start:
            raise ValueError(f"chunk {self.chunk_id!r}: end {self.end} < start {self.start}")

    @property
    def heading(self) -> str:
        """The innermost heading of the section path."""
        return self.section.split(" > ")[-1] if self.section else self.title

    def metadata(self) -> dict:
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "section": self.section,
            "version": self.version,
            "status": self.status,
            "last_reviewed": self.last_reviewed,
            "start": self.start,
            "end": self.end,
            "content_hash": self.content_hash,
            "kind": self.kind,
            "refs": list(self.refs),
            "strength": self.strength,
            "label": self.label,
        }


def group_by_doc(chunks) -> dict[str, tuple[Chunk, ...]]:
    """doc_id -> that document's passages in reading order (by start offset)."""
    groups: dict[str, list[Chunk]] = {}
    for c in chunks:
        groups.setdefault(c.doc_id, []).append(c)
    return {d: tuple(sorted(cs, key=lambda c: c.start)) for d, cs in groups.items()}
