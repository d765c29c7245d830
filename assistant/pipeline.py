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

from core.errors import AssistantError, InputError
from core.settings import Settings, load_settings

from .records import AUDIENCES, Answer, Hit, SafetyVerdict, Turn
from .weights import WEIGHTS

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


SAFETY_CHECK_MAX_CHARS = 200_000
"""What a refused input is still checked for red flags (a bound on the cost of a hostile input)."""


def _user_texts(question, history) -> list[str]:
    """The user text of a possibly malformed input, as far as it can be read."""
    texts: list[str] = []
    for t in history if isinstance(history, (list, tuple)) else ():
        role = getattr(t, "role", None) if not isinstance(t, dict) else t.get("role")
        content = getattr(t, "content", None) if not isinstance(t, dict) else t.get("content")
        if role == "user" and isinstance(content, str):
            texts.append(content)
    if isinstance(question, str):
        texts.append(question)
    out, budget = [], SAFETY_CHECK_MAX_CHARS
    for text in reversed(texts):  # the latest turns first
        text = clean_text(text)[:budget]
        if text.strip():
            out.append(text)
            budget -= len(text)
        if budget <= 0:
            break
    return list(reversed(out))


def refusal_checked_for_red_flags(exc: InputError, question, history) -> InputError:
    """``exc`` as it stands, or, when what was sent describes a red flag, the same refusal led
    by the urgent escalation (the input is refused, the red flag is never swallowed)."""
    from .safety import check_input, load_policy

    texts = _user_texts(question, history)
    if not texts:
        return exc
    verdict = check_input(tuple(Turn("user", t) for t in texts))
    if not verdict.escalated:
        return exc
    policy = load_policy()
    lines = []
    for cat in policy.categories:
        found = [r.trigger for r in verdict.red_flags if r.category == cat.id]
        if found:
            quotes = ", ".join(f"\u201c{f}\u201d" for f in dict.fromkeys(found))
            lines.append(f"Red flag for {cat.label}: {quotes}. {cat.actions[0]}")
    msg = ("URGENT: " + " ".join(lines) + f"\n\nThe message could not be answered as sent: {exc}")
    return InputError(msg, safety=verdict)


