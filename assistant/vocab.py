"""The clinical vocabulary (``vocab.yaml``): concepts, their aliases and classes, and a
matcher that finds their mentions in text (with negation from ``assistant/negation.py``).

Used by follow-up condensation, the composer and the relevance gate alike.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import yaml

from core.errors import ConfigError

from .negation import negated_before

VOCAB_PATH = Path(__file__).with_name("vocab.yaml")
CATEGORIES = ("agent", "mechanism", "complaint", "disease", "population", "finding", "topic")
NEGATABLE = ("finding", "topic", "population", "disease", "mechanism")
"""Categories a negation removes from what a text is about ("no fever", "no MS"). A negated
drug stays: "no NSAIDs (CKD)" still says which drug is in question."""


@dataclass(frozen=True)
class Concept:
    id: str
    category: str
    name: str
    aliases: tuple[str, ...]
    aspect: bool = False
    """Topic that asks about an agent (dose, side effects): keeps the agent in context."""
    classes: tuple[str, ...] = ()
    normal_at_least: float | None = None
    """A measurement right after the mention at or above this is a normal result ("eGFR 72"):
    the mention counts as negated (the patient does not have the condition)."""


_VALUE_AFTER = re.compile(r"\s*(?:of|is|was|now|:|=|~|about|approx\.?|around|roughly)?\s*(?:of\s*)?"
                          r"(?:>=?|≥|over|above)?\s*(\d+(?:\.\d+)?)\b", re.I)
"""A value right after a measurement's name ("eGFR 72", "eGFR >90"); a lower bound ("<30") is not read."""
_QUALIFIED_COMPOUND = (r"(?!-(?!(?:type|like|induced|related|associated|based|containing|sparing|naive|"
                       r"resistant|responsive|refractory|treated|dependent|seeking)\b)\w)")
"""After a concept's name: a hyphen only when a qualifying word follows it."""
_NORMAL_BEFORE = re.compile(r"\b(?:normal|unremarkable|preserved)\s+$", re.I)
"""A normal result named first ("Normal renal function"): the patient is not in that population."""
_NORMAL_AFTER = re.compile(r"\s*(?:is|was|are|were|:|-)?\s*(?:normal|nad|wnl|unremarkable|within normal limits)\b", re.I)
"""A population named by its test, with a normal result ("LFTs normal", "renal function normal")."""


@dataclass(frozen=True)
class Mention:
    concept: str
    start: int
    end: int
    negated: bool = False
    """A negation cue ("no", "denies", "without") shortly before it in the same clause."""




def _alias_pattern(alias: str) -> str:
    # Spaces and hyphens are interchangeable ("first line" == "first-line").
    parts = re.split(r"[\s-]+", alias.strip())
    return r"[\s-]+".join(re.escape(p) for p in parts)


def _norm(text: str) -> str:
    return re.sub(r"[\s-]+", " ", text.strip().lower())


