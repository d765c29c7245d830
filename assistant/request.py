"""What a turn asks, apart from whom it is about: the request, the vignette, the intents,
and the treatment state.

* ``split_request``: the request sentence(s) say what is asked (the last question sentence,
  else an imperative request at the end); the rest is the vignette (who, what pain, what
  treatment so far). A note of many thousand characters is read the same way.
* ``recognise_intents``: the intent catalogue (``intents.yaml``) matched against the request
  by its cue patterns and, when an embedder is given, by meaning against its exemplars.
* ``treatment_state``: the drugs the patient takes or took, with dose and response
  (none / partial / intolerant), from any user turn.
* ``retrieval_text``: what retrieval sees of a long note (request first, then the vignette's
  clinical entities), capped at the retrieval limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import yaml

from core.errors import ConfigError

from .cues import cues
from .opioid_terms import names_opioid
from .text import split_sentences
from .vocab import Concept, vocabulary
from .weights import WEIGHTS

INTENTS_PATH = Path(__file__).with_name("intents.yaml")
_TREATMENT_ASKS = frozenset({"first_choice", "how_to_prescribe", "next_step", "alternative", "non_drug",
                             "plan_acute", "plan_chronic"})
_STATE_ASKS = _TREATMENT_ASKS | {"titration", "max_dose", "combination"}
"""Requests that the vignette's own state (how long, getting worse) adds intents to."""
NEW_REQUEST_INTENTS = frozenset({"patient_advice", "imaging_referral", "non_drug", "mechanisms", "pitfalls",
                                 "plan_acute", "plan_chronic"})
"""A follow-up asking one of these is a new request: it does not inherit the earlier drug."""

_P = cues().patterns
_IMPERATIVE_END = re.compile(
    r"^\s*(?:please\s+)?(?:advise|suggest|recommend|outline|describe|explain|list|summari[sz]e|tell me|set out|"
    r"give me|write|draft|help me|talk me through|walk me through|"
    # A letter's request: "I'd be grateful for your thoughts on the overall plan."
    r"(?:i|we)(?:'d|\s+would)\s+(?:be\s+(?:very\s+)?grateful|appreciate|value|welcome|like|love)|"
    r"(?:i|we)\s+(?:would\s+)?(?:welcome|appreciate|value)|grateful for|your (?:thoughts|advice|opinion|views?|input|suggestions)|"
    r"what|how|which|when|should|can|could|would|is|are|does|do|any)\b", re.IGNORECASE)
_POINTS_BACK = re.compile(r"^\s*(?:is|was|would|will|does|do|can|could|should|isn't)\s+(?:that|this|it)\b", re.IGNORECASE)
"""A short question about what the sentence before says ("Is that wise?")."""
_SIGN_OFF = re.compile(r"^\s*(?:kind(?:est)? regards|best regards|regards|best wishes|warm regards|many thanks|thanks|thank you|"
                       r"yours (?:sincerely|faithfully|truly)|cheers|with thanks)\b", re.IGNORECASE)
_DOSE_AFTER = re.compile(r"^\W{0,3}(\d+(?:\.\d+)?\s*(?:mg|mcg|micrograms?|g))\b", re.IGNORECASE)


@dataclass(frozen=True)
class IntentDef:
    id: str
    doc: str
    order: int
    cues: tuple[re.Pattern, ...]
    exemplars: tuple[str, ...]
    answer: re.Pattern
    sections: re.Pattern | None = None
    state: bool = False
    """The vignette can name it too (how long the pain has lasted)."""


@dataclass(frozen=True)
class TreatmentState:
    drug: str
    """Vocabulary concept id of the drug."""
    name: str
    dose: str = ""
    """As written ("25 mg"), if stated."""
    response: str = "unknown"
    """'none' | 'partial' | 'intolerant' | 'unknown'"""


@dataclass(frozen=True)
class Request:
    text: str
    request: str
    """The sentence(s) that ask; '' when the turn presents a case without asking."""
    vignette: str
    intents: tuple[str, ...] = ()
    """Catalogue intents, in answer order."""
    treatment: tuple[TreatmentState, ...] = ()


def _compile(where: str, pattern: str) -> re.Pattern:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as e:
        raise ConfigError(f"{INTENTS_PATH}: {where} is not a valid regular expression: {e}") from None


