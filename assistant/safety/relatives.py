"""A relative who is the patient: "Mum is 73 and on alendronate ... she lifted a bag of compost".

NegEx's family context reads "mum", "dad", "husband" as someone other than the patient, which is
right in a family history ("mother had breast cancer") and wrong when a carer writes about the
person with back pain. The policy's ``relative_as_patient`` section says when the relative is the
patient: a relative word followed by a present-state verb ("Mum is", "my dad has been", "Nan
fell", "my mum who's 76", quoted or not: "mum 'couldn't get off the sofa'"), with the turn going on about her or him, and no family-history cue in the sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from core.errors import ConfigError


@dataclass(frozen=True)
class RelativeAsPatient:
    relatives: tuple[str, ...] = ()
    present_state: tuple[str, ...] = ()
    history_cues: tuple[str, ...] = ()
    third_person: tuple[str, ...] = ()
    contracted_verbs: tuple[str, ...] = ()
    """Words after a relative's "'s" that make it "is"/"has" rather than a possessive ("Dad's
    been up every night", not "Dad's back")."""
    possession_verbs: tuple[str, ...] = ()
    """Verbs that make the relative the patient only when the writer tells of no back of their
    own ("My mum have osteoporosis ... she sneeze", not "I hurt my back; my mum has osteoporosis")."""
    female: tuple[str, ...] = ()
    """Relatives who are women: after a possession verb the pronouns that follow must be theirs
    ("Sister has osteoporosis; he has back pain" is about someone else)."""
    male: tuple[str, ...] = ()


def parse_relatives(raw) -> RelativeAsPatient:
    if raw is None:
        return RelativeAsPatient()
    if not isinstance(raw, dict):
        raise ConfigError("safety policy: relative_as_patient must be a mapping")
    out = {}
    for key in ("relatives", "present_state", "history_cues", "third_person"):
        v = raw.get(key)
        if not isinstance(v, list) or not v or not all(isinstance(x, str) and x.strip() for x in v):
            raise ConfigError(f"safety policy: relative_as_patient.{key} must be a non-empty list of words")
        out[key] = tuple(x.lower().strip() for x in v)
    for key in ("contracted_verbs", "possession_verbs", "female", "male"):
        v = raw.get(key, [])
        if not isinstance(v, list) or not all(isinstance(x, str) and x.strip() for x in v):
            raise ConfigError(f"safety policy: relative_as_patient.{key} must be a list of words")
        out[key] = tuple(x.lower().strip() for x in v)
    return RelativeAsPatient(**out)


def _alt(words: tuple[str, ...]) -> str:
    return "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in sorted(words, key=len, reverse=True))


@lru_cache(maxsize=8)
def _relative_word(rp: RelativeAsPatient) -> re.Pattern:
    return re.compile(r"(?<![\w'])(?:" + _alt(rp.relatives) + r")(?![\w'])", re.I)


def _subject(rp: RelativeAsPatient, verbs: tuple[str, ...]) -> re.Pattern:
    # "my mum is ...", "Nan fell": the writer's relative. "his housemate, who is on steroids" is the
    # patient's relative, not the patient: after "her"/"his" only the demographics of a patient
    # ("for her mum, 79F") make the relative the patient.
    return re.compile(r"(?<![\w'])(?:(?:her|his)\s+(?:" + _alt(rp.relatives) + r")(?=,?\s+\(?\d{2,3}\s*(?:f|m|yo|y/o|yrs?|years? old)\)?(?![\w])|,\s?\d{2,3}\s?,)|(?:my\s+|our\s+|(?<!\bher\s)(?<!\bhis\s)(?<!\btheir\s))(?:" + _alt(rp.relatives) + r"))(?:(?:,?\s+\(?\d{2,3}\)?,?|,?\s+(?:age|aged)\s+\d{2,3}(?:\s+(?:years|yrs|y))?(?:\s+old)?,?)?(?:,?\s+who(?=[\s'’]))?(?:\s+['\"‘“]?|(?<=who)(?=['’]s\b)|(?=['’]s\s+\(?\d)"
                         + (r"|(?=['’]s\s+(?:" + _alt(rp.contracted_verbs) + r")(?![\w']))" if rp.contracted_verbs else "")
                         + r")(?:"
                         + _alt(verbs) + r")(?![\w])"
                         # ... or with the patient's age and sex ("for her mum, 79F"): a patient's demographics
                         + r"|,?\s+\(?\d{2,3}\s*(?:f|m|yo|y/o|yrs?|years? old)\)?(?![\w])"
                         # ... or the age set off by commas ("Dad, 80, felt something give")
                         + r"|,\s?\d{2,3}\s?,)", re.I)


