"""The question -> what it asks: concepts, intents, breadth, audience hints (``Query``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..cues import cues
from ..drugs import drugs_named, generic_names
from ..opioid_terms import names_opioid
from ..request import Request, understand
from ..text import stem_words
from ..text import stems as _stems
from ..vocab import vocabulary
from ..weights import WEIGHTS

_C = cues()
_P = _C.patterns
_NARROW = _P["narrow"]
_BROAD = _P["broad"]
PATIENT_HINT = _P["patient_hint"]
_INTERROGATIVE = _P["interrogative"]
_COMBINE_Q = _P["combine_q"]
_QUANTITY_Q = _P["quantity_q"]
_THRESHOLD_Q = _P["threshold_q"]
_INDICATION_Q = _P["indication_q"]
_MAX_OR_TITRATE_Q = _P["max_or_titrate_q"]
_DRUG_ANAPHOR = _P["drug_anaphor"]
_OWN_DOSE_ASKS = frozenset({"titration", "max_dose"})
"""Asked with no drug named, these ask about the drug the patient takes ("how high can I go?")."""
_MAX_DOSE_Q = _P["max_dose_q"]
QUESTION_NOISE = frozenset(stem_words(list(_C.question_noise)))
"""Question words that carry no topic of their own."""
SIDE_EFFECT_WORDS = frozenset(stem_words(list(_C.side_effect_words)))


@dataclass(frozen=True)
class Query:
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
    asks: tuple[str, ...] = ()
    """Catalogue intents of the request, in answer order (``assistant/intents.yaml``)."""
    tried: frozenset[str] = frozenset()
    """Drugs the patient takes or took (treatment state)."""
    intolerant: frozenset[str] = frozenset()
    """...of which these were not tolerated."""
    mechanisms: frozenset[str] = frozenset()
    """Pain mechanisms named anywhere in the turn or its condensed query."""
    request: str = ""
    """The question itself (not its conversation) asks what is first-line."""
    drugs: int = 0
    """How many drugs the question names, those outside the vocabulary included ("on Sirdalud,
    given Ciprobay - is there an interaction?": two)."""


_AGE = cues().patterns["patient_age"]
_AGE_SEX = cues().patterns["patient_age_sex"]
_THING_AGE = cues().patterns["thing_age_before"]
_OTHERS_AGE = cues().patterns["others_age_before"]
_PLAN = cues().patterns["whole_plan"]
_SPASM = cues().patterns["spasm_word"]


def _mechanisms(text: str) -> frozenset[str]:
    """Pain mechanisms named in ``text``; a spasm in a person with MS is spasticity ("the back
    spasms from her MS")."""
    vocab = vocabulary()
    named = vocab.concept_ids(text, with_classes=False, affirmed=True)
    out = {c for c in named if vocab.concepts[c].category == "mechanism"}
    if "ms" in named and "spasticity" in vocab.concepts and _SPASM.search(text):
        out.add("spasticity")
    return frozenset(out)


def comedications(question: str, earlier_user_turns: tuple[str, ...] = ()) -> list[str]:
    """The medicines the patient takes (treatment state of any user turn, not those that failed),
    by name and by the classes of ``cues.yaml`` comedication_classes, in a fixed order: patient
    factors after the comorbidities ("on sertraline": what the guidance says of SSRIs with an
    NSAID; "Tylenol round the clock": what it says of acetaminophen alone)."""
    vocab = vocabulary()
    # A drug that did nothing or was not tolerated was tried and stopped, not taken alongside.
    current = [t for t in understand(question, earlier_user_turns).treatment if t.response in ("unknown", "partial")]
    # By name, and by the classes the guidance speaks of drugs by ("advises against
    # gabapentinoids" for one on pregabalin); broad classes ("anticonvulsants") would pull in
    # statements about other drugs.
    named_by = set(cues().comedication_classes)
    out = {t.drug for t in current if t.drug in vocab.concepts and drugs_named(vocab.concepts[t.drug].name)}
    out |= {k for t in current if t.drug in out for k in vocab.concepts[t.drug].classes
            if k in named_by and k in vocab.concepts}
    return sorted(c for c in out if vocab.concepts[c].category == "agent")


def age_populations(text: str) -> frozenset[str]:
    """Populations the patient's written age puts them in: children under ``adult_age``, older
    adults from ``older_age`` ("12-year-old", "84F", "aged 70")."""
    out: set[str] = set()
    for m in _AGE.finditer(text):
        before = text[max(0, m.start() - 40):m.start()]
        if _THING_AGE.search(before) or _OTHERS_AGE.search(before):
            continue  # "the wheelchair is 11 years old", "two children aged 6 and 9"
        age = int(next(g for g in m.groups() if g))
        out.add("child" if age < WEIGHTS.adult_age else "older_adult" if age >= WEIGHTS.older_age else "")
    noted = [int(m.group(1)) for m in _AGE_SEX.finditer(text)]
    if any(a >= WEIGHTS.older_age for a in noted):
        out.add("older_adult")
    if any(a >= WEIGHTS.adult_age for a in noted):
        # A case note's "36F" is the patient's age: a child's age elsewhere is someone else's.
        out.discard("child")
    return frozenset(c for c in out if c in vocabulary().concepts)


def case_only(question: str) -> bool:
    """A case presentation with no question in it, about a complaint the guidance covers."""
    if _INTERROGATIVE.search(question):
        return False
    vocab = vocabulary()
    return any(vocab.concepts[m.concept].category == "complaint" and not m.negated
               for m in vocab.mentions(question))


def question_breadth(question: str) -> str:
    """'narrow' (a dose, a yes/no, a when), 'broad' (approach, management) or 'focused'."""
    if _NARROW.search(question):
        # "What's the stepwise plan ..., and when do the muscle relaxants come in?": a plan asked
        # for whole, with its steps, is broad whatever else the question asks.
        return "broad" if _PLAN.search(question) else "narrow"
    if _BROAD.search(question):
        return "broad"
    if case_only(question):
        return "broad"  # a case with no question ("pt w/ RRMS, LBP x3wk") asks how to manage it
    if PATIENT_HINT.search(question) and not any(
            vocabulary().concepts[m.concept].category != "topic" for m in vocabulary().mentions(question)):
        return "broad"  # "what about for a patient?": the whole answer again, in plain language
    return "focused"


# Catalogue intents that also switch on the sentence cues of a vocabulary topic.
_ASK_TOPICS = {"max_dose": "dose", "how_to_prescribe": "dose", "titration": "dose", "first_choice": "first_line",
               "next_step": "second_line", "alternative": "second_line", "non_drug": "non_drug",
               "side_effects": "side_effects", "monitoring": "monitoring"}


def _brand_concepts(text: str) -> frozenset[str]:
    names = generic_names(text)
    return vocabulary().concept_ids(" ; ".join(names), with_classes=False) if names else frozenset()


def parse_query(question: str, query: str, req: Request | None = None) -> Query:
    vocab = vocabulary()
    full_question = question
    if req is not None and req.vignette:
        # What is asked comes from the request; the vignette says for whom.
        question = req.request or question
    # The query's own concepts only: "tizanidine" must not pull in every muscle
    # relaxant, while sentences carry their drugs' classes so "NSAIDs" finds "ibuprofen".
    # Brands the vocabulary does not list are known by their generic names ("Sirdalud", "Ciprobay").
    concepts = vocab.concept_ids(query, with_classes=False, affirmed=True) | _brand_concepts(query)
    own = vocab.concept_ids(question, with_classes=False, affirmed=True) | _brand_concepts(question)
    if req is not None and req.vignette:
        told = vocab.concept_ids(req.vignette, with_classes=False, affirmed=True)
        # Topics only the vignette names ("physiotherapy last year") are not asked.
        concepts = frozenset(c for c in concepts if vocab.concepts[c].category != "topic" or c in own
                             or c not in told)
    cats = {c: vocab.concepts[c].category for c in concepts if c in vocab.concepts}
    focus = frozenset(c for c, cat in cats.items() if cat in ("agent", "mechanism", "finding", "population"))
    agents = frozenset(c for c, cat in cats.items() if cat == "agent")
    if req is not None and req.vignette and req.request and not (agents & own) \
            and not _DRUG_ANAPHOR.search(req.request) and not _OWN_DOSE_ASKS.intersection(req.intents):
        # "What should I start her on?" after a medication list ("Meds: the pill, vitamin D, a
        # DMT") asks about no drug the patient takes: the request names none and points back at none.
        taken = frozenset(t.drug for t in req.treatment)
        focus = focus - taken
        agents = agents - taken
    intents = {c for c, cat in cats.items() if cat == "topic"}
    if "dose" in intents and "side_effects" in intents:
        intents.discard("side_effects")  # "tolerated dose" asks about dose
    if any(vocab.concepts[c].category == "finding" for c in own) or "red_flags" in intents:
        intents.add("red_flags")
    if _MAX_OR_TITRATE_Q.search(question):
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
    stems = frozenset(s for s in _stems(kept + " " + " ".join(generic_names(query))) if s not in QUESTION_NOISE)
    if "side_effects" in intents:
        # "side effects" names the intent; the named effects answer it (see _ADVERSE), and a
        # sentence that only says "side effects" must not win on those words.
        stems -= SIDE_EFFECT_WORDS
    # Units the question wants a number in: "MME thresholds", "how many days".
    units = stems if _THRESHOLD_Q.search(question) else frozenset()
    asks = req.intents if req is not None else ()
    # What the patient takes counts as tried when a response is stated or the next step is asked.
    tried = frozenset(t.drug for t in req.treatment
                      if t.response != "unknown" or {"next_step", "alternative"} & set(req.intents)
                      ) if req is not None else frozenset()
    intolerant = frozenset(t.drug for t in req.treatment if t.response == "intolerant") if req else frozenset()
    if tried and set(asks) & {"next_step", "alternative", "first_choice"} and not (
            # "No benefit from pregabalin 75 mg. How high can I titrate?": the drug taken is asked.
            _OWN_DOSE_ASKS.intersection(asks) and not {"alternative", "first_choice"} & set(asks)
            and not (agents & own - tried)):
        # "Already on amitriptyline, what next?" is not a question about amitriptyline, nor
        # "tried ibuprofen, no effect ... which drug would you start?" about ibuprofen.
        agents = agents - tried
        focus = focus - tried
    for a in asks:
        if a in _ASK_TOPICS:
            intents.add(_ASK_TOPICS[a])
    max_dose = bool(_MAX_DOSE_Q.search(question)) or "max_dose" in asks
    classes = frozenset(k for a in agents for k in vocab.concepts[a].classes)
    if req is not None and req.vignette and not req.request:
        breadth = "broad"  # a case presented without a question asks how to manage it
    else:
        breadth = question_breadth(question)
    if breadth == "narrow" and "red_flags" in intents:
        breadth = "focused"  # "when should I get urgent help?" is answered by the list of warning signs
    return Query(
        text=query, stems=stems, concepts=concepts, focus=focus, agents=agents, agent_classes=classes,
        intents=frozenset(intents), breadth=breadth,
        patient_language=bool(PATIENT_HINT.search(full_question)),
        # The safety policy's lexicon (generics, brands, classes); "MME thresholds?" asks about
        # opioid doses too (MME is a vocabulary alias of the opioid class, not a drug name).
        opioid_asked=names_opioid(query) or "opioid" in concepts,
        max_dose=max_dose,
        units=units,
        asks_first_line="first_line" in own or "first_choice" in asks,
        asks=asks, tried=tried, intolerant=intolerant,
        mechanisms=_mechanisms(full_question + " " + query),
        request=question,
        drugs=max(len(agents), len({d.generic for d in drugs_named(question)})),
    )