class Vocabulary:
    """Concepts plus two compiled matchers (case-insensitive and case-sensitive)."""

    def __init__(self, concepts: Iterable[Concept], cs_aliases: dict[str, str]):
        self.concepts: dict[str, Concept] = {c.id: c for c in concepts}
        self._lookup: dict[str, str] = {}
        for c in self.concepts.values():
            for a in c.aliases:
                self._lookup.setdefault(_norm(a), c.id)
        self._cs_lookup = dict(cs_aliases)
        self._memo: dict[str, tuple[Mention, ...]] = {}
        self._memo_lock = threading.Lock()
        ci = sorted(self._lookup, key=len, reverse=True)
        # Whole words only, optional plural; longest alias first so that
        # "intrathecal baclofen" wins over "baclofen".
        # A hyphenated compound names the concept when its second part only qualifies it
        # ("Sativex-type spray", "baclofen-induced weakness"); other compounds are words of
        # their own ("pain-free", "anti-inflammatory").
        self._ci = re.compile(
            r"(?<![\w-])(?:" + "|".join(_alias_pattern(a) for a in ci) + r")(?:e?s)?(?!\w)" + _QUALIFIED_COMPOUND,
            re.IGNORECASE,
        )
        cs = sorted(self._cs_lookup, key=len, reverse=True)
        self._cs = re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(a) for a in cs) + r")(?![\w-])") if cs else None

    def _resolve(self, matched: str) -> str | None:
        key = _norm(matched)
        for cand in (key, key[:-1] if key.endswith("s") else None, key[:-2] if key.endswith("es") else None):
            if cand and cand in self._lookup:
                return self._lookup[cand]
        return None

    def mentions(self, text: str) -> tuple[Mention, ...]:
        """Concept mentions in text order (overlaps resolved longest-first)."""
        # Earlier turns are re-read at every follow-up: remember recent texts.
        hit = self._memo.get(text)
        if hit is None:
            hit = tuple(self._find(text))
            with self._memo_lock:
                self._memo[text] = hit
                if len(self._memo) > 2048:
                    self._memo.pop(next(iter(self._memo)), None)
        return hit

    def _find(self, text: str) -> list[Mention]:
        found: list[Mention] = []
        for m in self._ci.finditer(text):
            cid = self._resolve(m.group(0))
            if cid:
                found.append(Mention(cid, m.start(), m.end()))
        if self._cs is not None:
            taken = [(f.start, f.end) for f in found]
            for m in self._cs.finditer(text):
                if not any(s < m.end() and m.start() < e for s, e in taken):
                    found.append(Mention(self._cs_lookup[m.group(0)], m.start(), m.end()))
        found.sort(key=lambda f: f.start)
        out = []
        for f in found:
            normal = self.concepts[f.concept].normal_at_least
            if normal is not None and (v := _VALUE_AFTER.match(text, f.end)) and float(v.group(1)) >= normal:
                out.append(Mention(f.concept, f.start, f.end, True))  # a normal result
            elif self.concepts[f.concept].category == "population" and (
                    _NORMAL_AFTER.match(text, f.end) or _NORMAL_BEFORE.search(text, max(0, f.start - 16), f.start)):
                out.append(Mention(f.concept, f.start, f.end, True))
            else:
                out.append(Mention(f.concept, f.start, f.end, True) if negated_before(text, f.start) else f)
        return out

    def concept_ids(self, text: str, *, with_classes: bool = True, affirmed: bool = False) -> frozenset[str]:
        """Concept ids mentioned in text, plus the classes of mentioned drugs.

        ``affirmed`` leaves out negated mentions of the ``NEGATABLE`` categories ("no fever", "no MS").
        """
        ids: set[str] = set()
        for m in self.mentions(text):
            if affirmed and m.negated and self.concepts[m.concept].category in NEGATABLE:
                continue
            ids.add(m.concept)
            if with_classes:
                ids.update(self.concepts[m.concept].classes)
        return frozenset(ids)


def load_vocabulary(path: Path = VOCAB_PATH) -> Vocabulary:
    try:
        # The C loader is ~15x faster than the pure-Python one.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"cannot read clinical vocabulary {path}: {e}") from None
    concepts: list[Concept] = []
    cs: dict[str, str] = {}
    for i, raw in enumerate((data or {}).get("concepts") or []):
        cid = raw.get("id")
        cat = raw.get("category")
        if not cid or cat not in CATEGORIES:
            raise ConfigError(f"{path}: concept #{i} ({cid!r}) has no id or an unknown category {cat!r}")
        aliases = tuple(str(a) for a in raw.get("aliases") or ())
        for a in raw.get("cs_aliases") or ():
            cs[str(a)] = cid
        concepts.append(Concept(
            id=cid, category=cat, name=str(raw.get("name") or (aliases[0] if aliases else cid)),
            aliases=aliases, aspect=bool(raw.get("aspect", False)),
            classes=tuple(raw.get("classes") or ()),
            normal_at_least=float(raw["normal_at_least"]) if raw.get("normal_at_least") is not None else None,
        ))
    return Vocabulary(concepts, cs)


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The shipped vocabulary, loaded once per process."""
    return load_vocabulary()
