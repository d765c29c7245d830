"""Deterministic corruptions of true guideline sentences, for measuring the LLM support check.

Each function returns the corrupted sentence, or None when the sentence offers nothing to
corrupt. ``avoid`` is the text the corruption must not be found in (the cited passage):
a "wrong" number or drug that the passage names elsewhere is chosen against.
"""

from __future__ import annotations

import re

# Drugs swapped in: common in the corpus, so a swap reads plausibly.
SWAP_DRUGS = ("tizanidine", "baclofen", "gabapentin", "pregabalin", "amitriptyline", "duloxetine",
              "naproxen", "ibuprofen", "dantrolene", "carbamazepine", "diazepam", "tramadol",
              "nortriptyline", "celecoxib", "venlafaxine", "lamotrigine")

_NUM = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(?![\w.]*\d)")
_AUX = re.compile(r"\b(is|are|was|were|should|can|may|must|will|does|do|has been|have been)\b(?!\s+not\b)", re.I)
_NOT = re.compile(r"\b(should|must|can|does|do|is|are|will|may)\s+not\b|\b(cannot|do not|does not|don't|doesn't|isn't|aren't)\b", re.I)


def corrupt_number(sentence: str, avoid: str = "", *, seed: int = 0, in_passage: bool = False) -> str | None:
    """One number changed: to a value the passage does not contain (or, ``in_passage``, to
    another number the passage does contain: the hard case)."""
    nums = list(_NUM.finditer(sentence))
    if not nums:
        return None
    m = nums[seed % len(nums)]
    old = float(m.group(1))
    present = {float(x) for x in re.findall(r"(?<![\w.])\d+(?:\.\d+)?", avoid)}
    if in_passage:
        others = sorted(v for v in present if v != old)
        if not others:
            return None
        new = others[seed % len(others)]
    else:
        new = None
        for cand in (old * 3, old + 7, old * 10 + 5, old + 13, old * 4 + 1):
            if cand != old and cand not in present:
                new = cand
                break
        if new is None:
            return None
    txt = f"{new:g}"
    return sentence[:m.start(1)] + txt + sentence[m.end(1):]


def corrupt_drug(sentence: str, avoid: str = "", *, seed: int = 0) -> str | None:
    """One named drug replaced by another that the passage does not name."""
    from assistant.support import drug_mentions

    ments = [s for s, _ in drug_mentions(sentence) if re.search(re.escape(s), sentence)]
    if not ments:
        return None
    surface = ments[seed % len(ments)]
    low_avoid = (avoid + " " + sentence).lower()
    options = [d for d in SWAP_DRUGS if d not in low_avoid]
    if not options:
        return None
    new = options[seed % len(options)]
    m = re.search(re.escape(surface), sentence)
    if surface[:1].isupper():
        new = new.capitalize()
    return sentence[:m.start()] + new + sentence[m.end():]


def flip_negation(sentence: str, avoid: str = "", *, seed: int = 0) -> str | None:
    """'X should not be stopped' -> 'X should be stopped'; 'X is used' -> 'X is not used'."""
    m = _NOT.search(sentence)
    if m:
        if m.group(1):
            return sentence[:m.start()] + m.group(1) + sentence[m.end():]
        repl = {"cannot": "can", "do not": "do", "does not": "does", "don't": "do", "doesn't": "does",
                "isn't": "is", "aren't": "are"}[m.group(2).lower()]
        return sentence[:m.start()] + repl + sentence[m.end():]
    m = re.search(r"\b(no|never)\s", sentence, re.I)
    if m and m.start() > 0:
        return sentence[:m.start()] + ("any " if m.group(1).lower() == "no" else "always ") + sentence[m.end():]
    m = _AUX.search(sentence)
    if m:
        return sentence[:m.end()] + " not" + sentence[m.end():]
    return None


GENERALISATIONS = (
    "{X} has few side effects.",
    "{X} is safe for all patients.",
    "{X} works for every kind of back pain.",
    "{X} is the best treatment in every case.",
    "Most patients do well with {X} alone.",
    "{X} can be used without any monitoring.",
)


def generalise(subject: str, *, seed: int = 0) -> str:
    """An unsupported general claim about ``subject``."""
    t = GENERALISATIONS[seed % len(GENERALISATIONS)]
    s = t.format(X=subject)
    return s[:1].upper() + s[1:]


_REWORD = (
    (r"\bshould be\b", "needs to be"),
    (r"\bpeople\b", "patients"),
    (r"\busually\b", "typically"),
    (r"\bcommonly\b", "often"),
    (r"\bis recommended\b", "is advised"),
    (r"\bare recommended\b", "are advised"),
    (r"\bconsider\b", "think about"),
    (r"\bhelps\b", "can help"),
    (r"\bincreased\b", "raised"),
    (r"\breduced\b", "lowered"),
    (r"\bmultiple sclerosis\b", "MS"),
)


def reword(sentence: str) -> str | None:
    """A light rewording that keeps the meaning (the kind of change an LLM makes)."""
    out = sentence
    for pat, rep in _REWORD:
        out = re.sub(pat, rep, out, count=1, flags=re.I)
    if out == sentence:
        return None
    return out
