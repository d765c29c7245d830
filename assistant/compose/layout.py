"""Selection and layout: bottom line, sections, algorithm and pitfalls (``Block``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from ..text import stems as _stems
from ..vocab import vocabulary
from ..weights import WEIGHTS
from .query import Query
from .score import Cand, about_agents, plain_doc

class Picked:
    """Selected statements with duplicate detection; a duplicate adds its passage."""

    def __init__(self):
        self.items: list[tuple[Cand, list[str]]] = []
        self._ids: set[tuple[str, int]] = set()

    def __len__(self):
        return len(self.items)

    def has(self, c: Cand) -> bool:
        return (c.sent.chunk_id, c.sent.idx) in self._ids

    def add(self, c: Cand) -> bool:
        """True when c is new; False when it duplicates (and reinforces) a picked one."""
        if self.has(c):
            return False
        for other, chunks in self.items:
            a, b = c.sent.stems, other.sent.stems
            if a and b and len(a & b) / len(a | b) >= WEIGHTS.duplicate_jaccard:
                if c.sent.chunk_id not in chunks:
                    chunks.append(c.sent.chunk_id)
                self._ids.add((c.sent.chunk_id, c.sent.idx))
                return False
        self.items.append((c, [c.sent.chunk_id]))
        self._ids.add((c.sent.chunk_id, c.sent.idx))
        return True

    def chunks_of(self, c: Cand) -> list[str]:
        for other, chunks in self.items:
            if other is c:
                return chunks
        return [c.sent.chunk_id]


@dataclass
class Block:
    heading: str
    kind: str
    ordered: bool
    cands: list[Cand]


def best_per_factor(cands: Sequence[Cand], factors: Sequence[str], picked: Picked, max_n: int,
                    keep: Callable[[Cand], bool]) -> list[Cand]:
    """For each patient factor in turn, the best statement that names it in its own words, is
    not in the answer yet and passes ``keep``; a factor an earlier pick already names is
    skipped. At most ``max_n``."""
    out: list[Cand] = []
    for f in factors:
        if len(out) >= max_n:
            break
        if any(f in c.sent.direct for c in out):
            continue  # already said something about it
        about = [c for c in cands if f in c.sent.direct and not picked.has(c) and keep(c)]
        if about and picked.add(best := max(about, key=lambda c: c.score)):
            out.append(best)
    return out


def for_this_patient(cands: Sequence[Cand], factors: Sequence[str], picked: Picked, max_n: int,
                     floor: float, heading: str = "For this patient", q: Query | None = None) -> list[Block]:
    """For each comorbidity or population named about the patient, the best statement that names
    it in its own words and is not in the answer yet ("gabapentin doses are reduced when creatinine
    clearance is below ..." for CKD). A statement about a drug the question names ("NSAIDs should
    be avoided in people taking anticoagulants" when naproxen is asked about) needs no score floor:
    it is the caution the question turns on, however little else of the question it shares."""
    def keep(c: Cand) -> bool:
        if c.sent.dependent or c.sent.step is not None:
            return False
        return c.score >= floor or (q is not None and c.score > 0 and about_agents(q, c.about, c.direct))

    out = best_per_factor(cands, factors, picked, max_n, keep)
    return [Block(heading, "body", False, out)] if out else []


def also_relevant(cands: Sequence[Cand], picked: Picked, max_n: int, floor: float) -> list[Block]:
    """The best statement of each passage the answer has not drawn on yet, best-ranked passage
    first: what the guidance says nearby that the sections above left out."""
    used = {cid for c, chunks in picked.items for cid in chunks}
    best: dict[str, Cand] = {}
    for c in cands:
        cid = c.sent.chunk_id
        if cid in used or c.score < floor or picked.has(c) or c.role in ("algorithm", "pitfall") \
                or c.sent.step is not None:
            continue
        if cid not in best or c.score > best[cid].score:
            best[cid] = c
    out: list[Cand] = []
    for c in sorted(best.values(), key=lambda c: (c.hit.rank, -c.score)):
        if len(out) >= max_n:
            break
        if picked.add(c):
            out.append(c)
    return [Block("Also relevant", "body", False, out)] if out else []


def doc_rank(cands: Sequence[Cand], q: Query) -> dict[str, float]:
    """Documents by how much of the relevant material they hold and how well their title fits."""
    best: dict[str, list[float]] = {}
    titles: dict[str, str] = {}
    for c in cands:
        best.setdefault(c.hit.chunk.doc_id, []).append(c.score)
        titles[c.hit.chunk.doc_id] = c.hit.chunk.title
    vocab = vocabulary()
    out: dict[str, float] = {}
    for d, v in best.items():
        t_stems = _stems(titles[d])
        t_con = vocab.concept_ids(titles[d])
        parts = [len(q.stems & t_stems) / len(q.stems) if q.stems else 0.0]
        if q.concepts:
            parts.append(len(q.concepts & t_con) / len(q.concepts))
        out[d] = sum(sorted(v, reverse=True)[:WEIGHTS.doc_rank_top]) * (1.0 + WEIGHTS.doc_rank_title * max(parts))
    return out


def bottom_line(cands: list[Cand], q: Query, picked: Picked, n_max: int, docs: dict[str, float],
                 patient: bool = False) -> list[Cand]:
    def eligible(c: Cand) -> bool:
        if patient and not (c.role == "patient" or plain_doc(c.hit.chunk)):
            return False
        if c.sent.opioid:
            # Never lead with an opioid; when one was asked for, lead with where
            # opioids stand (the reservation), wherever the guideline writes it.
            return q.opioid_asked and c.sent.opioid_restricted
        # A step needs its pathway; a broad answer keeps pitfalls for their section.
        return not (c.role == "algorithm" or (c.role == "pitfall" and q.breadth == "broad"))

    ranked = sorted((c for c in cands if eligible(c)), key=lambda c: -c.score)
    if not ranked and patient:
        return bottom_line(cands, q, picked, n_max, docs)  # no plain-language passage retrieved
    if not ranked:
        return []
    out: list[Cand] = []
    if q.breadth == "broad":
        # Prefer the key recommendations of the best-matching documents.
        top_docs = sorted(docs, key=lambda d: -docs[d])[:2]
        keys = [c for c in ranked if c.role == "key" and c.hit.chunk.doc_id in top_docs]
        keys = [c for c in keys if c.score >= WEIGHTS.bottom_line_key_share * keys[0].score] if keys else []
        chosen = sorted(keys[:n_max], key=lambda c: (top_docs.index(c.hit.chunk.doc_id), c.order))
        for c in chosen:
            if picked.add(c):
                out.append(c)
        if out:
            return out
    top = ranked[0].score
    for c in ranked:
        if len(out) >= n_max or c.score < WEIGHTS.bottom_line_share * top:
            break
        if picked.add(c):
            out.append(c)
    return out


def group(cands: Sequence[Cand]) -> list[Block]:
    blocks: dict[tuple[str, str], Block] = {}
    for c in cands:
        key = (c.hit.chunk.doc_id, c.title)
        if key not in blocks:
            blocks[key] = Block(c.title, "body", False, [])
        blocks[key].cands.append(c)
    return list(blocks.values())


def body(cands: list[Cand], q: Query, picked: Picked, audience: str,
          limit: int, per_section: int, threshold: float) -> list[Block]:
    """Narrow and focused questions: the strongest sections first, each cut short."""
    patient = audience == "patient" or q.patient_language
    # A pitfall is a plain statement too ("imaging without red flags does not help").
    roles = ("body", "pitfall", "patient") if patient else ("body", "pitfall")
    pool = [c for c in cands if c.role in roles and not picked.has(c)]
    if not pool:
        return []
    top = max(c.score for c in pool)
    blocks = group(c for c in pool if c.score >= threshold * top)
    for b in blocks:
        b.cands.sort(key=lambda c: -c.score)
    strength = {id(b): sum(c.score for c in b.cands[:3]) for b in blocks}
    out: list[Block] = []
    used = len(picked)
    for b in sorted(blocks, key=lambda b: -strength[id(b)]):
        if used >= limit:
            break
        chosen: list[Cand] = []
        for c in b.cands:
            if len(chosen) >= per_section or used >= limit:
                break
            if picked.add(c):
                chosen.append(c)
                used += 1
        if chosen:
            chosen.sort(key=lambda c: c.order)
            out.append(Block(b.heading, "body", False, chosen))
    return out


def broad_body(cands: list[Cand], q: Query, picked: Picked, docs: dict[str, float], audience: str,
                budget: int) -> list[Block]:
    """Broad questions: the most relevant retrieved sections, each cut to its best
    sentences, shown in the guideline's own order."""
    patient = audience == "patient" or q.patient_language
    primary = max(docs, key=lambda d: docs[d])
    # Key recommendations of the leading guideline that did not fit the bottom line
    # open the body (e.g. "exclude red flags first").
    pool = [c for c in cands if c.role == "body" or (patient and c.role == "patient")
            or (c.role == "key" and c.hit.chunk.doc_id == primary and not patient)]
    if patient:
        plain = [c for c in pool if c.role == "patient" or plain_doc(c.hit.chunk)]
        if len(plain) >= 4:
            pool = plain  # enough plain-language guidance: answer in it alone
    pool = [c for c in pool if not picked.has(c)]
    if not pool:
        return []
    blocks = group(pool)
    for b in blocks:
        b.cands.sort(key=lambda c: -c.score)
    strength = {id(b): sum(c.score for c in b.cands[:2]) / min(2, len(b.cands)) for b in blocks}
    top = max(strength.values())
    blocks = [b for b in blocks if strength[id(b)] >= WEIGHTS.broad_section_share * top]
    # Spend the sentence budget on the strongest sections first; the leading
    # guideline gives the skeleton, other documents add at most three sections.
    chosen_blocks: list[Block] = []
    used, others = 0, 0
    for b in sorted(blocks, key=lambda b: -strength[id(b)]):
        if used >= budget:
            break
        is_primary = b.cands[0].hit.chunk.doc_id == primary
        if not is_primary:
            if others >= WEIGHTS.broad_other_docs:
                continue
        rel = strength[id(b)] / top
        cap = (3 if rel >= WEIGHTS.broad_strong_section else 2) if is_primary else 2
        floor = WEIGHTS.broad_floor * b.cands[0].score
        chosen: list[Cand] = []
        for c in b.cands:
            if len(chosen) >= cap or used >= budget or c.score < floor:
                break
            if picked.add(c):
                chosen.append(c)
                used += 1
        if chosen:
            others += 0 if is_primary else 1
            chosen.sort(key=lambda c: c.order)
            chosen_blocks.append(Block(b.heading, "body", False, chosen))
    if "treatment" in q.intents and not q.opioid_asked and not patient:
        # A treatment overview states where opioids stand when the guideline does.
        reserve = [c for c in pool if c.sent.opioid_restricted and c.hit.chunk.doc_id == primary
                   and not picked.has(c)]
        if reserve:
            c = max(reserve, key=lambda c: c.score)
            if picked.add(c):
                home = next((b for b in chosen_blocks if b.heading == c.title
                             and b.cands[0].hit.chunk.doc_id == c.hit.chunk.doc_id), None)
                if home is None:
                    chosen_blocks.append(Block(c.title, "body", False, [c]))
                else:
                    home.cands.append(c)
                    home.cands.sort(key=lambda c: c.order)
    doc_order = {d: i for i, d in enumerate(sorted(docs, key=lambda d: -docs[d]))}
    chosen_blocks.sort(key=lambda b: (doc_order[b.cands[0].hit.chunk.doc_id], b.cands[0].order))
    return chosen_blocks


def algorithm(cands: list[Cand], docs: dict[str, float], only_chunk: str | None = None,
              sections: frozenset[str] | None = None) -> list[Block]:
    """The pathway's steps, one block per stage; ``sections`` (block titles) keeps only those stages."""
    steps = [c for c in cands if c.role == "algorithm" and c.sent.step is not None
             and (only_chunk is None or c.hit.chunk.chunk_id == only_chunk)
             and (sections is None or c.title in sections)]
    if not steps:
        return []
    doc = max({c.hit.chunk.doc_id for c in steps}, key=lambda d: docs.get(d, 0.0))
    blocks = [b for b in group(c for c in steps if c.hit.chunk.doc_id == doc)]
    for b in blocks:
        b.cands.sort(key=lambda c: c.order)
        b.kind, b.ordered = "algorithm", True
    blocks.sort(key=lambda b: b.cands[0].order)
    return blocks[:WEIGHTS.algorithm_blocks]


def pitfalls(cands: list[Cand], picked: Picked, docs: dict[str, float], n_max: int,
              min_score: float) -> list[Block]:
    pits = [c for c in cands if c.role == "pitfall" and c.score >= min_score and not picked.has(c)]
    if not pits:
        return []
    pits.sort(key=lambda c: (-docs.get(c.hit.chunk.doc_id, 0.0), -c.score))
    chosen: list[Cand] = []
    for c in pits:
        if len(chosen) >= n_max:
            break
        if picked.add(c):
            chosen.append(c)
    chosen.sort(key=lambda c: (-docs.get(c.hit.chunk.doc_id, 0.0), c.order))
    return [Block("Pitfalls", "pitfalls", False, chosen)] if chosen else []


def dedupe_titles(blocks: list[Block]) -> None:
    seen: dict[str, int] = {}
    for b in blocks:
        seen[b.heading] = seen.get(b.heading, 0) + 1
    for b in blocks:
        if seen[b.heading] > 1 and b.kind == "body":
            b.heading = f"{b.heading} ({b.cands[0].hit.chunk.title})"



def attach_antecedents(blocks: list[Block], cands: Sequence[Cand], picked: Picked) -> None:
    """A sentence that leans on the one before it ("It", "These agents", "However") is shown
    right after its antecedent (moved there if it was shown elsewhere), or not at all."""
    by_pos = {(c.sent.chunk_id, c.sent.idx): c for c in cands}

    def pos(c: Cand) -> tuple[str, int]:
        return (c.sent.chunk_id, c.sent.idx)

    for b in blocks:
        out: list[Cand] = []
        for c in b.cands:
            if c.sent.dependent:
                want = (c.sent.chunk_id, c.sent.idx - 1)
                if not (out and pos(out[-1]) == want):
                    prev = by_pos.get(want)
                    if prev is None or prev.sent.opioid:
                        continue
                    for other in blocks:  # shown elsewhere: move it here
                        if other is not b:
                            other.cands[:] = [o for o in other.cands if pos(o) != want]
                    out = [o for o in out if pos(o) != want]
                    picked.add(prev)
                    out.append(prev)
            out.append(c)
        b.cands[:] = out
