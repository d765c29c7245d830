"""answer() / stream_answer(): the one entry point the UI, the CLI and the evals call.

question + history
  -> validate -> safety.check_input (every user turn) -> condense -> hybrid search
  -> compose (grounded; or the LLM, falling back to grounded) -> safety.enforce
  -> audit log
Safety runs on the finished answer before any piece of it is shown or streamed.
"""

from __future__ import annotations

import re
import threading
import time
import unicodedata
from dataclasses import replace
from typing import Iterator, Sequence

from ingest.errors import AssistantError, InputError
from ingest.settings import Settings, load_settings

from .records import AUDIENCES, Answer, Hit, SafetyVerdict, Turn

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")
MAX_HISTORY_CHARS = 50_000


def clean_text(text: str) -> str:
    """NFC-normalise and drop control/bidi characters (they can hide instructions)."""
    return _CONTROL.sub(" ", unicodedata.normalize("NFC", text))


def validate_question(question, settings: Settings) -> str:
    if not isinstance(question, str):
        raise InputError(f"The question must be text, not {type(question).__name__}.")
    q = clean_text(question).strip()
    if not q:
        raise InputError("The question is empty. Type a clinical question about the guidance.")
    if len(q) > settings.max_turn_chars:
        raise InputError(
            f"The question is {len(q):,} characters long; the limit is "
            f"{settings.max_turn_chars:,}. Shorten it or split it into several questions."
        )
    return q


def validate_history(history, settings: Settings) -> tuple[Turn, ...]:
    turns: list[Turn] = []
    for i, t in enumerate(history or ()):
        if isinstance(t, Turn):
            turn = t
        elif isinstance(t, dict):
            if set(t) - {"role", "content"} or "role" not in t or "content" not in t:
                raise InputError(f"History turn {i + 1} must have exactly 'role' and 'content'.")
            try:
                turn = Turn(t["role"], t["content"])
            except ValueError as e:
                raise InputError(f"History turn {i + 1}: {e}.") from None
        else:
            raise InputError(f"History turn {i + 1} must be an object with 'role' and 'content'.")
        turns.append(Turn(turn.role, clean_text(turn.content)))
    if settings.max_history_turns and len(turns) > settings.max_history_turns:
        raise InputError(
            f"The conversation has {len(turns)} earlier turns; the limit is "
            f"{settings.max_history_turns}. Start a new conversation."
        )
    if sum(len(t.content) for t in turns) > MAX_HISTORY_CHARS:
        raise InputError(f"The conversation is longer than {MAX_HISTORY_CHARS:,} characters. "
                         "Start a new conversation.")
    return tuple(turns)


def _merge(hits: Sequence[Hit], extra: Sequence[Hit]) -> tuple[Hit, ...]:
    """Append passages fetched for the safety layer. Their scores belong to another query,
    so they are dropped: they must not make an unrelated question look in scope."""
    seen = {h.chunk.chunk_id for h in hits}
    out = list(hits)
    for h in extra:
        if h.chunk.chunk_id not in seen:
            seen.add(h.chunk.chunk_id)
            out.append(replace(h, rank=len(out) + 1, score=0.0, dense_score=None, bm25_score=None))
    return tuple(out)


