"""run_ingest(): corpus/ -> a new, complete corpus version, switched in atomically.

Incremental: a chunk whose id (section path + text hash) already exists in the
serving version keeps its stored vector, so unchanged text is never re-embedded.
All-or-nothing: any bad file aborts the run before anything is switched.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from core.errors import ConfigError, IngestError, RetrievalError
from core.settings import Settings

from . import bm25, versions
from .chunk import chunk_document, chunker_fingerprint, embed_text
from .records import Chunk, SourceDoc
from .store import make_client, open_collection, with_retries

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total). Stages in order: load, reuse, embed, store, finalize
(chunks, BM25, manifest, rename into place), switch (CURRENT replaced, then GC)."""

ADD_BATCH = 2000


@dataclass
class Counts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0


@dataclass
class IngestReport:
    corpus_version: str
    previous_version: str | None
    switched: bool
    """False when nothing changed (the serving version stays)."""
    documents: Counts = field(default_factory=Counts)
    chunks: Counts = field(default_factory=Counts)
    embedded: int = 0
    seconds: float = 0.0
    rebuilt: bool = False
    doc_changes: dict = field(default_factory=dict)
    """doc_id -> 'added' | 'updated' | 'deleted' (unchanged omitted)."""
    warnings: list = field(default_factory=list)
    embedded_with: str = ""
    """Which engine embedded the new passages: the index's embedder fingerprint, or
    ``onnx-copy`` (the verified ONNX copy of that model); empty when nothing was embedded."""
    stage_seconds: dict = field(default_factory=dict)
    """Wall time per stage (load, diff, conflicts, chunk, reuse, embed, store, finalize, switch):
    where an ingest spends its time, for admins and the benchmarks. ``embed`` includes
    loading the model when this process had not loaded it yet."""
    restored: bool = False
    """True when the corpus equals a kept version, which was served again instead of
    building a duplicate."""
    unpinned: bool = False
    """True when this explicit ingest removed a rollback pin."""
    conflicts: list = field(default_factory=list)
    """Statements that disagree across approved documents (``ingest.conflicts``), as JSON."""

    def to_json(self) -> dict:
        d = asdict(self)
        d["seconds"] = round(self.seconds, 3)
        d["stage_seconds"] = {k: round(v, 3) for k, v in self.stage_seconds.items()}
        return d


def _noop(stage: str, done: int, total: int) -> None:
    pass


