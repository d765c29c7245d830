"""The rollback pin: a rolled-back version keeps serving until an admin ingests explicitly.

``guideline rollback`` writes ``data_dir/PINNED``; ``guideline ingest --if-stale`` (what
``make run`` does on every start) sees it and leaves the served version alone, saying so;
an explicit ``guideline ingest`` (or the admin page's button) builds from the corpus again
and removes the pin. ``corpus_drift`` says which corpus files differ from a version, so the
rollback message and the admin page can tell the admin what the pin is holding back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from core.settings import Settings

from . import versions

PIN_FILE = "PINNED"


@dataclass(frozen=True)
class Pin:
    version: str
    at: str
    """When the rollback happened (UTC, ISO 8601)."""
    previous: str | None
    """The version that was serving before the rollback."""
    reason: str = "rollback"

    def to_json(self) -> dict:
        return {"version": self.version, "at": self.at, "previous": self.previous, "reason": self.reason}


@dataclass(frozen=True)
class FileDrift:
    path: str
    """Corpus-relative path."""
    change: str
    """'added' (on disk, not in the version), 'changed' or 'removed' (in the version, not on disk)."""

    def to_json(self) -> dict:
        return {"path": self.path, "change": self.change}


def read_pin(settings: Settings) -> Pin | None:
    """The pin, if one is set and still names the serving version (a stale pin is ignored)."""
    p = settings.data_dir / PIN_FILE
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError, OSError):
        return None
    if not isinstance(d, dict) or not isinstance(d.get("version"), str):
        return None
    if d["version"] != versions.current_version(settings):
        return None  # something else switched since (e.g. a newer release): not pinned any more
    return Pin(d["version"], str(d.get("at", "")), d.get("previous"), str(d.get("reason", "rollback")))


def set_pin(settings: Settings, version: str, previous: str | None) -> Pin:
    pin = Pin(version, dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), previous)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    versions.write_atomic(settings.data_dir / PIN_FILE, json.dumps(pin.to_json()) + "\n")
    return pin


def clear_pin(settings: Settings) -> bool:
    """Remove the pin; True when there was one."""
    try:
        (settings.data_dir / PIN_FILE).unlink()
    except FileNotFoundError:
        return False
    return True


def corpus_drift(settings: Settings, version: str) -> list[FileDrift]:
    """Corpus files on disk that differ from what ``version`` serves, sorted by path."""
    from .load import iter_corpus_files

    m = versions.read_manifest(settings, version)
    served = {info["path"]: info["content_hash"] for info in m.get("documents", {}).values()}
    on_disk: dict[str, str] = {}
    if settings.corpus_dir.is_dir():
        for p in iter_corpus_files(settings.corpus_dir):
            on_disk[p.relative_to(settings.corpus_dir).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    out = []
    for path in sorted(set(served) | set(on_disk)):
        if path not in served:
            out.append(FileDrift(path, "added"))
        elif path not in on_disk:
            out.append(FileDrift(path, "removed"))
        elif served[path] != on_disk[path]:
            out.append(FileDrift(path, "changed"))
    return out


def describe_drift(drift: list[FileDrift], limit: int = 8) -> str:
    """'ms-spasticity.md (changed), new.md (added)' with at most ``limit`` names."""
    parts = [f"{d.path} ({d.change})" for d in drift[:limit]]
    if len(drift) > limit:
        parts.append(f"and {len(drift) - limit} more")
    return ", ".join(parts)
