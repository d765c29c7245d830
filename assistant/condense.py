"""question + history -> a standalone query, deterministically.

The first question is used as asked. A follow-up ("max dose?", "does he need
imaging?", "and if NSAIDs are contraindicated?") is rewritten so that retrieval
sees the clinical context of the conversation: the entities of earlier user
turns (drugs, pain mechanisms, complaint, background disease, patient context,
red-flag findings, topic) are carried forward as a context tail, pronouns
("it", "that drug") are resolved to the most recent drug or therapy, and
entities that the follow-up replaces are dropped.

The clinical vocabulary lives in ``vocab.yaml`` (see its header for the rules
each category follows); ``compose`` reuses it for synonym-aware matching.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

import yaml

from ingest.errors import ConfigError

from .records import Turn

VOCAB_PATH = Path(__file__).with_name("vocab.yaml")
CATEGORIES = ("agent", "mechanism", "complaint", "disease", "population", "finding", "topic")
# Order of the carried entities in the context tail of a condensed query.
_CONTEXT_ORDER = ("topic", "agent", "mechanism", "complaint", "disease", "population", "finding")


@dataclass(frozen=True)
class Concept:
    id: str
    category: str
    name: str
    aliases: tuple[str, ...]
    aspect: bool = False
    """Topic that asks about an agent (dose, side effects): keeps the agent in context."""
    classes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mention:
    concept: str
    start: int
    end: int
    negated: bool = False
    """A negation cue ("no", "denies", "without") shortly before it in the same clause."""


# "Denies saddle anaesthesia, no fever": a denied finding is not patient context.
_NEGATION = re.compile(
    r"\b(?:no|not|denies|denied|deny|denying|without|negative for|free of|absence of|nil|never|nor|none)\b[^.;:!?]*$",
    re.IGNORECASE)
_NEGATION_BREAK = re.compile(r"\b(?:but|now|however|although|yet)\b", re.IGNORECASE)
_NEGATION_WINDOW = 48
"""Characters looked back for a negation cue."""


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
        self._ci = re.compile(
            r"(?<![\w-])(?:" + "|".join(_alias_pattern(a) for a in ci) + r")(?:e?s)?(?![\w-])",
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
            before = _NEGATION_BREAK.split(text[max(0, f.start - _NEGATION_WINDOW):f.start])[-1]
            out.append(Mention(f.concept, f.start, f.end, True) if _NEGATION.search(before) else f)
        return out

    def concept_ids(self, text: str, *, with_classes: bool = True, affirmed: bool = False) -> frozenset[str]:
        """Concept ids mentioned in text, plus the classes of mentioned drugs.

        ``affirmed`` leaves out negated findings and topics ("no fever", "no red flags").
        """
        ids: set[str] = set()
        for m in self.mentions(text):
            if affirmed and m.negated and self.concepts[m.concept].category in ("finding", "topic", "population"):
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
        ))
    return Vocabulary(concepts, cs)


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The shipped vocabulary, loaded once per process."""
    return load_vocabulary()


# ---------------------------------------------------------------------------
# Conversation state: what each category currently refers to.

_PRONOUN = re.compile(
    r"\b(?:(?:that|this|the|same)\s+(?:drug|medication|medicine|tablet|treatment|one)|it|its|"
    # bare "that" as the subject of a verb: "and if that causes drowsiness?", "if that fails"
    r"that(?=\s+(?:causes?|caused|doesn't|does not|didn't|did not|fails?|failed|isn't|is not|"
    r"works?|worked|helps?|helped|makes?|made|gives?|gave|stops?|stopped)\b))\b",
    re.IGNORECASE,
)
_LEADING_FILLER = re.compile(r"^\s*(?:(?:and|but|so|ok(?:ay)?|also|then|well|right|thanks)\b[,\s]*)+", re.IGNORECASE)


@dataclass
class _State:
    cats: dict[str, list[str]] = field(default_factory=lambda: {c: [] for c in CATEGORIES})
    last_agent: str | None = None
    """The drug or therapy the user named last: what 'it' refers to, even after an
    unrelated turn ("max tizanidine dose?" -> "imaging?" -> "how high can I titrate it?")."""


_NEGATABLE = ("finding", "topic", "population")