class _Stages:
    """Accumulates wall time per stage name."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self._t = time.perf_counter()

    def mark(self, stage: str) -> None:
        """The time since the previous mark was spent in ``stage``."""
        now = time.perf_counter()
        self.seconds[stage] = self.seconds.get(stage, 0.0) + (now - self._t)
        self._t = now


def _prepare_query_model(settings: Settings, embedder, warnings: list[str]) -> None:
    """Export and verify the fast query model once, while the model is loaded anyway.

    Never fails an ingest: the new version is already serving, and queries fall back
    to sentence-transformers without it."""
    from . import query_model

    if not query_model.needed(settings, embedder):
        return
    try:
        rep = query_model.prepare(settings, embedder)
    except Exception as e:  # noqa: BLE001 - an optional speed-up; say why it is missing
        warnings.append(f"fast query model not prepared ({type(e).__name__}: {str(e)[:200]}); "
                        "queries use sentence-transformers")
        return
    if not rep.verified:
        warnings.append(f"fast query model not used: {rep.reason}")


def _passage_engine(settings: Settings, embedder, warnings: list[str]):
    """What embeds this ingest's passages: the verified ONNX copy of ``embedder`` when
    allowed (exported and verified first if this machine has none yet), else ``embedder``."""
    from . import query_model

    if settings.passage_embedder == "torch":
        return embedder
    if query_model.needed(settings, embedder):
        _prepare_query_model(settings, embedder, warnings)
    copy = query_model.verified_query_embedder(settings, embedder.fingerprint)
    if copy is None and settings.passage_embedder == "onnx":
        raise ConfigError(f"GUIDELINE_PASSAGE_EMBEDDER=onnx, but there is no verified ONNX copy of "
                          f"{embedder.fingerprint} in {settings.query_model_dir}"
                          + (f" ({warnings[-1]})" if warnings else "")
                          + ". Use GUIDELINE_PASSAGE_EMBEDDER=auto or torch.")
    return copy or embedder


def load_and_check(settings: Settings, progress: Progress | None = None) -> tuple[list[SourceDoc], list[str]]:
    """Every file loaded and validated, or one IngestError listing every bad file.
    ``progress("load", files done, files)`` is called after each file."""
    if not settings.corpus_dir.is_dir():
        raise IngestError(f"Corpus directory {settings.corpus_dir} does not exist.")
    from .check import content_problems, content_warnings
    from core.errors import FileError
    from .load import load_corpus

    docs, errors = load_corpus(settings.corpus_dir, settings,
                               progress=(lambda done, total: progress("load", done, total)) if progress else None)
    errors = list(errors)
    warnings: list[str] = []
    for d in docs:
        errors.extend(FileError(d.path, reason) for reason in content_problems(d))
        warnings.extend(f"{d.path}: {w}" for w in content_warnings(d))
    if errors:
        lines = "\n".join(f"  - {e}" for e in errors)
        raise IngestError(
            f"{len(errors)} guideline file(s) failed validation; nothing was changed "
            f"and the previous corpus version keeps serving:\n{lines}",
            errors=errors,
        )
    if not docs:
        raise IngestError(f"No guideline files found in {settings.corpus_dir}.")
    return docs, warnings


def _fetch_vectors(collection, ids: list[str], settings: Settings) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for i in range(0, len(ids), ADD_BATCH):
        part = ids[i:i + ADD_BATCH]
        got = with_retries(lambda: collection.get(ids=part, include=["embeddings"]), settings,
                           "read stored vectors")
        for cid, vec in zip(got["ids"], got["embeddings"]):
            out[cid] = np.asarray(vec, dtype=np.float32)
    return out


def _collection_whole(client, manifest: dict, embedder, settings: Settings) -> bool:
    try:
        col = open_collection(client, manifest["collection"], embedder)
        return with_retries(col.count, settings, "count stored vectors") == manifest.get("n_chunks")
    except RetrievalError:
        raise
    except Exception:
        return False


def _identical_kept_version(settings: Settings, docs: list[SourceDoc], fingerprints: dict,
                            skip: str | None) -> str | None:
    """A kept version (other than ``skip``) built from exactly these files with these settings."""
    want = {d.doc_id: (d.path, d.content_hash) for d in docs}
    for vid in versions.kept_versions(settings):
        if vid == skip:
            continue
        try:
            m = versions.read_manifest(settings, vid)
        except Exception:  # noqa: BLE001 - an unreadable version is simply not reused
            continue
        have = {did: (i.get("path"), i.get("content_hash")) for did, i in m.get("documents", {}).items()}
        if have == want and m.get("fingerprints") == fingerprints:
            return vid
    return None


def _chunk_counts(old_docs: dict, new_docs: dict) -> Counts:
    """Passage counts between two manifests' documents (removals paired with additions)."""
    c = Counts()
    for did in set(old_docs) | set(new_docs):
        new_c = set(new_docs.get(did, {}).get("chunk_ids", []))
        old_c = set(old_docs.get(did, {}).get("chunk_ids", []))
        add, dele = len(new_c - old_c), len(old_c - new_c)
        upd = min(add, dele) if did in new_docs and did in old_docs else 0
        c.unchanged += len(new_c & old_c)
        c.updated += upd
        c.added += add - upd
        c.deleted += dele - upd
    return c