class Assistant:
    """Holds the process-wide heavy objects (model, index handles, LLM) for one Settings."""

    def __init__(self, settings: Settings, *, embedder=None, client=None, chat_model=None,
                 audit=True):
        from .retrieve import HybridSearcher

        self.settings = settings
        self.searcher = HybridSearcher(settings, embedder=embedder, client=client)
        self._chat_model = chat_model
        self._chat_model_loaded = chat_model is not None
        self._audit = None
        self._audit_enabled = audit

    @property
    def chat_model(self):
        if not self._chat_model_loaded:
            from .llm import make_chat_model

            self._chat_model = make_chat_model(self.settings)
            self._chat_model_loaded = True
        return self._chat_model

    @property
    def audit(self):
        if self._audit is None and self._audit_enabled:
            from .audit import AuditLog

            self._audit = AuditLog(self.settings)
        return self._audit

    def warm(self) -> None:
        """Load model and index now, so the first question is not the slow one."""
        ix = self.searcher.index()
        self.searcher.embed_query("warm up", ix)
        from .compose import warm_corpus
        from .condense import vocabulary
        from .drugs import warm as warm_drug_names
        from .safety import check_input

        vocabulary()
        check_input((Turn("user", "warm up"),))
        warm_drug_names()  # the drug-name dictionaries take seconds to load
        warm_corpus(ix.by_doc)  # per-corpus indexes the composer builds on first use

    def _reservation_hits(self) -> tuple[Hit, ...]:
        from .safety import OPIOID_RESERVATION_QUERY

        return self.searcher.search(OPIOID_RESERVATION_QUERY, 2).hits

    def answer(self, question: str, history: Sequence = (), audience: str = "clinician") -> Answer:
        # Every search of one answer uses one corpus version, even if a re-ingest switches meanwhile.
        with self.searcher.pinned():
            return self._answer(question, history, audience)

    def _answer(self, question: str, history: Sequence, audience: str) -> Answer:
        from . import safety
        from .compose import compose, expand_hits
        from .condense import condense, retrieval_query
        from .request import retrieval_text

        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        q = validate_question(question, self.settings)
        turns = validate_history(history, self.settings)
        if audience not in AUDIENCES:
            raise InputError(f"Audience must be one of {', '.join(AUDIENCES)}, not {audience!r}.")

        t = time.perf_counter()
        verdict: SafetyVerdict = safety.check_input(turns + (Turn("user", q),))
        timings["safety_check"] = (time.perf_counter() - t) * 1000

        flags: list[str] = []
        t = time.perf_counter()
        query = condense(q, turns)
        llm = self.chat_model
        if llm is not None and any(x.role == "user" for x in turns):
            try:
                from .llm import condense_with_llm

                query = condense_with_llm(q, turns, llm) or query
            except AssistantError:
                flags.append("llm_condense_fallback")
        timings["condense"] = (time.perf_counter() - t) * 1000

        t = time.perf_counter()
        # A long note is searched by its request and the clinical entities of the rest
        # (GUIDELINE_MAX_QUESTION_CHARS caps the search text, not what is checked and answered).
        search_q = retrieval_query(retrieval_text(query, self.settings.max_question_chars))
        res = self.searcher.search(search_q, self.settings.top_k)
        hits = res.hits
        # Passages the safety layer may need to cite, whatever the question retrieved.
        esc_q = safety.escalation_query(verdict)
        if esc_q:
            hits = _merge(hits, self.searcher.search(esc_q, 3).hits)
        if verdict.opioid_requested or safety.mentions_opioid(q):
            hits = _merge(hits, self._reservation_hits())
        index = self.searcher.index()
        # Sub-sections of retrieved parents, and for broad questions the rest of the leading
        # guideline: an overview needs more than the top-k passages.
        hits = expand_hits(q, hits, index.by_doc, audience=audience, query=query)
        timings["retrieve"] = (time.perf_counter() - t) * 1000
        covered = index.titles(self.settings.include_statuses)

        t = time.perf_counter()
        draft = None
        if llm is not None:
            try:
                from .llm import compose_with_llm

                draft = compose_with_llm(q, hits, chat_model=llm, audience=audience, history=turns,
                                         verdict=verdict, timeout_s=self.settings.llm_timeout_s,
                                         query=query, covered_topics=covered)
            except AssistantError as e:
                flags.append("llm_fallback")
                flags.append(f"llm_error: {str(e)[:120]}")
                draft = None
        if draft is None:
            draft = compose(q, hits, query=query, audience=audience, verdict=verdict,
                            covered_topics=covered, history=turns)
        # enforce() cites from the answer's hits: make sure the passages it may need are there.
        extra = hits
        if safety.mentions_opioid(draft.markdown):
            extra = _merge(extra, self._reservation_hits())
        draft = replace(draft, hits=_merge(draft.hits, extra))
        timings["compose"] = (time.perf_counter() - t) * 1000

        t = time.perf_counter()
        final = safety.enforce(draft, verdict)
        timings["safety_enforce"] = (time.perf_counter() - t) * 1000
        timings["total"] = (time.perf_counter() - t0) * 1000
        final = replace(final, corpus_version=res.corpus_version, condensed_query=query,
                        timings_ms=timings, flags=tuple(final.flags) + tuple(flags), audience=audience)
        if self.audit is not None:
            final = self.audit.record(final)
        return final

    def stream(self, question: str, history: Sequence = (), audience: str = "clinician"
               ) -> "AnswerStream":
        """The answer's Markdown in pieces; safety has already run on all of it."""
        return AnswerStream(self.answer(question, history, audience))


class AnswerStream:
    """Iterate for the Markdown pieces (one block at a time); ``.answer`` holds the whole
    Answer (citations, safety, trace). The answer is finished and enforced before the first
    piece exists, so nothing unsafe is ever shown, and each caller gets its own object."""

    def __init__(self, answer: Answer):
        self.answer = answer

    def __iter__(self) -> Iterator[str]:
        for part in self.answer.markdown.split("\n\n"):
            if part.strip():
                yield part + "\n\n"


_assistants: dict[tuple, Assistant] = {}
_assistants_lock = threading.Lock()


def get_assistant(settings: Settings | None = None) -> Assistant:
    """One Assistant per settings per process: model and index are loaded once and reused."""
    settings = settings or load_settings()
    key = (str(settings.data_dir), settings.chroma_url, settings.llm, settings.model_dump_json())
    with _assistants_lock:
        a = _assistants.get(key)
        if a is None:
            a = _assistants[key] = Assistant(settings)
        return a


def answer(question: str, history: Sequence = (), audience: str = "clinician",
           settings: Settings | None = None) -> Answer:
    """Answer a clinical question from the guideline corpus (see Answer for the fields)."""
    return get_assistant(settings).answer(question, history, audience)


def stream_answer(question: str, history: Sequence = (), audience: str = "clinician",
                  settings: Settings | None = None) -> AnswerStream:
    return get_assistant(settings).stream(question, history, audience)
