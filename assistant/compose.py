"""Hit[] -> Answer: the grounded composer (no LLM).

Every clinical statement of the answer is a sentence of a retrieved passage,
lightly cleaned (list markers and emphasis stripped), never reworded. The
composer only chooses and arranges:

* score each sentence against the query (stemmed overlap, clinical synonyms from
  ``vocab.yaml``, heading match, question intent, the passage's retrieval rank);
* pick how much to say from the question type (narrow / focused / broad);
* lay it out like a guideline summary: bottom line, sections under the
  guideline's own headings, then (broad questions) algorithm and pitfalls, then
  a disclaimer;
* number citations in order of first use, one number per passage.

When nothing retrieved is relevant enough the answer says so, names what the
knowledge base covers and cites nothing.

``expand_hits`` (called by the pipeline between retrieval and composing) adds the
passages top-k retrieval tends to miss: sub-sections of a retrieved parent section,
and for broad questions the rest of the leading guideline.
"""

from __future__ import annotations

import functools
import math
import re
import threading
from dataclasses import dataclass
from typing import Mapping, Sequence

import Stemmer

from ingest.records import Chunk, group_by_doc

from .condense import vocabulary
from .records import Answer, Citation, Hit, SafetyVerdict, Section, Sentence
from .render import render

# ---- relevance gate (calibrated on the eval set) ----------------------------
MIN_DENSE_SCORE = 0.50
"""Best query-passage cosine at or above this: in scope on similarity alone."""
RESCUE_DENSE_SCORE = 0.20
"""Between this and MIN_DENSE_SCORE, in scope only when the query names a clinical
entity of the vocabulary (drug, therapy, pain mechanism, complaint, disease, finding)
that the passages also mention. Calibrated on the shipped eval set: off-topic clinical
questions (atrial fibrillation, acne, HbA1c) reach 0.31-0.43 with no such entity,
terse in-scope notes ("RRMS on ocrelizumab, LBP, no fever") sit at 0.27-0.30 with one."""
MIN_LEXICAL_OVERLAP = 0.5
"""Without dense scores: share of the query's content words found in the passages,
required together with a shared clinical entity."""
_CLINICAL_CATEGORIES = ("agent", "mechanism", "complaint", "disease", "finding")

# ---- answer size per question type ------------------------------------------
NARROW_MAX_SENTENCES = 6
FOCUSED_MAX_SENTENCES = 10
BROAD_BODY_SENTENCES = 22
BROAD_PITFALLS = 4
BOTTOM_LINE_MAX = 3

DISCLAIMER_CLINICIAN = ("Decision support drawn from the cited guideline passages; "
                        "it is not a substitute for clinical judgement.")
DISCLAIMER_PATIENT = ("General information from the cited guidance; it does not replace advice "
                      "from your own doctor or care team.")
OUT_OF_SCOPE_TEXT = "The guidance in this knowledge base does not cover this question."

# Sentences this similar (stem Jaccard) state the same fact: keep one, cite both passages.
_DUPLICATE_JACCARD = 0.72

_STEMMER = Stemmer.Stemmer("english")
_STEM_LOCK = threading.Lock()  # PyStemmer objects are not thread-safe
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset("""
a an the and or but if then than that this these those of in on at to for from by with without
into onto over under about as is are was were be been being do does did doing have has had having
can could should would may might must will shall i we you he she they it its his her their our my your
me him them us what which who whom whose when where why how whether also any some such there here
not no nor so very just only more most less least much many few each every all both either neither
patient patients person people someone please tell know want need needs like get give best good
""".split())
# Question words that carry no topic of their own.
_QUESTION_NOISE = frozenset(_STEMMER.stemWords("""what about approach approaches way ways recommend
recommended recommendation use used using option options""".split()))

_HEADING_LINE = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*[-*+\u2022]\s+(.*)$")
_STEP = re.compile(r"^\s*(\d{1,2})[.)]\s+(.*)$")
_TABLE = re.compile(r"^\s*\|")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_EMPH = re.compile(r"(\*\*|__|`)")
_SENT_SPLIT = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[A-Z0-9\"(\[])")
_ABBREV_END = re.compile(r"(?:\b(?:e\.g|i\.e|vs|etc|approx|Dr|Prof|St|No|Fig|al|cf)\.|\b[A-Z]\.)$")

_DOSE = re.compile(
    r"\b\d+(?:\.\d+)?\s*(?:mg|mcg|µg|microgram|g|ml|units?)\b|\bmg\b|\b(?:dose|doses|dosing|dosage|titrat\w*)\b",
    re.IGNORECASE)
_MAXIMUM = re.compile(r"\b(?:maximum|max|up to|no more than|ceiling|highest)\b", re.IGNORECASE)
_DOSE_NUMBER = re.compile(r"\b\d+(?:\.\d+)?\s*(?:mg|mcg|µg|micrograms?|g|ml|units?)\b", re.IGNORECASE)
_OPIOID_RESTRICTED = re.compile(
    r"\b(?:reserv\w*|only (?:when|if|after|for|as)|last resort|avoid\w*|advis\w* against|against offering|"
    r"should not|must not|do not|does not|not (?:be )?(?:used|offered|recommended|first)|not a first|"
    r"misuse|addiction|overdose|severe, disabling|not controlled|uncontrolled|stricter)\b",
    re.IGNORECASE)

_NARROW = re.compile(
    r"\b(?:max(?:imum)?|doses?|dosing|dosage|titrat\w*|how (?:long|often|much|high|many|soon|fast|quickly)|"
    r"is (?:it|\w+) safe|safe (?:to|in|during|for|with)|side[- ]effects?|adverse|interact\w*|"
    r"does (?:he|she|they|the patient|my patient|this patient|it) need|do (?:i|we|they) need|"
    r"should (?:i|we|he|she|they) (?:order|get|have|stop|start|use|take|image|refer|scan)|"
    r"can (?:i|we|he|she|they) (?:give|take|use|combine|prescribe|increase|stop|mix)|"
    r"when (?:should|to|is|do|does|can|are)|which (?:test|scan|dose)|starting|interval|\d+\s*mg)\b",
    re.IGNORECASE)
_BROAD = re.compile(
    r"\b(?:best approach|approach(?:es)? (?:to|for)|how (?:do|should|would|can|to) (?:i |we |you |one )?"
    r"(?:manage|treat|approach|handle|help)|manag(?:e|ement|ing)|treat(?:ment|ing)? (?:of|for|options)|"
    r"treating|options|overview|summar\w*|guidelines? (?:for|on)|what (?:should|can) (?:i|we) do|plan|"
    r"what (?:is the |are the )?(?:treatments?|management|tx|mgmt|therapy|therapies)(?= ?\?|$)|"
    r"what (?:helps|works|(?:can|could|would|might) help)(?= ?\?|$))\b",
    re.IGNORECASE)
_PATIENT_HINT = re.compile(
    r"\b(?:(?:for|to) (?:a|the|my|your) patient|(?:tell|say to|explain to) (?:a|the|my|your|this) patient|"
    r"plain (?:language|english|words)|patient[- ]friendly|"
    r"lay (?:terms|language)|layman|simple (?:terms|words)|explain (?:it|this|that)? ?to)\b",
    re.IGNORECASE)



def _words(*alternatives: str) -> re.Pattern:
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b", re.IGNORECASE)