def _deletion_guard(settings: Settings, old_docs: dict, changes: dict, allow: bool) -> None:
    deleted = sorted(did for did, what in changes.items() if what == "deleted")
    if allow or not old_docs or not deleted:
        return
    share = len(deleted) / len(old_docs)
    if share <= settings.max_deletion_share + 1e-12:
        return
    from core.errors import DeletionGuardError

    names = ", ".join(deleted[:8]) + (f" and {len(deleted) - 8} more" if len(deleted) > 8 else "")
    raise DeletionGuardError(
        f"This ingest would delete {len(deleted)} of {len(old_docs)} served documents "
        f"({share:.0%}; the limit is {settings.max_deletion_share:.0%}): {names}. "
        f"Nothing was changed. Check that the corpus directory {settings.corpus_dir} is the right "
        "one; to delete them, run `guideline ingest --allow-deletions` (or confirm on the admin page).",
        deleted=deleted, total=len(old_docs), limit=settings.max_deletion_share)


def _conflicts_json(docs: list[SourceDoc], settings: Settings, warnings: list[str]) -> list[dict]:
    try:
        from .conflicts import find_conflicts

        return [c.to_json() for c in find_conflicts(docs, settings.include_statuses)]
    except Exception as e:  # noqa: BLE001 - a report, never a reason to fail the ingest
        warnings.append(f"conflict check failed ({type(e).__name__}: {str(e)[:200]})")
        return []


