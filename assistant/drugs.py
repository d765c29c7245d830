"""Drug names in a request, brands resolved to generics, by the maintained
``drug-named-entity-recognition`` library (MIT; its data ships in the wheel, no network).

The library loads its dictionaries on first use (several seconds on a busy machine), so it
is imported lazily; ``warm()`` loads it ahead of the first question.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache

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


@lru_cache(maxsize=4096)
def drugs_named(text: str) -> tuple[DrugName, ...]:
    tokens = _TOKEN.findall(text)
    if not tokens:
        return ()
    out: list[DrugName] = []
    for data, start, end in _finder()(tokens, is_ignore_case=True):
        name = str(data.get("name") or "").lower()
        written = " ".join(tokens[start:max(end, start + 1)]).lower()
        if name and all(d.generic != name for d in out):
            out.append(DrugName(name, written, start))
    return tuple(out)


def named_in(drug: DrugName, text_lower: str, words: frozenset[str]) -> bool:
    """Is the drug named in a text (lower-cased, with its set of words)? Generic or written name,
    singular or plural; or a long word of the text inside the generic name ("botulinum" for
    onabotulinumtoxinA)."""
    for n in (drug.generic, drug.written):
        for form in {n, n[:-1] if n.endswith("s") else n, n + "s"}:
            if form and re.search(r"(?<![a-z])" + re.escape(form) + r"(?![a-z])", text_lower):
                return True
    return any(len(w) >= 7 and w in drug.generic for w in words)
