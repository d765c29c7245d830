"""Typed records that flow through answering.

question + history -> Turn[] -> (safety) SafetyVerdict
condensed query -> Hit[] -> (compose) Answer -> (safety.enforce) Answer
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from ingest.records import Chunk

Role = Literal["user", "assistant"]
Audience = Literal["clinician", "patient"]
AUDIENCES = ("clinician", "patient")
RED_FLAG_CATEGORIES = (
    "cauda_equina",
    "progressive_neuro_deficit",
    "infection",
    "malignancy",
    "fracture",
)


@dataclass(frozen=True)
class Turn:
    role: Role
    content: str

    def __post_init__(self):
        if self.role not in ("user", "assistant"):
            raise ValueError(f"turn role must be 'user' or 'assistant', got {self.role!r}")
        if not isinstance(self.content, str):
            raise ValueError(f"turn content must be text, got {type(self.content).__name__}")


@dataclass(frozen=True)
class Hit:
    """One retrieved passage with its scores."""

    chunk: Chunk
    score: float
    """Fused score (higher is better)."""
    rank: int
    """1-based rank after fusion."""
    dense_score: float | None = None
    """Cosine similarity to the query, when the dense retriever saw it."""
    bm25_score: float | None = None


@dataclass(frozen=True)
class Citation:
    """A numbered source shown under the answer; opens to the exact passage."""

    n: int
    chunk_id: str
    doc_id: str
    title: str
    section: str
    version: str
    status: str
    last_reviewed: str
    text: str

    @classmethod
    def from_chunk(cls, n: int, c: Chunk) -> "Citation":
        return cls(n, c.chunk_id, c.doc_id, c.title, c.section, c.version, c.status,
                   c.last_reviewed, c.text)

    def to_json(self) -> dict:
        return {"n": self.n, "chunk_id": self.chunk_id, "doc_id": self.doc_id, "title": self.title,
                "section": self.section, "version": self.version, "status": self.status,
                "last_reviewed": self.last_reviewed, "text": self.text}


@dataclass(frozen=True)
class Sentence:
    """One statement of an answer and the citation numbers behind it."""

    text: str
    cites: tuple[int, ...] = ()


SectionKind = Literal[
    "escalation", "notice", "bottom_line", "body", "algorithm", "pitfalls", "out_of_scope", "disclaimer"
]


@dataclass(frozen=True)
class Section:
    heading: str
    sentences: tuple[Sentence, ...]
    kind: SectionKind = "body"
    ordered: bool = False
    """Render as a numbered list (algorithms)."""


@dataclass(frozen=True)
class RedFlag:
    category: str
    """One of RED_FLAG_CATEGORIES."""
    trigger: str
    """The finding as written in the conversation."""
    turn_index: int = -1
    """Index of the user turn it came from (0-based over the whole conversation)."""
    possible: bool = False
    """Described as uncertain, not excluded ("retention not yet ruled out", "?discitis"): it
    escalates all the same, worded as possible."""

    def to_json(self) -> dict:
        return {"category": self.category, "trigger": self.trigger, "possible": self.possible}


@dataclass(frozen=True)
class RuleFired:
    """Trace of one safety rule that fired."""

    rule_id: str
    policy_version: str
    span: str = ""
    detail: str = ""

    def to_json(self) -> dict:
        return {"rule_id": self.rule_id, "policy_version": self.policy_version,
                "span": self.span, "detail": self.detail}


@dataclass(frozen=True)
class SafetyVerdict:
    """What the input check found; drives retrieval hints and enforcement."""

    policy_version: str
    escalated: bool = False
    red_flags: tuple[RedFlag, ...] = ()
    opioid_requested: bool = False
    """The user asked for / pushed towards opioids."""
    pressure: bool = False
    """The user tried to override rules ('ignore the guideline', ...)."""
    opioid_rule_applied: bool = False
    """Set by enforce() when it rewrote, dropped or added anything for the opioid rule."""
    rules_fired: tuple[RuleFired, ...] = ()

    def to_json(self) -> dict:
        return {
            "escalated": self.escalated,
            "red_flags": [r.to_json() for r in self.red_flags],
            "opioid_rule_applied": self.opioid_rule_applied,
            "rules_fired": [r.to_json() for r in self.rules_fired],
            "policy_version": self.policy_version,
        }


@dataclass(frozen=True)
class Answer:
    """A finished answer: structured sections, rendered markdown and its full trace."""

    question: str
    markdown: str
    sections: tuple[Section, ...]
    citations: tuple[Citation, ...]
    safety: SafetyVerdict
    audience: str = "clinician"
    out_of_scope: bool = False
    condensed_query: str | None = None
    corpus_version: str = ""
    hits: tuple[Hit, ...] = ()
    """Every passage retrieved for this answer (what [n] may point at)."""
    timings_ms: dict = field(default_factory=dict)
    flags: tuple[str, ...] = ()
    """e.g. 'llm_fallback', 'invalid_citations_removed'."""
    composer: str = "grounded"
    """'grounded' or 'llm:<model>'."""
    suggestions: tuple[str, ...] = ()
    """Suggested follow-up questions, drawn from retrieved sections."""
    audit_id: int | None = None
    """Row id in the audit log (feedback attaches to it)."""
    llm_trace: dict = field(default_factory=dict)
    """The optional LLM path's trace (both query rewrites, sentences the support check
    dropped, the fallback and why); empty when no LLM is configured."""

    def with_(self, **kw) -> "Answer":
        return replace(self, **kw)

    def to_json(self) -> dict:
        """The stable ``guideline ask --json`` schema (documented in the README)."""
        return {
            "answer": self.markdown,
            "citations": [c.to_json() for c in self.citations],
            "safety": self.safety.to_json(),
            "out_of_scope": self.out_of_scope,
            "condensed_query": self.condensed_query,
            "corpus_version": self.corpus_version,
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "audience": self.audience,
            "composer": self.composer,
            "flags": list(self.flags),
            "retrieved": [h.chunk.chunk_id for h in self.hits],
            "suggestions": list(self.suggestions),
            "audit_id": self.audit_id,
            "llm": self.llm_trace or None,
        }
