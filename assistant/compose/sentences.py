"""Passage -> annotated sentences (cached per chunk id: chunk text never changes under an id)."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from ingest.records import Chunk

from ..cues import cues
from ..opioid_terms import names_opioid
from ..request import intent_catalogue
from ..text import clean, number_units, split_sentences, stems, units
from ..vocab import vocabulary

_P = cues().patterns
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class Sent:
    text: str
    chunk_id: str
    idx: int
    heading: str
    """In-chunk heading, if the passage carries heading lines; else ''."""
    step: int | None
    stems: frozenset[str]
    concepts: frozenset[str]
    """Mentioned concepts plus the classes of mentioned drugs."""
    direct: frozenset[str]
    """Mentioned concepts only."""
    dose: bool
    dose_number: bool
    number_units: frozenset[str]
    """Stems of the words that follow a number ("50 MME" -> mme, "3 to 5 days" -> day)."""
    opioid: bool
    opioid_restricted: bool
    dependent: bool = False
    """Leans on the sentence before it ("It", "These agents", "However"): never shown alone."""


_CACHE: dict[str, tuple[Sent, ...]] = {}
_CACHE_MAX = 20000
_CACHE_LOCK = threading.Lock()


_ANSWERS: dict[tuple[str, int, str], bool] = {}


def answers(s: Sent, intent: str) -> bool:
    """Does the sentence match the catalogue intent's answer pattern? (cached)"""
    key = (s.chunk_id, s.idx, intent)
    hit = _ANSWERS.get(key)
    if hit is None:
        if len(_ANSWERS) > 200_000:
            _ANSWERS.clear()
        hit = _ANSWERS[key] = bool(intent_catalogue()[intent].answer.search(s.text))
    return hit


def sentences(chunk: Chunk) -> tuple[Sent, ...]:
    cached = _CACHE.get(chunk.chunk_id)
    if cached is not None:
        return cached
    vocab = vocabulary()
    out: list[Sent] = []
    for unit, heading, step in units(chunk.text):
        # Algorithm steps stay whole: a step is one instruction.
        pieces = [unit] if step is not None else split_sentences(unit)
        for piece in pieces:
            text = clean(piece)
            if len(text.split()) < 4 or text.endswith(":"):
                continue  # fragments and list lead-ins say nothing on their own
            if text[-1] not in ".!?)":
                text += "."
            if _P["pointer"].search(text):
                continue  # "See Table 4": a pointer says nothing on its own
            concepts = vocab.concept_ids(text)
            direct = vocab.concept_ids(text, with_classes=False)
            opioid = names_opioid(text)
            out.append(Sent(
                text=text, chunk_id=chunk.chunk_id, idx=len(out), heading=heading, step=step,
                stems=stems(text), concepts=concepts, direct=direct, dose=bool(_P["dose"].search(text)),
                dose_number=bool(_P["dose_number"].search(text)), number_units=number_units(text), opioid=opioid,
                opioid_restricted=opioid and bool(_P["opioid_restricted"].search(text)),
                dependent=bool(out) and step is None and bool(_P["dependent_start"].search(text))
                and out[-1].heading == heading,
            ))
    result = tuple(out)
    with _CACHE_LOCK:
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.clear()
        _CACHE[chunk.chunk_id] = result
    return result


@dataclass(frozen=True)
class PassageTerms:
    """What ``relevance`` checks a question against, per passage (heading and sentences)."""

    stems: frozenset[str]
    concepts: frozenset[str]
    named: frozenset[str]
    """Concepts the passage names itself (not only through a drug's class)."""
    lower: str
    """Section path and text, lower-cased."""
    words: frozenset[str]


_TERMS: dict[str, PassageTerms] = {}


def passage_terms(chunk: Chunk) -> PassageTerms:
    cached = _TERMS.get(chunk.chunk_id)
    if cached is not None:
        return cached
    vocab = vocabulary()
    st = set(stems(chunk.section))
    co = set(vocab.concept_ids(chunk.section))
    named: set[str] = set()
    for s in sentences(chunk):
        st |= s.stems
        co |= s.concepts
        named |= s.direct
    lower = (chunk.section + " " + chunk.text).lower()
    result = PassageTerms(frozenset(st), frozenset(co), frozenset(named), lower,
                          frozenset(_WORD.findall(lower)))
    with _CACHE_LOCK:
        if len(_TERMS) >= _CACHE_MAX:
            _TERMS.clear()
        _TERMS[chunk.chunk_id] = result
    return result
