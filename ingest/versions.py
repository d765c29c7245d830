"""Corpus versions on disk: manifests, the CURRENT pointer, the ingest lock, GC, rollback.

Layout under ``data_dir``::

    CURRENT                 id of the serving version (replaced atomically)
    INSTANCE                random id of this data directory (tags its Chroma collections)
    history.jsonl           one line per switch (for rollback order and GC)
    ingest.lock             flock'd by the running ingest; the kernel frees it if the run dies
    versions/<id>/          a complete version: chunks.jsonl, bm25/, manifest.json (written last)
    versions/.tmp-<id>/     a version being built; never read, removed by the next run
    versions/.del-<id>/     a version being garbage-collected (renamed first, so a half-deleted
                            directory is never mistaken for a complete version)
    chroma/                 embedded Chroma (collection ``gl-<id>`` per version)

Readers only ever follow CURRENT to a complete version, so they see the old or
the new corpus, never a mix. A crash at any point leaves CURRENT on a complete
version; whatever the crashed run left behind is removed by the next run's GC.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
import secrets
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from core.errors import IndexMissingError, IngestError, IngestLockedError, RetrievalError
from core.settings import Settings

MANIFEST = "manifest.json"


def collection_name(version: str) -> str:
    return f"gl-{version}"


def new_version_id() -> str:
    now = dt.datetime.now(dt.timezone.utc)
    return now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond:06d}-" + secrets.token_hex(3)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: str) -> None:
    """Write via a temp file + fsync + rename: a reader sees the old or the new file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def current_path(settings: Settings) -> Path:
    return settings.data_dir / "CURRENT"


def current_version(settings: Settings) -> str | None:
    try:
        v = current_path(settings).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return v or None


def version_dir(settings: Settings, version: str) -> Path:
    return settings.versions_dir / version


def read_manifest(settings: Settings, version: str) -> dict:
    p = version_dir(settings, version) / MANIFEST
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexMissingError(f"Corpus version {version!r} does not exist or is incomplete.") from None
    except (OSError, ValueError) as e:
        raise IndexMissingError(f"Corpus version {version!r} has an unreadable manifest: {e}") from None


def serving_manifest(settings: Settings) -> dict:
    v = current_version(settings)
    if v is None:
        raise IndexMissingError(
            f"No guideline index has been built in {settings.data_dir} yet. "
            "Run `guideline ingest` (or `make run`) to build it from the corpus."
        )
    return read_manifest(settings, v)


def is_complete(settings: Settings, version: str) -> bool:
    return (version_dir(settings, version) / MANIFEST).is_file()


def _append_history(settings: Settings, entry: dict) -> None:
    p = settings.data_dir / "history.jsonl"
    with open(p, "ab") as f:
        # A crash can leave a torn last line without its newline: never glue onto it.
        if f.tell() > 0:
            with open(p, "rb") as r:
                r.seek(-1, os.SEEK_END)
                if r.read(1) != b"\n":
                    f.write(b"\n")
        f.write((json.dumps(entry) + "\n").encode("utf-8"))
        f.flush()
        os.fsync(f.fileno())


def switch(settings: Settings, version: str, *, reason: str = "ingest") -> None:
    """Make ``version`` the serving one in a single atomic step (the rename of CURRENT)."""
    if not is_complete(settings, version):
        raise IngestError(f"Cannot switch to corpus version {version!r}: it is not complete.")
    # History first: a crash between the two lines leaves an extra (complete) rollback
    # target, whereas the other order could let GC delete a version that had served.
    entry = {"version": version, "at": dt.datetime.now(dt.timezone.utc).isoformat(), "reason": reason}
    _append_history(settings, entry)
    write_atomic(current_path(settings), version + "\n")


def history(settings: Settings) -> list[dict]:
    p = settings.data_dir / "history.jsonl"
    if not p.exists():
        return []
    out = []
    for line in p.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue  # a torn last line from a crash is ignored
    return out


@dataclass(frozen=True)
class VersionInfo:
    version: str
    created: str
    documents: int
    chunks: int
    current: bool


def list_versions(settings: Settings) -> list[VersionInfo]:
    cur = current_version(settings)
    out = []
    if not settings.versions_dir.is_dir():
        return out
    for d in settings.versions_dir.iterdir():
        if d.name.startswith(".") or not (d / MANIFEST).is_file():
            continue
        try:
            m = read_manifest(settings, d.name)
        except IndexMissingError:
            continue
        out.append(VersionInfo(d.name, m.get("created", ""), len(m.get("documents", {})),
                               m.get("n_chunks", 0), d.name == cur))
    return sorted(out, key=lambda v: v.version, reverse=True)