# Distinct safety-layer queries kept per corpus version (one per set of red-flag categories met).
FIXED_QUERY_CACHE_SIZE = 256


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
        self._pool = None
        self._pool_lock = threading.Lock()

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

    def _workers(self):
        """Threads an answer runs its search in while it checks safety (one per concurrent answer)."""
        if self._pool is None:
            with self._pool_lock:
                if self._pool is None:
                    from concurrent.futures import ThreadPoolExecutor

                    self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="answer-search")
        return self._pool

    def sentence_vectors(self, index):
        """What scores passage sentences by meaning (``compose``'s ``vectors``), or None when the
        corpus has more passages than ``WEIGHTS.semantic_max_passages``: their sentences would not
        stay in the vector cache, and embedding a hundred new sentences per answer would cost
        about half a second. Decided by the corpus alone, so answers stay deterministic."""
        if WEIGHTS.semantic <= 0 or len(index.chunks) > WEIGHTS.semantic_max_passages:
            return None
        return self.support_checker().vectors

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
        if self.sentence_vectors(ix) is not None:
            # The composer scores passage sentences by meaning: their vectors, stored with the
            # corpus version at ingest (computed and stored here the first time, ~3 s).
            self.store_sentence_vectors()
        elif self.chat_model is not None:
            self.support_checker().check("warm up", ["warm up"])

    def store_sentence_vectors(self):
        """Load the serving version's stored sentence vectors into the composer's cache, or
        compute and store them when the version has none (``assistant/sentence_store.py``).
        Returns the file's path, or None when sentence scoring by meaning is off for this corpus."""
        from . import sentence_store
        from ingest.versions import version_dir

        ix = self.searcher.index()
        if self.sentence_vectors(ix) is None:
            return None
        checker = self.support_checker()
        fp = getattr(checker.embedder, "fingerprint", type(checker.embedder).__name__)
        path = version_dir(self.settings, ix.version) / sentence_store.FILE
        texts = sentence_store.corpus_sentences(ix.chunks)
        stored = sentence_store.load(path, fp)
        if stored is not None and all(t in stored for t in texts):
            checker.preload({t: stored[t] for t in texts})
            return path
        vecs = checker.vectors(texts)
        try:
            sentence_store.save(path, texts, [vecs[t] for t in texts], fp)
        except OSError:
            pass  # a read-only data directory: the vectors stay in this process's cache
        return path

    def support_checker(self):
        """The LLM support check on the embedder queries use (one per embedder)."""
        from .support import SupportChecker

        emb = self.searcher.query_embedder()
        held = getattr(self, "_support", None)
        if held is None or held.embedder is not emb:
            held = self._support = SupportChecker(emb)
        return held

    def _with_safety_hits(self, draft: Answer, hits: Sequence[Hit]) -> Answer:
        """enforce() cites from the answer's hits: make sure the passages it may need are there."""
        from . import safety

        extra = tuple(hits)
        if safety.mentions_opioid(draft.markdown):
            extra = _merge(extra, self._reservation_hits())
        return replace(draft, hits=_merge(draft.hits, extra))

    def _reservation_hits(self) -> tuple[Hit, ...]:
        from .safety import OPIOID_RESERVATION_QUERY

        return self._fixed_query_hits(OPIOID_RESERVATION_QUERY, 2)

    def _fixed_query_hits(self, query: str, k: int) -> tuple[Hit, ...]:
        """Hits of one of the safety layer's own queries (the opioid reservation query, the
        escalation query of a set of red-flag categories): the same text every time, so searched
        once per corpus version (a version never changes once built) and kept with it."""
        ix = self.searcher.index()
        cache = ix.extra.setdefault("fixed_query_hits", {})
        key = (query, k, tuple(self.settings.include_statuses))
        hits = cache.get(key)
        if hits is None:
            hits = self.searcher.search(query, k).hits
            if len(cache) >= FIXED_QUERY_CACHE_SIZE:
                cache.clear()
            cache[key] = hits
        return hits

    def _entity_search(self, query: str):
        """A long vignette's second search (``request.vignette_entities``), started in a worker
        thread; None when the query needs none."""
        from .request import vignette_entities

        entity_q = vignette_entities(query, self.settings.max_question_chars)
        if not entity_q:
            return None
        return self._workers().submit(self.searcher.search, entity_q, WEIGHTS.vignette_entity_hits,
                                      index=self.searcher.index())

    def _named_drug_hits(self, question: str, hits: Sequence[Hit]) -> tuple[Hit, ...]:
        """Passages for the drugs the request names that the corpus names but no retrieved
        passage does (``Weights.named_drug_hits``); () for most questions."""
        from .drugs import drugs_named
        from .opioid_terms import names_opioid
        from .request import split_request

        request = split_request(question)[0] or question
        named = drugs_named(request)
        if not named:
            return ()
        seen = " ".join(h.chunk.text.lower() for h in hits)
        corpus = self.searcher.index().bm25
        todo = [n for n in dict.fromkeys(d.generic or d.written for d in named)
                if n not in seen and not names_opioid(n) and corpus.knows(n)][:WEIGHTS.named_drug_max]
        out: tuple[Hit, ...] = ()
        for name in todo:
            out = _merge(out, self.searcher.search(f"{name} {request[:300]}", WEIGHTS.named_drug_hits).hits)
        return out

    def answer(self, question: str, history: Sequence = (), audience: str = "clinician",
               source: str | None = None) -> Answer:
        """``source`` ('ui', 'cli', 'api', 'eval') goes to the audit log; unset, the caller's
        ``audit.audit_source`` block decides (default 'api')."""
        # Every search of one answer uses one corpus version, even if a re-ingest switches meanwhile.
        with self.searcher.pinned():
            return self._answer(question, history, audience, source)

    def _answer(self, question: str, history: Sequence, audience: str,
                source: str | None = None) -> Answer:
        from . import safety
        from .compose import compose, expand_hits
        from .condense import condense, retrieval_texts
        from .request import retrieval_text

        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        try:
            q = validate_question(question, self.settings)
            turns = validate_history(history, self.settings)
        except InputError as exc:
            raise refusal_checked_for_red_flags(exc, question, history) from None
        if audience not in AUDIENCES:
            raise InputError(f"Audience must be one of {', '.join(AUDIENCES)}, not {audience!r}.")

        flags: list[str] = []
        llm = self.chat_model  # built before timing: building it imports the client library
        t = time.perf_counter()
        query = condense(q, turns)
        condense_ms = (time.perf_counter() - t) * 1000
        search = None
        if llm is None:
            # Without an LLM rewrite the search text is known now: search in a worker thread while
            # this one checks safety (the query embedding and the vector search release the GIL).
            search_q, dense_q = retrieval_texts(retrieval_text(query, self.settings.max_question_chars))
            search = self._workers().submit(self.searcher.search, search_q, self.settings.top_k,
                                            index=self.searcher.index(), dense_query=dense_q)
            entity_search = self._entity_search(query)
        t = time.perf_counter()
        try:
            verdict: SafetyVerdict = safety.check_input(turns + (Turn("user", q),))
        except BaseException:
            if search is not None:
                search.cancel()
            raise
        timings["safety_check"] = (time.perf_counter() - t) * 1000
        if search is not None:
            # While the search runs: what the turn asks, which the composer needs (remembered).
            from .request import understand

            understand(q, [x.content for x in turns if x.role == "user"])
            understand(q)

        t = time.perf_counter()
        trace: dict = {}
        # One deadline for all LLM work of this answer (rewrite + answer).
        deadline = time.monotonic() + self.settings.llm_deadline_s if llm is not None else None
        if llm is not None and any(x.role == "user" for x in turns):
            from .llm import condense_checked

            query, trace["condense"] = condense_checked(q, turns, query, llm, deadline,
                                                        self.settings.llm_timeout_s)
            if trace["condense"].get("error"):
                flags.append("llm_condense_fallback")
            elif trace["condense"]["rejected"]:
                flags.append("llm_condense_rejected")
        timings["condense"] = condense_ms + (time.perf_counter() - t) * 1000

        t = time.perf_counter()
        # A long note is searched by its request and the clinical entities of the rest
        # (GUIDELINE_MAX_QUESTION_CHARS caps the search text, not what is checked and answered).
        if search is not None:
            res = search.result()
        else:
            entity_search = self._entity_search(query)  # runs while this thread searches
            search_q, dense_q = retrieval_texts(retrieval_text(query, self.settings.max_question_chars))
            res = self.searcher.search(search_q, self.settings.top_k, dense_query=dense_q)
        hits = res.hits
        if entity_search is not None:
            hits = _merge(hits, entity_search.result().hits)
        hits = _merge(hits, self._named_drug_hits(q, hits))
        # Passages the safety layer may need to cite, whatever the question retrieved.
        esc_q = safety.escalation_query(verdict)
        if esc_q:
            hits = _merge(hits, self._fixed_query_hits(esc_q, 3))
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
            from .llm import compose_with_llm, llm_fallback

            try:
                draft = compose_with_llm(q, hits, chat_model=llm, audience=audience, history=turns,
                                         verdict=verdict, timeout_s=self.settings.llm_timeout_s,
                                         query=query, covered_topics=covered,
                                         support=self.support_checker(), deadline=deadline)
                trace.update(draft.llm_trace)
            except AssistantError as e:
                llm_fallback(e, flags, trace)
                draft = None

        def grounded():
            return compose(q, hits, query=query, audience=audience, verdict=verdict, covered_topics=covered,
                           history=turns, vectors=self.sentence_vectors(index))

        if draft is None:
            draft = grounded()
        draft = self._with_safety_hits(draft, hits)
        # Cited sentences that disagree on a number: one line says so, the bottom line follows
        # the most recently reviewed approved document (any composer's answer).
        from .disagree import apply_disagreement

        draft = apply_disagreement(draft)
        timings["compose"] = (time.perf_counter() - t) * 1000

        t = time.perf_counter()
        final = safety.enforce(draft, verdict)
        if final.composer.startswith("llm:"):
            # What enforcement left of the model's answer: citations renumbered in order of use,
            # and the grounded composer instead when it no longer answers the question.
            from .llm import answers_question, llm_fallback, renumber_citations

            final = renumber_citations(final)
            if not answers_question(final, query):
                llm_fallback(None, flags, trace)
                final = safety.enforce(apply_disagreement(self._with_safety_hits(grounded(), hits)), verdict)
        timings["safety_enforce"] = (time.perf_counter() - t) * 1000
        timings["total"] = (time.perf_counter() - t0) * 1000
        if llm is not None:
            from .llm import model_name

            trace["model"] = model_name(llm)
            trace["deadline_s"] = self.settings.llm_deadline_s
            trace["fallback"] = trace.get("fallback")
        final = replace(final, corpus_version=res.corpus_version, condensed_query=query,
                        timings_ms=timings, flags=tuple(final.flags) + tuple(flags), audience=audience,
                        llm_trace=trace)
        if self.audit is not None:
            final = self.audit.record(final, source)
        return final

    def stream(self, question: str, history: Sequence = (), audience: str = "clinician",
               source: str | None = None) -> "AnswerStream":
        """The answer's Markdown in pieces; safety has already run on all of it."""
        return AnswerStream(self.answer(question, history, audience, source))


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
