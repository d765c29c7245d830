"""Reference markers out of passage text, kept as metadata; sections that are not answers.

Published text carries citation markers that mean nothing in an answer and collide with
the answer's own ``[n]`` citations: Markdown reference links (``[[23]](#refitem-...)``),
bracketed and superscript numbers, zero-width spaces, parenthesised pointers to figures
and tables ("(Figure 1, Table 6)") and, in documents written that way, parenthesised
reference numbers after a sentence ("...pain.(53)").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .rules import rules

_NUMS = r"\d{1,4}(?:\s*[-\u2013,]\s*\d{1,4})*"
_MD_REF_LINK = re.compile(r"\s?\[\[(" + _NUMS + r")\]\]\([^)\s]*\)")
_MD_NUM_LINK = re.compile(r"\s?\[(" + _NUMS + r")\]\(#[^)\s]*\)")
_SUP_TAG = re.compile(r"\s?<sup>\s*\[?(" + _NUMS + r"|[a-z*†‡])\]?\s*</sup>", re.I)
_BRACKETED = re.compile(r"(?<=\S)\s?\[\^?(" + _NUMS + r")\](?!\()")
_UNICODE_SUP = re.compile(r"(?<=[A-Za-z.,;:)\]])([\u2070\u00b9\u00b2\u00b3\u2074-\u2079]+(?:[\u207b,][\u2070\u00b9\u00b2\u00b3\u2074-\u2079]+)*)")
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_LABEL = r"(?:figures?|figs?\.|tables?|boxes|box|appendix|appendices|sidebars?|exhibits?)"
_POINTER_PAREN = re.compile(
    r"\s?\((?:see\s+(?:also\s+)?)?(" + _LABEL + r"\s+[A-Z0-9]{1,4}(?:\s*(?:,|;|and|&)\s*(?:" + _LABEL
    + r"\s+)?[A-Z0-9]{1,4})*)\)", re.I)
_PAREN_NUMS = re.compile(r"(?<=[^\s(])\s?\((" + _NUMS.replace("{1,4}", "{1,3}") + r")\)")
_PAREN_STYLE = re.compile(r"[.,;:a-z)]\(\d{1,3}(?:\s*[-\u2013,]\s*\d{1,3})*\)")
PAREN_STYLE_MIN = 5
"""A document with at least this many 'word.(12)' markers cites by parenthesised numbers."""
_SUPERSCRIPT_DIGITS = str.maketrans("\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079\u207b",
                                    "0123456789-")


@dataclass(frozen=True)
class Cleaned:
    text: str
    refs: tuple[str, ...]


def cites_by_parenthesis(text: str) -> bool:
    """Does this document mark citations as '(12)' after a word or full stop?"""
    return len(_PAREN_STYLE.findall(text)) >= PAREN_STYLE_MIN


def strip_refs(text: str, *, paren_numbers: bool = False) -> Cleaned:
    """Remove reference markers from ``text``; the markers removed, in order, as metadata."""
    refs: list[str] = []

    def keep(group: int = 1, fix=lambda s: s):
        def sub(m: re.Match) -> str:
            refs.append(" ".join(fix(m.group(group)).split()))
            return ""
        return sub

    out = _ZERO_WIDTH.sub("", text)
    if "[" in out or "<" in out:
        out = _MD_REF_LINK.sub(keep(), out)
        out = _MD_NUM_LINK.sub(keep(), out)
        out = _SUP_TAG.sub(keep(), out)
        out = _BRACKETED.sub(keep(), out)
    out = _UNICODE_SUP.sub(keep(fix=lambda s: s.translate(_SUPERSCRIPT_DIGITS)), out)
    if "(" in out:
        out = _POINTER_PAREN.sub(keep(), out)
        if paren_numbers:
            out = _PAREN_NUMS.sub(keep(), out)
    if not refs and out == text:
        return Cleaned(text, ())
    out = re.sub(r"[ \t]+([.,;:])", r"\1", out)
    out = re.sub(r"[ \t]{2,}", " ", out)
    return Cleaned(out, tuple(dict.fromkeys(r for r in refs if r)))


def drop_pointer_sentences(text: str, labels: set[str]) -> Cleaned:
    """Drop sentences that only point at a table or figure this document holds ('See Table 4 ...')."""
    if not labels or not re.search(r"\b(?:see|refer|shown|summari[sz]ed|listed)\b", text, re.I):
        return Cleaned(text, ())
    pattern = rules().pointer_sentence
    kept: list[str] = []
    dropped: list[str] = []
    for para in text.split("\n"):
        parts = re.split(r"(?<=[.!?])\s+(?=[A-Z])", para)
        out = []
        for sent in parts:
            m = pattern.match(sent.strip())
            if m and _norm_label(m.group("label")) in labels:
                dropped.append(_norm_label(m.group("label")))
                continue
            out.append(sent)
        kept.append(" ".join(out))
    if not dropped:
        return Cleaned(text, ())
    return Cleaned("\n".join(kept), tuple(dropped))


def _norm_label(label: str) -> str:
    kind, _, num = " ".join(label.split()).partition(" ")
    return f"{kind.capitalize()} {num.upper()}"


def label_of(caption: str) -> str | None:
    """'Table 4. First-line drugs' -> 'Table 4'."""
    m = re.match(r"^\W*(table|figure|box|sidebar|exhibit)\s+([A-Z0-9]{1,4})\b", caption, re.I)
    return _norm_label(f"{m.group(1)} {m.group(2)}") if m else None


def is_non_answer(heading: str) -> bool:
    """A heading of a section that is not answer material (references, authors, contents ...)."""
    h = re.sub(r"^\W*(?:appendix\s+[A-Z0-9]{1,3}\s*[:.\-\u2013]\s*|(?:[IVX]{1,6}|[A-Za-z]|\d{1,2}(?:\.\d{1,2})*)[.)]\s+)",
               "", heading.strip(), flags=re.I)
    h = " ".join(h.strip(" :.*_#").split())
    return any(p.match(h) for p in rules().non_answer)