def kept_versions(settings: Settings) -> list[str]:
    """Current plus the last N switched-to versions that still exist, newest first."""
    keep: list[str] = []
    cur = current_version(settings)
    if cur:
        keep.append(cur)
    for entry in reversed(history(settings)):
        v = entry.get("version")
        if v and v not in keep and is_complete(settings, v):
            keep.append(v)
        if len(keep) >= settings.keep_versions:
            break
    return keep


def resolve_version(settings: Settings, ref: str) -> str:
    """A kept version id from its full id or a unique prefix (e.g. ``20261128T0315``)."""
    known = [v.version for v in list_versions(settings)]
    avail = ", ".join(known) or "none"
    if not isinstance(ref, str) or not ref or not re.fullmatch(r"[0-9A-Za-z-]+", ref):
        raise IngestError(f"Unknown corpus version {ref!r}. Available: {avail}.")
    if ref in known and VERSION_RE.fullmatch(ref):
        return ref
    matches = [v for v in known if v.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise IngestError(f"Corpus version prefix {ref!r} is ambiguous: it matches "
                          f"{', '.join(matches)}. Give more characters.")
    raise IngestError(f"Unknown corpus version {ref!r}. Available: {avail}.")


def rollback(settings: Settings, version: str, client=None) -> str:
    """Serve an earlier kept version again, after checking that it is whole, and pin it.

    ``version`` may be a unique prefix. The pin keeps ``ingest --if-stale`` (``make run``)
    from replacing it until an admin ingests explicitly. Returns the full version id."""
    from . import pin

    version = resolve_version(settings, version)
    if not is_complete(settings, version):
        raise IngestError(f"Unknown corpus version {version!r}.")
    with ingest_lock(settings):
        previous = current_version(settings)
        verify_version(settings, version, client)
        switch(settings, version, reason="rollback")
        pin.set_pin(settings, version, previous)
    return version


def _doc_rows(m: dict) -> dict[str, dict]:
    return {did: {"doc_id": did, "title": info.get("title", ""), "version": info.get("version", ""),
                  "status": info.get("status", ""), "last_reviewed": info.get("last_reviewed", ""),
                  "path": info.get("path", ""), "passages": len(info.get("chunk_ids", []))}
            for did, info in sorted(m.get("documents", {}).items())}


def doc_changes_between(old: dict | None, new: dict) -> dict[str, dict]:
    """doc_id -> {"change": added|updated|deleted, "from": old doc version, "to": new} between manifests."""
    old_docs = (old or {}).get("documents", {})
    new_docs = new.get("documents", {})
    out: dict[str, dict] = {}
    for did in sorted(set(old_docs) | set(new_docs)):
        a, b = old_docs.get(did), new_docs.get(did)
        if a is None:
            out[did] = {"change": "added", "from": None, "to": b.get("version")}
        elif b is None:
            out[did] = {"change": "deleted", "from": a.get("version"), "to": None}
        elif a.get("content_hash") != b.get("content_hash"):
            out[did] = {"change": "updated", "from": a.get("version"), "to": b.get("version")}
    return out


def describe_versions(settings: Settings) -> list[dict]:
    """Every kept version, newest first, with its documents and what changed from the
    version it was built on (its parent; the next older kept version when the parent is gone)."""
    from . import pin as pin_mod

    infos = list_versions(settings)
    pin = pin_mod.read_pin(settings)
    out = []
    for i, v in enumerate(infos):
        m = read_manifest(settings, v.version)
        parent = m.get("parent")
        d = dict(v.__dict__)
        d["serving"] = v.current
        d["pinned"] = bool(pin and pin.version == v.version)
        d["pin"] = pin.to_json() if d["pinned"] else None
        if parent and is_complete(settings, parent):
            d["compared_with"] = parent
            d["changes"] = doc_changes_between(read_manifest(settings, parent), m)
        elif parent and isinstance(m.get("changes"), dict):
            # The parent was collected: the changes recorded when this version was built.
            docs = m.get("documents", {})
            d["compared_with"] = parent
            d["changes"] = {did: {"change": what, "from": None,
                                  "to": docs.get(did, {}).get("version")}
                            for did, what in sorted(m["changes"].items())}
        elif parent is None:
            d["compared_with"] = None
            d["changes"] = {did: {"change": "added", "from": None, "to": r["version"]}
                            for did, r in _doc_rows(m).items()}
        else:
            older = infos[i + 1].version if i + 1 < len(infos) else None
            d["compared_with"] = older
            d["changes"] = doc_changes_between(read_manifest(settings, older), m) if older else None
        d["document_list"] = list(_doc_rows(m).values())
        out.append(d)
    return out


VERSION_RE = re.compile(r"[0-9]{8}T[0-9]{12}-[0-9a-f]{6}")


def verify_version(settings: Settings, version: str, client=None) -> int:
    """Check a version's files and its Chroma collection agree; return its chunk count."""
    from .serving import load_version
    from .store import make_client, open_collection, with_retries

    ix = load_version(settings, version)  # IndexMissingError when damaged
    client = client or make_client(settings)
    try:
        n = with_retries(lambda: open_collection(client, ix.collection_name).count(), settings,
                         f"check corpus version {version}")
    except RetrievalError:
        raise
    except Exception as e:
        raise IngestError(f"Corpus version {version} cannot be served: its vector collection "
                          f"{ix.collection_name} is missing ({type(e).__name__}).") from None
    if n != len(ix.chunks):
        raise IngestError(f"Corpus version {version} cannot be served: its vector collection holds "
                          f"{n} passages, its manifest {len(ix.chunks)}.")
    return n


INSTANCE_KEY = "guideline_instance"
"""Collection metadata key naming the data directory that owns a collection."""


def instance_id(settings: Settings) -> str:
    """Random id of this data directory, created on first use (under the ingest lock)."""
    p = settings.data_dir / "INSTANCE"
    try:
        v = p.read_text(encoding="utf-8").strip()
        if v:
            return v
    except FileNotFoundError:
        pass
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    v = secrets.token_hex(8)
    write_atomic(p, v + "\n")
    return v


def owned_collections(settings: Settings, client) -> list[str]:
    """Names of the ``gl-*`` collections that belong to this data directory.

    An embedded store lives inside the data directory, so all of its collections
    are ours. A Chroma server may be shared by several installations (and by test
    runs): there only collections tagged with our instance id are ours to delete.
    """
    cols = client.list_collections()
    mine = instance_id(settings)
    out = []
    for c in cols:
        name = c if isinstance(c, str) else c.name
        if not name.startswith("gl-"):
            continue
        if settings.chroma_url:
            meta = {} if isinstance(c, str) else (c.metadata or {})
            if meta.get(INSTANCE_KEY) != mine:
                continue
        out.append(name)
    return out


def gc(settings: Settings, client=None) -> list[str]:
    """Remove unfinished builds, versions beyond the kept N, and their collections.

    Runs under the ingest lock. Each doomed directory is first renamed to
    ``.del-<id>`` (atomic), so a crash mid-delete never leaves a half-deleted
    directory that still looks like a complete version.
    """
    removed: list[str] = []
    keep = set(kept_versions(settings))
    if settings.versions_dir.is_dir():
        for d in sorted(settings.versions_dir.iterdir()):
            if d.name in keep:
                continue
            target = d
            if not d.name.startswith("."):
                target = d.with_name(f".del-{d.name}")
                try:
                    os.rename(d, target)
                except OSError:
                    target = d
            shutil.rmtree(target, ignore_errors=True)
            removed.append(d.name)
        _fsync_dir(settings.versions_dir)
    if client is not None:
        wanted = {collection_name(v) for v in keep}
        try:
            names = owned_collections(settings, client)
        except Exception:
            names = []  # server unreachable: the next run's GC retries
        for name in names:
            if name not in wanted:
                try:
                    client.delete_collection(name)
                except Exception:
                    pass  # retried by the next run's GC
    return removed


@contextmanager
def ingest_lock(settings: Settings):
    """One ingest at a time. flock is released by the kernel when a run dies, so it never sticks."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = settings.data_dir / "ingest.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
            except OSError:
                holder = ""
            raise IngestLockedError(
                "Another ingest run is in progress" + (f" ({holder})" if holder else "")
                + "; wait for it to finish and try again."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, started {dt.datetime.now().isoformat(timespec='seconds')}".encode(), 0)
        yield
    finally:
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def change_parts(changes: dict, *, arrow: str = "->", minus: str = "-", added_version: bool = True) -> list[str]:
    """One short item per changed document ("+doc 2", "~doc 1->2", "-doc") for a version listing;
    ``arrow``/``minus`` let the admin page use typographic marks and the terminal plain ones."""
    parts = []
    for did, c in changes.items():
        if c["change"] == "updated":
            parts.append(f"~{did} {c['from']}{arrow}{c['to']}" if c["from"] != c["to"]
                         else f"~{did} {c['to']} (text edited, same version number)")
        elif c["change"] == "added":
            parts.append(f"+{did} {c['to']}" if added_version else f"+{did}")
        else:
            parts.append(f"{minus}{did}")
    return parts
