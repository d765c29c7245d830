"""Findings as combinations of parts, not whole phrases.

A red flag is described in endless wordings, but most are a few parts said close together: a body
site or function ("bottom", "the paper when I wipe", "bladder"), an abnormality ("can't feel",
"nothing comes", "an accident") and, for progression, a time course ("by Wednesday", "now",
"spreading"). The policy's ``concepts`` section keeps a vocabulary per part (lay and clinical
words, in the policy's phrase syntax) and the combinations that make a finding. A combination
matches when one phrase of every part occurs within ``window`` tokens of each other in one
sentence, with no clause break (``breaks``) and no negation word between them (a negation inside
the span would be invisible to the context passes, which look at triggers around a finding).

Matching is deterministic spaCy PhraseMatcher work on the same normalised tokens (``NORM``, so
misspellings are tolerated as for phrases); the spans it returns become mentions and get their
context (negated, historical, possible...) from the ordinary NegEx passes.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import ConfigError


@dataclass(frozen=True)
class Combination:
    finding: str
    parts: tuple[str, ...]
    window: int


@dataclass(frozen=True)
class Concepts:
    parts: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(part name, expanded phrases)."""
    combinations: tuple[Combination, ...] = ()
    breaks: tuple[str, ...] = ()
    """Tokens that end a clause: no combination spans one."""
    inner_negations: tuple[str, ...] = ()
    """Words that, between two parts, make the combination not a positive statement."""
    fillers: tuple[str, ...] = ()
    """Intensifiers skipped when parts are matched ("nothing really comes out", "I haven't
    actually been"): a part's phrase matches with or without them."""

    def phrases(self) -> list[str]:
        return [p for _, ps in self.parts for p in ps]


def parse_concepts(raw, finding_ids: set[str], expand_all) -> Concepts:
    if raw is None:
        return Concepts()
    if not isinstance(raw, dict):
        raise ConfigError("safety policy: concepts must be a mapping")
    parts_raw = raw.get("parts") or {}
    if not isinstance(parts_raw, dict) or not parts_raw:
        raise ConfigError("safety policy: concepts.parts must map part names to phrase lists")
    parts = tuple((str(k), expand_all(v, f"concepts.parts.{k}")) for k, v in parts_raw.items())
    names = {k for k, _ in parts}
    default_window = int(raw.get("window", 10))
    combos = []
    for i, c in enumerate(raw.get("combinations") or []):
        where = f"safety policy: concepts.combinations[{i}]"
        if not isinstance(c, dict) or "finding" not in c or "parts" not in c:
            raise ConfigError(f"{where} needs 'finding' and 'parts'")
        if c["finding"] not in finding_ids:
            raise ConfigError(f"{where}: unknown finding {c['finding']!r}")
        ps = c["parts"]
        if not isinstance(ps, list) or len(ps) < 2:
            raise ConfigError(f"{where}: 'parts' must list at least two part names")
        unknown = [p for p in ps if p not in names]
        if unknown:
            raise ConfigError(f"{where}: unknown part(s) {unknown}; define them under concepts.parts")
        combos.append(Combination(c["finding"], tuple(ps), int(c.get("window", default_window))))
    return Concepts(parts=parts, combinations=tuple(combos),
                    breaks=tuple(str(b).lower() for b in raw.get("breaks") or ()),
                    inner_negations=tuple(str(b).lower() for b in raw.get("inner_negations") or ()),
                    fillers=tuple(str(b).lower() for b in raw.get("fillers") or ()))


@dataclass(frozen=True)
class PartHit:
    part: str
    start: int
    end: int
    """Token offsets in the document."""


def combine(hits: list[PartHit], combos: tuple[Combination, ...], sent_bounds: list[tuple[int, int]],
            blocked: list[bool]) -> list[tuple[str, int, int]]:
    """(finding, start token, end token) for every combination found.

    ``blocked[i]`` is true for a token that ends a clause or negates; a combination may not span
    one unless it lies inside one of its own part matches ("can't feel" is a part, not a negation).
    For each anchor hit the nearest hit of every other part is taken, so the span stays tight.
    """
    out: list[tuple[str, int, int]] = []
    by_sent: dict[int, list[PartHit]] = {}
    starts = [s for s, _ in sent_bounds]
    import bisect

    for h in hits:
        k = bisect.bisect_right(starts, h.start) - 1
        if k >= 0 and h.end <= sent_bounds[k][1]:
            by_sent.setdefault(k, []).append(h)
    seen: set[tuple[str, int, int]] = set()
    for sent_hits in by_sent.values():
        for combo in combos:
            need = combo.parts
            groups = {p: [h for h in sent_hits if h.part == p] for p in need}
            if any(not g for g in groups.values()):
                continue
            for anchor in groups[need[0]]:
                chosen = [anchor]
                for p in need[1:]:
                    best = min(groups[p], key=lambda h: abs(h.start - anchor.start))
                    chosen.append(best)
                s = min(h.start for h in chosen)
                e = max(h.end for h in chosen)
                if e - s > combo.window:
                    continue
                # A negation word inside any of the combination's own part phrases is wording,
                # not a negation ("legs heavy, not doing what I tell them, worse every day").
                inside = set()
                for g in groups.values():
                    for h in g:
                        if s <= h.start and h.end <= e:
                            inside.update(range(h.start, h.end))
                if any(blocked[i] for i in range(s, e) if i not in inside):
                    continue
                key = (combo.finding, s, e)
                if key not in seen:
                    seen.add(key)
                    out.append(key)
    return out
