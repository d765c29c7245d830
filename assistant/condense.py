"""question + history -> a standalone query, deterministically.

The first question is used as asked. A follow-up ("max dose?", "does he need
imaging?", "and if NSAIDs are contraindicated?") is rewritten so that retrieval
sees the clinical context of the conversation: the entities of earlier user
turns (drugs, pain mechanisms, complaint, background disease, patient context,
red-flag findings, topic) are carried forward as a context tail, pronouns
("it", "that drug") are resolved to the most recent drug or therapy, and
entities that the follow-up replaces are dropped.

The clinical vocabulary is ``vocab.yaml`` (loaded by ``assistant/vocab.py``; see its header
for the rules each category follows).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

from .cues import cues
from .drugs import drugs_named, generic_names
from .negation import strip_negated_clauses
from .records import Turn
from .request import NEW_REQUEST_INTENTS, recognise_intents, split_request, treatment_state
from .vocab import CATEGORIES, NEGATABLE, VOCAB_PATH, Concept, Mention, Vocabulary, load_vocabulary, vocabulary  # noqa: F401

# Order of the carried entities in the context tail of a condensed query.
_CONTEXT_ORDER = ("topic", "agent", "mechanism", "complaint", "disease", "population", "finding")

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


def _by_category(vocab: Vocabulary, mentions: Sequence[Mention]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {c: [] for c in CATEGORIES}
    for m in mentions:
        cat = vocab.concepts[m.concept].category
        if m.negated and cat in NEGATABLE:
            continue  # "no red flags", "denies weight loss": not context to carry
        if m.concept not in out[cat]:
            out[cat].append(m.concept)
    return out


# Topics that stay in play when the follow-up asks about a drug ("max dose?" after
# "how to treat ..." keeps "treatment"; after "does he need imaging?" it drops "imaging").
_AGENT_TOPICS = frozenset({"treatment", "first_line", "second_line", "non_drug"})


def _merge(vocab: Vocabulary, state: _State, new: dict[str, list[str]], *, pronoun: bool,
           new_request: bool = False) -> _State:
    """The conversation state after one more user turn.

    ``new_request``: the turn asks something new of its own (home advice, imaging, the
    non-drug plan ...): it keeps the patient's context but not the earlier drug or topic."""
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
    elif new_request:
        merged["agent"] = []
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
    elif new_request:
        merged["topic"] = []
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


_NEW_PATIENT = cues().patterns["new_patient"]
_ANAPHORA = re.compile(
    r"\b(?:it|its|he|she|him|her|his|they|them|their|this|that|these|those|same|there|then|instead|"
    r"else|other|another|more|too|also|either|one|(?:the|my|this|our|that) (?:patient|pt|person|client))\b",
    re.IGNORECASE)
_ELLIPTICAL_START = re.compile(
    r"^\s*(?:and|but|so|or|also|then|what about|how about|what if|if|in|for|with|without|after|"
    r"during|while|even|only|plus|any|anything)\b",
    re.IGNORECASE)
_SHORT_FOLLOW_UP_WORDS = 4
_DOSE_ONLY = re.compile(r"\b\d+(?:[.,]\d+)?\s?(?:mg|mcg|micrograms?)\b", re.IGNORECASE)


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


