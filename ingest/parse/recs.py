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