# Question intents: a vocabulary topic (or pattern) the question asks about, and
# the sentence pattern that answers it.
_INTENT_SENTENCE = {
    "dose": _words(r"\d+(?:\.\d+)?\s*(?:mg|g|mcg)", "maximum", "dose", "doses", r"titrat\w*", r"increased? in",
                   "started at", r"steps?"),
    "imaging": _words(r"imag\w*", "mri", r"scan\w*", r"x-?rays?", r"radiograph\w*", "ct"),
    "red_flags": _words(r"red flags?", r"urgent\w*", "emergency", "cauda equina", "same day", r"immediate\w*"),
    "duration": _words(r"weeks?", r"days?", r"months?", "trial period", "how long", "duration"),
    "side_effects": _words(r"cause\w*", "sedation", "drowsiness", "dizziness", r"side effects?", "adverse",
                           r"monitor\w*", "liver", "withdrawal"),
    "safety": _words(r"risk\w*", r"safe\w*", r"caution\w*", r"avoid\w*", r"contraindicat\w*", r"monitor\w*", "adverse"),
    "contraindication": _words(r"contraindicat\w*", r"alternative\w*", "unsuitable", "not tolerated", "instead",
                               "cannot", r"avoid\w*"),
    "interaction": _words(r"interact\w*", r"combin\w*", "together", "with"),
    "stopping": _words(r"stop\w*", r"withdraw\w*", r"taper\w*", r"abrupt\w*", r"sudden\w*"),
    "monitoring": _words(r"monitor\w*", r"check\w*", r"tests?", r"review\w*"),
    "second_line": _words("second-line", "not responded", r"persist\w*", "refractory", r"alternative\w*",
                          "can be tried", "not tolerated"),
    "first_line": _words("first-line", "first drug", "first choice", "starting point", r"start\w*"),
    "non_drug": _words(r"non-?drug", r"physiotherap\w*", "exercise", "active", r"stretch\w*", "yoga", "psychological",
                       "cognitive", "massage", "acupuncture", "heat", "manipulation"),
    "treatment": _words(r"treat\w*", "first-line", "second-line", "drug", "therapy", "physiotherapy", r"offer\w*",
                        r"prescrib\w*"),
    "assessment": _words(r"assess\w*", r"examin\w*", r"ask\w*", "history", r"identif\w*", r"distinguish\w*"),
    "referral": _words(r"refer\w*", "specialist", r"neurolog\w*", "pain service"),
    "algorithm": _words("step", "first", "then", "next"),
}

# Named adverse effects: a sentence listing several answers "what are the side effects?" better
# than one that only says "side effects".
_ADVERSE = re.compile(
    r"\b(?:drows\w*|dizz\w*|nausea|vomiting|sedat\w*|somnolence|sleepiness|fatigue|tiredness|weakness|"
    r"dry mouth|constipation|urinary retention|confusion|hallucinations?|seizures?|low blood pressure|"
    r"hypotension|weight gain|oedema|edema|ataxia|unsteadiness|blurred vision|headache|liver|"
    r"anticholinergic|bleeding|ulcers?|kidney|renal|dependence|withdrawal)\b", re.IGNORECASE)

_SIDE_EFFECT_WORDS = frozenset(_STEMMER.stemWords(["side", "effects", "adverse"]))

_COMBINE_Q = re.compile(r"\b(?:take|takes|taken|taking|give|given|giving|use|used|using|prescribe|prescribed|"
                        r"start|started|add|added|adding|on)\b[^.?!]{0,40}\b(?:with|alongside|plus|together)\b|"
                        r"\b(?:mix|mixed|mixing|together|alongside|same time)\b", re.IGNORECASE)

_QUANTITY_Q = re.compile(r"\bhow (?:common|often|many|much|likely|frequent\w*|big|large)\b|\bprevalen\w*|"
                         r"\bproportion\b|\bpercent\w*|\bwhat (?:size|rate)\b", re.IGNORECASE)
_INTENT_SENTENCE["quantity"] = re.compile(r"\d+(?:\.\d+)?\s*(?:%|per ?cent|points?|days?|weeks?|months?|mg|g)\b|"
                                          r"\b(?:about|around|up to|at least|less than|more than) \d", re.IGNORECASE)

# "MME thresholds?", "how many days?": the answer is a number in the unit asked about.
_THRESHOLD_Q = re.compile(r"\b(?:thresholds?|cut-?offs?|limits?|how (?:many|much|long))\b", re.IGNORECASE)
_NUMBER_UNIT = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?:\s*(?:to|-|\u2013|or)\s*\d+(?:\.\d+)?)?\s*%?\s*([A-Za-z]+)")
# "When is imaging indicated?": the answer states the circumstances in which it is done.
_INDICATION_Q = re.compile(
    r"\bwhen (?:is|are|should|do|does|would|to)\b.*\b(?:indicat\w*|needed|necessary|required|warranted|"
    r"appropriate|recommended|considered|useful|justified)\b|\bindications? (?:for|of)\b", re.IGNORECASE)
_CONDITION = re.compile(r"\b(?:when|if|once|unless|after|beyond|persist\w*|candidates?)\b", re.IGNORECASE)
# A negation in the main clause ("X is not recommended ...", "X does not improve ...") says
# when X is not done; one in a condition ("... that does not respond to ...") does not.
_CLAUSE_BREAK = re.compile(r"\b(?:when|if|once|unless|after|beyond|until|that|who|which|whose|because|although)\b|"
                           r"[,;:(]", re.IGNORECASE)
_NEGATION = re.compile(r"\b(?:not|never|against|cannot|no longer)\b|n't\b", re.IGNORECASE)
_TIME_SPAN = re.compile(r"\b\d+(?:\s*(?:to|-|\u2013)\s*\d+)?\s*(?:hours?|days?|weeks?|months?)\b", re.IGNORECASE)
_LATER_LINE = re.compile(r"\b(?:second|third)[- ]line\b|"
                         r"\b(?:despite|responded to|after|fail\w*|failure of)\s+(?:\w+\s+)?first[- ]line\b",
                         re.IGNORECASE)
_FIRST_LINE = re.compile(r"\bfirst[- ]line\b|\bfirst (?:drug|choice)\b", re.IGNORECASE)

_KEY_RECS = re.compile(r"\bkey (?:recommendations?|points?|messages?)\b|\bsummary\b", re.I)
_PITFALLS = re.compile(r"\bpitfalls?\b|\bcommon (?:mistakes|errors)\b|\bwhat to avoid\b", re.I)
_ALGORITHM = re.compile(r"\b(?:treatment )?algorithm\b|\bpathway\b|\bstep[- ]by[- ]step\b", re.I)
_FOR_PATIENTS = re.compile(r"\bfor patients\b|\bpatient information\b|\binformation for patients\b", re.I)
_PLAIN_DOC = re.compile(r"patient[- ]guide|for patients|guide for patients|patient information|families", re.I)


# ---------------------------------------------------------------------------
# Passages -> sentences (cached per chunk id: chunk text never changes under an id)

@dataclass(frozen=True)
class _Sent:
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


_CACHE: dict[str, tuple[_Sent, ...]] = {}
_CACHE_MAX = 20000
_CACHE_LOCK = threading.Lock()


def _stems(text: str) -> frozenset[str]:
    words = [w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1]
    with _STEM_LOCK:
        return frozenset(_STEMMER.stemWords(words))


def _number_units(text: str) -> frozenset[str]:
    units = [m.group(1).lower() for m in _NUMBER_UNIT.finditer(text)]
    if not units:
        return frozenset()
    with _STEM_LOCK:
        return frozenset(_STEMMER.stemWords(units))