def load_intents(path: Path = INTENTS_PATH) -> dict[str, IntentDef]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"cannot read intent catalogue {path}: {e}") from None
    out: dict[str, IntentDef] = {}
    for iid, raw in (data.get("intents") or {}).items():
        if not isinstance(raw, dict) or not raw.get("cues") or not raw.get("answer"):
            raise ConfigError(f"{path}: intent {iid!r} needs 'cues' and 'answer'")
        out[iid] = IntentDef(
            id=iid, doc=str(raw.get("doc", "")), order=int(raw.get("order", 9)),
            cues=tuple(_compile(f"{iid}.cues", c) for c in raw["cues"]),
            exemplars=tuple(str(e) for e in raw.get("exemplars") or ()),
            answer=_compile(f"{iid}.answer", raw["answer"]),
            sections=_compile(f"{iid}.sections", raw["sections"]) if raw.get("sections") else None,
            state=bool(raw.get("state", False)),
        )
    return out


@lru_cache(maxsize=1)
def intent_catalogue() -> dict[str, IntentDef]:
    return load_intents()


# ---------------------------------------------------------------------------
# Request and vignette

def _sentences(text: str) -> list[str]:
    out: list[str] = []
    for para in re.split(r"\n\s*\n|\n(?=\s*(?:[-*\u2022]|\d+[.)]|[A-Z][A-Za-z ]{0,30}:))", text):
        flat = " ".join(para.split())
        if not flat:
            continue
        for s in split_sentences(flat):
            # "... at night? and at what dose?" : a question mark ends a sentence even before lowercase
            out.extend(p.strip() for p in re.split(r"(?<=\?)\s+", s) if p.strip())
    return out


def sentence_before(text: str, request: str) -> str:
    """The sentence of ``text`` just before the one ``request`` starts with, as ``split_request``
    cuts them; '' when the request opens the text or is not in it."""
    first = _sentences(request)[:1]
    sents = _sentences(text)
    for i in range(1, len(sents)):
        if first and sents[i] == first[0]:
            return sents[i - 1]
    return ""


def _names_agent(text: str) -> bool:
    vocab = vocabulary()
    return any(vocab.concepts[c].category == "agent" for c in vocab.concept_ids(text, with_classes=False))


def _names_something(sentence: str) -> bool:
    """The sentence names a clinical entity of the vocabulary, asks a catalogue intent or asks
    broadly ("what's the overall plan?")."""
    return (bool(vocabulary().concept_ids(sentence)) or bool(_P["broad"].search(sentence))
            or bool(recognise_intents(sentence)))


def split_request(text: str) -> tuple[str, str]:
    """(request, vignette). A single sentence is all request."""
    sents = _sentences(text)
    if len(sents) <= 1:
        return text.strip(), ""
    asks = [i for i, s in enumerate(sents) if s.rstrip().endswith("?")]
    if asks:
        end = asks[-1]
    elif _IMPERATIVE_END.search(sents[-1]):
        end = len(sents) - 1
    else:
        # "Please set out a plan: ... Write it up as a clinic letter.": a request shortly before
        # the end, with what follows it.
        back = [i for i in range(len(sents) - 2, max(-1, len(sents) - 4), -1) if _IMPERATIVE_END.search(sents[i])]
        if not back:
            return "", text.strip()  # a case presented without a question
        tail = [t for t in sents[back[0]:] if not _SIGN_OFF.match(t)]  # "Kind regards, Sr N. ..."
        request = " ".join(tail)
        return request, " ".join(sents[:back[0]])
    start = end
    # Adjacent questions ask together ("Which drug? At what dose?").
    while start - 1 >= 0 and start - 1 in asks and end - start < 2:
        start -= 1
    # "Should I?", "Is that OK?": a request of a few words asks about the sentence before it, and
    # so does one that names nothing clinical and no intent ("Sensible, or am I asking for
    # trouble?" after "I was planning pregabalin, then amitriptyline on top.").
    while start > 0 and (len(re.findall(r"[A-Za-z]{3,}", " ".join(sents[start:end + 1]))) < 4
                         or (start == end and not _names_something(sents[start]))
                         # "He asks to go up to 20 mg bd. Is that wise? What should I do?"
                         or (_POINTS_BACK.match(sents[start])
                             and len(re.findall(r"[A-Za-z]+", sents[start])) <= 5)):
        start -= 1
    request = " ".join(sents[start:end + 1])
    vignette = " ".join(sents[:start] + sents[end + 1:])
    return request, vignette


# ---------------------------------------------------------------------------
# Intents

_EXEMPLAR_CACHE: list = [None, None]
"""[the embedder the exemplar vectors were made with, (intent ids, vectors)]: one at a time."""