def run_ingest(settings: Settings, *, full: bool = False, embedder=None,
               progress: Progress | None = None, client=None,
               allow_deletions: bool = False) -> IngestReport:
    """Build (or re-serve) the version of the corpus on disk and serve it.

    An explicit ingest: it also removes a rollback pin (``ingest.pin``). Refuses, changing
    nothing, when more than ``settings.max_deletion_share`` of the served documents would be
    deleted, unless ``allow_deletions``."""
    from . import pin as pin_mod

    t0 = time.perf_counter()
    progress = progress or _noop
    if embedder is None:
        from .embed import get_embedder

        embedder = get_embedder(settings.embed_batch_size)
    stages = _Stages()
    with versions.ingest_lock(settings):
        prev_id = versions.current_version(settings)
        docs, warnings = load_and_check(settings, progress)
        stages.mark("load")
        client = client or make_client(settings)
        prev = None
        if prev_id and versions.is_complete(settings, prev_id):
            prev = versions.read_manifest(settings, prev_id)
        fingerprints = {"embedder": embedder.fingerprint, "chunker": chunker_fingerprint(settings)}
        rebuild = full or prev is None or prev.get("fingerprints") != fingerprints
        if prev is not None and not rebuild and not _collection_whole(client, prev, embedder, settings):
            # The serving version's vectors are missing or partial (e.g. a store restored
            # from an old backup): rebuild instead of reusing or trusting them.
            warnings.append(f"corpus version {prev_id}: its vector collection is missing or "
                            "incomplete; rebuilt every passage")
            rebuild = True

        # Document-level diff against the serving version.
        old_docs = {} if prev is None else prev["documents"]
        new_docs = {d.doc_id: d for d in docs}
        doc_counts = Counts()
        changes: dict[str, str] = {}
        for did, d in new_docs.items():
            if did not in old_docs:
                doc_counts.added += 1
                changes[did] = "added"
            elif rebuild or old_docs[did]["content_hash"] != d.content_hash:
                doc_counts.updated += 1
                changes[did] = "updated"
            else:
                doc_counts.unchanged += 1
        for did in old_docs:
            if did not in new_docs:
                doc_counts.deleted += 1
                changes[did] = "deleted"

        _deletion_guard(settings, old_docs, changes, allow_deletions)
        stages.mark("diff")
        conflicts = _conflicts_json(docs, settings, warnings)
        stages.mark("conflicts")
        if not changes and prev is not None:
            versions.gc(settings, client)  # clears leftovers of a crashed run, if any
            n = prev.get("n_chunks", 0)
            stages.mark("diff")
            return IngestReport(prev_id, prev_id, False, doc_counts, Counts(unchanged=n), 0,
                                time.perf_counter() - t0, False, {}, warnings, "", stages.seconds,
                                unpinned=pin_mod.clear_pin(settings), conflicts=conflicts)
        same = None if full else _identical_kept_version(settings, docs, fingerprints, prev_id)
        if same is not None:
            # The corpus is back to a kept version (e.g. an edit undone): serve that one again
            # rather than a duplicate that would push an older version out of the kept N.
            try:
                versions.verify_version(settings, same, client)
            except (IngestError, RetrievalError) as e:
                warnings.append(f"corpus version {same} matches the corpus but cannot be served "
                                f"({e}); built a new version instead")
            else:
                versions.switch(settings, same, reason="ingest-restore")
                unpinned = pin_mod.clear_pin(settings)
                versions.gc(settings, client)
                stages.mark("diff")
                counts = _chunk_counts(old_docs, versions.read_manifest(settings, same)["documents"])
                return IngestReport(same, prev_id, True, doc_counts, counts, 0,
                                    time.perf_counter() - t0, False, changes, warnings, "",
                                    stages.seconds, restored=True, unpinned=unpinned,
                                    conflicts=conflicts)
        stages.mark("diff")

        # Chunk everything (cheap); reuse stored vectors for chunk ids we already have.
        chunks: list[Chunk] = []
        per_doc: dict[str, list[str]] = {}
        for d in docs:
            cs = chunk_document(d, settings)
            chunks.extend(cs)
            per_doc[d.doc_id] = [c.chunk_id for c in cs]
        old_ids: set[str] = set()
        if prev is not None:
            for info in old_docs.values():
                old_ids.update(info["chunk_ids"])
        stages.mark("chunk")
        reuse_ids = [] if rebuild else [c.chunk_id for c in chunks if c.chunk_id in old_ids]
        reused: dict[str, np.ndarray] = {}
        if reuse_ids:
            progress("reuse", 0, len(reuse_ids))
            try:
                old_col = open_collection(client, prev["collection"], embedder)
                reused = _fetch_vectors(old_col, reuse_ids, settings)
            except RetrievalError:
                raise
            except Exception:
                reused = {}  # previous collection unusable: re-embed instead of failing
            progress("reuse", len(reuse_ids), len(reuse_ids))
        stages.mark("reuse")

        to_embed = [c for c in chunks if c.chunk_id not in reused]
        vectors: dict[str, np.ndarray] = dict(reused)
        engine = _passage_engine(settings, embedder, warnings) if to_embed else embedder
        stages.mark("query_model")  # the one-off export and check, on a machine's first ingest
        embedded_with = "" if not to_embed else (
            embedder.fingerprint if engine is embedder else "onnx-copy")
        # Both engines sort by length within one call; sorting the whole set first (longest
        # first, by characters) keeps the padding of one big call while progress still moves.
        texts = {c.chunk_id: embed_text(c) for c in to_embed}
        to_embed.sort(key=lambda c: -len(texts[c.chunk_id]))
        batch = max(settings.embed_batch_size * 16, 256)
        progress("embed", 0, len(to_embed))
        for i in range(0, len(to_embed), batch):
            part = to_embed[i:i + batch]
            vecs = engine.embed_documents([texts[c.chunk_id] for c in part])
            for c, v in zip(part, vecs):
                vectors[c.chunk_id] = v
            progress("embed", min(i + batch, len(to_embed)), len(to_embed))
        stages.mark("embed")

        # Chunk-level counts: same id = unchanged; in changed docs pair removals with additions.
        chunk_counts = Counts()
        new_ids = {c.chunk_id for c in chunks}
        for did in set(new_docs) | set(old_docs):
            new_c = set(per_doc.get(did, []))
            old_c = set(old_docs.get(did, {}).get("chunk_ids", [])) if not rebuild else set()
            same = new_c & old_c
            add = len(new_c - old_c)
            dele = len(old_c - new_c)
            upd = min(add, dele) if did in new_docs and did in old_docs else 0
            chunk_counts.unchanged += len(same)
            chunk_counts.updated += upd
            chunk_counts.added += add - upd
            chunk_counts.deleted += dele - upd
        if rebuild and prev is not None:
            chunk_counts.deleted += len(old_ids - new_ids)
            chunk_counts.added = len(chunks)
            chunk_counts.updated = 0
            chunk_counts.unchanged = 0

        # Build the new version beside the serving one.
        vid = versions.new_version_id()
        versions.gc(settings, client)
        tmp = settings.versions_dir / f".tmp-{vid}"
        tmp.mkdir(parents=True)
        try:
            col_name = versions.collection_name(vid)
            meta = {versions.INSTANCE_KEY: versions.instance_id(settings), "corpus_version": vid}
            col = with_retries(lambda: open_collection(client, col_name, embedder, create=True,
                                                       metadata=meta),
                               settings, "create a collection")
            progress("store", 0, len(chunks))
            # Vectors and ids only: text and metadata live in this version's chunks.jsonl and
            # are read from there; Chroma's metadata and full-text tables would cost a third
            # of the store time and be read by nothing (filters run in Python).
            for i in range(0, len(chunks), ADD_BATCH):
                part = chunks[i:i + ADD_BATCH]
                with_retries(lambda: col.add(
                    ids=[c.chunk_id for c in part],
                    embeddings=np.stack([vectors[c.chunk_id] for c in part]),
                ), settings, "store vectors")
                progress("store", min(i + ADD_BATCH, len(chunks)), len(chunks))
            stages.mark("store")
            progress("finalize", 0, 1)
            with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as f:
                for c in chunks:
                    f.write(json.dumps(asdict(c), ensure_ascii=False) + "\n")
                f.flush()
                os.fsync(f.fileno())
            stored = with_retries(col.count, settings, "count stored vectors")
            if stored != len(chunks):  # never publish a version whose vectors are incomplete
                raise IngestError(f"The new collection {col_name} holds {stored} passages, "
                                  f"expected {len(chunks)}; nothing was switched.")
            bm25.build([embed_text(c) for c in chunks], tmp / "bm25")
            manifest = {
                "version": vid,
                "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "parent": prev_id,
                "collection": col_name,
                "fingerprints": fingerprints,
                "n_chunks": len(chunks),
                "changes": changes,
                "documents": {
                    d.doc_id: {
                        "path": d.path, "title": d.title, "version": d.version, "status": d.status,
                        "last_reviewed": d.last_reviewed, "sources": list(d.sources), "fmt": d.fmt,
                        "content_hash": d.content_hash, "chunk_ids": per_doc[d.doc_id],
                    } for d in docs
                },
            }
            versions.write_atomic(tmp / versions.MANIFEST, json.dumps(manifest, indent=1))
            tmp.rename(versions.version_dir(settings, vid))
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            try:
                client.delete_collection(versions.collection_name(vid))
            except Exception:
                pass
            raise
        versions._fsync_dir(settings.versions_dir)
        progress("finalize", 1, 1)
        stages.mark("finalize")
        progress("switch", 0, 1)
        versions.switch(settings, vid)
        unpinned = pin_mod.clear_pin(settings)
        versions.gc(settings, client)
        progress("switch", 1, 1)
        stages.mark("switch")
        _prepare_query_model(settings, embedder, warnings)
        stages.mark("query_model")
        return IngestReport(vid, prev_id, True, doc_counts, chunk_counts, len(to_embed),
                            time.perf_counter() - t0, rebuild, changes, warnings, embedded_with,
                            stages.seconds, unpinned=unpinned, conflicts=conflicts)


def index_is_stale(settings: Settings) -> bool:
    """True when the corpus on disk differs from the serving version (or none exists)."""
    from .load import iter_corpus_files
    from .records import sha256  # noqa: F401

    cur = versions.current_version(settings)
    if not cur or not versions.is_complete(settings, cur):
        return True
    m = versions.read_manifest(settings, cur)

    from .load import file_hash

    on_disk = {}
    for p in iter_corpus_files(settings.corpus_dir):
        on_disk[p.relative_to(settings.corpus_dir).as_posix()] = file_hash(p)  # sidecar included
    served = {info["path"]: info["content_hash"] for info in m["documents"].values()}
    return on_disk != served