def _negated_main_clause(text: str) -> bool:
    m = _CLAUSE_BREAK.search(text)
    return bool(_NEGATION.search(text[:m.start()] if m else text))


def _clean(text: str) -> str:
    text = _LINK.sub(r"\1", text)
    text = _EMPH.sub("", text)
    text = re.sub(r"(?<!\w)_(\S[^_]*\S)_(?!\w)", r"\1", text)
    return re.sub(r"\s+", " ", text).strip()


def _split(text: str) -> list[str]:
    parts = _SENT_SPLIT.split(text)
    out: list[str] = []
    for p in parts:
        if out and _ABBREV_END.search(out[-1]):
            out[-1] = f"{out[-1]} {p}"
        else:
            out.append(p)
    return [p.strip() for p in out if p.strip()]


def _units(text: str) -> list[tuple[str, str, int | None]]:
    """(text, in-chunk heading, step number) for paragraphs, list items and steps."""
    units: list[tuple[str, str, int | None]] = []
    heading = ""
    para: list[str] = []
    item: list[str] | None = None
    step: int | None = None

    def flush():
        nonlocal para, item, step
        if para:
            units.append((" ".join(para), heading, None))
            para = []
        if item is not None:
            units.append((" ".join(item), heading, step))
            item, step = None, None

    for line in text.splitlines():
        if not line.strip():
            flush()
            continue
        if _TABLE.match(line):
            flush()
            continue
        m = _HEADING_LINE.match(line.strip())
        if m:
            flush()
            heading = _clean(m.group(1))
            continue
        m = _STEP.match(line)
        if m:
            flush()
            item, step = [m.group(2).strip()], int(m.group(1))
            continue
        m = _BULLET.match(line)
        if m:
            flush()
            item, step = [m.group(1).strip()], None
            continue
        if item is not None and line[:1].isspace():
            item.append(line.strip())  # continuation of a list item
            continue
        if item is not None:
            flush()
        para.append(line.strip())
    flush()
    return units


def _sentences(chunk: Chunk) -> tuple[_Sent, ...]:
    cached = _CACHE.get(chunk.chunk_id)
    if cached is not None:
        return cached
    vocab = vocabulary()
    out: list[_Sent] = []
    for unit, heading, step in _units(chunk.text):
        # Algorithm steps stay whole: a step is one instruction.
        pieces = [unit] if step is not None else _split(unit)
        for piece in pieces:
            text = _clean(piece)
            if len(text.split()) < 4 or text.endswith(":"):
                continue  # fragments and list lead-ins say nothing on their own
            if text[-1] not in ".!?)":
                text += "."
            concepts = vocab.concept_ids(text)
            direct = vocab.concept_ids(text, with_classes=False)
            opioid = "opioid" in concepts
            out.append(_Sent(
                text=text, chunk_id=chunk.chunk_id, idx=len(out), heading=heading, step=step,
                stems=_stems(text), concepts=concepts, direct=direct, dose=bool(_DOSE.search(text)),
                dose_number=bool(_DOSE_NUMBER.search(text)), number_units=_number_units(text), opioid=opioid,
                opioid_restricted=opioid and bool(_OPIOID_RESTRICTED.search(text)),
            ))
    result = tuple(out)
    with _CACHE_LOCK:
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.clear()
        _CACHE[chunk.chunk_id] = result
    return result


# ---------------------------------------------------------------------------
# The query

@dataclass(frozen=True)
class _Query:
    text: str
    stems: frozenset[str]
    concepts: frozenset[str]
    focus: frozenset[str]
    """Agents, mechanisms, findings and populations named: the answer must be about them."""
    agents: frozenset[str]
    agent_classes: frozenset[str]
    intents: frozenset[str]
    breadth: str
    """'narrow' | 'focused' | 'broad'"""
    patient_language: bool
    opioid_asked: bool
    max_dose: bool
    """Asks how high a dose may go."""
    units: frozenset[str] = frozenset()
    """Stems of the question when it asks for a number (a threshold, how many, how long):
    a number followed by one of these words ("50 MME", "3 days") answers it."""
    asks_first_line: bool = False
    """The question itself (not its conversation) asks what is first-line."""


_INTERROGATIVE = re.compile(
    r"\?|\b(?:what|how|which|when|why|who|where|should|can|could|would|is|are|does|do|may|might|"
    r"tell|explain|list|describe|give|suggest|recommend\w*)\b", re.IGNORECASE)


def _case_only(question: str) -> bool:
    """A case presentation with no question in it, about a complaint the guidance covers."""
    if _INTERROGATIVE.search(question):
        return False
    vocab = vocabulary()
    return any(vocab.concepts[m.concept].category == "complaint" and not m.negated
               for m in vocab.mentions(question))


def question_breadth(question: str) -> str:
    """'narrow' (a dose, a yes/no, a when), 'broad' (approach, management) or 'focused'."""
    if _NARROW.search(question):
        return "narrow"
    if _BROAD.search(question):
        return "broad"
    if _case_only(question):
        return "broad"  # a case with no question ("pt w/ RRMS, LBP x3wk") asks how to manage it
    if _PATIENT_HINT.search(question) and not any(
            vocabulary().concepts[m.concept].category != "topic" for m in vocabulary().mentions(question)):
        return "broad"  # "what about for a patient?": the whole answer again, in plain language
    return "focused"


def _parse_query(question: str, query: str) -> _Query:
    vocab = vocabulary()
    # The query's own concepts only: "tizanidine" must not pull in every muscle
    # relaxant, while sentences carry their drugs' classes so "NSAIDs" finds "ibuprofen".
    concepts = vocab.concept_ids(query, with_classes=False, affirmed=True)
    own = vocab.concept_ids(question, with_classes=False, affirmed=True)
    cats = {c: vocab.concepts[c].category for c in concepts if c in vocab.concepts}
    focus = frozenset(c for c, cat in cats.items() if cat in ("agent", "mechanism", "finding", "population"))
    agents = frozenset(c for c, cat in cats.items() if cat == "agent")
    intents = {c for c, cat in cats.items() if cat == "topic"}
    if "dose" in intents and "side_effects" in intents:
        intents.discard("side_effects")  # "tolerated dose" asks about dose
    if any(vocab.concepts[c].category == "finding" for c in own) or "red_flags" in intents:
        intents.add("red_flags")
    if re.search(r"\b(?:max(?:imum)?|how high|titrat\w*|\d+\s*mg)\b", question, re.I):
        intents.add("dose")
    if len(agents) >= 2 and _COMBINE_Q.search(question):
        # "can she take duloxetine with amitriptyline?" asks whether they go together.
        # Aspects carried from earlier turns ("dose", "first-line") are not asked now.
        intents = {"interaction"} | (intents & own) | (intents & {"red_flags"})
    if _QUANTITY_Q.search(question):
        intents.add("quantity")
    if _INDICATION_Q.search(question):
        intents.add("indication")
    # Words of denied findings ("denies saddle anaesthesia") must not pull red-flag text.
    kept = query
    for m in sorted(vocab.mentions(query), key=lambda m: -m.start):
        if m.negated and vocab.concepts[m.concept].category in ("finding", "topic", "population"):
            kept = kept[:m.start] + " " + kept[m.end:]
    stems = frozenset(s for s in _stems(kept) if s not in _QUESTION_NOISE)
    if "side_effects" in intents:
        # "side effects" names the intent; the named effects answer it (see _ADVERSE), and a
        # sentence that only says "side effects" must not win on those words.
        stems -= _SIDE_EFFECT_WORDS
    # Units the question wants a number in: "MME thresholds", "how many days".
    units = stems if _THRESHOLD_Q.search(question) else frozenset()
    classes = frozenset(k for a in agents for k in vocab.concepts[a].classes)
    breadth = question_breadth(question)
    if breadth == "narrow" and "red_flags" in intents:
        breadth = "focused"  # "when should I get urgent help?" is answered by the list of warning signs
    return _Query(
        text=query, stems=stems, concepts=concepts, focus=focus, agents=agents, agent_classes=classes,
        intents=frozenset(intents), breadth=breadth,
        patient_language=bool(_PATIENT_HINT.search(question)),
        opioid_asked="opioid" in vocab.concept_ids(query),  # with classes: "oxycodone" is an opioid
        max_dose=bool(re.search(r"\b(?:max(?:imum)?|how high|upper limit|ceiling)\b", question, re.I)),
        units=units,
        asks_first_line="first_line" in own,
    )


