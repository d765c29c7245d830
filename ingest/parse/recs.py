"""Numbered recommendations ("1.2.3 Consider ...", "Recommendation 4 ...") and their strength."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .rules import rules


@dataclass(frozen=True)
class Recommendation:
    label: str
    """'Recommendation 18' or '1.2.3'"""
    strength: str
    """As the document states it ('Weak for'), or ''."""


def recommendation(paragraph: str) -> Recommendation | None:
    """The paragraph is a numbered recommendation of its own -> its label and strength."""
    head = paragraph.lstrip()
    for p in rules().rec_starts:
        m = p.match(head)
        if m:
            label = " ".join(m.group("label").split())
            if label.lower().startswith("recommendation"):
                label = "Recommendation" + label[len("recommendation"):]
            return Recommendation(label, strength_of(paragraph))
    return None


def strength_of(text: str) -> str:
    for p in rules().rec_strength:
        m = p.search(text)
        if m:
            s = " ".join(m.group("strength").split()).rstrip(" ;,.")
            return s[:1].upper() + s[1:]
    return ""


def paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each blank-line separated paragraph of ``text``."""
    out = []
    for m in re.finditer(r"(?:[^\n]|\n(?!\s*\n))+", text):
        if m.group().strip():
            out.append((m.start(), m.end()))
    return out


def answer_text(paragraph: str, rec: Recommendation) -> str:
    """The recommendation as a passage: its own label removed from the front (kept as metadata)
    and a stated strength moved into the first sentence, so that a sentence quoted alone still
    says how strong it is ('... we suggest duloxetine (Weak for).'). Process labels that follow
    the strength in the same parentheses ('| Reviewed, New-replaced') are dropped."""
    text = paragraph.strip()
    for p in rules().rec_starts:
        m = p.match(text)
        if m:
            text = text[m.end():].lstrip()
            break
    if rec.strength:
        for p in rules().rec_strength:
            m = p.search(text)
            if m and m.group(0).startswith("("):
                text = (text[:m.start()].rstrip() + " " + text[m.end():].lstrip()).strip()
                break
        first = re.search(r"[.!?](?=\s+[A-Z]|\s*$)", text)
        if first:
            text = text[:first.start()] + f" ({rec.strength})" + text[first.start():]
        else:
            text = f"{text} ({rec.strength})."
    return " ".join(text.split())


def normalised(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))
