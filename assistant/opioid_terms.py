"""The safety policy's opioid lexicon as a fast whole-word matcher for the answer path.

There is one opioid lexicon: ``assistant/safety/policy.yaml`` (``opioids.lexicon``, with its
``not_opioid`` look-alikes such as "non-opioid"). The safety layer matches it with spaCy
(misspellings tolerated) on user turns and finished answers; the composer, which looks at
thousands of guideline sentences per answer, matches the same phrases exactly.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .safety.policy import load_policy


@lru_cache(maxsize=1)
def _matchers() -> tuple[re.Pattern, re.Pattern]:
    op = load_policy().opioids

    def alt(phrases) -> re.Pattern:
        parts = sorted({p.strip().lower() for p in phrases if p.strip()}, key=len, reverse=True)
        body = "|".join(r"[\s-]+".join(re.escape(w) for w in re.split(r"[\s-]+", p)) for p in parts)
        return re.compile(r"(?<![\w-])(?:" + body + r")(?![\w-])", re.IGNORECASE)

    return alt(op.lexicon), alt(op.not_opioid)


@lru_cache(maxsize=65536)
def names_opioid(text: str) -> bool:
    """``text`` names an opioid (generic, brand or class word), look-alikes excepted (remembered
    per text: the same guideline sentences and titles are checked answer after answer)."""
    lex, not_op = _matchers()
    if not lex.search(text):
        return False
    return bool(lex.search(not_op.sub(" ", text)))