# ---------------------------------------------------------------------------
# Relevance gate

@dataclass(frozen=True)
class Relevance:
    in_scope: bool
    best_dense: float | None
    lexical: float
    """Share of the query's content words found in the retrieved passages."""
    clinical: bool
    """The query names a clinical vocabulary entity that the passages also mention."""
    missing: tuple[str, ...] = ()
    """Populations, complaints or conditions the query names that no passage mentions
    ("back pain in pregnancy" when nothing retrieved says anything about pregnancy)."""


_MUST_BE_COVERED = ("population", "complaint", "disease")


def assess_relevance(query: str, hits: Sequence[Hit]) -> Relevance:
    """Is anything retrieved relevant enough to answer from? (see the module constants)"""
    if not hits:
        return Relevance(False, None, 0.0, False)
    vocab = vocabulary()
    q_stems = frozenset(s for s in _stems(query) if s not in _QUESTION_NOISE)
    q_concepts = {c for c in vocab.concept_ids(query)
                  if vocab.concepts[c].category in _CLINICAL_CATEGORIES}
    p_stems: set[str] = set()
    p_concepts: set[str] = set()
    for h in hits:
        p_stems |= _stems(h.chunk.section)
        p_concepts |= vocab.concept_ids(h.chunk.section)
        for s in _sentences(h.chunk):
            p_stems |= s.stems
            p_concepts |= s.concepts
    lexical = len(q_stems & p_stems) / len(q_stems) if q_stems else 0.0
    clinical = bool(q_concepts & p_concepts)
    dense = [h.dense_score for h in hits if h.dense_score is not None]
    best = max(dense) if dense else None
    if best is not None:
        ok = best >= MIN_DENSE_SCORE or (best >= RESCUE_DENSE_SCORE and clinical)
    else:
        ok = clinical and lexical >= MIN_LEXICAL_OVERLAP
    # An answer about back pain in general is not an answer for a pregnant patient: a named
    # population or condition the passages never mention puts the question out of scope.
    named = [c for c in vocab.concept_ids(query, with_classes=False, affirmed=True)
             if vocab.concepts[c].category in _MUST_BE_COVERED and c != "pain"]
    missing = tuple(sorted(vocab.concepts[c].name for c in named
                           if c not in p_concepts and not (_stems(vocab.concepts[c].name) & p_stems)))
    return Relevance(ok and not missing, best, lexical, clinical, missing)


# ---------------------------------------------------------------------------
# Scoring

@dataclass
class _Cand:
    sent: _Sent
    hit: Hit
    score: float
    role: str
    """'key' | 'pitfall' | 'algorithm' | 'patient' | 'body'"""
    title: str
    order: tuple
    about: frozenset[str]
    """Concepts of the sentence plus those of its document title and headings."""
    direct: frozenset[str]
    """The same without drug classes added."""


def _role(chunk: Chunk, sent: _Sent) -> str:
    path = chunk.section.split(" > ")
    heads = " > ".join(path[1:] if len(path) > 1 else path) + (" > " + sent.heading if sent.heading else "")
    if _FOR_PATIENTS.search(heads):
        return "patient"
    if _PITFALLS.search(heads):
        return "pitfall"
    if _ALGORITHM.search(heads):
        return "algorithm"
    if _KEY_RECS.search(heads):
        return "key"
    return "body"


def _plain_doc(chunk: Chunk) -> bool:
    return bool(_PLAIN_DOC.search(chunk.doc_id) or _PLAIN_DOC.search(chunk.title))


def _section_title(chunk: Chunk, sent: _Sent) -> str:
    path = [p for p in chunk.section.split(" > ") if p]
    if sent.heading:
        path.append(sent.heading)
    if len(path) <= 1:
        return path[0] if path else chunk.title
    inner = path[-1]
    if len(path) >= 3:
        parent = path[-2]
        first = lambda s: _WORD.findall(s.lower())[:1]  # noqa: E731
        # "First-line drug treatment: Spasticity component" reads; "Second-line
        # options: Second-line drug treatment" repeats itself.
        if first(parent) != first(inner):
            return f"{parent}: {inner}"
    return inner


def _about_agents(q: _Query, about: frozenset[str], direct: frozenset[str]) -> bool:
    """Is the statement about a drug the question names? A statement about the
    drug's class counts ("NSAIDs" for ibuprofen); one about a sibling does not
    (baclofen for tizanidine)."""
    return bool(q.agents & about or q.agent_classes & direct)


def _via_class(agent: str, s: _Sent) -> bool:
    """The sentence names the drug's class, not the drug ("gabapentinoids" for gabapentin)."""
    return not s.direct.isdisjoint(vocabulary().concepts[agent].classes)