def _by_category(vocab: Vocabulary, mentions: Sequence[Mention]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {c: [] for c in CATEGORIES}
    for m in mentions:
        cat = vocab.concepts[m.concept].category
        if m.negated and cat in _NEGATABLE:
            continue  # "no red flags", "denies weight loss": not context to carry
        if m.concept not in out[cat]:
            out[cat].append(m.concept)
    return out


# Topics that stay in play when the follow-up asks about a drug ("max dose?" after
# "how to treat ..." keeps "treatment"; after "does he need imaging?" it drops "imaging").
_AGENT_TOPICS = frozenset({"treatment", "first_line", "second_line", "non_drug"})


def _merge(vocab: Vocabulary, state: _State, new: dict[str, list[str]], *, pronoun: bool) -> _State:
    """The conversation state after one more user turn."""
    prev = state.cats
    aspect_only = all(vocab.concepts[t].aspect for t in new["topic"])
    named = any(new[c] for c in ("agent", "mechanism", "complaint", "finding"))
    about_agent = bool(new["topic"]) and aspect_only and not named  # "max dose?", "side effects?"
    elliptical = not new["topic"] and not named  # "and in pregnancy?", "what about for a patient?"
    merged: dict[str, list[str]] = {}
    # Agents: the turn's own replace earlier ones; an earlier one is carried only
    # when the turn asks about it.
    if new["agent"]:
        merged["agent"] = new["agent"]
    elif pronoun or about_agent:
        merged["agent"] = prev["agent"] or ([state.last_agent] if state.last_agent else [])
    elif elliptical:
        merged["agent"] = prev["agent"]
    else:
        merged["agent"] = []
    for cat in ("mechanism", "complaint"):
        merged[cat] = new[cat] or prev[cat]
    for cat in ("disease", "population", "finding"):
        merged[cat] = prev[cat] + [c for c in new[cat] if c not in prev[cat]]
    if new["topic"] and not aspect_only:
        merged["topic"] = list(new["topic"])
    elif new["topic"]:
        merged["topic"] = new["topic"] + [t for t in prev["topic"] if t in _AGENT_TOPICS and t not in new["topic"]]
    else:
        merged["topic"] = list(prev["topic"])
    if not merged["agent"]:
        # Dose or side-effect questions of earlier turns were about an agent that
        # is no longer in play: keep only this turn's own aspects.
        merged["topic"] = [t for t in merged["topic"] if not vocab.concepts[t].aspect or t in new["topic"]]
    last = new["agent"][-1] if new["agent"] else state.last_agent
    return _State(merged, last)


def _pronoun_target(vocab: Vocabulary, state: _State, new: dict[str, list[str]],
                    text: str | None = None) -> str | None:
    """The agent a pronoun in this turn refers to, if it can be said safely."""
    target = state.cats["agent"][-1] if state.cats["agent"] else state.last_agent
    if target is None:
        return None
    if new["agent"]:
        # "can it be combined with baclofen?": a pronoun before the turn's own drug still
        # means the earlier one; "baclofen: is it safe?" means baclofen.
        if text is None or target in new["agent"]:
            return None
        pron = _PRONOUN.search(text)
        first_agent = min((m.start for m in vocab.mentions(text)
                           if vocab.concepts[m.concept].category == "agent"), default=-1)
        if pron is None or first_agent < 0 or pron.start() > first_agent:
            return None
    # "is it a red flag?" / "does it need imaging?": 'it' is not the drug.
    if new["finding"] or any(not vocab.concepts[t].aspect for t in new["topic"]):
        return None
    return target


_ANAPHORA = re.compile(
    r"\b(?:it|its|he|she|him|her|his|they|them|their|this|that|these|those|same|there|then|instead|"
    r"else|other|another|more|too|also|either|one|(?:the|my|this|our|that) (?:patient|pt|person|client))\b",
    re.IGNORECASE)
_ELLIPTICAL_START = re.compile(
    r"^\s*(?:and|but|so|or|also|then|what about|how about|what if|if|in|for|with|without|after|"
    r"during|while|even|only|plus|any|anything)\b",
    re.IGNORECASE)
_SHORT_FOLLOW_UP_WORDS = 4


def is_follow_up(question: str) -> bool:
    """Does the question lean on the conversation, or stand on its own?

    A question with clinical vocabulary, a pronoun, an elliptical opening ("and if
    ...", "what about ...") or only a few words is read as a follow-up; anything else
    ("What is the capital of France?") is a new question and gets no carried context.
    """
    if vocabulary().mentions(question):
        return True
    if _ANAPHORA.search(question) or _ELLIPTICAL_START.search(question):
        return True
    return len(re.findall(r"\w+", question)) <= _SHORT_FOLLOW_UP_WORDS


def _user_turns(question: str, history: Sequence[Turn]) -> list[str]:
    turns = [t.content for t in history if t.role == "user" and t.content.strip()]
    # Tolerate callers that already appended the current question to history.
    if turns and turns[-1].strip() == question.strip():
        turns.pop()
    return turns


def _answer_lead_agent(vocab: Vocabulary, history: Sequence[Turn]) -> str | None:
    """The first drug named, affirmed, in the latest assistant turn, opioids excepted."""
    for t in reversed(history):
        if t.role == "user":
            continue
        for m in vocab.mentions(t.content):
            c = vocab.concepts[m.concept]
            if c.category == "agent" and not m.negated and c.id != "opioid" and "opioid" not in c.classes:
                return c.id
        return None
    return None


def condense(question: str, history: Sequence[Turn]) -> str:
    """A standalone query for ``question`` given the conversation so far."""
    earlier = _user_turns(question, history)
    if not earlier or not is_follow_up(question):
        return question
    vocab = vocabulary()
    state = _State()
    for text in earlier:  # replay the conversation: each turn updates what is in play
        new = _by_category(vocab, vocab.mentions(text))
        pronoun = bool(_PRONOUN.search(text)) and _pronoun_target(vocab, state, new, text) is not None
        state = _merge(vocab, state, new, pronoun=pronoun)

    if not state.cats["agent"] and state.last_agent is None:
        # "42F, burning legs. First line?" -> "amitriptyline ..." -> "and if that causes
        # drowsiness?": the drug in play is the one the last answer led with. Never an opioid:
        # what the safety layer said about opioids is not a recommendation to follow up on.
        state = _State(state.cats, _answer_lead_agent(vocab, history))

    fu_mentions = vocab.mentions(question)
    new = _by_category(vocab, fu_mentions)
    core = _LEADING_FILLER.sub("", question).strip() or question.strip()
    target = _pronoun_target(vocab, state, new, core) if _PRONOUN.search(core) else None
    if target:
        name = vocab.concepts[target].name
        core = _PRONOUN.sub(name, core, count=1)
    core = core[:1].upper() + core[1:]
    final = _merge(vocab, state, new, pronoun=target is not None)

    mentioned = {m.concept for m in vocab.mentions(core)}
    tail: list[str] = []
    for cat in _CONTEXT_ORDER:
        for cid in final.cats[cat]:
            c = vocab.concepts[cid]
            if cid in mentioned or c.name in tail:
                continue
            tail.append(c.name)
    if not tail:
        return core
    return f"{core} (context: {', '.join(tail)})"


# Clause-level negation cues. Used only to shape the retrieval query: "denies saddle
# anaesthesia, no fever" should retrieve treatment guidance, not red-flag passages. Safety
# decisions never use this (they run on the full text in assistant/safety).
_NEGATED_CLAUSE = re.compile(
    r"\b(?:denies|denied|denying|no|without|negative for|nil|not)\b(?!\s+(?:first|better|responding|"
    r"improving|tolerat|controlled|helped|working|able))[^.;,?!()]*|\b(?:afebrile|apyrexial)\b",
    re.IGNORECASE,
)


def retrieval_query(query: str) -> str:
    """The query for search: negated findings removed (unless that leaves too little to
    search) and abbreviations spelled out ("LBP" -> "back pain"), which neither BM25 nor the
    embedding model would otherwise connect to the guideline text."""
    stripped = re.sub(r"\s{2,}", " ", _NEGATED_CLAUSE.sub(" ", query)).strip(" ,;.")
    q = stripped if len(re.findall(r"[A-Za-z]{3,}", stripped)) >= 3 else query
    vocab = vocabulary()
    lower = q.lower()
    extra: list[str] = []
    for m in vocab.mentions(q):
        name = vocab.concepts[m.concept].name
        if not m.negated and name.lower() not in lower and name not in extra:
            extra.append(name)
    return f"{q} ({', '.join(extra)})" if extra else q
