"""Append-only audit log of every answer (SQLite in the data directory).

Rows are never updated or deleted (triggers refuse it); feedback is a row of its
own that points at an answer. With ``audit_hash_questions`` only a SHA-256 of the
question text is stored, and no other free text either: no condensed query, no
trigger words or spans quoted from the question, the answer as a hash, feedback
comments as a hash.

Each row reconstructs what the user was shown: the answer text (or its SHA-256),
the cited passages (chunk id, document, document version, content hash) with the
served corpus version, the full safety trace, the source (``ui``, ``cli``, ``api``,
``eval``) and the app version. The exact text of every cited passage goes to an
append-only passage store beside the log (``audit_passages.sqlite``, one row per
passage however often it is cited), so it stays readable after its corpus version is
garbage-collected; guideline text is not patient data, so it is kept in hashing mode
too, in its own file. Files written before these columns existed are migrated in place
on first open (columns added; old rows keep NULL there).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import json
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from core.errors import AssistantError, InputError
from core.settings import Settings

from .records import Answer

SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  ts TEXT NOT NULL,
  audience TEXT NOT NULL,
  question TEXT,
  question_sha256 TEXT NOT NULL,
  condensed_query TEXT,
  corpus_version TEXT,
  chunk_ids TEXT NOT NULL,
  cited_chunk_ids TEXT NOT NULL,
  escalated INTEGER NOT NULL,
  red_flags TEXT NOT NULL,
  opioid_rule_applied INTEGER NOT NULL,
  rules_fired TEXT NOT NULL,
  policy_version TEXT,
  out_of_scope INTEGER NOT NULL,
  composer TEXT,
  flags TEXT NOT NULL,
  total_ms REAL
);
CREATE TABLE IF NOT EXISTS feedback (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  answer_id INTEGER NOT NULL REFERENCES answers(id),
  ts TEXT NOT NULL,
  rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
  comment TEXT
);
CREATE TRIGGER IF NOT EXISTS answers_no_update BEFORE UPDATE ON answers
  BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS answers_no_delete BEFORE DELETE ON answers
  BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS feedback_no_update BEFORE UPDATE ON feedback
  BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS feedback_no_delete BEFORE DELETE ON feedback
  BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
"""

PASSAGES_SCHEMA = """
CREATE TABLE IF NOT EXISTS passages (
  chunk_id TEXT PRIMARY KEY,
  content_hash TEXT,
  doc_id TEXT NOT NULL,
  title TEXT,
  section TEXT,
  version TEXT,
  status TEXT,
  last_reviewed TEXT,
  text TEXT NOT NULL,
  first_corpus_version TEXT,
  first_seen TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS passages_no_update BEFORE UPDATE ON passages
  BEGIN SELECT RAISE(ABORT, 'audit passage store is append-only'); END;
CREATE TRIGGER IF NOT EXISTS passages_no_delete BEFORE DELETE ON passages
  BEGIN SELECT RAISE(ABORT, 'audit passage store is append-only'); END;
"""
PASSAGES_FILE = "audit_passages.sqlite"

# Columns added after the first release: (name, SQL type). Added to older files on open.
ADDED_COLUMNS = (
    ("source", "TEXT"),
    ("app_version", "TEXT"),
    ("answer", "TEXT"),
    ("answer_sha256", "TEXT"),
    ("cited", "TEXT"),
    ("safety_trace", "TEXT"),
)

SOURCES = ("ui", "cli", "api", "eval")
REAL_USE = ("ui", "cli", "api")

MAX_COMMENT = 2000

_source: contextvars.ContextVar[str] = contextvars.ContextVar("audit_source", default="api")


@contextmanager
def audit_source(source: str):
    """Answers given inside the block are logged with ``source`` (the eval runner uses "eval")."""
    if source not in SOURCES:
        raise ValueError(f"audit source must be one of {', '.join(SOURCES)}, not {source!r}")
    token = _source.set(source)
    try:
        yield
    finally:
        _source.reset(token)


def current_source() -> str:
    return _source.get()


@lru_cache(maxsize=1)
def app_version() -> str:
    """The installed package version (``guideline-assistant`` in pyproject.toml)."""
    from importlib import metadata

    for name in ("guideline-assistant", "guideline_assistant", "guideline"):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "unknown"


def _columns(con: sqlite3.Connection) -> set[str]:
    return {r[1] for r in con.execute("PRAGMA table_info(answers)")}


