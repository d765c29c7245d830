"""Is a sentence supported by the passage(s) it cites? Deterministic and offline.

Every sentence the optional LLM writes is checked before it is shown (``assistant/llm.py``).
A sentence is supported by its cited passages when all of these hold:

1. **numbers**: every number in it, with its unit (units normalised: "milligrams" = "mg",
   "three times" = "3 times"), appears in a cited passage, in a sentence that itself passes
   the similarity test (so a dose moved from one statement to another is caught);
2. **entities**: every drug (canonicalised by drug-named-entity-recognition plus the reviewed
   supplement ``support_drugs.yaml``: "Lyrica" = "pregabalin"), and every procedure, non-drug
   treatment and population of ``vocab.yaml`` it names, is named by a cited passage (a
   passage naming ibuprofen supports "NSAIDs"; one naming NSAIDs does not support "ibuprofen");
3. **meaning**: its cosine similarity to the best-matching sentence of the cited passages,
   with the product's embedding model, is at least ``min_similarity`` (fitted on
   supported/unsupported pairs built from the corpus: ``bench/bench_support.py``);
4. **polarity**: it and that best-matching sentence have as many negation cues
   ("X is not recommended" is not supported by "X is recommended").

Best-matching means among the cited passages' sentences and pairs of adjacent sentences.

Cue words, units and the threshold live in ``support.yaml`` (with where the threshold was
fitted); drug names the library misses in ``support_drugs.yaml``.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import yaml

from core.errors import ConfigError

from .drugs import supplement

SUPPORT_PATH = Path(__file__).with_name("support.yaml")


@dataclass(frozen=True)
class SupportConfig:
    min_similarity: float
    fitted: dict
    entity_categories: tuple[str, ...]
    entity_concepts: tuple[str, ...]
    negation: re.Pattern
    number_words: dict[str, int]
    units: dict[str, str]
    """spelling (lower case) -> canonical unit"""
    number_re: re.Pattern


@dataclass(frozen=True)
class SupportResult:
    """The verdict on one sentence."""

    sentence: str
    supported: bool
    reasons: tuple[str, ...]
    """Why not, one line per failed test (empty when supported)."""
    similarity: float
    best_match: str
    """The cited sentence closest in meaning."""
    number_similarity: float = 1.0
    """Weakest, over the sentence's numbers, of the best similarity of a cited sentence stating it."""

    def to_json(self) -> dict:
        return {"sentence": self.sentence, "supported": self.supported, "reasons": list(self.reasons),
                "similarity": round(self.similarity, 3), "best_match": self.best_match}


def _load_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"cannot read {path}: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def load_config(path: Path = SUPPORT_PATH) -> SupportConfig:
    data = _load_yaml(path)
    try:
        th = data["thresholds"]
        min_sim = float(th["min_similarity"])
        fitted = dict(th.get("fitted") or {})
    except (KeyError, TypeError, ValueError):
        raise ConfigError(f"{path}: thresholds.min_similarity must be a number") from None
    if not -1.0 <= min_sim <= 1.0:
        raise ConfigError(f"{path}: thresholds.min_similarity must be a cosine in [-1, 1], got {min_sim}")
    cues = [str(c) for c in data.get("negation_cues") or ()]
    if not cues:
        raise ConfigError(f"{path}: negation_cues is empty")
    neg = re.compile("|".join(r"n't\b" if c == "n't" else rf"\b{re.escape(c)}\b" for c in cues), re.I)
    units: dict[str, str] = {}
    for canon, spellings in (data.get("units") or {}).items():
        for s in spellings or ():
            units[str(s).lower()] = str(canon)
    words = {str(k).lower(): int(v) for k, v in (data.get("number_words") or {}).items()}
    alts = sorted(units, key=len, reverse=True)
    unit_alt = "|".join(r"\s+".join(re.escape(p) for p in a.split()) for a in alts)
    num = r"\d+(?:\.\d+)?|" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    number_re = re.compile(
        rf"(?<![\w.])(?P<a>{num})(?:\s*(?:to|-|\u2013|or|and)\s*(?P<b>\d+(?:\.\d+)?|{'|'.join(map(re.escape, words))}))?"
        rf"(?:\s*-?\s*(?P<unit>%|(?:{unit_alt})(?![A-Za-z])))?", re.I)
    return SupportConfig(
        min_similarity=min_sim, fitted=fitted,
        entity_categories=tuple(data.get("entity_categories") or ()),
        entity_concepts=tuple(data.get("entity_concepts") or ()),
        negation=neg, number_words=words, units=units, number_re=number_re,
    )