def _score_all(q: _Query, hits: Sequence[Hit], audience: str, verdict: SafetyVerdict | None) -> list[_Cand]:
    pairs: list[tuple[Hit, _Sent]] = [(h, s) for h in hits for s in _sentences(h.chunk)]
    if not pairs:
        return []
    n = len(pairs)
    df: dict[str, int] = {}
    for _, s in pairs:
        for t in s.stems:
            df[t] = df.get(t, 0) + 1
    w = {t: 1.0 + math.log((n + 1) / (df.get(t, 0) + 1)) for t in q.stems}
    w_total = sum(w.values()) or 1.0
    patient = audience == "patient" or q.patient_language
    red = bool(verdict and verdict.escalated)
    # "What about the spasms?" in a conversation about treatment asks how to treat them: a
    # treatment statement about the mechanism named beats its description.
    mech_asked = any(vocabulary().concepts[c].category == "mechanism" for c in q.focus)
    treat_w = 0.22 if mech_asked and q.breadth != "broad" else 0.12
    cands: list[_Cand] = []
    head_cache: dict[str, frozenset[str]] = {}
    ctx_cache: dict[str, frozenset[str]] = {}
    vocab = vocabulary()
    for h, s in pairs:
        c = h.chunk
        role = _role(c, s)
        if patient and s.dose_number:
            continue  # patient answers leave dosing detail out
        if s.opioid and not q.opioid_asked and not s.opioid_restricted:
            continue  # an opioid is never offered as a routine option
        key = c.section + "|" + s.heading
        hstems = head_cache.get(key)
        if hstems is None:
            hstems = head_cache[key] = _stems(c.section.split(" > ", 1)[-1] + " " + s.heading)
            # A sentence is implicitly about its document and section: "Back pain in
            # multiple sclerosis > Tizanidine" covers "The maximum dose is 36 mg".
            ctx_cache[key] = (vocab.concept_ids(c.section + " " + s.heading),
                              vocab.concept_ids(c.section + " " + s.heading, with_classes=False))
        ctx, ctx_direct = ctx_cache[key]
        lex = sum(w[t] for t in q.stems & s.stems) / w_total
        for x in q.agents:
            # The drug's name is missing from a statement about its class: most of its weight.
            if _via_class(x, s):
                lex += 0.8 * sum(w[t] for t in (_stems(vocab.concepts[x].name) & q.stems) - s.stems) / w_total
        head = sum(w[t] for t in q.stems & hstems) / w_total
        named_effects = (len({m.lower() for m in _ADVERSE.findall(s.text)})
                         if "side_effects" in q.intents else 0)
        con = 0.0
        if q.concepts:
            weights = {x: (2.0 if x in q.focus else 1.0) for x in q.concepts}
            # Named effects are side effects, whether or not the sentence says "side effects".
            has = s.concepts | {"side_effects"} if named_effects else s.concepts
            # A statement about the drug's class speaks for the drug ("NICE advises against
            # gabapentinoids for sciatica" answers "is gabapentin effective for sciatica?").
            con = sum(v if x in has
                      else 0.8 * v if x in q.agents and _via_class(x, s)
                      else 0.6 * v if x in ctx else 0.0
                      for x, v in weights.items()) / sum(weights.values())
        score = 0.45 * lex + 0.35 * con + 0.20 * head
        for intent in q.intents:
            if intent == "dose":
                # The numbers answer a dose question; the word "dose" alone hardly does.
                if s.dose_number:
                    score += 0.3 + (0.15 if q.max_dose and _MAXIMUM.search(s.text) else 0.0)
                elif s.dose:
                    score += 0.1
                continue
            if intent == "indication":
                # "When is imaging indicated?" is answered by the circumstances that call
                # for it ("... when red flags suggest", "... persist beyond 4 to 6 weeks"),
                # not by statements of when it is not recommended.
                if _negated_main_clause(s.text) or _NEGATION.search(
                        c.section.rsplit(" > ", 1)[-1] + " " + s.heading):
                    score *= 0.7  # "not recommended ...", or under "When not to image"
                elif _CONDITION.search(s.text):
                    score += 0.25 + (0.1 if _TIME_SPAN.search(s.text) else 0.0)
                continue
            if intent == "interaction" and len(q.agents) >= 2 and _INTENT_SENTENCE["interaction"].search(s.text):
                covered = all(x in s.concepts or _via_class(x, s) for x in q.agents)
                score += 0.25 + (0.2 if covered else 0.0)  # about these drugs together
                continue
            if intent == "first_line" and _LATER_LINE.search(s.text):
                continue  # "second-line options ... despite first-line treatment" is about the next step
            if intent == "side_effects":
                if named_effects or _INTENT_SENTENCE["side_effects"].search(s.text):
                    score += 0.25 + (0.15 if named_effects >= 2 else 0.0)
                continue
            pat = _INTENT_SENTENCE.get(intent)
            if pat is not None and pat.search(s.text):
                score += (treat_w if intent == "treatment" else 0.25)
        if q.units & s.number_units:
            score += 0.3  # the number asked for, in the unit asked for
        for intent in q.intents:
            pat = _INTENT_SENTENCE.get(intent)
            if pat is not None and intent != "algorithm" and pat.search(c.section.split(" > ", 1)[-1]):
                score += 0.12 if q.breadth == "broad" else 0.06  # the section is about what was asked
                break
        if s.idx < 2 and s.step is None:
            score += 0.03  # a section's opening sentences usually state its point
        first_line_answer = (q.asks_first_line and bool(_FIRST_LINE.search(s.text))
                             and not _LATER_LINE.search(s.text))
        if (q.agents and q.breadth != "broad" and not first_line_answer
                and not _about_agents(q, s.concepts | ctx, s.direct | ctx_direct)):
            # "max tizanidine dose": a sentence about another drug does not answer it.
            # "Is tramadol first-line?" is answered by what is first-line, whatever the drug.
            score *= 0.35
        if red and _INTENT_SENTENCE["red_flags"].search(s.text):
            score += 0.15
        prior = 1.0 / (1.0 + 0.04 * (h.rank - 1))
        if h.dense_score is not None:
            prior *= min(1.2, max(0.5, 0.6 + 0.6 * h.dense_score))
        score *= prior
        plain = role == "patient" or _plain_doc(c)
        if patient:
            score *= 1.8 if plain else 0.8
            if s.dose:
                score *= 0.6
        elif plain:
            score *= 0.35
        if s.opioid and not q.opioid_asked:
            score *= 0.8
        if q.opioid_asked and s.opioid_restricted:
            score += 0.3  # asked for an opioid: where opioids stand comes first
        cands.append(_Cand(s, h, score, role, _section_title(c, s), (c.doc_id, c.start, s.idx),
                           s.concepts | ctx, s.direct | ctx_direct))
    return cands


# ---------------------------------------------------------------------------
# Selection and layout

class _Picked:
    """Selected statements with duplicate detection; a duplicate adds its passage."""

    def __init__(self):
        self.items: list[tuple[_Cand, list[str]]] = []
        self._ids: set[tuple[str, int]] = set()

    def __len__(self):
        return len(self.items)

    def has(self, c: _Cand) -> bool:
        return (c.sent.chunk_id, c.sent.idx) in self._ids

    def add(self, c: _Cand) -> bool:
        """True when c is new; False when it duplicates (and reinforces) a picked one."""
        if self.has(c):
            return False
        for other, chunks in self.items:
            a, b = c.sent.stems, other.sent.stems
            if a and b and len(a & b) / len(a | b) >= _DUPLICATE_JACCARD:
                if c.sent.chunk_id not in chunks:
                    chunks.append(c.sent.chunk_id)
                self._ids.add((c.sent.chunk_id, c.sent.idx))
                return False
        self.items.append((c, [c.sent.chunk_id]))
        self._ids.add((c.sent.chunk_id, c.sent.idx))
        return True

    def chunks_of(self, c: _Cand) -> list[str]:
        for other, chunks in self.items:
            if other is c:
                return chunks
        return [c.sent.chunk_id]


@dataclass
class _Block:
    heading: str
    kind: str
    ordered: bool
    cands: list[_Cand]


def _doc_rank(cands: Sequence[_Cand], q: _Query) -> dict[str, float]:
    """Documents by how much of the relevant material they hold and how well their title fits."""
    best: dict[str, list[float]] = {}
    titles: dict[str, str] = {}
    for c in cands:
        best.setdefault(c.hit.chunk.doc_id, []).append(c.score)
        titles[c.hit.chunk.doc_id] = c.hit.chunk.title
    vocab = vocabulary()
    out: dict[str, float] = {}
    for d, v in best.items():
        t_stems = _stems(titles[d])
        t_con = vocab.concept_ids(titles[d])
        parts = [len(q.stems & t_stems) / len(q.stems) if q.stems else 0.0]
        if q.concepts:
            parts.append(len(q.concepts & t_con) / len(q.concepts))
        out[d] = sum(sorted(v, reverse=True)[:6]) * (1.0 + 0.5 * max(parts))
    return out