def _migrate(con: sqlite3.Connection) -> None:
    """Add the columns a file from before them lacks. Many threads and processes may open an
    old file at once: the check is repeated under SQLite's write lock, so each column is
    added exactly once."""
    if all(name in _columns(con) for name, _ in ADDED_COLUMNS):
        return
    con.execute("BEGIN IMMEDIATE")
    try:
        have = _columns(con)
        for name, kind in ADDED_COLUMNS:
            if name not in have:
                con.execute(f"ALTER TABLE answers ADD COLUMN {name} {kind}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


class AuditError(AssistantError):
    """The audit log could not be written or read."""


class AuditLog:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.path: Path = settings.audit_db
        self._ready = False
        # Writers keep one connection per thread and database: opening, closing (the last close
        # checkpoints the WAL) and the schema script cost milliseconds on every answer otherwise.
        # Every row is still committed (autocommit) before record() returns.
        self._writers = threading.local()
        # Passages this process has stored (chunk id, text hash): the same passages are cited
        # answer after answer, and an INSERT that changes nothing still costs a write transaction.
        self._stored: set[tuple[str, str]] = set()

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA busy_timeout=30000")
            if not self._ready:
                con.executescript(SCHEMA)
                _migrate(con)
                self._ready = True
            return con
        except sqlite3.Error as e:
            raise AuditError(f"The audit log at {self.path} could not be opened: {e}") from None

    def record(self, ans: Answer, source: str | None = None) -> Answer:
        source = source or current_source()
        if source not in SOURCES:
            raise AuditError(f"Unknown audit source {source!r}; use one of {', '.join(SOURCES)}.")
        q = ans.question or ""
        sha = hashlib.sha256(q.encode("utf-8")).hexdigest()
        hashing = self.settings.audit_hash_questions
        red_flags = [r.to_json() for r in ans.safety.red_flags]
        rules = [r.to_json() for r in ans.safety.rules_fired]
        if hashing:
            # Triggers, spans and details quote the question: free text as well.
            red_flags = [{**r, "trigger": None} for r in red_flags]
            rules = [{**r, "span": None, "detail": None} for r in rules]
        trace = {**ans.safety.to_json(), "red_flags": red_flags, "rules_fired": rules,
                 "opioid_requested": getattr(ans.safety, "opioid_requested", False),
                 "pressure": getattr(ans.safety, "pressure", False)}
        cited = [{"n": c.n, "chunk_id": c.chunk_id, "doc_id": c.doc_id, "version": c.version,
                  "status": c.status, "corpus_version": ans.corpus_version,
                  "text_sha256": hashlib.sha256(c.text.encode("utf-8")).hexdigest()}
                 for c in ans.citations]
        self._keep_passages(ans)
        answer_sha = hashlib.sha256((ans.markdown or "").encode("utf-8")).hexdigest()
        row = (
            dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
            ans.audience,
            None if hashing else q,
            sha,
            None if hashing else ans.condensed_query,
            ans.corpus_version,
            json.dumps([h.chunk.chunk_id for h in ans.hits]),
            json.dumps([c.chunk_id for c in ans.citations]),
            int(ans.safety.escalated),
            json.dumps(red_flags),
            int(ans.safety.opioid_rule_applied),
            json.dumps(rules),
            ans.safety.policy_version,
            int(ans.out_of_scope),
            ans.composer,
            json.dumps(list(ans.flags)),
            ans.timings_ms.get("total"),
            source,
            app_version(),
            None if hashing else ans.markdown,
            answer_sha,
            json.dumps(cited, ensure_ascii=False),
            json.dumps(trace, ensure_ascii=False),
        )
        con = self._writer("answers", self._connect)
        try:
            cur = con.execute(
                "INSERT INTO answers (ts, audience, question, question_sha256, condensed_query,"
                " corpus_version, chunk_ids, cited_chunk_ids, escalated, red_flags,"
                " opioid_rule_applied, rules_fired, policy_version, out_of_scope, composer, flags,"
                " total_ms, source, app_version, answer, answer_sha256, cited, safety_trace)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", row)
            return replace(ans, audit_id=cur.lastrowid)
        except sqlite3.Error as e:
            self._drop_writer("answers")
            raise AuditError(f"The audit log at {self.path} could not be written: {e}") from None

    def _writer(self, name: str, opener) -> sqlite3.Connection:
        """This thread's open connection to one of the two databases (opened on first use)."""
        held = getattr(self._writers, name, None)
        if held is None:
            held = opener()
            setattr(self._writers, name, held)
        return held

    def _drop_writer(self, name: str) -> None:
        held = getattr(self._writers, name, None)
        if held is not None:
            setattr(self._writers, name, None)
            try:
                held.close()
            except sqlite3.Error:
                pass

    @property
    def passages_path(self) -> Path:
        return self.path.with_name(PASSAGES_FILE)

    def _passages(self) -> sqlite3.Connection:
        try:
            con = sqlite3.connect(self.passages_path, timeout=30, isolation_level=None)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA busy_timeout=30000")
            con.executescript(PASSAGES_SCHEMA)
            return con
        except sqlite3.Error as e:
            raise AuditError(f"The audit passage store at {self.passages_path} could not be opened: {e}") from None

    def _keep_passages(self, ans: Answer) -> None:
        """Store each cited passage's exact text once (before the row that cites it)."""
        if not ans.citations:
            return
        new = [(c, hashlib.sha256(c.text.encode("utf-8")).hexdigest()) for c in ans.citations]
        new = [(c, h) for c, h in new if (c.chunk_id, h) not in self._stored]
        if not new:
            return
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")
        con = self._writer("passages", self._passages)
        try:
            con.executemany(
                "INSERT OR IGNORE INTO passages (chunk_id, content_hash, doc_id, title, section, version,"
                " status, last_reviewed, text, first_corpus_version, first_seen) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [(c.chunk_id, h, c.doc_id, c.title, c.section, c.version, c.status, c.last_reviewed, c.text,
                  ans.corpus_version, now) for c, h in new])
            self._stored.update((c.chunk_id, h) for c, h in new)
        except sqlite3.Error as e:
            self._drop_writer("passages")
            raise AuditError(f"The audit passage store at {self.passages_path} could not be written: {e}") from None

    def passages(self, chunk_ids) -> dict[str, dict]:
        """chunk_id -> {text, title, section, ...} from the passage store."""
        ids = list(dict.fromkeys(chunk_ids))
        if not ids or not self.passages_path.exists():
            return {}
        con = self._passages()
        con.row_factory = sqlite3.Row
        try:
            out = {}
            for i in range(0, len(ids), 500):
                part = ids[i:i + 500]
                for r in con.execute(f"SELECT * FROM passages WHERE chunk_id IN ({','.join('?' * len(part))})", part):
                    out[r["chunk_id"]] = dict(r)
            return out
        finally:
            con.close()

    def reconstruct(self, answer_id: int) -> dict:
        """What the user was shown for one audited answer: the row, with the exact text of
        every cited passage filled in from the passage store (``cited[].text``)."""
        row = self.get(answer_id)
        cited = row.get("cited") or []
        texts = self.passages(c["chunk_id"] for c in cited)
        row["cited"] = [{**c, **{k: texts[c["chunk_id"]][k] for k in ("title", "section", "last_reviewed", "text")}}
                        if c["chunk_id"] in texts else {**c, "text": None} for c in cited]
        return row

    def feedback(self, answer_id: int, rating: str, comment: str = "") -> int:
        if rating not in ("up", "down"):
            raise InputError(f"Feedback rating must be 'up' or 'down', not {rating!r}.")
        comment = (comment or "").strip()
        if len(comment) > MAX_COMMENT:
            raise InputError(f"The comment is {len(comment)} characters; the limit is {MAX_COMMENT}.")
        if comment and self.settings.audit_hash_questions:
            comment = "sha256:" + hashlib.sha256(comment.encode("utf-8")).hexdigest()
        con = self._connect()
        try:
            if con.execute("SELECT 1 FROM answers WHERE id=?", (answer_id,)).fetchone() is None:
                raise InputError(f"No answer with audit id {answer_id}.")
            cur = con.execute("INSERT INTO feedback (answer_id, ts, rating, comment) VALUES (?,?,?,?)",
                              (answer_id, dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
                               rating, comment or None))
            return cur.lastrowid
        except sqlite3.Error as e:
            raise AuditError(f"The audit log at {self.path} could not be written: {e}") from None
        finally:
            con.close()

    def tail(self, n: int = 20, source: str = "all") -> list[dict]:
        """The latest ``n`` rows, newest first. ``source``: 'all', 'real' (ui, cli, api and
        rows from before sources were recorded) or one of SOURCES."""
        if not self.path.exists():
            return []
        if source == "all":
            where, params = "", ()
        elif source == "real":
            where, params = "WHERE source IS NULL OR source IN (?,?,?)", REAL_USE
        elif source in SOURCES:
            where, params = "WHERE source = ?", (source,)
        else:
            raise InputError(f"Audit source must be all, real or one of {', '.join(SOURCES)}, not {source!r}.")
        con = self._connect()
        con.row_factory = sqlite3.Row
        try:
            rows = con.execute(f"SELECT * FROM answers {where} ORDER BY id DESC LIMIT ?",
                               (*params, n)).fetchall()
            return [_decode(con, r) for r in rows]
        finally:
            con.close()

    def get(self, answer_id: int) -> dict:
        """One row (decoded as ``tail`` decodes them), or InputError."""
        if self.path.exists():
            con = self._connect()
            con.row_factory = sqlite3.Row
            try:
                r = con.execute("SELECT * FROM answers WHERE id=?", (answer_id,)).fetchone()
                if r is not None:
                    return _decode(con, r)
            finally:
                con.close()
        raise InputError(f"No answer with audit id {answer_id}.")


def _decode(con: sqlite3.Connection, r: sqlite3.Row) -> dict:
    d = dict(r)
    for k in ("chunk_ids", "cited_chunk_ids", "red_flags", "rules_fired", "flags"):
        d[k] = json.loads(d[k])
    for k in ("cited", "safety_trace"):
        d[k] = json.loads(d[k]) if d.get(k) else None
    for k in ("escalated", "opioid_rule_applied", "out_of_scope"):
        d[k] = bool(d[k])
    d["feedback"] = [dict(f) for f in con.execute(
        "SELECT rating, comment, ts FROM feedback WHERE answer_id=? ORDER BY id", (d["id"],))]
    return d