@lru_cache(maxsize=1)
def config() -> SupportConfig:
    return load_config()


@lru_cache(maxsize=1)
def _supplement() -> tuple[re.Pattern | None, dict[str, frozenset[str]]]:
    names = {k: frozenset(gens) for k, gens in supplement()[0].items()}
    if not names:
        return None, {}
    alts = sorted(names, key=len, reverse=True)
    pat = re.compile(r"(?<![\w-])(?:" + "|".join(r"[\s-]+".join(map(re.escape, re.split(r"[\s-]+", a))) for a in alts)
                     + r")(?![\w-])", re.I)
    return pat, names


# --------------------------------------------------------------------------- sentences

_HEADING = re.compile(r"^\s*#{1,6}\s")
_MARKER = re.compile(r"^\s*(?:[-*+\u2022]|\d{1,2}[.)])\s+")
_SPLIT = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[A-Z0-9\"(\[])")
_ABBREV_END = re.compile(r"(?:\b(?:e\.g|i\.e|vs|etc|approx|Dr|Prof|St|No|Fig|al|cf)\.|\b[A-Z]\.)$")


def split_sentences(text: str) -> list[str]:
    """A passage's sentences: one per line of prose, bullets and table rows included."""
    out: list[str] = []
    for line in text.splitlines():
        if not line.strip() or _HEADING.match(line) or re.fullmatch(r"\s*\|?[\s:|-]+\|?\s*", line):
            continue
        line = re.sub(r"(\*\*|__|`)", "", _MARKER.sub("", line))
        if line.lstrip().startswith("|"):
            out.append(" ".join(c.strip() for c in line.strip().strip("|").split("|") if c.strip()))
            continue
        buf = ""
        for piece in _SPLIT.split(line.strip()):
            buf = f"{buf} {piece}".strip() if buf else piece
            if not _ABBREV_END.search(buf):
                out.append(buf)
                buf = ""
        if buf:
            out.append(buf)
    return [s for s in out if re.search(r"[A-Za-z]", s)]


# --------------------------------------------------------------------------- numbers, drugs, entities

def _value(tok: str, cfg: SupportConfig) -> str:
    t = tok.lower()
    if t in cfg.number_words:
        return str(cfg.number_words[t])
    return f"{float(t):g}"


def numbers(text: str, cfg: SupportConfig | None = None) -> frozenset[tuple[str, str | None]]:
    """(value, canonical unit or None) for every number; a range's unit applies to both ends.
    Number words count only before a unit ("three times", "two weeks")."""
    cfg = cfg or config()
    out: set[tuple[str, str | None]] = set()
    for m in cfg.number_re.finditer(text):
        unit = m.group("unit")
        canon = cfg.units.get(re.sub(r"\s+", " ", unit.lower())) if unit else None
        for g in ("a", "b"):
            tok = m.group(g)
            if tok is None:
                continue
            if not tok[0].isdigit() and canon is None:
                continue
            out.add((_value(tok, cfg), canon))
    return frozenset(out)


def _numbers_supported(sent: Iterable[tuple[str, str | None]], passage: frozenset) -> list[str]:
    values = {v for v, _ in passage}
    missing = []
    for v, u in sorted(sent, key=lambda x: (x[0], x[1] or "")):
        ok = (v, u) in passage if u else v in values
        if not ok:
            missing.append(f"{v} {u}" if u else v)
    return missing