def _bottom_line(cands: list[_Cand], q: _Query, picked: _Picked, n_max: int, docs: dict[str, float],
                 patient: bool = False) -> list[_Cand]:
    def eligible(c: _Cand) -> bool:
        if patient and not (c.role == "patient" or _plain_doc(c.hit.chunk)):
            return False
        if c.sent.opioid:
            # Never lead with an opioid; when one was asked for, lead with where
            # opioids stand (the reservation), wherever the guideline writes it.
            return q.opioid_asked and c.sent.opioid_restricted
        # A step needs its pathway; a broad answer keeps pitfalls for their section.
        return not (c.role == "algorithm" or (c.role == "pitfall" and q.breadth == "broad"))

    ranked = sorted((c for c in cands if eligible(c)), key=lambda c: -c.score)
    if not ranked and patient:
        return _bottom_line(cands, q, picked, n_max, docs)  # no plain-language passage retrieved
    if not ranked:
        return []
    out: list[_Cand] = []
    if q.breadth == "broad":
        # Prefer the key recommendations of the best-matching documents.
        top_docs = sorted(docs, key=lambda d: -docs[d])[:2]
        keys = [c for c in ranked if c.role == "key" and c.hit.chunk.doc_id in top_docs]
        keys = [c for c in keys if c.score >= 0.5 * keys[0].score] if keys else []
        chosen = sorted(keys[:n_max], key=lambda c: (top_docs.index(c.hit.chunk.doc_id), c.order))
        for c in chosen:
            if picked.add(c):
                out.append(c)
        if out:
            return out
    top = ranked[0].score
    for c in ranked:
        if len(out) >= n_max or c.score < 0.7 * top:
            break
        if picked.add(c):
            out.append(c)
    return out


def _group(cands: Sequence[_Cand]) -> list[_Block]:
    blocks: dict[tuple[str, str], _Block] = {}
    for c in cands:
        key = (c.hit.chunk.doc_id, c.title)
        if key not in blocks:
            blocks[key] = _Block(c.title, "body", False, [])
        blocks[key].cands.append(c)
    return list(blocks.values())


def _body(cands: list[_Cand], q: _Query, picked: _Picked, audience: str,
          limit: int, per_section: int, threshold: float) -> list[_Block]:
    """Narrow and focused questions: the strongest sections first, each cut short."""
    patient = audience == "patient" or q.patient_language
    # A pitfall is a plain statement too ("imaging without red flags does not help").
    roles = ("body", "pitfall", "patient") if patient else ("body", "pitfall")
    pool = [c for c in cands if c.role in roles and not picked.has(c)]
    if not pool:
        return []
    top = max(c.score for c in pool)
    blocks = _group(c for c in pool if c.score >= threshold * top)
    for b in blocks:
        b.cands.sort(key=lambda c: -c.score)
    strength = {id(b): sum(c.score for c in b.cands[:3]) for b in blocks}
    out: list[_Block] = []
    used = len(picked)
    for b in sorted(blocks, key=lambda b: -strength[id(b)]):
        if used >= limit:
            break
        chosen: list[_Cand] = []
        for c in b.cands:
            if len(chosen) >= per_section or used >= limit:
                break
            if picked.add(c):
                chosen.append(c)
                used += 1
        if chosen:
            chosen.sort(key=lambda c: c.order)
            out.append(_Block(b.heading, "body", False, chosen))
    return out


def _broad_body(cands: list[_Cand], q: _Query, picked: _Picked, docs: dict[str, float], audience: str,
                budget: int) -> list[_Block]:
    """Broad questions: the most relevant retrieved sections, each cut to its best
    sentences, shown in the guideline's own order."""
    patient = audience == "patient" or q.patient_language
    primary = max(docs, key=lambda d: docs[d])
    # Key recommendations of the leading guideline that did not fit the bottom line
    # open the body (e.g. "exclude red flags first").
    pool = [c for c in cands if c.role == "body" or (patient and c.role == "patient")
            or (c.role == "key" and c.hit.chunk.doc_id == primary and not patient)]
    if patient:
        plain = [c for c in pool if c.role == "patient" or _plain_doc(c.hit.chunk)]
        if len(plain) >= 4:
            pool = plain  # enough plain-language guidance: answer in it alone
    pool = [c for c in pool if not picked.has(c)]
    if not pool:
        return []
    blocks = _group(pool)
    for b in blocks:
        b.cands.sort(key=lambda c: -c.score)
    strength = {id(b): sum(c.score for c in b.cands[:2]) / min(2, len(b.cands)) for b in blocks}
    top = max(strength.values())
    blocks = [b for b in blocks if strength[id(b)] >= 0.25 * top]
    # Spend the sentence budget on the strongest sections first; the leading
    # guideline gives the skeleton, other documents add at most three sections.
    chosen_blocks: list[_Block] = []
    used, others = 0, 0
    for b in sorted(blocks, key=lambda b: -strength[id(b)]):
        if used >= budget:
            break
        is_primary = b.cands[0].hit.chunk.doc_id == primary
        if not is_primary:
            if others >= 3:
                continue
        rel = strength[id(b)] / top
        cap = (3 if rel >= 0.7 else 2) if is_primary else 2
        floor = 0.35 * b.cands[0].score
        chosen: list[_Cand] = []
        for c in b.cands:
            if len(chosen) >= cap or used >= budget or c.score < floor:
                break
            if picked.add(c):
                chosen.append(c)
                used += 1
        if chosen:
            others += 0 if is_primary else 1
            chosen.sort(key=lambda c: c.order)
            chosen_blocks.append(_Block(b.heading, "body", False, chosen))
    if "treatment" in q.intents and not q.opioid_asked and not patient:
        # A treatment overview states where opioids stand when the guideline does.
        reserve = [c for c in pool if c.sent.opioid_restricted and c.hit.chunk.doc_id == primary
                   and not picked.has(c)]
        if reserve:
            c = max(reserve, key=lambda c: c.score)
            if picked.add(c):
                home = next((b for b in chosen_blocks if b.heading == c.title
                             and b.cands[0].hit.chunk.doc_id == c.hit.chunk.doc_id), None)
                if home is None:
                    chosen_blocks.append(_Block(c.title, "body", False, [c]))
                else:
                    home.cands.append(c)
                    home.cands.sort(key=lambda c: c.order)
    doc_order = {d: i for i, d in enumerate(sorted(docs, key=lambda d: -docs[d]))}
    chosen_blocks.sort(key=lambda b: (doc_order[b.cands[0].hit.chunk.doc_id], b.cands[0].order))
    return chosen_blocks


def _algorithm(cands: list[_Cand], docs: dict[str, float], only_chunk: str | None = None) -> list[_Block]:
    steps = [c for c in cands if c.role == "algorithm" and c.sent.step is not None
             and (only_chunk is None or c.hit.chunk.chunk_id == only_chunk)]
    if not steps:
        return []
    doc = max({c.hit.chunk.doc_id for c in steps}, key=lambda d: docs.get(d, 0.0))
    blocks = [b for b in _group(c for c in steps if c.hit.chunk.doc_id == doc)]
    for b in blocks:
        b.cands.sort(key=lambda c: c.order)
        b.kind, b.ordered = "algorithm", True
    blocks.sort(key=lambda b: b.cands[0].order)
    return blocks[:2]


def _pitfalls(cands: list[_Cand], picked: _Picked, docs: dict[str, float], n_max: int,
              min_score: float) -> list[_Block]:
    pits = [c for c in cands if c.role == "pitfall" and c.score >= min_score and not picked.has(c)]
    if not pits:
        return []
    pits.sort(key=lambda c: (-docs.get(c.hit.chunk.doc_id, 0.0), -c.score))
    chosen: list[_Cand] = []
    for c in pits:
        if len(chosen) >= n_max:
            break
        if picked.add(c):
            chosen.append(c)
    chosen.sort(key=lambda c: (-docs.get(c.hit.chunk.doc_id, 0.0), c.order))
    return [_Block("Pitfalls", "pitfalls", False, chosen)] if chosen else []