def _exemplar_matrix(embed: Callable[[str], np.ndarray]) -> tuple[list[str], np.ndarray]:
    # A bound method is a new object at each access: key on the embedder it belongs to.
    owner = getattr(embed, "__self__", embed)
    held = _EXEMPLAR_CACHE[1] if _EXEMPLAR_CACHE[0] is owner else None
    if held is None:
        ids, vecs = [], []
        for iid, d in intent_catalogue().items():
            for e in d.exemplars:
                ids.append(iid)
                vecs.append(np.asarray(embed(e), dtype=np.float32))
        held = (ids, np.vstack(vecs) if vecs else np.zeros((0, 1), np.float32))
        _EXEMPLAR_CACHE[:] = [owner, held]
    return held


def recognise_intents(request: str, embed: Callable[[str], np.ndarray] | None = None) -> tuple[str, ...]:
    """Catalogue intents the request asks, in answer order. Cue patterns first; when they find
    none and an embedder is given, by meaning (nearest exemplars above
    ``Weights.intent_exemplar_min``, exemplar vectors made once per embedder)."""
    if not request.strip():
        return ()
    cat = intent_catalogue()
    found = {iid for iid, d in cat.items() if any(c.search(request) for c in d.cues)}
    if embed is not None and not found:
        # By meaning only where the cue words found nothing (see Weights.intent_exemplar_min).
        ids, mat = _exemplar_matrix(embed)
        if len(ids):
            v = np.asarray(embed(request), dtype=np.float32)
            sims = mat @ v / (np.linalg.norm(mat, axis=1) * (np.linalg.norm(v) or 1.0))
            best: dict[str, float] = {}
            for iid, s in zip(ids, sims):
                best[iid] = max(best.get(iid, -1.0), float(s))
            top = max(best.values())
            for iid, s in best.items():
                if s >= WEIGHTS.intent_exemplar_min and s >= top - WEIGHTS.intent_exemplar_margin:
                    found.add(iid)
    return tuple(sorted(found, key=lambda i: (cat[i].order, i)))


# ---------------------------------------------------------------------------
# Treatment state

def _sentence_around(text: str, start: int, end: int) -> str:
    a = max(text.rfind(".", 0, start), text.rfind("?", 0, start), text.rfind("\n", 0, start)) + 1
    bs = [i for i in (text.find(".", end), text.find("?", end), text.find("\n", end)) if i >= 0]
    return text[a:(min(bs) if bs else len(text))]


_LIST_GLUE = re.compile(r"^\s*(?:,\s*(?:and\s+|or\s+)?|and\s+|or\s+|/\s*|\+\s*|&\s*)$", re.IGNORECASE)
"""Between two drugs of one list ("ibuprofen and paracetamol", "baclofen, tizanidine or ...")."""
_DETERMINER_END = re.compile(r"\b(?:the|his|her|their|my|your|this|that|a|an)\s*$", re.IGNORECASE)


def treatment_state(texts: Sequence[str]) -> tuple[TreatmentState, ...]:
    """Drugs the patient takes or took, from the user turns (latest statement wins)."""
    vocab = vocabulary()
    found: dict[str, TreatmentState] = {}
    for text in texts:
        prev_end = -1  # end of the last drug taken or tried: "tried ibuprofen and paracetamol"
        for m in vocab.mentions(text):
            c = vocab.concepts[m.concept]
            if c.category != "agent" or m.negated:
                continue
            listed = prev_end >= 0 and bool(_LIST_GLUE.match(text[prev_end:m.start]))
            # "could not tolerate the gabapentin", "on her baclofen": a determiner is not a word of its own here.
            before = _DETERMINER_END.sub("", text[max(0, m.start - 40):m.start])
            sent = _sentence_around(text, m.start, m.end)
            taking = bool(_P["ts_taking"].search(before)) or bool(_P["ts_taking_after"].match(text, m.end))
            if _P["ts_intolerant"].search(sent):
                response = "intolerant"
            elif _P["ts_partial"].search(sent):
                response = "partial"
            elif _P["ts_none"].search(sent):
                response = "none"
            else:
                response = "unknown"
            if not taking and not listed and not (response != "unknown" and (
                    _P["ts_response_before"].search(before)
                    or _P["ts_response_after"].search(text[m.end:m.end + 40]))):
                continue
            prev_end = m.end
            dose = _DOSE_AFTER.match(text[m.end:m.end + 16])
            found[c.id] = TreatmentState(c.id, c.name, dose.group(1) if dose else "", response)
    return tuple(found.values())