_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'-]*")
_drug_lock = threading.Lock()


@lru_cache(maxsize=8192)
def drug_mentions(text: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """(surface, canonical names) for each drug or drug class named in ``text``."""
    from drug_named_entity_recognition import find_drugs

    tokens = _TOKEN.findall(text)
    with _drug_lock:  # the library keeps module-level state
        found = find_drugs(tokens, is_ignore_case=True) if tokens else []
    out: list[tuple[str, frozenset[str]]] = []
    for info, start, end in found:
        name = str(info.get("name", "")).lower()
        if name:
            out.append((" ".join(tokens[start:end]), frozenset({name})))
    pat, names = _supplement()
    if pat is not None:
        for m in pat.finditer(text):
            key = re.sub(r"[\s-]+", " ", m.group(0).lower())
            canon = names.get(key) or names.get(m.group(0).lower())
            if canon is None:
                canon = next((v for k, v in names.items() if re.sub(r"[\s-]+", " ", k) == key), None)
            if canon:
                out.append((m.group(0), canon))
    return tuple(out)


def _vocab():
    from .condense import vocabulary

    return vocabulary()


def _entity_mentions(text: str, cfg: SupportConfig) -> list[tuple[str, str]]:
    """(surface, concept id) for vocabulary entities the check covers."""
    v = _vocab()
    out = []
    for m in v.mentions(text):
        c = v.concepts[m.concept]
        if c.category in cfg.entity_categories or c.id in cfg.entity_concepts:
            out.append((text[m.start:m.end], c.id))
    return out


@dataclass(frozen=True)
class _Evidence:
    """What the cited passages name: numbers, drugs, vocabulary concepts (with classes)."""

    numbers: frozenset
    drugs: frozenset[str]
    concepts: frozenset[str]


def _evidence(texts: Sequence[str], cfg: SupportConfig) -> _Evidence:
    nums: set = set()
    drugs: set[str] = set()
    concepts: set[str] = set()
    v = _vocab()
    for t in texts:
        nums |= numbers(t, cfg)
        for _, canon in drug_mentions(t):
            drugs |= canon
        concepts |= v.concept_ids(t, with_classes=True)
    return _Evidence(frozenset(nums), frozenset(drugs), frozenset(concepts))


def _entities_unsupported(sentence: str, ev: _Evidence, cfg: SupportConfig) -> list[str]:
    v = _vocab()
    missing: list[str] = []
    for surface, canon in drug_mentions(sentence):
        if canon & ev.drugs or v.concept_ids(surface, with_classes=False) & ev.concepts:
            continue
        missing.append(f"drug '{surface}'")
    for surface, cid in _entity_mentions(sentence, cfg):
        if cid in ev.concepts:
            continue
        if any(canon & ev.drugs for _, canon in drug_mentions(surface)):
            continue
        label = f"drug '{surface}'" if drug_mentions(surface) else f"'{surface}'"
        if label not in missing:
            missing.append(label)
    return missing


def negations(text: str, cfg: SupportConfig | None = None) -> int:
    """How many negation cues: "not usually not needed" (2) is not "not needed" (1)."""
    return len((cfg or config()).negation.findall(text))


def candidates(passages: Sequence[str]) -> list[str]:
    """What a sentence is compared with: each passage sentence, and each two adjacent ones
    joined (a model often merges two sentences into one)."""
    out: list[str] = []
    for p in passages:
        sents = split_sentences(p)
        out.extend(sents)
        out.extend(f"{a} {b}" for a, b in zip(sents, sents[1:]))
    return out


# --------------------------------------------------------------------------- the check


class SupportChecker:
    """Checks sentences against passages with one embedder (the product's query embedder).

    Passage sentences are embedded once per process and reused (an LRU of vectors)."""

    MAX_CACHE = 20000

    def __init__(self, embedder, cfg: SupportConfig | None = None):
        self.embedder = embedder
        self.cfg = cfg or config()
        self._vecs: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def _embed(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        need = [t for t in dict.fromkeys(texts) if t not in self._vecs]
        if need:
            arr = np.asarray(self.embedder.embed_documents(list(need)), dtype=np.float32)
            arr /= np.maximum(np.linalg.norm(arr, axis=1, keepdims=True), 1e-12)
            with self._lock:
                for t, vec in zip(need, arr):
                    self._vecs[t] = vec
                while len(self._vecs) > self.MAX_CACHE:
                    self._vecs.popitem(last=False)
        with self._lock:
            return {t: self._vecs[t] for t in texts}

    def preload(self, vectors: dict[str, np.ndarray]) -> None:
        """Vectors made earlier by the same model (a corpus version's stored sentence vectors)."""
        with self._lock:
            for t, v in vectors.items():
                self._vecs[t] = np.asarray(v, dtype=np.float32)
            while len(self._vecs) > self.MAX_CACHE:
                self._vecs.popitem(last=False)

    def vectors(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Unit vectors of ``texts`` (cached per process)."""
        return self._embed(texts)

    def check(self, sentence: str, passages: Sequence[str]) -> SupportResult:
        return self.check_many([(sentence, passages)])[0]

    def check_many(self, items: Sequence[tuple[str, Sequence[str]]]) -> list[SupportResult]:
        """One verdict per (sentence, cited passage texts)."""
        cfg = self.cfg
        per_item = [candidates(passages) for _, passages in items]
        vecs = self._embed([s for s, _ in items] + [s for ss in per_item for s in ss])
        out: list[SupportResult] = []
        for (sentence, passages), cands in zip(items, per_item):
            reasons: list[str] = []
            ev = _evidence(passages, cfg)
            sent_nums = numbers(sentence, cfg)
            miss = _numbers_supported(sent_nums, ev.numbers)
            if miss:
                reasons.append("number " + ", ".join(f"'{m}'" for m in miss) + " not in the cited passage")
            ents = _entities_unsupported(sentence, ev, cfg)
            if ents:
                reasons.append(", ".join(ents) + " not named in the cited passage")
            best, sim, num_sim = "", -1.0, 1.0
            if cands:
                q = vecs[sentence]
                sims = [float(q @ vecs[c]) for c in cands]
                i = int(np.argmax(sims))
                best, sim = cands[i], sims[i]
                if sent_nums and not miss:
                    # Each number must be stated by a cited sentence that itself supports this one:
                    # "started at 75 mg" is not supported by "no more than 75 mg per day".
                    cand_nums = [numbers(c, cfg) for c in cands]
                    for v, u in sent_nums:
                        num_sim = min(num_sim, max(
                            (x for x, cn in zip(sims, cand_nums)
                             if ((v, u) in cn if u else any(cv == v for cv, _ in cn))), default=-1.0))
            if sim < cfg.min_similarity:
                reasons.append(f"similarity {sim:.2f} to the closest cited sentence is below {cfg.min_similarity:g}")
            elif negations(sentence, cfg) != negations(best, cfg):
                reasons.append("negation differs from the closest cited sentence")
            elif num_sim < cfg.min_similarity:
                reasons.append("a number is stated only in a cited sentence that does not match this one "
                               f"(similarity {num_sim:.2f})")
            out.append(SupportResult(sentence, not reasons, tuple(reasons), sim, best, num_sim))
        return out


# --------------------------------------------------------------------------- does an answer still answer?

_KEY_CATEGORIES = ("mechanism", "complaint", "disease", "population", "finding")


def key_entities(query: str) -> frozenset[str]:
    """The concepts an answer to ``query`` must still name: the drugs it asks about (for
    "max dose?" the drug carried from the conversation), else its condition, population or
    finding, else its subject topic. Empty when the query names nothing we know."""
    from .condense import split_context

    v = _vocab()
    core, tail = split_context(query)
    mentions = [x for x in v.mentions(core) if not x.negated]
    cats: dict[str, set[str]] = {}
    for x in mentions:
        cats.setdefault(v.concepts[x.concept].category, set()).add(x.concept)
    if cats.get("agent"):
        return frozenset(cats["agent"])
    aspect = any(v.concepts[c].aspect for c in cats.get("topic", ()))
    if aspect and tail:
        agents = {x.concept for x in v.mentions(tail) if v.concepts[x.concept].category == "agent"}
        if agents:
            return frozenset(agents)
    named = set().union(*(cats.get(c, set()) for c in _KEY_CATEGORIES))
    if named:
        return frozenset(named)
    return frozenset(c for c in cats.get("topic", ()) if not v.concepts[c].aspect)


def addresses(query: str, sentences: Sequence[str]) -> bool:
    """Do these content sentences still answer ``query`` (name one of its key entities)?"""
    if not sentences:
        return False
    keys = key_entities(query)
    if not keys:
        return True
    v = _vocab()
    direct: set[str] = set()
    expanded: set[str] = set()
    for s in sentences:
        direct |= v.concept_ids(s, with_classes=False)
        expanded |= v.concept_ids(s, with_classes=True)
    # A drug is answered for by a statement about it or about its class ("opioids" for
    # oxycodone); a class by a statement about one of its drugs ("ibuprofen" for NSAIDs).
    # A sibling drug of the same class ("baclofen" for tizanidine) does not answer.
    classes = {c for k in keys for c in v.concepts[k].classes}
    return bool(keys & expanded or classes & direct)


# --------------------------------------------------------------------------- a model's rewrite of a follow-up

_WORD = re.compile(r"[a-z0-9][a-z0-9']*")


@lru_cache(maxsize=1)
def _condensation_rules() -> tuple[frozenset[str], tuple[str, ...]]:
    data = _load_yaml(SUPPORT_PATH)
    words = frozenset(str(w).lower() for w in data.get("condensation_function_words") or ())
    cats = tuple(data.get("condensation_entity_categories") or ())
    if not words or not cats:
        raise ConfigError(f"{SUPPORT_PATH}: condensation_function_words and condensation_entity_categories "
                          "must not be empty")
    return words, cats


def _stems(words: Iterable[str]) -> list[str]:
    from .text import stem_words

    return stem_words(list(words))


def rewrite_problems(question: str, history: Sequence, rewrite: str) -> list[str]:
    """Why a model's standalone rewrite of the follow-up ``question`` cannot be used (empty
    list: it can). It must keep every entity and every content word of the follow-up
    ("tizanidine", "imaging", "driving") and may add only entities the conversation named."""
    function_words, cats = _condensation_rules()
    v = _vocab()
    problems: list[str] = []
    q_ids = v.concept_ids(question, with_classes=False)
    r_ids = v.concept_ids(rewrite, with_classes=True)
    lost = sorted(v.concepts[c].name for c in q_ids - r_ids)
    if lost:
        problems.append("drops " + ", ".join(f"'{x}'" for x in lost))
    # Content words outside vocabulary entities, compared by stem.
    spans = [(m.start, m.end) for m in v.mentions(question)]
    words = [m.group(0) for m in _WORD.finditer(question.lower())
             if m.group(0) not in function_words and not m.group(0).isdigit()
             and not any(s <= m.start() < e for s, e in spans)]
    if words:
        have = set(_stems(_WORD.findall(rewrite.lower())))
        # "max" is kept by "maximum": a stem that begins the other counts.
        missing = [w for w, st in zip(words, _stems(words))
                   if not any(h.startswith(st) or (len(h) >= 3 and st.startswith(h)) for h in have)]
        if missing:
            problems.append("drops the word(s) " + ", ".join(f"'{w}'" for w in dict.fromkeys(missing)))
    allowed = set(q_ids)
    for t in history:
        allowed |= v.concept_ids(t.content, with_classes=True)
    added = sorted(v.concepts[c].name for c in v.concept_ids(rewrite, with_classes=False) - allowed
                   if v.concepts[c].category in cats)
    if added:
        problems.append("adds " + ", ".join(f"'{x}'" for x in added) + ", not named in the conversation")
    return problems
