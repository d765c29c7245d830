"""What the admin sees of an uploaded file before it is saved: the metadata the loader found
or derived (to confirm or correct, written as a ``NAME.meta.yaml`` sidecar) and the parse
(sections, tables, passages, warnings). No Streamlit here: ``ui/admin_review.py`` lays it out.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from core.settings import Settings
from ingest.check import house_style_advice
from ingest.chunk import chunk_document
from ingest.load import check_fields, load_file
from ingest.parse.meta import FIELDS, SIDECAR_SUFFIX


@dataclass(frozen=True)
class ParsePreview:
    name: str
    meta: dict
    """The six fields as they would be served (sources as a list)."""
    origin: dict
    extra: dict
    warnings: tuple[str, ...]
    sections: tuple[tuple[str, int], ...]
    """(section path, passages) in reading order."""
    tables: tuple[tuple[str, int], ...]
    """(caption or section, rows)"""
    kinds: dict = field(default_factory=dict)
    """passage kind -> count"""
    passages: int = 0
    samples: tuple[tuple[str, str, str], ...] = ()
    """(kind, section, text) of the first few passages of each kind."""


def preview(name: str, data: bytes, settings: Settings) -> ParsePreview:
    """Load and chunk an uploaded file exactly as ingest will (``FileError`` when it is refused)."""
    with tempfile.TemporaryDirectory(prefix="preview-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        side = settings.corpus_dir / (Path(name).stem + SIDECAR_SUFFIX)
        if side.is_file():  # an existing sidecar applies to the replacement too
            (Path(tmp) / side.name).write_bytes(side.read_bytes())
        doc = load_file(path, Path(tmp), settings)
    chunks = chunk_document(doc, settings)
    sections: dict[str, int] = {}
    tables: dict[str, int] = {}
    samples: dict[str, list] = {}
    for c in chunks:
        sections[c.section] = sections.get(c.section, 0) + 1
        if c.kind == "table_row":
            tables[c.section.split(" > ")[-1]] = tables.get(c.section.split(" > ")[-1], 0) + 1
        if len(samples.setdefault(c.kind, [])) < 3:
            samples[c.kind].append((c.kind, c.section, c.text))
    meta = {"id": doc.doc_id, "title": doc.title, "version": doc.version, "status": doc.status,
            "last_reviewed": doc.last_reviewed, "sources": list(doc.sources)}
    return ParsePreview(name, meta, dict(doc.origin), dict(doc.extra),
                        tuple(doc.warnings) + tuple(house_style_advice(doc)),
                        tuple(sections.items()), tuple(tables.items()),
                        dict(Counter(c.kind for c in chunks)), len(chunks),
                        tuple(s for group in samples.values() for s in group))


def sidecar_name(file_name: str) -> str:
    return Path(file_name).stem + SIDECAR_SUFFIX


def sidecar_text(values: dict) -> str:
    """The confirmed fields as YAML (every value quoted as text, sources as a list)."""
    out = {}
    for f in FIELDS:
        if f not in values:
            continue
        v = values[f]
        out[f] = [str(s).strip() for s in v if str(s).strip()] if f == "sources" else str(v).strip()
    return yaml.safe_dump(out, sort_keys=False, allow_unicode=True, default_style=None)


def save_sidecar(file_name: str, values: dict, settings: Settings) -> Path:
    """Check the confirmed fields like the loader does, then write ``NAME.meta.yaml`` beside the
    file in the corpus (temp file + rename). Raises FileError naming the wrong field."""
    name = sidecar_name(file_name)
    check_fields(dict(values), name, where="sidecar")
    settings.corpus_dir.mkdir(parents=True, exist_ok=True)
    target = settings.corpus_dir / name
    tmp = target.with_name(f".{name}.{os.getpid()}.tmp")
    tmp.write_text(sidecar_text(values), encoding="utf-8")
    os.replace(tmp, target)
    return target
