"""The one negation detector of the answer path (cues in ``cues.yaml`` under ``negation``).

* ``negated_before(text, start)``: is a vocabulary mention at ``start`` negated by a cue
  shortly before it in the same clause ("denies saddle anaesthesia", "no fever")?
* ``negated_main_clause(sentence)``: does a guideline sentence deny in its main clause
  ("imaging is not recommended ...") rather than inside a condition?
* ``strip_negated_clauses(text)``: the text without its negated clauses (retrieval only).

The safety layer has its own context detector (``assistant/safety/context.py``, NegEx-style
over spaCy); safety decisions never use this module.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .cues import cues

_N = cues().negation
_MENTION_CUE: re.Pattern = _N["mention_cue"]
_MENTION_BREAK: re.Pattern = _N["mention_break"]
MENTION_WINDOW: int = int(_N["mention_window"])
"""Characters looked back for a negation cue."""
_NEGATED_CLAUSE: re.Pattern = _N["negated_clause"]
_MAIN_CLAUSE_CUE: re.Pattern = _N["main_clause_cue"]
_CLAUSE_BREAK: re.Pattern = _N["clause_break"]
_LIST_ITEM_WORDS: int = int(_N["list_item_words"])
"""Words allowed before a mention after a comma for a negation cue to reach it."""


def negated_before(text: str, start: int) -> bool:
    before = _MENTION_BREAK.split(text[max(0, start - MENTION_WINDOW):start])[-1]
    m = _MENTION_CUE.search(before)
    if m is None:
        return False
    # Across a comma the cue reaches only the next item of a list ("no fever, chills or
    # weight loss"), not a new clause ("no MS, 8 months of back pain", "no sciatica, did PT").
    after_cue = before[m.start():]
    if "," in after_cue:
        item = after_cue.rsplit(",", 1)[1]
        if re.search(r"\d", item) or len(re.findall(r"[A-Za-z']+", item)) > _LIST_ITEM_WORDS:
            return False
    return True


@lru_cache(maxsize=65536)
def negated_main_clause(text: str) -> bool:
    m = _CLAUSE_BREAK.search(text)
    return bool(_MAIN_CLAUSE_CUE.search(text[:m.start()] if m else text))


def has_negation(text: str) -> bool:
    """A negation cue anywhere in ``text`` (a heading such as "When not to image")."""
    return bool(_MAIN_CLAUSE_CUE.search(text))


def strip_negated_clauses(text: str) -> str:
    return _NEGATED_CLAUSE.sub(" ", text)
