"""Guideline text -> units and sentences, stems. The one sentence splitter of the product.

Passages are Markdown: headings, paragraphs, bullet lists, numbered steps and tables.
``units`` walks them into paragraphs, list items and steps (tables are skipped);
``split_sentences`` cuts a unit into sentences without breaking at abbreviations;
``clean`` strips links and emphasis. ``stems`` gives the content-word stems every
lexical comparison uses (stop words from ``cues.yaml``).
"""

from __future__ import annotations

import re
import threading

import Stemmer

from .cues import cues

STEMMER = Stemmer.Stemmer("english")
_STEM_LOCK = threading.Lock()  # PyStemmer objects are not thread-safe
WORD = re.compile(r"[a-z0-9]+")
STOP = cues().stop_words

_HEADING_LINE = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*[-*+\u2022]\s+(.*)$")
_STEP = re.compile(r"^\s*(\d{1,2})[.)]\s+(.*)$")
_TABLE = re.compile(r"^\s*\|")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_EMPH = re.compile(r"(\*\*|__|`)")
_SENT_SPLIT = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[A-Z0-9\"(\[])")
_ABBREV_END = re.compile(r"(?:\b(?:e\.g|i\.e|vs|etc|approx|Dr|Prof|St|No|Fig|al|cf)\.|\b[A-Z]\.)$")
_NUMBER_UNIT = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?:\s*(?:to|-|\u2013|or)\s*\d+(?:\.\d+)?)?\s*%?\s*([A-Za-z]+)")


def stem_words(words: list[str]) -> list[str]:
    with _STEM_LOCK:
        return STEMMER.stemWords(words)


def stems(text: str) -> frozenset[str]:
    words = [w for w in WORD.findall(text.lower()) if w not in STOP and len(w) > 1]
    with _STEM_LOCK:
        return frozenset(STEMMER.stemWords(words))


def number_units(text: str) -> frozenset[str]:
    """Stems of the words that follow a number ("50 MME" -> mme, "3 to 5 days" -> day)."""
    units = [m.group(1).lower() for m in _NUMBER_UNIT.finditer(text)]
    if not units:
        return frozenset()
    with _STEM_LOCK:
        return frozenset(STEMMER.stemWords(units))


def clean(text: str) -> str:
    text = _LINK.sub(r"\1", text)
    text = _EMPH.sub("", text)
    text = re.sub(r"(?<!\w)_(\S[^_]*\S)_(?!\w)", r"\1", text)
    return re.sub(r"\s+", " ", text).strip()


def split_sentences(text: str) -> list[str]:
    parts = _SENT_SPLIT.split(text)
    out: list[str] = []
    for p in parts:
        if out and _ABBREV_END.search(out[-1]):
            out[-1] = f"{out[-1]} {p}"
        else:
            out.append(p)
    return [p.strip() for p in out if p.strip()]


def units(text: str) -> list[tuple[str, str, int | None]]:
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
            heading = clean(m.group(1))
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

