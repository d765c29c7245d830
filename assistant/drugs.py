"""Drug names in a request, brands resolved to generics, by the maintained
``drug-named-entity-recognition`` library (MIT; its data ships in the wheel, no network), with
the reviewed names it misses from ``support_drugs.yaml`` (drug classes there excepted).

The library loads its dictionaries on first use (several seconds on a busy machine), so it
is imported lazily; ``warm()`` loads it ahead of the first question.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from core.errors import ConfigError

from .weights import WEIGHTS

SUPPLEMENT_PATH = Path(__file__).with_name("support_drugs.yaml")

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'-]*")
_LOCK = threading.Lock()


@dataclass(frozen=True)
class DrugName:
    generic: str
    """Lower-case generic (or class) name, e.g. 'pregabalin' for 'Lyrica'."""
    written: str
    """As written in the text."""
    token: int = 0
    """Index of its first token in the text."""


def _finder():
    with _LOCK:
        from drug_named_entity_recognition import find_drugs
    return find_drugs


def warm() -> None:
    _finder()(["warm"], is_ignore_case=True)


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


@lru_cache(maxsize=1)
def supplement() -> tuple[dict[str, tuple[str, ...]], frozenset[str]]:
    """The reviewed names the library misses (``support_drugs.yaml``): lower-case name -> generic
    or class names ("co-codamol" -> codeine, acetaminophen), and which of those are classes."""
    try:
        data = yaml.safe_load(SUPPLEMENT_PATH.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"cannot read {SUPPLEMENT_PATH}: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{SUPPLEMENT_PATH}: expected a mapping at the top level")
    names = {str(k).lower(): tuple(str(g).lower() for g in gs) for k, gs in (data.get("names") or {}).items()}
    return names, frozenset(str(c).lower() for c in data.get("classes") or ())


@lru_cache(maxsize=1)
def _supplement_drugs() -> dict[tuple[str, ...], tuple[str, ...]]:
    """Token sequence -> generic names, for the single drugs and products of the supplement
    ("Qutenza" -> capsaicin); classes ("steroids") are not drugs of their own."""
    names, classes = supplement()
    return {tuple(t.lower() for t in _TOKEN.findall(key)): gens
            for key, gens in names.items() if gens and not set(gens) & classes}


@lru_cache(maxsize=4096)
def drugs_named(text: str) -> tuple[DrugName, ...]:
    tokens = _TOKEN.findall(text)
    if not tokens:
        return ()
    out: list[DrugName] = []
    for data, start, end in _finder()(tokens, is_ignore_case=True):
        name = str(data.get("name") or "").lower()
        written = " ".join(tokens[start:max(end, start + 1)]).lower()
        if written != name and _common_word(written):
            continue  # "where the upper limit sits": a word, not a synonym of a chemical
        if name and all(d.generic != name for d in out):
            out.append(DrugName(name, written, start))
    lower = [t.lower() for t in tokens]
    for key, generics in _supplement_drugs().items():
        n = len(key)
        for i in range(len(lower) - n + 1):
            if tuple(lower[i:i + n]) == key:
                for g in generics:
                    if all(d.generic != g for d in out):
                        out.append(DrugName(g, " ".join(tokens[i:i + n]).lower(), i))
                break
    out.sort(key=lambda d: d.token)
    return tuple(out)


@lru_cache(maxsize=4096)
def _common_word(written: str) -> bool:
    from wordfreq import zipf_frequency  # loaded on first use, like the drug library

    return " " not in written and zipf_frequency(written, "en") >= WEIGHTS.drug_synonym_common_zipf


def named_in(drug: DrugName, text_lower: str, words: frozenset[str]) -> bool:
    """Is the drug named in a text (lower-cased, with its set of words)? Generic or written name,
    singular or plural; a long word of the text inside the generic name ("botulinum" for
    onabotulinumtoxinA); or a shortening of a word of the text ("pregab" for pregabalin)."""
    for n in (drug.generic, drug.written):
        for form in {n, n[:-1] if n.endswith("s") else n, n + "s"}:
            if form and re.search(r"(?<![a-z])" + re.escape(form) + r"(?![a-z])", text_lower):
                return True
    if any(len(w) >= 7 and w in drug.generic for w in words):
        return True
    # A clinician's shortening ("gaba/pregab", "amitrip") of a drug the text names in full.
    short = drug.written
    return len(short) >= 4 and " " not in short and any(
        len(w) >= len(short) + 3 and w.startswith(short) for w in words)


def generic_names(text: str) -> tuple[str, ...]:
    """The generic names of the brands a text uses ("Sativex" -> nabiximols, "Lyrica" ->
    pregabalin) that it does not also name: neither BM25 nor the embedding model knows brands."""
    lower = text.lower()
    out: list[str] = []
    for d in drugs_named(text):
        g = d.generic
        if g and g != d.written and g not in lower and g not in out and " " not in g.strip():
            out.append(g)
    return tuple(out)