def _dedupe_titles(blocks: list[_Block]) -> None:
    seen: dict[str, int] = {}
    for b in blocks:
        seen[b.heading] = seen.get(b.heading, 0) + 1
    for b in blocks:
        if seen[b.heading] > 1 and b.kind == "body":
            b.heading = f"{b.heading} ({b.cands[0].hit.chunk.title})"


# ---------------------------------------------------------------------------
# Suggestions

_SUGGEST_RULES: tuple[tuple[re.Pattern, str, str], ...] = (
    (re.compile(r"\bimag", re.I), "imaging", "When is imaging needed?"),
    (re.compile(r"\bred flags?\b|urgent", re.I), "red_flags", "Which red flags need urgent assessment?"),
    (re.compile(r"\bpitfalls?\b", re.I), "pitfalls", "What are the common pitfalls?"),
    (re.compile(r"\balgorithm\b", re.I), "algorithm", "What is the step-by-step treatment algorithm?"),
    (re.compile(r"\bsecond-line\b", re.I), "second_line", "What are the second-line options?"),
    (re.compile(r"non-?drug|physiotherapy|exercise|stretching", re.I), "non_drug", "Which non-drug treatments help?"),
    (re.compile(r"\bneuropathic\b", re.I), "neuropathic", "How is neuropathic pain treated?"),
    (re.compile(r"\bspasticity\b", re.I), "spasticity", "How is spasticity-related pain treated?"),
    (re.compile(r"\bmusculoskeletal\b", re.I), "musculoskeletal", "How is musculoskeletal pain treated?"),
    (re.compile(r"\bassessment\b", re.I), "assessment", "How should the pain be assessed?"),
    (re.compile(r"\bfor patients\b", re.I), "patient", "How can I explain this to a patient?"),
)


def _suggestions(cands: list[_Cand], used_chunks: set[str], q: _Query, audience: str, question: str,
                 present: set[str]) -> tuple[str, ...]:
    vocab = vocabulary()
    disease = next((vocab.concepts[c].name for c in sorted(q.concepts)
                    if vocab.concepts[c].category == "disease"), None)
    asked = question.lower()
    ranked_chunks: list[tuple[float, Chunk]] = []
    best: dict[str, float] = {}
    chunks: dict[str, Chunk] = {}
    for c in cands:
        cid = c.hit.chunk.chunk_id
        chunks[cid] = c.hit.chunk
        best[cid] = max(best.get(cid, 0.0), c.score)
    ranked_chunks = sorted(((best[k], chunks[k]) for k in chunks), key=lambda x: -x[0])
    out: list[str] = []
    keys: set[str] = set(q.intents) | {k for k in ("algorithm", "pitfalls") if k in present}
    if audience == "patient" or q.patient_language:
        keys |= {"algorithm", "pitfalls", "assessment", "second_line", "patient"}
    if q.concepts & {"neuropathic", "spasticity", "musculoskeletal"} and q.breadth != "broad":
        keys |= set(q.concepts)

    def add(key: str, text: str):
        if key in keys or text in out or len(out) >= 4:
            return
        if text.rstrip("?").lower() in asked:
            return
        keys.add(key)
        out.append(text)

    for unused_only in (True, False):
        for _, chunk in ranked_chunks:
            if unused_only == (chunk.chunk_id in used_chunks):
                continue
            heading = chunk.heading
            agent = next((vocab.concepts[m.concept] for m in vocab.mentions(heading)
                          if vocab.concepts[m.concept].category == "agent"), None)
            dosing = any(s.dose_number for s in _sentences(chunk))
            asked_about = agent is not None and agent.id in q.agents
            if agent is not None and dosing and audience != "patient":
                if not (asked_about and "dose" in q.intents):
                    add(f"dose:{agent.id}", f"What is the maximum dose of {agent.name}?")
                continue
            if agent is not None and re.search(r"caution|side|safe", heading, re.I):
                if not (asked_about and q.intents & {"safety", "side_effects"}):
                    add(f"safety:{agent.id}", f"What are the cautions with {agent.name}?")
                continue
            for pat, key, text in _SUGGEST_RULES:
                if pat.search(heading):
                    if key == "patient" and audience == "patient":
                        continue
                    if key in ("neuropathic", "spasticity", "musculoskeletal") and disease:
                        text = text.rstrip("?") + f" in {disease}?"
                    add(key, text)
                    break
        if len(out) >= 2:
            break
    return tuple(out[:4])


# ---------------------------------------------------------------------------
# Context expansion for broad questions

EXPAND_MAX_CHUNKS = 40
"""At most this many passages of the leading guideline are added for a broad question."""
EXPAND_MAX_CHILDREN = 6
"""At most this many sub-section passages are added under retrieved parent sections."""
EXPAND_PARENTS_FROM_TOP = 5
"""Only the best-ranked hits have their sub-sections added."""


EXPAND_MAX_NAMED = 4
"""At most this many passages are added for sections named after a pain mechanism asked about."""


@functools.lru_cache(maxsize=4096)
def _heading_mechanisms(heading: str) -> frozenset[str]:
    vocab = vocabulary()
    return frozenset(c for c in vocab.concept_ids(heading, with_classes=False)
                     if vocab.concepts[c].category == "mechanism")


def expand_hits(question: str, hits: Sequence[Hit], chunks: Sequence[Chunk] | Mapping[str, Sequence[Chunk]], *,
                audience: str = "clinician", query: str | None = None) -> tuple[Hit, ...]:
    """Add the passages a good answer needs that top-k retrieval tends to miss.

    * Sub-sections of a retrieved parent section: "First-line drug treatment" says
      "treated according to mechanism"; its sub-sections name the drugs.
    * Sections named after a pain mechanism the question (or its condensed ``query``)
      asks about, in the documents retrieved: "burning leg pain at night" retrieves
      the description under "Pain mechanisms > Neuropathic pain"; how to treat it is
      under "First-line drug treatment > Neuropathic component".
    * For a broad question ("best approach to ..."), the other sections of the
      leading guideline: the overview needs its whole skeleton (mechanisms, first-
      and second-line care, algorithm, pitfalls). The leading guideline is the
      document holding the most rank-weighted hits, plain-language documents
      excluded for clinicians.

    ``chunks`` are the serving corpus's passages (the served version and statuses),
    either as a flat list or, cheaper at scale, already grouped by document in
    reading order (``ServingIndex.by_doc``). Added passages are ranked after the
    retrieved ones, with no retrieval scores.
    """
    hits = tuple(hits)
    if not hits:
        return hits
    have = {h.chunk.chunk_id for h in hits}
    extra: list[Chunk] = []

    def add(c: Chunk) -> None:
        if c.chunk_id not in have:
            have.add(c.chunk_id)
            extra.append(c)

    by_doc = chunks if isinstance(chunks, Mapping) else group_by_doc(chunks)
    children = 0
    for h in sorted(hits, key=lambda h: h.rank)[:EXPAND_PARENTS_FROM_TOP]:
        prefix = h.chunk.section + " > "
        for c in by_doc.get(h.chunk.doc_id, ()):
            if children >= EXPAND_MAX_CHILDREN:
                break
            if c.section.startswith(prefix) and c.chunk_id not in have:
                add(c)
                children += 1
    vocab = vocabulary()
    asked = frozenset(c for c in vocab.concept_ids(query or question, with_classes=False, affirmed=True)
                      if vocab.concepts[c].category == "mechanism")
    if asked:
        named = 0
        docs = list(dict.fromkeys(h.chunk.doc_id for h in sorted(hits, key=lambda h: h.rank)
                                  [:EXPAND_PARENTS_FROM_TOP]))
        for doc in docs:
            for c in by_doc.get(doc, ()):
                if named >= EXPAND_MAX_NAMED:
                    break
                if c.chunk_id not in have and asked & _heading_mechanisms(c.section.rsplit(" > ", 1)[-1]):
                    add(c)
                    named += 1
    if question_breadth(question) == "broad":
        weight: dict[str, float] = {}
        plain_ok = audience == "patient" or bool(_PATIENT_HINT.search(question))
        for h in hits:
            if not plain_ok and _plain_doc(h.chunk):
                continue
            weight[h.chunk.doc_id] = weight.get(h.chunk.doc_id, 0.0) + 1.0 / h.rank
        if weight:
            doc = max(weight, key=lambda d: weight[d])
            for c in tuple(by_doc.get(doc, ()))[:EXPAND_MAX_CHUNKS]:
                add(c)
    n = max(h.rank for h in hits)
    return hits + tuple(Hit(chunk=c, score=0.0, rank=n + i + 1) for i, c in enumerate(extra))


