"""Long admin tasks (re-ingest, evaluation runs) in a background thread.

A Streamlit page run is cut short whenever the browser asks for a new run (any
click, any widget change), so a 30-second ingest started inline could be dropped
half-way. A job here runs to the end whatever the page does; pages poll it and
show its progress and outcome. One job per kind and settings at a time, per process.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from core.errors import AssistantError

log = logging.getLogger("ui.jobs")

ErrorDescriber = Callable[[AssistantError], tuple[str, list]]


@dataclass
class Job:
    id: int
    kind: str
    key: str
    stage: str = ""
    done: int = 0
    total: int = 0
    note: str = ""
    started: float = field(default_factory=time.time)
    finished: float | None = None
    result: Any = None
    error: str | None = None
    """A plain sentence when the job failed."""
    details: list = field(default_factory=list)
    """Structured detail of a failure (e.g. (file, reason) pairs)."""

    @property
    def running(self) -> bool:
        return self.finished is None

    @property
    def fraction(self) -> float:
        return min(self.done / self.total, 1.0) if self.total else 0.0

    def progress(self, stage: str, done: int, total: int, note: str = "") -> None:
        self.stage, self.done, self.total, self.note = stage, done, total, note


def _describe(e: AssistantError) -> tuple[str, list]:
    return str(e), []


class JobBoard:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: dict[tuple[str, str], Job] = {}
        self._ids = itertools.count(1)

    def latest(self, kind: str, key: str) -> Job | None:
        with self._lock:
            return self._latest.get((kind, key))

    def start(self, kind: str, key: str, fn: Callable[[Job], Any],
              describe: ErrorDescriber = _describe) -> tuple[Job, bool]:
        """Start ``fn(job)`` in a thread; (job, True), or (the running job, False) if one is running."""
        with self._lock:
            cur = self._latest.get((kind, key))
            if cur is not None and cur.running:
                return cur, False
            job = Job(next(self._ids), kind, key)
            self._latest[(kind, key)] = job

        def run() -> None:
            try:
                job.result = fn(job)
            except AssistantError as e:
                job.error, job.details = describe(e)
            except Exception as e:  # a bug: the traceback goes to the log, a sentence to the page
                log.exception("%s job failed", kind)
                job.error = (f"The {kind} stopped because of an internal error ({type(e).__name__}); "
                             "the details are in the server log.")
            finally:
                job.finished = time.time()

        threading.Thread(target=run, name=f"{kind}-job-{job.id}", daemon=True).start()
        return job, True

    def wait(self, timeout: float = 300.0) -> None:
        """Block until no job is running (tests)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                running = [j for j in self._latest.values() if j.running]
            if not running:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"jobs still running after {timeout:.0f} s: "
                                   + ", ".join(f"{j.kind}#{j.id}" for j in running))
            time.sleep(0.1)


_board = JobBoard()


def board() -> JobBoard:
    """The process-wide job board."""
    return _board


def settings_key(settings) -> str:
    return settings.model_dump_json()