def understand(text: str, earlier_user_turns: Sequence[str] = (),
               embed: Callable[[str], np.ndarray] | None = None) -> Request:
    """What the turn asks (request, intents) and for whom (vignette, treatment state).
    Remembered per turn and conversation when no embedder is given: an answer asks it from
    several places, and the pipeline asks it first while the search runs."""
    if embed is None:
        return _understood(text, tuple(earlier_user_turns))
    return _understand(text, earlier_user_turns, embed)


@lru_cache(maxsize=256)
def _understood(text: str, earlier_user_turns: tuple[str, ...]) -> Request:
    return _understand(text, earlier_user_turns, None)


def _understand(text: str, earlier_user_turns: Sequence[str],
                embed: Callable[[str], np.ndarray] | None) -> Request:
    request, vignette = split_request(text)
    intents = recognise_intents(request, embed)
    if vignette and (not intents or set(intents) & _STATE_ASKS or _P["broad"].search(request)
                     or _P["raise_dose"].search(request)):
        # "What's the overall plan?" after a vignette of four months' pain asks the chronic plan.
        # "Three months now ... what else should we do?": the vignette says which plan applies,
        # as it does for a request that asks nothing in particular ("Thoughts?", "What does
        # the guidance recommend?").
        cat = intent_catalogue()
        extra = [i for i, d in cat.items() if d.state and any(c.search(vignette) for c in d.cues)]
        intents = tuple(sorted(set(intents) | set(extra), key=lambda i: (cat[i].order, i)))
    if _P["raise_dose"].search(request) and not {"titration", "max_dose"} & set(intents) \
            and (_names_agent(request) or names_opioid(request)):
        # "He asks to increase oxycodone to 20 mg bd": how far and how fast the drug may go.
        cat = intent_catalogue()
        intents = tuple(sorted(set(intents) | {"titration"}, key=lambda i: (cat[i].order, i)))
    if "duration" not in intents and _P["too_early"].search(text):
        # "Started 4 days ago, no difference yet - should I stop?": how long it takes to work.
        cat = intent_catalogue()
        intents = tuple(sorted(set(intents) | {"duration"}, key=lambda i: (cat[i].order, i)))
    state = treatment_state(tuple(earlier_user_turns) + (text,))
    if any(s.response in ("none", "partial") for s in state) and "alternative" not in intents:
        intents = tuple(dict.fromkeys(("next_step",) + intents))
    if any(s.response == "intolerant" for s in state):
        intents = tuple(dict.fromkeys(("alternative",) + intents))
    return Request(text, request, vignette, intents, state)


def _vignette_concepts(text: str, max_chars: int) -> tuple[str, list[Concept]] | None:
    """(request, the vignette's affirmed clinical concepts, once each) of a text long enough to be
    searched by them; None for a text searched as written."""
    if len(text) <= min(max_chars, WEIGHTS.vignette_search_chars):
        return None
    request, vignette = split_request(text)
    if len(text) <= max_chars and not (request and vignette):
        return None
    vocab = vocabulary()
    found: dict[str, Concept] = {}
    for m in vocab.mentions(vignette):
        c = vocab.concepts[m.concept]
        if not m.negated and c.category != "topic":
            found.setdefault(c.name, c)
    return request, list(found.values())


def vignette_entities(text: str, max_chars: int) -> str:
    """A second search for a long vignette: the pain mechanisms and complaints it describes that
    its request does not name ("radicular pain treatment"),
    since the request's own words ("MS nerve pain") can pull every passage towards one topic
    while the vignette describes another. Empty for a text searched as written, or when the
    vignette describes nothing the request leaves out."""
    got = _vignette_concepts(text, max_chars)
    if got is None:
        return ""
    request, concepts = got
    asked = vocabulary().concept_ids(request, with_classes=False) if request else set()
    conf = cues().vignette_search
    described = [c.name for c in concepts if c.category in conf["categories"]
                 and c.id not in asked and c.name not in conf["too_broad"]]
    if len(described) < WEIGHTS.vignette_entity_min:
        return ""
    # The drugs the request names would pull the search back to the request's topic.
    return (", ".join(described) + " " + str(conf["suffix"])).strip()


def retrieval_text(text: str, max_chars: int) -> str:
    """The text retrieval searches with: the text itself when short enough; for a long note,
    its request followed by the vignette's clinical entities, within ``max_chars``."""
    got = _vignette_concepts(text, max_chars)
    if got is None:
        return text
    request, concepts = got
    names = [c.name for c in concepts]
    out = request or text[-max_chars:]
    if names:
        out = f"{out} ({', '.join(names)})"
    return out[:max_chars]
