"""The serving corpus version as readers see it: chunks, BM25 index, collection name.

Readers call ``ServingCache.get()`` per query: one ``stat`` of CURRENT tells whether
an ingest or rollback switched versions, and the new one is loaded whole before
it is used, so a reader never mixes two versions.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field

from core.errors import IndexMissingError
from core.settings import Settings

from . import versions
from .bm25 import Bm25Index
from .records import Chunk, group_by_doc


@dataclass
class ServingIndex:
    version: str
    manifest: dict
    chunks: list[Chunk]
    by_id: dict[str, Chunk]
    bm25: Bm25Index
    collection_name: str
    extra: dict = field(default_factory=dict)
    """Per-version caches owned by readers (e.g. an open collection handle)."""
    by_doc: dict[str, tuple[Chunk, ...]] = field(default_factory=dict, init=False, repr=False)
    """Each document's passages in reading order. A version never changes once built,
    so this is grouped once at load instead of per answer (O(corpus) at 100k passages)."""
    _titles: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.by_doc = group_by_doc(self.chunks)

    def documents(self) -> list[dict]:
        """Document list for admins and for 'what the guidance covers'."""
        out = []
        for did, info in sorted(self.manifest["documents"].items()):
            out.append({"doc_id": did, **{k: info[k] for k in
                        ("title", "version", "status", "last_reviewed", "path")},
                        "chunks": len(info["chunk_ids"])})
        return out

    def titles(self, statuses: tuple[str, ...] | None = None) -> list[str]:
        """Titles of the documents with these statuses; memoised (asked on every answer)."""
        key = tuple(statuses) if statuses is not None else None
        got = self._titles.get(key)
        if got is None:
            got = self._titles[key] = [d["title"] for d in self.documents()
                                       if statuses is None or d["status"] in statuses]
        return list(got)


def load_version(settings: Settings, version: str) -> ServingIndex:
    manifest = versions.read_manifest(settings, version)
    vdir = versions.version_dir(settings, version)
    chunks: list[Chunk] = []
    try:
        with open(vdir / "chunks.jsonl", encoding="utf-8") as f:
            for line in f:
                chunks.append(Chunk(**json.loads(line)))
    except (OSError, ValueError, TypeError) as e:
        raise IndexMissingError(f"Corpus version {version} is damaged ({e}); run `guideline ingest --full`.") from None
    if len(chunks) != manifest.get("n_chunks"):
        raise IndexMissingError(f"Corpus version {version} is incomplete; run `guideline ingest --full`.")
    return ServingIndex(
        version=version, manifest=manifest, chunks=chunks, by_id={c.chunk_id: c for c in chunks},
        bm25=Bm25Index(vdir / "bm25", len(chunks)), collection_name=manifest["collection"],
    )


class ServingCache:
    """Holds the loaded serving version; reloads when CURRENT changes."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._index: ServingIndex | None = None

    def _stamp(self) -> tuple | None:
        try:
            st = os.stat(versions.current_path(self.settings))
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_ino, st.st_size)

    def get(self) -> ServingIndex:
        stamp = self._stamp()
        if stamp is not None and stamp == self._key and self._index is not None:
            return self._index
        with self._lock:
            stamp = self._stamp()
            if stamp is not None and stamp == self._key and self._index is not None:
                return self._index
            for attempt in range(3):
                vid = versions.current_version(self.settings)
                if vid is None:
                    raise IndexMissingError(
                        f"No guideline index has been built in {self.settings.data_dir} yet. "
                        "Run `guideline ingest` (or `make run`) to build it from the corpus."
                    )
                if self._index is not None and self._index.version == vid:
                    break
                try:
                    self._index = load_version(self.settings, vid)
                    break
                except IndexMissingError:
                    # Switched again and garbage-collected while we read it: follow CURRENT.
                    if attempt == 2 or versions.current_version(self.settings) == vid:
                        raise
                    stamp = self._stamp()
            self._key = stamp
            return self._index

    def invalidate(self) -> None:
        with self._lock:
            self._key = None