# ---------------------------------------------------------------------------
# Answers

def _disclaimer(audience: str) -> Section:
    text = DISCLAIMER_PATIENT if audience == "patient" else DISCLAIMER_CLINICIAN
    return Section("", (Sentence(text),), kind="disclaimer")


def out_of_scope_answer(question: str, hits: Sequence[Hit], *, query: str | None = None,
                        audience: str = "clinician", verdict: SafetyVerdict | None = None,
                        covered_topics: Sequence[str] | None = None, missing: Sequence[str] = ()) -> Answer:
    """The answer when the knowledge base does not cover the question: cites nothing."""
    topics = [t.strip() for t in (covered_topics or ()) if t and t.strip()]
    if not topics:
        topics = list(dict.fromkeys(h.chunk.title for h in hits))
    sentences = [Sentence(OUT_OF_SCOPE_TEXT)]
    if missing:
        sentences.append(Sentence("Nothing in it addresses " + " or ".join(missing) + "."))
    if topics:
        sentences.append(Sentence("It covers: " + "; ".join(dict.fromkeys(topics)) + "."))
    sections = (Section("", tuple(sentences), kind="out_of_scope"), _disclaimer(audience))
    return Answer(
        question=question, markdown=render(sections), sections=sections, citations=(),
        safety=verdict or SafetyVerdict(policy_version=""), audience=audience, out_of_scope=True,
        condensed_query=query, hits=tuple(hits), composer="grounded", suggestions=(),
    )


def compose(question: str, hits: Sequence[Hit], *, query: str | None = None, audience: str = "clinician",
            verdict: SafetyVerdict | None = None, covered_topics: Sequence[str] | None = None) -> Answer:
    """A structured, cited answer made only of sentences of the retrieved passages."""
    hits = tuple(hits)
    text = query or question
    # One passage, one hit: keep the best-ranked copy.
    uniq: dict[str, Hit] = {}
    for h in sorted(hits, key=lambda h: h.rank):
        uniq.setdefault(h.chunk.chunk_id, h)
    rel = assess_relevance(text, list(uniq.values()))
    if not rel.in_scope:
        return out_of_scope_answer(question, hits, query=query, audience=audience, verdict=verdict,
                                   covered_topics=covered_topics, missing=rel.missing)
    q = _parse_query(question, text)
    cands = _score_all(q, list(uniq.values()), audience, verdict)
    cands = [c for c in cands if c.score > 0]
    if not cands:
        return out_of_scope_answer(question, hits, query=query, audience=audience, verdict=verdict,
                                   covered_topics=covered_topics)
    if q.breadth == "narrow" and q.agents:
        # "max tizanidine dose" is answered by tizanidine sentences only.
        about = [c for c in cands if _about_agents(q, c.about, c.direct)]
        if about:
            cands = about
    docs = _doc_rank(cands, q)
    picked = _Picked()
    blocks: list[_Block] = []
    patient = audience == "patient"
    patient_sel = patient or q.patient_language  # select plain-language statements

    if q.breadth == "narrow":
        bl = _bottom_line(cands, q, picked, 2, docs, patient_sel)
        body = _body(cands, q, picked, audience, NARROW_MAX_SENTENCES, 2, 0.45)[:2]
        extra: list[_Block] = []
    elif q.breadth == "focused":
        bl = _bottom_line(cands, q, picked, 2, docs, patient_sel)
        body = _body(cands, q, picked, audience, FOCUSED_MAX_SENTENCES, 3, 0.4)[:3]
        extra = _pitfalls(cands, picked, docs, 2, 0.6 * max(c.score for c in cands)) if not patient_sel else []
        top_algo = [c for c in cands if c.role == "algorithm" and c.sent.step is not None and c.hit.rank <= 3
                    and "second_line" in q.intents]
        if "algorithm" in q.intents or top_algo:
            # "Next steps?" is answered by a pathway that retrieval ranks among the best.
            steps = top_algo or [c for c in cands if c.role == "algorithm" and c.sent.step is not None]
            best = max(steps, key=lambda c: c.score).hit.chunk.chunk_id if steps else None
            extra = [b for b in _algorithm(cands, docs, only_chunk=best)] + extra
    else:
        bl = _bottom_line(cands, q, picked, BOTTOM_LINE_MAX, docs, patient_sel)
        body = _broad_body(cands, q, picked, docs, audience, BROAD_BODY_SENTENCES)
        extra = [] if patient_sel else _algorithm(cands, docs) + _pitfalls(cands, picked, docs, BROAD_PITFALLS, 0.0)
        if not patient_sel:
            # Algorithm before pitfalls reads as "what to do", then "what to avoid".
            extra.sort(key=lambda b: 0 if b.kind == "algorithm" else 1)

    if bl:
        blocks.append(_Block("In short" if patient else "Bottom line", "bottom_line", False, bl))
    blocks.extend(body)
    blocks.extend(extra)
    _dedupe_titles(blocks)
    if patient_sel:
        for b in blocks:
            if b.kind == "body" and _FOR_PATIENTS.search(b.heading):
                b.heading = b.cands[0].hit.chunk.title

    # Number citations in order of first use: one passage, one number.
    numbers: dict[str, int] = {}
    chunk_by_id = {cid: h.chunk for cid, h in uniq.items()}
    sections: list[Section] = []
    for b in blocks:
        sents: list[Sentence] = []
        for c in b.cands:
            cites = []
            for cid in picked.chunks_of(c):
                if cid not in numbers:
                    numbers[cid] = len(numbers) + 1
                cites.append(numbers[cid])
            sents.append(Sentence(c.sent.text, tuple(sorted(set(cites)))))
        if sents:
            sections.append(Section(b.heading, tuple(sents), kind=b.kind, ordered=b.ordered))
    sections.append(_disclaimer(audience))
    citations = tuple(Citation.from_chunk(n, chunk_by_id[cid])
                      for cid, n in sorted(numbers.items(), key=lambda x: x[1]))
    present = {b.kind for b in blocks}
    suggestions = _suggestions(cands, set(numbers), q, audience, question, present)
    sections_t = tuple(sections)
    return Answer(
        question=question, markdown=render(sections_t), sections=sections_t, citations=citations,
        safety=verdict or SafetyVerdict(policy_version=""), audience=audience, out_of_scope=False,
        condensed_query=query, hits=hits, composer="grounded", suggestions=suggestions,
    )
