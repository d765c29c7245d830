"""When the sentences an answer cites disagree on a number, say so and prefer the newer source.

``find_disagreement`` is a pure function over an answer's cited sentences and its numbered
sources; it works for any composer. ``apply_disagreement`` post-processes a composed
``Answer``: it puts one line beside the disagreeing sentences ("The sources differ: 24 mg per
day [1] vs 36 mg per day [2]; ...") and makes the bottom line follow the most recently
reviewed approved document. Numbers are read exactly as the ingest conflict check reads
them (``ingest.conflicts.quantities``), so an answer flags what ``guideline check`` lists.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Sequence

from ingest.conflicts import Quantity, quantities

from .records import Answer, Section, Sentence

FLAG = "sources_differ"
"""Added to ``Answer.flags`` when the note is shown."""


@lru_cache(maxsize=65536)
def _quantities(sentence: str) -> tuple:
    """``quantities`` of a cited sentence, remembered: the same sentences are cited answer after answer."""
    return tuple(quantities(sentence))


@dataclass(frozen=True)
class CitedSentence:
    text: str
    cites: tuple[int, ...]


@dataclass(frozen=True)
class CitedSource:
    n: int
    doc_id: str
    title: str
    status: str
    last_reviewed: str
    """ISO date; later is newer."""


@dataclass(frozen=True)
class Disagreement:
    note: str
    """One line, e.g. 'The sources differ: 24 mg per day [1] vs 36 mg per day [2]; ...'."""
    subject: str
    """What the numbers are, e.g. 'maximum of tizanidine'."""
    preferred_doc: str | None
    """The most recently reviewed approved document among them (None when it is a tie)."""
    preferred_cites: tuple[int, ...]
    other_cites: tuple[int, ...]
    sentences: tuple[int, ...]
    """Indices (into the input) of the sentences that disagree."""
    superseded: tuple[int, ...]
    """Of those, the sentences whose number comes only from a non-preferred document."""
    preferred_sentence: int | None
    """Index of a sentence that states the preferred document's number."""


def _fmt(q: Quantity) -> str:
    return q.text


def find_disagreement(sentences: Sequence[CitedSentence], sources: Sequence[CitedSource]
                      ) -> Disagreement | None:
    """The first number (same drug, same kind) that the cited sentences state differently
    from different documents, or None."""
    by_n = {s.n: s for s in sources}
    # key -> value -> list of (sentence index, cite numbers, doc ids, quantity)
    seen: dict[tuple, dict[tuple, list[tuple[int, tuple[int, ...], frozenset, Quantity]]]] = {}
    order: list[tuple] = []
    for i, sent in enumerate(sentences):
        cites = tuple(n for n in sent.cites if n in by_n)
        docs = frozenset(by_n[n].doc_id for n in cites)
        if len(docs) != 1:
            continue  # no source, or one sentence citing several documents: not attributable
        for q in _quantities(sent.text):
            if q.key not in seen:
                order.append(q.key)
            seen.setdefault(q.key, {}).setdefault(q.value, []).append((i, cites, docs, q))
    for key in order:
        values = seen[key]
        if len(values) < 2:
            continue
        docs_of = {v: frozenset().union(*(e[2] for e in entries)) for v, entries in values.items()}
        vals = list(values)
        if not any(not (docs_of[a] & docs_of[b]) for i, a in enumerate(vals) for b in vals[i + 1:]):
            continue
        # Prefer the most recently reviewed approved document.
        dated = []
        for v, entries in values.items():
            for _, cites, docs, _ in entries:
                for n in cites:
                    src = by_n[n]
                    if src.status == "approved":
                        dated.append((src.last_reviewed, src.doc_id, v))
        dated.sort(reverse=True)
        preferred_doc = preferred_value = None
        if dated and (len(dated) == 1 or dated[0][0] > max((d[0] for d in dated if d[1] != dated[0][1]),
                                                            default="")):
            _, preferred_doc, preferred_value = dated[0]
        parts = []
        pref_cites: list[int] = []
        other_cites: list[int] = []
        # The value the answer follows first, then the others in the order they are cited.
        for v, entries in sorted(values.items(), key=lambda kv: kv[0] != preferred_value):
            cites = sorted({n for _, cs, _, _ in entries for n in cs})
            parts.append(f"{_fmt(entries[0][3])} " + "".join(f"[{n}]" for n in cites))
            (pref_cites if v == preferred_value else other_cites).extend(cites)
        drug, kind, _ = key
        subject = f"{'dose' if kind == 'dose' else kind} of {drug}"
        note = f"The sources differ on the {subject}: " + " vs ".join(parts)
        if preferred_doc is not None:
            src = next(s for s in sources if s.doc_id == preferred_doc and s.n in pref_cites)
            note += (f"; this answer follows the most recently reviewed document, "
                     f"{src.title} (reviewed {src.last_reviewed}) [{src.n}].")
        else:
            note += "; check the documents before relying on either."
        idx = sorted({e[0] for entries in values.values() for e in entries})
        superseded = tuple(sorted({e[0] for v, entries in values.items() if v != preferred_value
                                   for e in entries})) if preferred_doc else ()
        pref_sent = next((e[0] for e in values.get(preferred_value, [])), None) if preferred_doc else None
        return Disagreement(note, subject, preferred_doc, tuple(sorted(set(pref_cites))),
                            tuple(sorted(set(other_cites))), tuple(idx), superseded, pref_sent)
    return None