@lru_cache(maxsize=8)
def _compiled(rp: RelativeAsPatient):
    subject = _subject(rp, rp.present_state)
    weak = _subject(rp, rp.possession_verbs) if rp.possession_verbs else None
    history = re.compile(r"(?<![\w])(?:" + _alt(rp.history_cues) + r")(?![\w])", re.I)
    third = re.compile(r"(?<![\w'])(?:" + _alt(rp.third_person) + r")(?![\w'])", re.I)
    return subject, history, third, weak


def relative_is_patient(sentence: str, turn: str, rp: RelativeAsPatient, before: str | None = None) -> bool:
    """True when ``sentence`` describes a relative who is the person being asked about. With
    ``before`` (the sentence up to a finding), the finding must follow that relative, with no
    other relative named in between ("His friend ... could not walk, so now my husband is
    panicking": the friend could not walk)."""
    if not rp.relatives:
        return False
    subject, history, third, weak = _compiled(rp)
    if history.search(sentence):
        return False
    if not subject.search(sentence):
        said_by = weak.search(sentence) if weak is not None else None
        if said_by is None or _writer_is_patient(turn):
            return False
        subject = weak
        # "Sister has osteoporosis; he has back pain": the pronouns that follow must be the
        # relative's own (by the relative word's sex, where it has one).
        rel = _relative_word(rp).search(sentence, said_by.start())
        word = rel.group(0).lower() if rel else ""
        sex = "f" if word in rp.female else "m" if word in rp.male else None
        if sex is not None:
            rest = turn.replace(sentence, " ", 1) + " " + sentence[said_by.end():]
            said = {_PRONOUN_SEX[m.group(0).lower()] for m in third.finditer(rest)
                    if m.group(0).lower() in _PRONOUN_SEX}
            if said and sex not in said:
                return False
    if before is not None:
        # The last relative named before the finding must be the one said to be the patient.
        last = None
        for last in _relative_word(rp).finditer(before):
            pass
        if last is not None and not any(m.start() <= last.start() < m.end() for m in subject.finditer(sentence)):
            return False
    rest = turn.replace(sentence, " ", 1)
    return bool(third.search(rest) or third.search(sentence[subject.search(sentence).end():]))


_PRONOUN_SEX = {"she": "f", "her": "f", "hers": "f", "she's": "f", "he": "m", "him": "m", "his": "m", "he's": "m"}


# The writer telling of their own back ("my back is paining", "I am 29", "I have had back pain").
_WRITER_IS_PATIENT = re.compile(r"\b(?:my\s+(?:(?:left|right|lower|upper|low)\s+)?(?:back|lower back|spine|legs?|bladder|bottom|neck|pain|sciatica|hip|buttock)\b|i\s+am\s+\d|i'm\s+\d|"
                                r"i\s*(?:have|have had|'ve had|'ve got|have got|am having|got|'ve been having|have been having|(?:'ve|have)\s+(?:now|also|still|just)\s+(?:got|had)|(?:now|also|still)\s+have)\s+(?:(?:now|also|still|just|really|got)\s+)?(?:back|bad back|pain|a bad back|sciatica|lower back|low back|a slipped disc|a disc)|my\s+own\b)", re.I)
_FIRST_PERSON = re.compile(r"(?<![\w'])(?:i|i'm|i've|me|my|myself)(?![\w'])", re.I)


def relative_pronoun_before(before: str, turn: str, rp: RelativeAsPatient) -> bool:
    """"My neighbour aunty had bone cancer and at the end she could not walk. Now my back ...":
    in a turn where the writer is the patient, "she"/"he" after a relative named in the same
    sentence is that relative. ``before`` is the sentence up to the finding."""
    if not rp.relatives:
        return False
    third = _compiled(rp)[2]
    rel = _relative_word(rp).search(before)
    if not rel:
        return False
    pron = None
    for pron in third.finditer(before, rel.end()):
        pass
    return (pron is not None and not _FIRST_PERSON.search(before[pron.end():])
            and _writer_is_patient(turn))


@lru_cache(maxsize=64)
def _writer_is_patient(turn: str) -> bool:
    # Once per turn: a long note has hundreds of findings (a string's hash is cached).
    return bool(_WRITER_IS_PATIENT.search(turn))
