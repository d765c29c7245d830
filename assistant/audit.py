"""Append-only audit log of every answer (SQLite in the data directory).

Rows are never updated or deleted (triggers refuse it); feedback is a row of its
own that points at an answer. With ``audit_hash_questions`` only a SHA-256 of the
question text is stored, and no other free text either: no condensed query, no
trigger words or spans quoted from the question, feedback comments as a hash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from dataclasses import replace
from pathlib import Path

from ingest.errors import AssistantError, InputError
from ingest.settings import Settings

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

MAX_COMMENT = 2000


class AuditError(AssistantError):
    """The audit log could not be written or read."""


class AuditLog:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.path: Path = settings.audit_db
        self._ready = False

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA busy_timeout=30000")
            if not self._ready:
                con.executescript(SCHEMA)
                self._ready = True
            return con
        except sqlite3.Error as e:
            raise AuditError(f"The audit log at {self.path} could not be opened: {e}") from None

    def record(self, ans: Answer) -> Answer:
        q = ans.question or ""
        sha = hashlib.sha256(q.encode("utf-8")).hexdigest()
        hashing = self.settings.audit_hash_questions
        red_flags = [r.to_json() for r in ans.safety.red_flags]
        rules = [r.to_json() for r in ans.safety.rules_fired]
        if hashing:
            # Triggers, spans and details quote the question: free text as well.
            red_flags = [{**r, "trigger": None} for r in red_flags]
            rules = [{**r, "span": None, "detail": None} for r in rules]
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
        )
        con = self._connect()
        try:
            cur = con.execute(
                "INSERT INTO answers (ts, audience, question, question_sha256, condensed_query,"
                " corpus_version, chunk_ids, cited_chunk_ids, escalated, red_flags,"
                " opioid_rule_applied, rules_fired, policy_version, out_of_scope, composer, flags,"
                " total_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", row)
            return replace(ans, audit_id=cur.lastrowid)
        except sqlite3.Error as e:
            raise AuditError(f"The audit log at {self.path} could not be written: {e}") from None
        finally:
            con.close()

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

    def tail(self, n: int = 20) -> list[dict]:
        if not self.path.exists():
            return []
        con = self._connect()
        con.row_factory = sqlite3.Row
        try:
            rows = con.execute("SELECT * FROM answers ORDER BY id DESC LIMIT ?", (n,)).fetchall()
            out = []
            for r in rows:
                d = dict(r)
                for k in ("chunk_ids", "cited_chunk_ids", "red_flags", "rules_fired", "flags"):
                    d[k] = json.loads(d[k])
                for k in ("escalated", "opioid_rule_applied", "out_of_scope"):
                    d[k] = bool(d[k])
                d["feedback"] = [dict(f) for f in con.execute(
                    "SELECT rating, comment, ts FROM feedback WHERE answer_id=? ORDER BY id", (d["id"],))]
                out.append(d)
            return out
        finally:
            con.close()