_RECONSIDER = cues().patterns["reconsider"]


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
    if not earlier or not is_follow_up(question) or _NEW_PATIENT.search(question):
        return question  # "Different patient entirely - ...": nothing carries over
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
    elif state.cats["agent"]:
        # "Spasticity despite oral baclofen. Options?" -> "Botulinum toxin ..." -> "We injected
        # last Tuesday, when will she notice?": when every drug the user named failed or was not
        # tolerated, the one the last answer led with is what the follow-up is about.
        failed = {t.drug for t in treatment_state(earlier) if t.response in ("none", "intolerant")}
        lead = _answer_lead_agent(vocab, history)
        if lead and lead not in state.cats["agent"] and set(state.cats["agent"]) <= failed:
            cats = {k: list(v) for k, v in state.cats.items()}
            cats["agent"] = [lead] + cats["agent"]
            state = _State(cats, lead)

    fu_mentions = vocab.mentions(question)
    new = _by_category(vocab, fu_mentions)
    core = _LEADING_FILLER.sub("", question).strip() or question.strip()
    target = _pronoun_target(vocab, state, new, core) if _PRONOUN.search(core) else None
    if target:
        name = vocab.concepts[target].name
        core = _PRONOUN.sub(name, core, count=1)
    core = core[:1].upper() + core[1:]
    # "What should she do at home?" after a question about tizanidine asks something new.
    asks = set(recognise_intents(split_request(question)[0] or question))
    # "... the scan showed cirrhosis. Does that change your answer?" asks nothing new.
    reconsiders = bool(_RECONSIDER.search(question))
    new_request = bool(asks & NEW_REQUEST_INTENTS) and target is None and not new["agent"] and not reconsiders
    # "He's on 4 mg TDS now": a dose without a drug's name is the drug in play, and a therapy
    # named beside it ("before his afternoon physio session") does not replace that drug.
    unnamed_dose = (not new_request and _DOSE_ONLY.search(question) is not None
                    and not any(drugs_named(vocab.concepts[a].name) for a in new["agent"]))
    reconsider = reconsiders and not new["agent"]
    if reconsider:
        # What the update tells ("the scan showed cirrhosis") is the patient's story, not a new
        # topic: the drug and topic in play carry over.
        new = {**new, "topic": []}
    final = _merge(vocab, state, new, pronoun=target is not None or reconsider or (unnamed_dose and not new["agent"]),
                   new_request=new_request)
    if unnamed_dose and new["agent"]:
        carried = state.cats["agent"] or ([state.last_agent] if state.last_agent else [])
        final.cats["agent"] = list(dict.fromkeys(carried + final.cats["agent"]))

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


_CONTEXT_TAIL = re.compile(r"\s*\(context:\s*(.*?)\)\s*$", re.I | re.S)


def split_context(query: str) -> tuple[str, str]:
    """(the question, its carried context) of a query ``condense`` wrote; ("query", "") when
    it carries none."""
    m = _CONTEXT_TAIL.search(query)
    return (query[:m.start()], m.group(1)) if m else (query, "")


def retrieval_query(query: str) -> str:
    """The query for search: negated findings removed (unless that leaves too little to
    search) and the vocabulary names of its entities added ("LBP" -> "back pain"), which BM25
    would otherwise not connect to the guideline text."""
    return retrieval_texts(query)[0]


def retrieval_texts(query: str) -> tuple[str, str]:
    """(what BM25 reads, what the embedding model reads). BM25 reads ``retrieval_query``. The
    model connects words by meaning itself and a longer text costs it time on every answer, so
    it reads the question with only what it cannot know: the names of abbreviations ("LBP")
    and the generic names of brands ("Sativex" -> nabiximols)."""
    stripped = re.sub(r"\s{2,}", " ", strip_negated_clauses(query)).strip(" ,;.")
    q = stripped if len(re.findall(r"[A-Za-z]{3,}", stripped)) >= 3 else query
    vocab = vocabulary()
    lower = q.lower()
    extra: list[str] = []
    short: list[str] = []
    for m in vocab.mentions(q):
        name = vocab.concepts[m.concept].name
        if not m.negated and name.lower() not in lower and name not in extra:
            extra.append(name)
            if _ABBREVIATION.fullmatch(q[m.start:m.end]):
                short.append(name)
    brands = generic_names(q)
    extra += [g for g in brands if g not in extra]
    short += [g for g in brands if g not in short]
    return (f"{q} ({', '.join(extra)})" if extra else q), (f"{q} ({', '.join(short)})" if short else q)


_ABBREVIATION = re.compile(r"[A-Z][A-Za-z0-9]{1,5}|[A-Z0-9]{2,6}")
"""How an abbreviation is written ("LBP", "eGFR", "CrCl"): the model may not know it."""