def apply_disagreement(ans: Answer) -> Answer:
    """``ans`` with the one-line note beside the disagreeing sentences and a bottom line that
    follows the preferred document; ``ans`` itself when its cited sentences agree."""
    from .render import render

    if ans.out_of_scope or not ans.citations:
        return ans
    flat: list[tuple[int, int]] = []
    sents: list[CitedSentence] = []
    for si, sec in enumerate(ans.sections):
        if sec.kind in ("escalation", "notice", "disclaimer", "out_of_scope"):
            continue
        for ji, s in enumerate(sec.sentences):
            flat.append((si, ji))
            sents.append(CitedSentence(s.text, tuple(s.cites)))
    sources = [CitedSource(c.n, c.doc_id, c.title, c.status, c.last_reviewed) for c in ans.citations]
    d = find_disagreement(sents, sources)
    if d is None:
        return ans
    sections = [list(sec.sentences) for sec in ans.sections]
    note = Sentence(d.note)  # its [n] markers are inline, beside each number
    # The bottom line follows the preferred document.
    if d.preferred_sentence is not None:
        pref = ans.sections[flat[d.preferred_sentence][0]].sentences[flat[d.preferred_sentence][1]]
        for si, sec in enumerate(ans.sections):
            if sec.kind != "bottom_line":
                continue
            old = [flat[k][1] for k in d.superseded if flat[k][0] == si]
            if not old:
                continue
            has_pref = any(flat[k][0] == si for k in d.sentences if k not in d.superseded)
            keep = []
            for ji, s in enumerate(sections[si]):
                if ji in old:
                    if not has_pref:
                        keep.append(pref)  # replace the older document's number with the newer one
                        has_pref = True
                    continue
                keep.append(s)
            sections[si] = keep
    # The note goes right after the last disagreeing sentence outside the bottom line, else
    # after the bottom line's own statement of the number.
    target = None
    for k in reversed(d.sentences):
        si, ji = flat[k]
        if ans.sections[si].kind != "bottom_line":
            target = (si, ji)
            break
    if target is not None:
        si, ji = target
        sections[si].insert(ji + 1, note)
    else:
        si = next(i for i, sec in enumerate(ans.sections) if sec.kind == "bottom_line")
        sections[si].append(note)
    new_sections = tuple(replace(sec, sentences=tuple(sections[i])) for i, sec in enumerate(ans.sections))
    return replace(ans, sections=new_sections, markdown=render(new_sections),
                   flags=tuple(ans.flags) + (FLAG,))
